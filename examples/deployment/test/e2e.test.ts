/**
 * End to end on the wire: MCP SDK client → example gateway → tap → example MCP server.
 * The tap captures what the gateway really sent, so the tests can replay and tamper with it.
 */
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createApp as createGatewayApp, createDemoIssuer, demoUsers } from '@mcp-identity/example-gateway';
import { createApp as createMcpServerApp } from '@mcp-identity/example-mcp-server';
import { listen } from '../../../test/kit.js';
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
  close(): Promise<void>;
}

async function startStack(options: { dropIdentityHeaders?: boolean } = {}): Promise<Stack> {
  const notesApp = createMcpServerApp({ name: 'notes', identity: { issuer: ISSUER, audience: 'urn:test:notes', secrets: [{ secret }] } });
  const reportsApp = createMcpServerApp({
    name: 'reports',
    identity: { issuer: ISSUER, audience: 'urn:test:reports', secrets: [{ secret }] },
  });
  const notes = await listen(notesApp.app);
  const reports = await listen(reportsApp.app);
  const tap = await startTap(notes.url, options);
  const gateway = await listen(
    createGatewayApp({
      issuer: ISSUER,
      signing: { secret },
      upstreams: [
        { name: 'notes', target: `${tap.url}/mcp`, audience: 'urn:test:notes' },
        { name: 'reports', target: `${reports.url}/mcp`, audience: 'urn:test:reports' },
      ],
      jwt: createDemoIssuer(),
      users: demoUsers,
      apiClients: [apiClient],
    }),
  );
  return {
    gateway,
    notes,
    reports,
    tap,
    async close() {
      await Promise.all([notesApp.close(), reportsApp.close()]);
      await Promise.all([gateway.close(), tap.close(), notes.close(), reports.close()]);
    },
  };
}

async function whoamiThroughGateway(stack: Stack): Promise<unknown> {
  const client = new Client({ name: 'e2e', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${stack.gateway.url}/mcp/notes`), {
      requestInit: { headers: { 'x-api-key': apiClient.key } },
    }),
  );
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
