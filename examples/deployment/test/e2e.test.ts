/**
 * End to end on the wire: MCP SDK client → example gateway → tap → example MCP server.
 * The tap captures what the gateway really sent, so the tests can replay and tamper with it.
 */
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createApp as createGatewayApp, createDemoIssuer, demoJwtClaims, demoUsers } from '@mcp-identity/example-gateway';
import { createApp as createMcpServerApp } from '@mcp-identity/example-mcp-server';
import type { AuditEvent } from '@mcp-identity/gateway';
import type { DemoIssuer } from '@mcp-identity/example-gateway';
import { eventLog, listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';
import { startTap } from './tap.js';
import type { Captured, Tap } from './tap.js';

const ISSUER = 'urn:test:gateway';
const secret = randomBytes(32).toString('base64url');
const apiClient = { id: 'ci-bot', key: randomBytes(24).toString('base64url'), name: 'CI bot', roles: ['deployer'] };

interface Stack {
  readonly gateway: Running;
  readonly notes: Running;
  readonly reports: Running;
  readonly tap: Tap;
  /** The bearer-token issuer the gateway trusts. */
  readonly idp: DemoIssuer;
  /** The audit events of the gateway and both MCP servers, in order. */
  readonly events: AuditEvent[];
  /** Waits for at least `count` events (the gateway emits when a response ends, which may be after the client has it). */
  readonly waitForEvents: (count: number) => Promise<AuditEvent[]>;
  close(): Promise<void>;
}

async function startStack(options: { dropIdentityHeaders?: boolean } = {}): Promise<Stack> {
  const log = eventLog<AuditEvent>();
  const audit = log.sink;
  const notesApp = createMcpServerApp({
    name: 'notes',
    identity: { issuer: ISSUER, audience: 'urn:test:notes', secrets: [{ secret }], audit },
  });
  const reportsApp = createMcpServerApp({
    name: 'reports',
    identity: { issuer: ISSUER, audience: 'urn:test:reports', secrets: [{ secret }], audit },
  });
  const notes = await listen(notesApp.app);
  const reports = await listen(reportsApp.app);
  const tap = await startTap(notes.url, options);
  const idp = createDemoIssuer();
  const gateway = await listen(
    createGatewayApp({
      issuer: ISSUER,
      signing: { secret },
      upstreams: [
        // A hop that drops identity headers needs the identity in _meta on every request, initialize included.
        {
          name: 'notes',
          target: `${tap.url}/mcp`,
          audience: 'urn:test:notes',
          ...(options.dropIdentityHeaders === true ? { metaCreation: 'always' as const } : {}),
        },
        { name: 'reports', target: `${reports.url}/mcp`, audience: 'urn:test:reports' },
      ],
      jwt: idp,
      users: demoUsers,
      apiClients: [apiClient],
      actors: [apiClient.id],
      audit,
    }),
  );
  return {
    gateway,
    notes,
    reports,
    tap,
    idp,
    events: log.events,
    waitForEvents: log.waitFor,
    async close() {
      await Promise.all([notesApp.close(), reportsApp.close()]);
      await Promise.all([gateway.close(), tap.close(), notes.close(), reports.close()]);
    },
  };
}

async function whoamiThroughGateway(stack: Stack, headers: Record<string, string> = { 'x-api-key': apiClient.key }): Promise<unknown> {
  const client = new Client({ name: 'e2e', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${stack.gateway.url}/mcp/notes`), { requestInit: { headers } }));
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    return (result.structuredContent as { user: unknown }).user;
  } finally {
    await client.close();
  }
}

function toolCall(captured: readonly Captured[]): Captured {
  const call = captured.find((entry) => entry.body.includes('"tools/call"'));
  if (call === undefined) throw new Error('no tools/call was captured');
  return call;
}

async function replay(
  url: string,
  captured: Captured,
  change: { body?: Buffer; headers?: Record<string, string> } = {},
): Promise<{ status: number; code: unknown }> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(captured.headers)) {
    if (typeof value === 'string' && !['host', 'content-length', 'connection'].includes(name)) headers[name] = value;
  }
  const response = await fetch(url, {
    method: captured.method,
    headers: { ...headers, ...change.headers },
    body: change.body ?? captured.body,
  });
  const body = (await response.json().catch(() => ({}))) as { error?: { data?: { code?: unknown } } };
  return { status: response.status, code: body.error?.data?.code };
}

describe('MCP SDK client → gateway → MCP SDK server', () => {
  let stack: Stack;
  let captured: Captured;

  beforeAll(async () => {
    stack = await startStack();
    await whoamiThroughGateway(stack);
    captured = toolCall(stack.tap.captured);
  });

  afterAll(async () => {
    await stack.close();
  });

  it('sends the identity in both carriers: the assertion header and params._meta', () => {
    const body = JSON.parse(captured.body.toString()) as { params: { _meta: Record<string, unknown> } };
    expect(typeof captured.headers['x-forwarded-user-assertion']).toBe('string');
    expect(body.params._meta['mcp-identity/assertion']).toBe(captured.headers['x-forwarded-user-assertion']);
    expect(body.params._meta['mcp-identity/user']).toMatchObject({ id: 'ci-bot', authMethod: 'api_key' });
    expect(captured.headers['x-api-key']).toBeUndefined();
  });

  it('refuses the captured request replayed to the same upstream', async () => {
    expect(await replay(`${stack.notes.url}${captured.url}`, captured)).toEqual({ status: 401, code: 'identity_replayed' });
  });

  it('refuses the captured request sent to another upstream (wrong audience)', async () => {
    expect(await replay(`${stack.reports.url}${captured.url}`, captured)).toEqual({ status: 401, code: 'identity_audience' });
  });

  it('refuses the captured request with a tampered body', async () => {
    const tampered = Buffer.from(captured.body.toString().replace('"whoami"', '"admin_report"'));
    expect(await replay(`${stack.notes.url}${captured.url}`, captured, { body: tampered })).toEqual({
      status: 401,
      code: 'identity_binding',
    });
  });

  it('refuses the captured request with a forged admin header added', async () => {
    expect(await replay(`${stack.notes.url}${captured.url}`, captured, { headers: { 'x-forwarded-user-admin': 'true' } })).toEqual({
      status: 401,
      code: 'identity_mismatch',
    });
  });
});

describe('a hop that drops the identity headers between gateway and upstream', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ dropIdentityHeaders: true });
  });

  afterAll(async () => {
    await stack.close();
  });

  it('still delivers the verified user to the tool handler, from params._meta', async () => {
    expect(await whoamiThroughGateway(stack)).toMatchObject({ id: 'ci-bot', authMethod: 'api_key', name: 'CI bot' });
    const forwarded = toolCall(stack.tap.captured);
    expect(forwarded.headers['x-forwarded-user-assertion']).toBeDefined();
  });
});

/** The `jti` of the assertion a captured request carried. */
function jtiOf(captured: Captured): unknown {
  const token = captured.headers['x-forwarded-user-assertion'];
  if (typeof token !== 'string') throw new Error('the captured request carries no assertion');
  return (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti?: unknown }).jti;
}

/** Every request that reached the upstream has two events (gateway and receiver): waits for all of them. */
async function settled(stack: Stack): Promise<AuditEvent[]> {
  return stack.waitForEvents(2 * stack.tap.captured.length);
}

/** The gateway's and the receiver's event for the one tools/call of a settled stack. */
async function toolCallEvents(stack: Stack): Promise<{ gateway: AuditEvent; receiver: AuditEvent }> {
  const calls = (await settled(stack)).filter((event) => event.rpcMethod === 'tools/call');
  const gateway = calls.filter((event) => event.component === 'gateway');
  const receiver = calls.filter((event) => event.component === 'receiver');
  expect(gateway).toHaveLength(1);
  expect(receiver).toHaveLength(1);
  return { gateway: gateway[0]!, receiver: receiver[0]! };
}

describe('delegation end to end: MCP SDK client → gateway → MCP tool handler', () => {
  let stack: Stack;

  beforeEach(async () => {
    stack = await startStack();
  });

  afterEach(async () => {
    await stack.close();
  });

  it('shows the subject, the current actor and the chain of a nested act claim at the tool handler and in both audit lines', async () => {
    // RFC 8693: the outermost act (mail-agent) is the current actor, acting through the assistant.
    const token = await stack.idp.sign({ ...demoJwtClaims, act: { sub: 'mail-agent', act: { sub: 'assistant' } } });

    const user = await whoamiThroughGateway(stack, { authorization: `Bearer ${token}` });

    expect(user).toMatchObject({
      id: 'jose',
      authMethod: 'jwt',
      serviceAccount: 'mail-agent',
      delegationChain: ['assistant', 'mail-agent'],
    });
    const { gateway, receiver } = await toolCallEvents(stack);
    const delegation = { subject: 'jose', authMethod: 'jwt', actingAs: 'mail-agent', delegationChain: ['assistant', 'mail-agent'] };
    expect(gateway).toMatchObject({
      decision: 'forwarded',
      audience: 'urn:test:notes',
      rpcName: 'whoami',
      upstreamStatus: 200,
      ...delegation,
    });
    expect(receiver).toMatchObject({ decision: 'accepted', audience: 'urn:test:notes', rpcName: 'whoami', ...delegation });
    expect(receiver.requestId).toBe(gateway.requestId);
    expect(receiver.jti).toBe(gateway.jti);
    expect(gateway.jti).toBe(jtiOf(toolCall(stack.tap.captured)));
  });

  it('lets the allowed API-key client act for a user named in X-Act-As, and shows both at the tool handler and in the audit lines', async () => {
    const user = await whoamiThroughGateway(stack, { 'x-api-key': apiClient.key, 'x-act-as': 'bob' });

    expect(user).toEqual({
      id: 'bob',
      email: 'bob@example.com',
      name: 'Bob',
      groups: ['eng'],
      teams: [],
      roles: ['reader'],
      isAdmin: false,
      authMethod: 'api_key',
      serviceAccount: 'ci-bot',
      delegationChain: ['ci-bot'],
    });
    const { gateway, receiver } = await toolCallEvents(stack);
    const delegation = { subject: 'bob', authMethod: 'api_key', actingAs: 'ci-bot', delegationChain: ['ci-bot'] };
    expect(gateway).toMatchObject({ decision: 'forwarded', ...delegation });
    expect(receiver).toMatchObject({ decision: 'accepted', ...delegation, jti: gateway.jti });
    for (const captured of stack.tap.captured) expect(captured.headers['x-act-as']).toBeUndefined();
  });

  it('emits one forwarded gateway event and one accepted receiver event, with its jti, for every request that reached the upstream', async () => {
    await whoamiThroughGateway(stack, { 'x-api-key': apiClient.key, 'x-act-as': 'alice' });

    const events = await settled(stack);

    const jtis = stack.tap.captured.map(jtiOf).sort();
    expect(jtis.length).toBeGreaterThanOrEqual(3); // initialize, notifications/initialized, tools/call
    const byComponent = (component: string): unknown[] =>
      events
        .filter((event) => event.component === component)
        .map((event) => `${event.decision} ${String(event.jti)}`)
        .sort();
    expect(byComponent('gateway')).toEqual(jtis.map((jti) => `forwarded ${String(jti)}`));
    expect(byComponent('receiver')).toEqual(jtis.map((jti) => `accepted ${String(jti)}`));
  });

  it('refuses X-Act-As from a principal that may not act for others, audits the refusal, and forwards nothing', async () => {
    const bob = demoUsers[1]!;
    const response = await fetch(`${stack.gateway.url}/mcp/notes`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${bob.username}:${bob.password}`).toString('base64')}`,
        'x-act-as': 'alice',
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
    });

    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { data: { code: string } } }).error.data.code).toBe('forbidden');
    expect(stack.tap.captured).toHaveLength(0);
    expect(stack.events).toEqual([
      expect.objectContaining({ component: 'gateway', decision: 'refused', reason: 'forbidden', status: 403, subject: 'bob' }),
    ]);
    expect(stack.events[0]).not.toHaveProperty('actingAs');
  });
});
