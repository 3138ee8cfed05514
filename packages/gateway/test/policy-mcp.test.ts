import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import express from 'express';
import { listen } from '../../../test/kit.js';
import { closeAll, rawRequest, track } from './propagate-kit.js';
import { startPolicyGateway, TOOLS } from './policy-kit.js';
import type { PolicyGateway } from './policy-kit.js';

afterEach(closeAll);

interface AnyClient {
  listTools(params?: { cursor?: string }): Promise<{ tools: { name: string }[]; nextCursor?: string; _meta?: unknown }>;
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
}

async function connect(sdk: 'v1' | 'v2', gateway: PolicyGateway, user = 'alice'): Promise<AnyClient> {
  const url = new URL(`${gateway.url}/mcp`);
  const requestInit = { headers: { 'x-test-user': user } };
  if (sdk === 'v1') {
    const client = new ClientV1({ name: 'policy-test', version: '1.0.0' });
    await client.connect(new TransportV1(url, { requestInit }));
    return client;
  }
  const client = new ClientV2({ name: 'policy-test', version: '1.0.0' });
  await client.connect(new TransportV2(url, { requestInit }));
  return client;
}

async function allPages(client: AnyClient): Promise<{ pages: string[][]; cursors: (string | undefined)[] }> {
  const pages: string[][] = [];
  const cursors: (string | undefined)[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor });
    pages.push(page.tools.map((tool) => tool.name));
    cursor = page.nextCursor;
    cursors.push(cursor);
  } while (cursor !== undefined);
  return { pages, cursors };
}

describe.each(['v1', 'v2'] as const)('propagateIdentity with a policy, MCP SDK %s client', (sdk) => {
  describe.each(['json', 'sse'] as const)('upstream answering %s', (mode) => {
    it('filters every page of tools/list to what the user may call, cursors untouched', async () => {
      const gateway = await startPolicyGateway(mode);
      const client = await connect(sdk, gateway);
      const { pages, cursors } = await allPages(client);
      await client.close();
      // The v2 client follows nextCursor itself and returns one merged list.
      if (sdk === 'v1') {
        expect(pages).toEqual([['echo'], ['read_a'], ['read_b']]);
        expect(cursors).toEqual(['2', '4', undefined]);
      } else {
        expect(pages).toEqual([['echo', 'read_a', 'read_b']]);
      }
      const cursorsSent = gateway.upstream.messages
        .filter((message) => message.method === 'tools/list')
        .map((message) => (message.params as { cursor?: string } | undefined)?.cursor);
      expect(cursorsSent).toEqual([undefined, '2', '4']);
    });

    it('lists every tool for an admin', async () => {
      const gateway = await startPolicyGateway(mode);
      const client = await connect(sdk, gateway, 'root');
      const { pages } = await allPages(client);
      await client.close();
      expect(pages.flat()).toEqual(['echo', 'deploy', 'read_a', 'delete_all', 'read_b']);
    });

    it('refuses a denied tools/call with -32003 forbidden, never forwarding it', async () => {
      const gateway = await startPolicyGateway(mode);
      const client = await connect(sdk, gateway);
      await expect(client.callTool({ name: 'deploy', arguments: {} })).rejects.toMatchObject({ code: -32003 });
      await expect(client.callTool({ name: 'read_a', arguments: {} })).resolves.toMatchObject({ content: [{ text: 'called read_a' }] });
      await client.close();
      expect(gateway.upstream.called()).toEqual(['read_a']);
    });
  });
});

describe('propagateIdentity with a policy, raw HTTP', () => {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const call = (id: number, name: string): Record<string, unknown> => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name, arguments: {} },
  });

  it('answers a denied tools/call with the request id, the rule in the audit event only', async () => {
    const gateway = await startPolicyGateway('json');
    const response = await rawRequest(`${gateway.url}/mcp`, { headers, chunks: [JSON.stringify(call(7, 'deploy'))] });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: { code: -32003, message: 'the gateway policy does not allow this operation', data: { code: 'forbidden' } },
    });
    expect(response.text).not.toContain('no-deploy');
    expect(gateway.upstream.messages).toEqual([]);
    const [event] = await gateway.waitForEvents(1);
    // The event names what the client asked for, although nothing was forwarded.
    expect(event).toMatchObject({
      decision: 'refused',
      reason: 'forbidden',
      rpcMethod: 'tools/call',
      rpcName: 'deploy',
      policy: [{ decision: 'deny', rule: 'no-deploy', rpcMethod: 'tools/call', tool: 'deploy' }],
    });
    const metric = await gateway.metrics.getSingleMetricAsString('mcp_identity_policy_denials_total');
    expect(metric).toContain(
      'mcp_identity_policy_denials_total{audience="urn:mcp:upstream",method="tools/call",tool="deploy",rule="no-deploy"} 1',
    );
  });

  it.each(['json', 'sse'] as const)(
    'answers a batch of allowed and denied calls per message (%s upstream), forwarding only the allowed',
    async (mode) => {
      const gateway = await startPolicyGateway(mode);
      const batch = [call(1, 'echo'), call(2, 'deploy'), { jsonrpc: '2.0', id: 3, method: 'tools/list' }, call(4, 'delete_all')];
      const response = await rawRequest(`${gateway.url}/mcp`, {
        headers: { ...headers, 'mcp-protocol-version': '2025-03-26' },
        chunks: [JSON.stringify(batch)],
      });
      expect(response.status).toBe(200);
      const answers: Record<string, any>[] =
        mode === 'json'
          ? response.json
          : response.text
              .split('\n')
              .filter((line) => line.startsWith('data: '))
              .map((line) => JSON.parse(line.slice(6)));
      const byId = new Map(answers.map((answer) => [answer.id, answer]));
      expect([...byId.keys()].sort()).toEqual([1, 2, 3, 4]);
      expect(byId.get(1)!.result.content[0].text).toBe('called echo');
      expect(byId.get(2)!.error).toEqual({
        code: -32003,
        message: 'the gateway policy does not allow this operation',
        data: { code: 'forbidden' },
      });
      expect(byId.get(3)!.result.tools.map((tool: { name: string }) => tool.name)).toEqual(['echo']);
      expect(byId.get(4)!.error.data.code).toBe('forbidden');
      expect(gateway.upstream.messages.map((message) => message.id)).toEqual([1, 3]);
      const [event] = await gateway.waitForEvents(1);
      expect(event!.decision).toBe('forwarded');
      expect(event!.policy!.map((record) => [record.decision, record.rule])).toEqual([
        ['allow', 'readers'],
        ['deny', 'no-deploy'],
        ['allow', 'default'],
        ['deny', 'default'],
      ]);
    },
  );

  it('answers a batch of only denied requests at the gateway, as an array', async () => {
    const gateway = await startPolicyGateway('json');
    const response = await rawRequest(`${gateway.url}/mcp`, { headers, chunks: [JSON.stringify([call(1, 'deploy'), call(2, 'x')])] });
    expect(response.status).toBe(200);
    expect(response.json.map((answer: { id: number; error: { code: number } }) => [answer.id, answer.error.code])).toEqual([
      [1, -32003],
      [2, -32003],
    ]);
    expect(gateway.upstream.messages).toEqual([]);
  });

  it('filters resources/list, resources/templates/list and prompts/list', async () => {
    const gateway = await startPolicyGateway('json');
    const list = async (method: string): Promise<any> =>
      (await rawRequest(`${gateway.url}/mcp`, { headers, chunks: [JSON.stringify({ jsonrpc: '2.0', id: 1, method })] })).json.result;
    expect((await list('resources/list')).resources.map((r: { uri: string }) => r.uri)).toEqual(['file:///public/a.txt']);
    expect((await list('resources/templates/list')).resourceTemplates.map((r: { name: string }) => r.name)).toEqual(['public']);
    expect((await list('prompts/list')).prompts.map((p: { name: string }) => p.name)).toEqual(['greet']);
  });

  it('sends a filtered list the upstream answered chunked with Content-Length only, never both', async () => {
    // An upstream streaming its JSON answer (Transfer-Encoding: chunked), as SDK v2 fetch adapters do.
    const messages: Record<string, unknown>[] = [];
    const app = express();
    app.use(express.json());
    app.post('/mcp', (req, res) => {
      messages.push(req.body as Record<string, unknown>);
      const tools = TOOLS.map((name) => ({ name, inputSchema: { type: 'object' } }));
      const body = JSON.stringify({ jsonrpc: '2.0', id: (req.body as { id: unknown }).id, result: { tools } });
      res.status(200).type('application/json');
      res.write(body.slice(0, 20));
      res.end(body.slice(20));
    });
    const running = track(await listen(app));
    const gateway = await startPolicyGateway('json', {}, { ...running, messages, called: () => [] });
    const response = await rawRequest(`${gateway.url}/mcp`, {
      headers,
      chunks: [JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' })],
    });
    expect(response.status).toBe(200);
    expect(response.headers['transfer-encoding']).toBeUndefined();
    expect(Number(response.headers['content-length'])).toBe(Buffer.byteLength(response.text));
    expect(response.json.result.tools.map((tool: { name: string }) => tool.name)).toEqual(['echo', 'read_a', 'read_b']);
    expect(messages.map((message) => message.method)).toEqual(['tools/list']);
  });

  it('answers 502 response_too_large when a list response exceeds listResponseLimit', async () => {
    const gateway = await startPolicyGateway('json', { listResponseLimit: 64 });
    const response = await rawRequest(`${gateway.url}/mcp`, {
      headers,
      chunks: [JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })],
    });
    expect(response.status).toBe(502);
    expect(response.json.error).toMatchObject({ code: -32603, data: { code: 'response_too_large' } });
  });

  it('ends an SSE list response that exceeds the limit with a response_too_large error for the list request', async () => {
    const gateway = await startPolicyGateway('sse', { listResponseLimit: 64 });
    const response = await rawRequest(`${gateway.url}/mcp`, {
      headers,
      chunks: [JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' })],
    });
    const data = response.text
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)));
    expect(data).toEqual([
      {
        jsonrpc: '2.0',
        id: 9,
        error: { code: -32603, message: 'the upstream response is too large to filter', data: { code: 'response_too_large' } },
      },
    ]);
    expect(response.text).not.toContain('deploy');
  });
});
