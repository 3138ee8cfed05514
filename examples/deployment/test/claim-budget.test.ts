/**
 * The claim size budget: a user too large for the receiver is refused at the gateway with 431
 * `identity_too_large` (audited `refused`), never sent for the upstream to answer 431. The
 * receiver is real: verifyIdentity on a Node HTTP server with its default header limit.
 */
import { randomBytes } from 'node:crypto';
import express from 'express';
import { propagateIdentity } from '@mcp-identity/gateway';
import type { AuditEvent, UserContext } from '@mcp-identity/gateway';
import { verifyIdentity } from '@mcp-identity/receiver';
import { eventLog, listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';

const ISSUER = 'urn:test:gateway';
const AUDIENCE = 'urn:test:budget';
const secret = randomBytes(32).toString('base64url');
/** With a `_meta`, so the meta carrier carries the identity on this session-less request. */
const PING = '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{}}}';

/** A user with `count` groups of 60 characters. */
function userWithGroups(count: number): UserContext {
  const groups = Array.from({ length: count }, (_, i) => `g${String(i).padStart(3, '0')}-${'x'.repeat(55)}`);
  return { id: 'alice', authMethod: 'jwt', groups, teams: [], roles: [], isAdmin: false, delegationChain: [] };
}

interface Receiver extends Running {
  /** Requests the receiver's handler saw, and the head size of each (request line + raw headers). */
  readonly requests: number[];
  /** Client errors at the receiver's HTTP parser (a 431 for a head over its limit). */
  readonly clientErrors: string[];
}

async function startReceiver(): Promise<Receiver> {
  const app = express();
  app.use('/mcp', verifyIdentity({ issuer: ISSUER, audience: AUDIENCE, secrets: [{ secret }] }));
  app.post('/mcp', (_req, res) => {
    res.json({ jsonrpc: '2.0', id: 1, result: {} });
  });
  const requests: number[] = [];
  const clientErrors: string[] = [];
  // Node's defaults, as an MCP server would run: no maxHeaderSize set.
  const running = await listen((req, res) => {
    let head = `${req.method} ${req.url} HTTP/1.1\r\n`.length + 2;
    for (let i = 0; i < req.rawHeaders.length; i += 2) head += req.rawHeaders[i]!.length + 4 + Buffer.byteLength(req.rawHeaders[i + 1]!);
    requests.push(head);
    app(req, res);
  });
  running.server.on('clientError', (error: Error & { code?: string }, socket) => {
    clientErrors.push(error.code ?? error.message);
    socket.destroy();
  });
  return { ...running, requests, clientErrors };
}

interface Gateway extends Running {
  user: UserContext;
  readonly events: AuditEvent[];
  readonly waitForEvents: (count: number) => Promise<AuditEvent[]>;
}

async function startGateway(receiver: Receiver, carriers: readonly ('headers' | 'meta')[]): Promise<Gateway> {
  const log = eventLog<AuditEvent>();
  const state = { user: userWithGroups(1) };
  const app = express();
  app.use((req, _res, next) => {
    req.userContext = state.user;
    next();
  });
  app.use(
    '/mcp',
    propagateIdentity({
      target: `${receiver.url}/mcp`,
      issuer: ISSUER,
      audience: AUDIENCE,
      signing: { secret },
      carriers,
      audit: log.sink,
    }),
  );
  const running = await listen(app);
  return Object.assign(state, { ...running, events: log.events, waitForEvents: log.waitFor });
}

async function ping(gateway: Gateway, user: UserContext): Promise<{ status: number; code: unknown }> {
  gateway.user = user;
  const response = await fetch(`${gateway.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: PING });
  const body = (await response.json().catch(() => ({}))) as { error?: { data?: { code?: unknown } } };
  return { status: response.status, code: body.error?.data?.code };
}

describe('claim size budget', () => {
  const running: Running[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((server) => server.close()));
  });

  async function stack(carriers: readonly ('headers' | 'meta')[]): Promise<{ receiver: Receiver; gateway: Gateway }> {
    const receiver = await startReceiver();
    const gateway = await startGateway(receiver, carriers);
    running.push(gateway, receiver);
    return { receiver, gateway };
  }

  it('forwards the largest user that fits the receiver, refuses one more group with 431 identity_too_large, and the receiver never answers 431', async () => {
    const { receiver, gateway } = await stack(['headers', 'meta']);
    // Bisect on the group count: 1 fits, 200 does not.
    let fits = 1;
    let tooLarge = 200;
    expect(await ping(gateway, userWithGroups(fits))).toEqual({ status: 200, code: undefined });
    expect(await ping(gateway, userWithGroups(tooLarge))).toEqual({ status: 431, code: 'identity_too_large' });
    while (tooLarge - fits > 1) {
      const middle = Math.floor((fits + tooLarge) / 2);
      const result = await ping(gateway, userWithGroups(middle));
      if (result.status === 200) fits = middle;
      else {
        expect(result).toEqual({ status: 431, code: 'identity_too_large' });
        tooLarge = middle;
      }
    }
    const before = receiver.requests.length;
    expect(await ping(gateway, userWithGroups(fits))).toEqual({ status: 200, code: undefined });
    // The budget is tight: the largest head forwarded is within 512 bytes of Node's limit.
    expect(receiver.requests.at(-1)).toBeGreaterThan(16 * 1024 - 512);
    expect(await ping(gateway, userWithGroups(tooLarge))).toEqual({ status: 431, code: 'identity_too_large' });
    expect(receiver.requests).toHaveLength(before + 1);
    expect(receiver.clientErrors).toEqual([]);
  });

  it('audits a refusal as refused with reason identity_too_large, and sends nothing upstream', async () => {
    const { receiver, gateway } = await stack(['headers', 'meta']);
    expect(await ping(gateway, userWithGroups(150))).toEqual({ status: 431, code: 'identity_too_large' });
    const [event] = await gateway.waitForEvents(1);
    expect(event).toMatchObject({ decision: 'refused', reason: 'identity_too_large', status: 431, subject: 'alice' });
    expect(event?.upstreamStatus).toBeUndefined();
    expect(receiver.requests).toEqual([]);
    expect(receiver.clientErrors).toEqual([]);
  });

  it('with the meta carrier only, forwards a user whose headers would not fit, and the receiver verifies it', async () => {
    const { receiver, gateway } = await stack(['meta']);
    expect(await ping(gateway, userWithGroups(150))).toEqual({ status: 200, code: undefined });
    expect(receiver.requests).toHaveLength(1);
  });

  it('with the meta carrier only, refuses an assertion longer than the 16 KiB a receiver accepts', async () => {
    const { receiver, gateway } = await stack(['meta']);
    expect(await ping(gateway, userWithGroups(250))).toEqual({ status: 431, code: 'identity_too_large' });
    const [event] = await gateway.waitForEvents(1);
    expect(event).toMatchObject({ decision: 'refused', reason: 'identity_too_large' });
    expect(receiver.requests).toEqual([]);
  });
});
