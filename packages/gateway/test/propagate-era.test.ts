/**
 * MCP protocol eras at the gateway: `_meta` created only where it keeps a request's era,
 * modern (2026-07-28) requests checked header against body before anything is forwarded,
 * one message per modern body, no session binding for modern requests, and the mount root
 * forwarded to the target path exactly.
 */
import request from 'supertest';
import { MemoryStore } from '@mcp-identity/core/internal';
import { propagateIdentity } from '../src/index.js';
import {
  aliceAsSent,
  closeAll,
  expectBoundTo,
  identityOptions,
  jsonOf,
  META_ASSERTION,
  META_USER,
  only,
  rawRequest,
  refusal,
  startGateway,
  startUpstream,
  verifyAssertion,
} from './propagate-kit.js';
import type { GatewayUnderTest } from './propagate-kit.js';

afterEach(closeAll);

const MODERN = '2026-07-28';
const envelope = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

function modernCall(
  params: Record<string, unknown> = { name: 'echo', arguments: { text: 'hi' } },
  method = 'tools/call',
): Record<string, unknown> {
  return { jsonrpc: '2.0', id: 7, method, params: { ...params, _meta: { ...envelope } } };
}

/** The headers an SDK v2 client sends with {@link modernCall}. */
function modernHeaders(name = 'echo', method = 'tools/call'): string[] {
  return ['Content-Type', 'application/json', 'MCP-Protocol-Version', MODERN, 'Mcp-Method', method, 'Mcp-Name', name];
}

async function post(gateway: GatewayUnderTest, body: unknown, headers: readonly string[], path = '/mcp') {
  return rawRequest(gateway.url, { path, headers, chunks: [JSON.stringify(body)] });
}

function expectRefused(res: { status: number; json: unknown }, gateway: GatewayUnderTest, code: string, rpcCode: number): void {
  expect(res.status).toBe(400);
  expect(refusal(res.json)).toEqual({ code, rpcCode, jsonrpc: '2.0' });
  expect(gateway.upstream.received).toHaveLength(0);
}

describe('propagateIdentity with legacy requests (metaCreation "preserve-era", the default)', () => {
  it.each([
    ['initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } }],
    ['tools/call', { name: 'echo', arguments: { text: 'hi' } }],
    ['tools/list', undefined],
  ])('creates no params._meta on a session-less %s, and carries the identity in headers', async (method, params) => {
    const gateway = await startGateway();
    const sent = { jsonrpc: '2.0', id: 1, method, ...(params === undefined ? {} : { params }) };
    await request(gateway.url).post('/mcp').send(sent).expect(200);
    const received = only(gateway.upstream);
    expect(jsonOf(received)).toEqual(sent);
    expect(received.headers['x-forwarded-user-id']).toBe('alice@corp');
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  it('adds the identity to a _meta the client sent, keeping its keys', async () => {
    const gateway = await startGateway();
    await request(gateway.url)
      .post('/mcp')
      .send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', _meta: { progressToken: 'p-1' } } })
      .expect(200);
    const received = only(gateway.upstream);
    const meta = jsonOf(received).params._meta;
    expect(Object.keys(meta).sort()).toEqual([META_ASSERTION, META_USER, 'progressToken']);
    expect(meta[META_ASSERTION]).toBe(received.headers['x-forwarded-user-assertion']);
  });

  it('creates params._meta on a legacy request in an Mcp-Session-Id session', async () => {
    const gateway = await startGateway({ options: { sessionStore: false } });
    await request(gateway.url).post('/mcp').set('Mcp-Session-Id', 's-1').send({ jsonrpc: '2.0', id: 1, method: 'tools/list' }).expect(200);
    const received = only(gateway.upstream);
    expect(jsonOf(received).params._meta[META_USER]).toEqual(aliceAsSent);
    expect(received.headers['mcp-session-id']).toBe('s-1');
  });

  it('creates params._meta on every request with metaCreation "always"', async () => {
    const gateway = await startGateway({ options: { metaCreation: 'always' } });
    await request(gateway.url).post('/mcp').send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }).expect(200);
    const received = only(gateway.upstream);
    expect(jsonOf(received).params._meta[META_ASSERTION]).toBe(received.headers['x-forwarded-user-assertion']);
  });

  it('keeps creating _meta everywhere for carriers ["meta"] alone, and sends no identity headers', async () => {
    const gateway = await startGateway({ options: { carriers: ['meta'] } });
    await request(gateway.url).post('/mcp').send({ jsonrpc: '2.0', id: 1, method: 'tools/list' }).expect(200);
    const received = only(gateway.upstream);
    expect(received.headers['x-forwarded-user-assertion']).toBeUndefined();
    expectBoundTo(await verifyAssertion(jsonOf(received).params._meta[META_ASSERTION]), received);
  });

  it('carries the identity in headers for carriers ["meta"] with "preserve-era" where no _meta may be created', async () => {
    const gateway = await startGateway({ options: { carriers: ['meta'], metaCreation: 'preserve-era' } });
    await request(gateway.url).post('/mcp').send({ jsonrpc: '2.0', id: 1, method: 'tools/list' }).expect(200);
    const received = only(gateway.upstream);
    expect(jsonOf(received)).toEqual({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  it.each([['sometimes'], [true], [null]])('throws at start-up for metaCreation %p', (value) => {
    expect(() => propagateIdentity({ target: 'http://127.0.0.1:1', ...identityOptions, metaCreation: value as never })).toThrow(
      /metaCreation/,
    );
  });
});

describe('propagateIdentity with modern (2026-07-28) requests', () => {
  it('forwards a request whose headers match its body, with the identity added to its _meta', async () => {
    const gateway = await startGateway();
    const res = await post(gateway, modernCall(), modernHeaders());
    expect(res.status).toBe(200);
    const received = only(gateway.upstream);
    const meta = jsonOf(received).params._meta;
    expect(meta['io.modelcontextprotocol/protocolVersion']).toBe(MODERN);
    expect(meta[META_USER]).toEqual(aliceAsSent);
    expect(received.headers['mcp-method']).toBe('tools/call');
    expectBoundTo(await verifyAssertion(meta[META_ASSERTION]), received);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    [
      'a mismatched Mcp-Method',
      modernCall(),
      ['Content-Type', 'application/json', 'MCP-Protocol-Version', MODERN, 'Mcp-Method', 'tools/list', 'Mcp-Name', 'echo'],
    ],
    ['a mismatched Mcp-Name', modernCall(), modernHeaders('delete_everything')],
    ['a mismatched Base64 Mcp-Name', modernCall(), modernHeaders(`=?base64?${Buffer.from('delete_everything').toString('base64')}?=`)],
    ['an Mcp-Name with bad Base64', modernCall(), modernHeaders('=?base64?not base64?=')],
    [
      'a mismatched MCP-Protocol-Version',
      modernCall(),
      ['Content-Type', 'application/json', 'MCP-Protocol-Version', '2026-08-01', 'Mcp-Method', 'tools/call', 'Mcp-Name', 'echo'],
    ],
    ['a missing MCP-Protocol-Version', modernCall(), ['Content-Type', 'application/json', 'Mcp-Method', 'tools/call', 'Mcp-Name', 'echo']],
    ['a missing Mcp-Method', modernCall(), ['Content-Type', 'application/json', 'MCP-Protocol-Version', MODERN, 'Mcp-Name', 'echo']],
    ['a missing Mcp-Name', modernCall(), ['Content-Type', 'application/json', 'MCP-Protocol-Version', MODERN, 'Mcp-Method', 'tools/call']],
    [
      'a mismatched Mcp-Name on resources/read',
      modernCall({ uri: 'file:///a.txt' }, 'resources/read'),
      modernHeaders('file:///b.txt', 'resources/read'),
    ],
    [
      'a mismatched Mcp-Param-Region',
      modernCall({ name: 'sql', arguments: { region: 'us-west1' } }),
      [...modernHeaders('sql'), 'Mcp-Param-Region', 'eu-west1'],
    ],
    [
      'a mismatched integer Mcp-Param-Count',
      modernCall({ name: 'sql', arguments: { count: 42 } }),
      [...modernHeaders('sql'), 'Mcp-Param-Count', '43'],
    ],
    [
      'an Mcp-Param-* header without tool arguments',
      modernCall({}, 'tools/list'),
      [...modernHeaders('x', 'tools/list').slice(0, 6), 'Mcp-Param-Region', 'eu'],
    ],
    ['a duplicated Mcp-Method', modernCall(), [...modernHeaders(), 'Mcp-Method', 'tools/call']],
    ['an Mcp_Method spelled with "_"', modernCall(), [...modernHeaders().slice(0, 4), 'Mcp_Method', 'tools/call', 'Mcp-Name', 'echo']],
    [
      'an Mcp_Param_Region spelled with "_"',
      modernCall({ name: 'sql', arguments: { region: 'eu' } }),
      [...modernHeaders('sql'), 'Mcp_Param_Region', 'eu'],
    ],
  ])('responds 400 mcp_header_mismatch (-32020) for %s, forwarding nothing', async (_case, body, headers) => {
    const gateway = await startGateway();
    expectRefused(await post(gateway, body, headers), gateway, 'mcp_header_mismatch', -32020);
  });

  it.each([
    ['a number', 7],
    ['a string', 'call-7'],
  ])('answers a header mismatch with the request id when the id is %s (the 2026-07-28 schema requires it)', async (_case, id) => {
    const gateway = await startGateway();
    const res = await post(gateway, { ...modernCall(), id }, modernHeaders('delete_everything'));
    expectRefused(res, gateway, 'mcp_header_mismatch', -32020);
    expect((res.json as { id?: unknown }).id).toBe(id);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    [
      'a Base64 Mcp-Name',
      modernCall({ name: 'héllo', arguments: {} }),
      modernHeaders(`=?base64?${Buffer.from('héllo').toString('base64')}?=`),
    ],
    [
      'a Base64 Mcp-Param-*',
      modernCall({ name: 'greet', arguments: { text: 'Hello, 世界' } }),
      [...modernHeaders('greet'), 'Mcp-Param-Greeting', '=?base64?SGVsbG8sIOS4lueVjA==?='],
    ],
    [
      'an integer Mcp-Param-* compared numerically',
      modernCall({ name: 'sql', arguments: { limit: 42 } }),
      [...modernHeaders('sql'), 'mcp-param-limit', '42.0'],
    ],
    [
      'a nested Mcp-Param-*',
      modernCall({ name: 'sql', arguments: { where: { region: 'eu' } } }),
      [...modernHeaders('sql'), 'Mcp-Param-Region', 'eu'],
    ],
    [
      'a notification without metadata headers',
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1, _meta: { ...envelope } } },
      ['Content-Type', 'application/json'],
    ],
  ])('forwards %s that matches the body', async (_case, body, headers) => {
    const gateway = await startGateway();
    expect((await post(gateway, body, headers)).status).toBe(200);
    expect(gateway.upstream.received).toHaveLength(1);
  });

  it('responds 400 mcp_message_refused for a batch, forwarding nothing', async () => {
    const gateway = await startGateway();
    const res = await post(gateway, [modernCall(), { ...modernCall(), id: 8 }], modernHeaders());
    expectRefused(res, gateway, 'mcp_message_refused', -32600);
  });

  it('responds 400 mcp_message_refused for a batch with one modern element, whatever the headers', async () => {
    const gateway = await startGateway();
    const res = await post(gateway, [{ jsonrpc: '2.0', id: 1, method: 'ping' }, modernCall()], ['Content-Type', 'application/json']);
    expectRefused(res, gateway, 'mcp_message_refused', -32600);
  });

  it('responds 400 mcp_message_refused for a posted JSON-RPC response, forwarding nothing', async () => {
    const gateway = await startGateway();
    const res = await post(gateway, { jsonrpc: '2.0', id: 3, result: {} }, [
      'Content-Type',
      'application/json',
      'MCP-Protocol-Version',
      MODERN,
    ]);
    expectRefused(res, gateway, 'mcp_message_refused', -32600);
  });

  it('neither checks nor forwards nor binds Mcp-Session-Id', async () => {
    const store = new MemoryStore();
    const upstream = await startUpstream((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('mcp-session-id', 'minted-by-upstream');
      res.end('{"jsonrpc":"2.0","id":7,"result":{}}');
    });
    const gateway = await startGateway({ upstream, options: { sessionStore: store } });
    // Unknown to the gateway: a legacy request with it would be answered 404.
    const res = await post(gateway, modernCall(), [...modernHeaders(), 'Mcp-Session-Id', 'someone-elses-session']);
    expect(res.status).toBe(200);
    expect(only(upstream).headers['mcp-session-id']).toBeUndefined();
    // The id the upstream returned was not bound: using it in a legacy request is refused.
    const legacy = await request(gateway.url)
      .post('/mcp')
      .set('Mcp-Session-Id', 'minted-by-upstream')
      .send({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(legacy.status).toBe(404);
    expect(refusal(legacy.body).code).toBe('session_not_found');
  });

  it('passes a subscriptions/listen stream and an input-required result through untouched', async () => {
    const stream = 'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{}}\n\n';
    const inputRequired = JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      result: { resultType: 'input_required', inputRequests: { a: { method: 'elicitation/create', params: { message: 'ok?' } } } },
    });
    const upstream = await startUpstream((req, res) => {
      const listen = JSON.parse(req.body.toString('utf8')).method === 'subscriptions/listen';
      res.setHeader('content-type', listen ? 'text/event-stream' : 'application/json');
      res.end(listen ? stream : inputRequired);
    });
    const gateway = await startGateway({ upstream });
    const listen = await post(
      gateway,
      modernCall({ notifications: { toolsListChanged: true } }, 'subscriptions/listen'),
      modernHeaders('x', 'subscriptions/listen').slice(0, 6),
    );
    expect(listen.headers['content-type']).toBe('text/event-stream');
    expect(listen.text).toBe(stream);
    const call = await post(gateway, modernCall(), modernHeaders());
    expect(call.text).toBe(inputRequired);
  });
});

describe('propagateIdentity target paths', () => {
  it.each([
    ['/mcp/notes', '/mcp'],
    ['/mcp/notes?x=1', '/mcp?x=1'],
    ['/mcp/notes/', '/mcp'],
    ['/mcp/notes/sub', '/mcp/sub'],
  ])('forwards %s to %s when mounted at /mcp/notes with target path /mcp', async (path, forwarded) => {
    const upstream = await startUpstream();
    const gateway = await startGateway({ upstream, mount: '/mcp/notes', options: { target: `${upstream.url}/mcp` } });
    await request(gateway.url).post(path).send({ jsonrpc: '2.0', id: 1, method: 'tools/list' }).expect(200);
    const received = only(upstream);
    expect(received.url).toBe(forwarded);
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  it('keeps a target path that ends with "/" as configured', async () => {
    const upstream = await startUpstream();
    const gateway = await startGateway({ upstream, mount: '/mcp/notes', options: { target: `${upstream.url}/mcp/` } });
    await request(gateway.url).post('/mcp/notes').send({ jsonrpc: '2.0', id: 1, method: 'tools/list' }).expect(200);
    expect(only(upstream).url).toBe('/mcp/');
  });
});
