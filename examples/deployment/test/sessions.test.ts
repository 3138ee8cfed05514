/**
 * Session isolation end to end: MCP SDK clients → example gateway → tap → example MCP
 * server (stateful). A session belongs to the user whose `initialize` created it.
 */
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createApp as createGatewayApp, createDemoIssuer, demoUsers } from '@mcp-identity/example-gateway';
import { createApp as createMcpServerApp } from '@mcp-identity/example-mcp-server';
import { listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';
import { startTap } from './tap.js';
import type { Tap } from './tap.js';

const ISSUER = 'urn:test:gateway';
const AUDIENCE = 'urn:test:notes';
const secret = randomBytes(32).toString('base64url');
const [alice, bob] = demoUsers as [(typeof demoUsers)[number], (typeof demoUsers)[number]];
const basic = (user: { username: string; password: string }): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`,
});

describe('MCP sessions through the example gateway', () => {
  let mcp: ReturnType<typeof createMcpServerApp>;
  let upstream: Running;
  let tap: Tap;
  let gateway: Running;
  let url: URL;

  beforeAll(async () => {
    mcp = createMcpServerApp({ name: 'notes', identity: { issuer: ISSUER, audience: AUDIENCE, secrets: [{ secret }] } });
    upstream = await listen(mcp.app);
    tap = await startTap(upstream.url);
    gateway = await listen(
      createGatewayApp({
        issuer: ISSUER,
        signing: { secret },
        upstreams: [{ name: 'notes', target: `${tap.url}/mcp`, audience: AUDIENCE }],
        jwt: createDemoIssuer(),
        users: demoUsers,
        apiClients: [],
      }),
    );
    url = new URL(`${gateway.url}/mcp/notes`);
  });

  afterAll(async () => {
    await mcp.close();
    await Promise.all([gateway.close(), tap.close(), upstream.close()]);
  });

  /** An MCP SDK client, connected (initialized) unless it resumes `sessionId`. */
  async function connect(headers: Record<string, string>, sessionId?: string): Promise<[Client, StreamableHTTPClientTransport]> {
    const transport = new StreamableHTTPClientTransport(url, {
      requestInit: { headers },
      ...(sessionId === undefined ? {} : { sessionId }),
    });
    const client = new Client({ name: 'sessions-e2e', version: '1' });
    await client.connect(transport);
    return [client, transport];
  }

  async function whoami(client: Client): Promise<unknown> {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    return (result.structuredContent as { user: { id: string } }).user.id;
  }

  /** Whether any request carrying `marker` reached the MCP server. */
  const reachedUpstream = (marker: string): boolean => tap.captured.some((entry) => entry.body.includes(marker));

  /** A raw `tools/call` in a session, as the user `headers` authenticate; its JSON-RPC id is `marker`. */
  async function callInSession(
    sessionId: string,
    headers: Record<string, string>,
    marker: string,
  ): Promise<{ status: number; code: unknown }> {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
        'mcp-session-id': sessionId,
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: marker, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
    });
    const body = (await response.json().catch(() => ({}))) as { error?: { data?: { code?: unknown } } };
    return { status: response.status, code: body.error?.data?.code };
  }

  it('responds 404 session_not_found when user B uses user A’s session, and nothing reaches the MCP server', async () => {
    const [aliceClient, aliceTransport] = await connect(basic(alice));
    const sessionId = aliceTransport.sessionId!;
    expect(await whoami(aliceClient)).toBe('alice');

    const refused = await callInSession(sessionId, basic(bob), 'probe-bob');

    expect(refused).toEqual({ status: 404, code: 'session_not_found' });
    expect(reachedUpstream('probe-bob')).toBe(false);
    expect(await whoami(aliceClient)).toBe('alice');
    await aliceClient.close();
  });

  it('fails the MCP SDK client of user B that resumes user A’s session with HTTP 404', async () => {
    const [aliceClient, aliceTransport] = await connect(basic(alice));
    const [bobClient] = await connect(basic(bob), aliceTransport.sessionId);

    await expect(bobClient.callTool({ name: 'whoami', arguments: {} })).rejects.toMatchObject({ code: 404 });
    expect(tap.captured.filter((entry) => entry.headers['x-forwarded-user-id'] === 'bob')).toEqual([]);
    await Promise.all([aliceClient.close(), bobClient.close()]);
  });

  it('responds 401 unauthenticated to a request with a session id and no credentials, before any session check', async () => {
    const [aliceClient, aliceTransport] = await connect(basic(alice));

    expect(await callInSession(aliceTransport.sessionId!, {}, 'probe-anonymous')).toEqual({ status: 401, code: 'unauthenticated' });
    expect(reachedUpstream('probe-anonymous')).toBe(false);
    await aliceClient.close();
  });

  it('ends the binding when the owner terminates the session: resuming it is then 404 at the gateway', async () => {
    const [aliceClient, aliceTransport] = await connect(basic(alice));
    const sessionId = aliceTransport.sessionId!;

    await aliceTransport.terminateSession();

    expect(await callInSession(sessionId, basic(alice), 'probe-terminated')).toEqual({ status: 404, code: 'session_not_found' });
    expect(reachedUpstream('probe-terminated')).toBe(false);
    await aliceClient.close();
  });
});
