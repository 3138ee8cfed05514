/**
 * Numbers survive the gateway: a client that writes `12345678901234567890123`, `1.0` or `1e2`
 * has those exact bytes reach the upstream (a tap records the wire), and the upstream's
 * receiver still verifies the request binding. Real pieces: propagateIdentity, the example
 * MCP server (MCP SDK + verifyIdentity), HTTP on loopback.
 */
import { randomBytes } from 'node:crypto';
import express from 'express';
import { createApp as createMcpServerApp } from '@mcp-identity/example-mcp-server';
import { propagateIdentity } from '@mcp-identity/gateway';
import type { UserContext } from '@mcp-identity/gateway';
import { listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';
import { startTap } from './tap.js';
import type { Tap } from './tap.js';

const ISSUER = 'urn:test:gateway';
const AUDIENCE = 'urn:test:numbers';
const secret = randomBytes(32).toString('base64url');
const alice: UserContext = { id: 'alice', authMethod: 'jwt', groups: ['eng'], teams: [], roles: [], isAdmin: false, delegationChain: [] };

const INITIALIZE =
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}';
/**
 * Hand-written: JSON.stringify could not produce these lexemes. (The MCP SDK refuses a
 * JSON-RPC `id` beyond 2^53, so the large integers are in the arguments and `_meta`.)
 */
const TOOL_CALL =
  '{"jsonrpc": "2.0", "id": 7.0, "method": "tools/call",\n' +
  ' "params": {"name": "whoami", "arguments": {"big": 12345678901234567890123, "one": 1.0, "exp": 1e2, "neg": -0.0, "tiny": 5e-324},\n' +
  '  "_meta": {"example.com/trace": 98765432109876543210, "mcp-identity/user": {"id": "mallory"}, "MCP-IDENTITY/assertion": "forged", "user": {"email": "m@x"}}}}';

interface Stack {
  readonly gateway: Running;
  readonly tap: Tap;
  close(): Promise<void>;
}

async function startStack(carriers: readonly ('headers' | 'meta')[]): Promise<Stack> {
  const server = createMcpServerApp({ name: 'numbers', identity: { issuer: ISSUER, audience: AUDIENCE, secrets: [{ secret }] } });
  const upstream = await listen(server.app);
  const tap = await startTap(upstream.url);
  const app = express();
  app.use((req, _res, next) => {
    req.userContext = alice;
    next();
  });
  app.use('/mcp', propagateIdentity({ target: `${tap.url}/mcp`, issuer: ISSUER, audience: AUDIENCE, signing: { secret }, carriers }));
  const gateway = await listen(app);
  return {
    gateway,
    tap,
    async close() {
      await server.close();
      await Promise.all([gateway.close(), tap.close(), upstream.close()]);
    },
  };
}

async function post(stack: Stack, body: string, session?: string): Promise<{ status: number; text: string; session: string | null }> {
  const response = await fetch(`${stack.gateway.url}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(session === undefined ? {} : { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' }),
    },
    body,
  });
  return { status: response.status, text: await response.text(), session: response.headers.get('mcp-session-id') };
}

/** The tools/call as the upstream received it. */
async function callThroughGateway(stack: Stack): Promise<{ status: number; text: string; wire: string }> {
  const init = await post(stack, INITIALIZE);
  expect(init.status).toBe(200);
  const session = init.session!;
  expect((await post(stack, '{"jsonrpc":"2.0","method":"notifications/initialized"}', session)).status).toBe(202);
  const call = await post(stack, TOOL_CALL, session);
  const captured = stack.tap.captured.find((entry) => entry.body.includes('tools/call'));
  return { ...call, wire: captured!.body.toString('utf8') };
}

describe.each([
  ['headers and meta', ['headers', 'meta'] as const],
  ['meta only', ['meta'] as const],
  ['headers only', ['headers'] as const],
])('numbers through the gateway (carriers: %s)', (_name, carriers) => {
  let stack: Stack;
  let result: { status: number; text: string; wire: string };

  beforeAll(async () => {
    stack = await startStack(carriers);
    result = await callThroughGateway(stack);
  });

  afterAll(async () => {
    await stack.close();
  });

  it('delivers every byte outside _meta exactly as the client wrote it, large integers included', () => {
    const cut = TOOL_CALL.indexOf('{"example.com/trace"');
    expect(result.wire.slice(0, cut)).toBe(TOOL_CALL.slice(0, cut));
    expect(result.wire.endsWith('}}}')).toBe(true);
    expect(result.wire).toContain('"id": 7.0,');
    expect(result.wire).toContain('"big": 12345678901234567890123, "one": 1.0, "exp": 1e2, "neg": -0.0, "tiny": 5e-324}');
    expect(result.wire).toContain('"example.com/trace": 98765432109876543210');
  });

  it('removes every identity key the client put in _meta', () => {
    const meta = (JSON.parse(result.wire) as { params: { _meta: Record<string, unknown> } }).params._meta;
    expect(result.wire).not.toContain('mallory');
    expect(result.wire).not.toContain('forged');
    expect(meta.user).toBeUndefined();
    expect(Object.keys(meta).filter((key) => key.toLowerCase().startsWith('mcp-identity/'))).toEqual(
      (carriers as readonly string[]).includes('meta') ? ['mcp-identity/user', 'mcp-identity/assertion'] : [],
    );
  });

  it('is accepted by the receiver: the binding digest agrees, and the tool sees the gateway user', () => {
    expect(result.status).toBe(200);
    expect(result.text).toContain('\\"id\\":\\"alice\\"');
  });
});
