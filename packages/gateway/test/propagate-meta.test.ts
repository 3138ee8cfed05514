/**
 * The `_meta` carrier: the gateway's user and assertion in `params._meta` of every request
 * and notification, client-planted identity removed everywhere, and the body digest.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import request from 'supertest';
import {
  aliceAsSent,
  closeAll,
  expectBoundTo,
  jsonOf,
  META_ASSERTION,
  META_USER,
  only,
  startGateway,
  verifyAssertion,
} from './propagate-kit.js';
import type { GatewayUnderTest } from './propagate-kit.js';

afterEach(closeAll);

/** `_meta` on every request, as before `metaCreation` existed (the default is in propagate-era.test.ts). */
const always = { options: { metaCreation: 'always' as const } };

/** Identity keys a client might plant, in several spellings. */
const planted = {
  [META_USER]: { id: 'mallory', isAdmin: true },
  [META_ASSERTION]: 'forged.assertion.value',
  'MCP-Identity/User': { id: 'mallory' },
  'mcp-identity/anything': 1,
  user: { id: 'mallory', is_admin: true },
};

async function send(gateway: GatewayUnderTest, body: unknown): Promise<void> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  await request(gateway.url).post('/mcp').set('Content-Type', 'application/json').send(text).expect(200);
}

const identityKeys = (meta: Record<string, unknown>): string[] =>
  Object.keys(meta).filter((key) => key === 'user' || key.toLowerCase().startsWith('mcp-identity/'));

describe('propagateIdentity _meta carrier with metaCreation: "always"', () => {
  it.each([
    ['initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'c', version: '1' } }, true],
    ['tools/call', { name: 'echo', arguments: { text: 'hi' } }, true],
    ['tools/list', { cursor: 'c1' }, true],
    ['resources/read', { uri: 'file:///a.txt' }, true],
    ['prompts/get', { name: 'greet', arguments: { who: 'you' } }, true],
    ['completion/complete', { ref: { type: 'ref/prompt', name: 'greet' }, argument: { name: 'who', value: 'a' } }, true],
    ['notifications/initialized', {}, false],
  ])('puts the user and the header assertion in params._meta of %s', async (method, params, hasId) => {
    const gateway = await startGateway(always);
    await send(gateway, { jsonrpc: '2.0', ...(hasId ? { id: 3 } : {}), method, params });
    const received = only(gateway.upstream);
    const body = jsonOf(received);
    const { _meta: meta, ...rest } = body.params;
    expect(rest).toEqual(params);
    expect(body.method).toBe(method);
    expect('id' in body).toBe(hasId);
    expect(meta[META_USER]).toEqual(aliceAsSent);
    expect(meta[META_ASSERTION]).toBe(received.headers['x-forwarded-user-assertion']);
    expect(Object.keys(meta).sort()).toEqual([META_ASSERTION, META_USER]);
    expectBoundTo(await verifyAssertion(meta[META_ASSERTION]), received);
  });

  it('removes client-planted identity keys and keeps progressToken and traceparent', async () => {
    const gateway = await startGateway(always);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await send(gateway, {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: {}, _meta: { ...planted, progressToken: 'p-1', traceparent } },
    });
    const received = only(gateway.upstream);
    const meta = jsonOf(received).params._meta;
    expect(meta.progressToken).toBe('p-1');
    expect(meta.traceparent).toBe(traceparent);
    expect(identityKeys(meta).sort()).toEqual([META_ASSERTION, META_USER]);
    expect(meta[META_USER]).toEqual(aliceAsSent);
    expect(meta[META_ASSERTION]).toBe(received.headers['x-forwarded-user-assertion']);
    expect(received.body.toString('utf8')).not.toMatch(/mallory|forged/);
  });

  it('removes client-planted identity keys even when the meta carrier is off', async () => {
    const gateway = await startGateway({ options: { carriers: ['headers'] } });
    await send(gateway, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', _meta: { ...planted, progressToken: 7 } } });
    const received = only(gateway.upstream);
    expect(jsonOf(received).params._meta).toEqual({ progressToken: 7 });
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  it('gives a client response message no identity and removes identity planted in result._meta', async () => {
    const gateway = await startGateway(always);
    await send(gateway, { jsonrpc: '2.0', id: 'srv-1', result: { roots: [], _meta: { ...planted, progressToken: 'p-2' } } });
    const received = only(gateway.upstream);
    expect(jsonOf(received)).toEqual({ jsonrpc: '2.0', id: 'srv-1', result: { roots: [], _meta: { progressToken: 'p-2' } } });
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  it('handles a batch element by element', async () => {
    const gateway = await startGateway(always);
    await send(gateway, [
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'a', _meta: { ...planted, progressToken: 1 } } },
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
      { jsonrpc: '2.0', id: 'srv', result: { _meta: { ...planted, keep: true } } },
      { jsonrpc: '2.0', id: 2, method: 'ping' },
    ]);
    const received = only(gateway.upstream);
    const [call, note, response, ping] = jsonOf(received);
    const token = received.headers['x-forwarded-user-assertion'];
    for (const message of [call, note, ping]) {
      expect(identityKeys(message.params._meta).sort()).toEqual([META_ASSERTION, META_USER]);
      expect(message.params._meta[META_USER]).toEqual(aliceAsSent);
      expect(message.params._meta[META_ASSERTION]).toBe(token);
    }
    expect(call.params._meta.progressToken).toBe(1);
    expect(note.params).toMatchObject({ progressToken: 1, progress: 1 });
    expect(response).toEqual({ jsonrpc: '2.0', id: 'srv', result: { _meta: { keep: true } } });
    expect(ping.params).toEqual({ _meta: { [META_USER]: aliceAsSent, [META_ASSERTION]: token } });
    expectBoundTo(await verifyAssertion(token), received);
  });

  it('creates params when the request has none', async () => {
    const gateway = await startGateway(always);
    await send(gateway, { jsonrpc: '2.0', id: 9, method: 'tools/list' });
    const received = only(gateway.upstream);
    const token = received.headers['x-forwarded-user-assertion'];
    expect(jsonOf(received)).toEqual({
      jsonrpc: '2.0',
      id: 9,
      method: 'tools/list',
      params: { _meta: { [META_USER]: aliceAsSent, [META_ASSERTION]: token } },
    });
  });

  it('binds the SHA-256 of the JCS form of the forwarded body without the assertion members', async () => {
    const gateway = await startGateway(always);
    // Unsorted keys, a non-canonical number and non-ASCII text: JCS differs from the bytes sent.
    await send(gateway, '{"method":"tools/call", "jsonrpc":"2.0", "id":1, "params":{"z":1.0E2, "a":"\\u00e9😀", "name":"x"}}');
    const received = only(gateway.upstream);
    const body = JSON.parse(received.body.toString('utf8'));
    expect(body.params).toMatchObject({ z: 100, a: 'é😀', name: 'x' });
    const token = body.params._meta[META_ASSERTION];
    Reflect.deleteProperty(body.params._meta, META_ASSERTION);
    const digest = createHash('sha256').update(canonicalize(body)!).digest('base64url');
    const claims = await verifyAssertion(token);
    expect(claims.req.body_sha256).toBe(digest);
    expect(claims.req).toEqual({ method: 'POST', path: '/mcp', body_sha256: digest });
  });
});
