/**
 * End to end with real MCP SDKs: each SDK's own client → `propagateIdentity` (default options,
 * mounted at `/mcp/notes`, target `/mcp`) → `verifyIdentity` → an SDK v1 or v2 server whose
 * tool handler asks `getUser` who called.
 */
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import type { Running } from '../../../test/kit.js';
import { sdkV1Handler, sdkV2Handler, startGatewayFor, startReceiver } from './mcp-sdk-kit.js';
import type { Seen } from './mcp-sdk-kit.js';

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function deployment(handler: (seen: Seen[]) => Parameters<typeof startReceiver>[0]): Promise<{ url: URL; seen: Seen[] }> {
  const seen: Seen[] = [];
  const receiver = await startReceiver(handler(seen));
  const gateway = await startGatewayFor(receiver);
  running.push(receiver, gateway);
  return { url: new URL(`${gateway.url}/mcp/notes`), seen };
}

function textOf(result: unknown): unknown {
  return (result as { content?: { text?: unknown }[] }).content?.[0]?.text;
}

const bobSeen = expect.objectContaining({ id: 'bob@corp', roles: ['reader'] });

describe('getUser through the gateway with MCP SDK v1', () => {
  it('finds the user in extra.authInfo on every request to a server with a fresh stateless transport per request', async () => {
    const { url, seen } = await deployment(sdkV1Handler);
    const client = new ClientV1({ name: 'client-v1', version: '1.0.0' });
    await client.connect(new TransportV1(url));
    expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toBe('bob@corp');
    expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toBe('bob@corp');
    await client.close();
    expect(seen).toHaveLength(2);
    for (const entry of seen) expect(entry).toEqual({ user: bobSeen, viaAuth: bobSeen, viaMeta: undefined });
  });
});

describe('getUser through the gateway with MCP SDK v2', () => {
  it('finds the user in ctx.http.authInfo for a legacy client, which the dual-era server serves as legacy', async () => {
    const { url, seen } = await deployment(sdkV2Handler);
    const client = new ClientV2({ name: 'client-v2', version: '2.0.0' });
    await client.connect(new TransportV2(url));
    expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toBe('bob@corp');
    await client.close();
    // The legacy tools/call had no _meta: the gateway created none, the identity rode in headers.
    expect(seen).toEqual([{ user: bobSeen, viaAuth: bobSeen, viaMeta: undefined, era: 'legacy' }]);
  });

  it('finds the user in ctx.http.authInfo and ctx.mcpReq._meta for a modern (2026-07-28) client', async () => {
    const { url, seen } = await deployment(sdkV2Handler);
    const client = new ClientV2({ name: 'client-v2', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(new TransportV2(url));
    expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toBe('bob@corp');
    expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toBe('bob@corp');
    await client.close();
    expect(seen).toHaveLength(2);
    for (const entry of seen) expect(entry).toEqual({ user: bobSeen, viaAuth: bobSeen, viaMeta: bobSeen, era: 'modern' });
  });
});
