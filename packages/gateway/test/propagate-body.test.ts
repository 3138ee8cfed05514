/**
 * Request bodies: what the gateway refuses before anything goes upstream, and how accepted
 * bodies are forwarded (exact Content-Length, decoded, re-framed).
 */
import { gzipSync } from 'node:zlib';
import express from 'express';
import request from 'supertest';
import {
  closeAll,
  EMPTY_SHA256,
  expectBoundTo,
  jsonOf,
  only,
  rawRequest,
  refusal,
  startGateway,
  toolsCall,
  verifyAssertion,
} from './propagate-kit.js';
import type { RawRequestOptions } from './propagate-kit.js';

afterEach(closeAll);

const JSON_TYPE = ['Content-Type', 'application/json'];
const CALL = JSON.stringify(toolsCall());
const LIMIT = 1024;

interface Refusal {
  readonly request: RawRequestOptions;
  readonly status: number;
  readonly code: string;
  readonly rpcCode: number;
}

const withJson = (body: string | Buffer, headers: string[] = []): RawRequestOptions => ({
  path: '/mcp',
  headers: [...JSON_TYPE, ...headers],
  chunks: [body],
});

const refusals: [string, Refusal][] = [
  [
    'params that is an array',
    {
      request: withJson('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1,2]}'),
      status: 400,
      code: 'invalid_params',
      rpcCode: -32602,
    },
  ],
  [
    'params that is a string',
    {
      request: withJson('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"x"}'),
      status: 400,
      code: 'invalid_params',
      rpcCode: -32602,
    },
  ],
  [
    'params that is null',
    {
      request: withJson('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":null}'),
      status: 400,
      code: 'invalid_params',
      rpcCode: -32602,
    },
  ],
  [
    'params that is a number',
    {
      request: withJson('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":42}'),
      status: 400,
      code: 'invalid_params',
      rpcCode: -32602,
    },
  ],
  [
    '_meta that is a string',
    {
      request: withJson('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":"x"}}'),
      status: 400,
      code: 'invalid_params',
      rpcCode: -32602,
    },
  ],
  [
    '_meta that is an array',
    {
      request: withJson('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":[]}}'),
      status: 400,
      code: 'invalid_params',
      rpcCode: -32602,
    },
  ],
  ['an empty batch', { request: withJson('[]'), status: 400, code: 'invalid_request', rpcCode: -32600 }],
  ['a batch with a non-object element', { request: withJson(`[${CALL},1]`), status: 400, code: 'invalid_request', rpcCode: -32600 }],
  [
    'a non-string method',
    { request: withJson('{"jsonrpc":"2.0","id":1,"method":7}'), status: 400, code: 'invalid_request', rpcCode: -32600 },
  ],
  ['malformed JSON', { request: withJson('{"jsonrpc":"2.0","id":1,'), status: 400, code: 'parse_error', rpcCode: -32700 }],
  [
    'a body that is not UTF-8',
    { request: withJson(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), status: 400, code: 'parse_error', rpcCode: -32700 },
  ],
  [
    'an empty POST body',
    { request: { path: '/mcp', headers: [...JSON_TYPE, 'Content-Length', '0'] }, status: 400, code: 'parse_error', rpcCode: -32700 },
  ],
  [
    'a duplicate envelope key',
    {
      request: withJson('{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call"}'),
      status: 400,
      code: 'invalid_request',
      rpcCode: -32600,
    },
  ],
  [
    'a duplicate _meta key',
    {
      request: withJson('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"progressToken":1,"progressToken":2}}}'),
      status: 400,
      code: 'invalid_request',
      rpcCode: -32600,
    },
  ],
  [
    '__proto__ in params',
    {
      request: withJson('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"__proto__":{"isAdmin":true}}}'),
      status: 400,
      code: 'invalid_params',
      rpcCode: -32602,
    },
  ],
  [
    '__proto__ in the envelope',
    {
      request: withJson('{"jsonrpc":"2.0","id":1,"method":"tools/call","__proto__":{}}'),
      status: 400,
      code: 'invalid_request',
      rpcCode: -32600,
    },
  ],
  [
    'a text/plain POST',
    {
      request: { path: '/mcp', headers: ['Content-Type', 'text/plain'], chunks: [CALL] },
      status: 415,
      code: 'unsupported_media_type',
      rpcCode: -32600,
    },
  ],
  [
    'a POST without Content-Type',
    { request: { path: '/mcp', headers: [], chunks: [CALL] }, status: 415, code: 'unsupported_media_type', rpcCode: -32600 },
  ],
  [
    'an empty POST without Content-Type',
    { request: { path: '/mcp', headers: ['Content-Length', '0'] }, status: 415, code: 'unsupported_media_type', rpcCode: -32600 },
  ],
  [
    'charset=latin1',
    {
      request: { path: '/mcp', headers: ['Content-Type', 'application/json; charset=latin1'], chunks: [CALL] },
      status: 415,
      code: 'unsupported_media_type',
      rpcCode: -32600,
    },
  ],
  [
    'Content-Encoding: br',
    { request: withJson(CALL, ['Content-Encoding', 'br']), status: 415, code: 'unsupported_encoding', rpcCode: -32600 },
  ],
  [
    'a corrupt gzip body',
    { request: withJson(Buffer.from('not gzip at all'), ['Content-Encoding', 'gzip']), status: 400, code: 'parse_error', rpcCode: -32700 },
  ],
  [
    `a declared Content-Length over bodyLimit`,
    {
      request: withJson(JSON.stringify(toolsCall({ params: { name: 'x', arguments: { pad: 'a'.repeat(LIMIT) } } }))),
      status: 413,
      code: 'body_too_large',
      rpcCode: -32600,
    },
  ],
  [
    'a chunked body over bodyLimit',
    {
      request: {
        path: '/mcp',
        headers: { 'content-type': 'application/json' },
        chunks: ['{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"pad":"', 'b'.repeat(LIMIT), '"}}'],
      },
      status: 413,
      code: 'body_too_large',
      rpcCode: -32600,
    },
  ],
  [
    'a gzip body that decodes to more than bodyLimit',
    {
      request: withJson(gzipSync(JSON.stringify(toolsCall({ params: { pad: 'c'.repeat(LIMIT * 8) } }))), ['Content-Encoding', 'gzip']),
      status: 413,
      code: 'body_too_large',
      rpcCode: -32600,
    },
  ],
];

describe('propagateIdentity refuses bad bodies before forwarding', () => {
  it.each(refusals)('refuses %s and forwards nothing', async (_name, { request: req, status, code, rpcCode }) => {
    const gateway = await startGateway({ options: { bodyLimit: LIMIT } });
    const res = await rawRequest(gateway.url, req);
    expect(res.status).toBe(status);
    expect(refusal(res.json)).toEqual({ code, rpcCode, jsonrpc: '2.0' });
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(gateway.upstream.received.length).toBe(0);
    expect(gateway.unhandled).toEqual([]);
  });

  it('asks the client to close the connection after refusing a body over bodyLimit', async () => {
    const gateway = await startGateway({ options: { bodyLimit: 16 } });
    const res = await rawRequest(gateway.url, withJson(CALL));
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
    expect(gateway.upstream.received.length).toBe(0);
  });
});

describe('propagateIdentity forwards accepted bodies', () => {
  it.each([
    'Application/JSON; charset=UTF-8',
    'application/json;charset="utf-8"',
    'application/json; Charset=utf-8',
    'application/json; charset=utf8',
  ])('accepts Content-Type %s', async (type) => {
    const gateway = await startGateway();
    const res = await rawRequest(gateway.url, { path: '/mcp', headers: ['Content-Type', type], chunks: [CALL] });
    expect(res.status).toBe(200);
    const received = only(gateway.upstream);
    expect(jsonOf(received).params.arguments).toEqual({ text: 'hi' });
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  it('decodes a gzip body and forwards it with an exact Content-Length and no Content-Encoding', async () => {
    const gateway = await startGateway();
    const res = await rawRequest(gateway.url, withJson(gzipSync(CALL), ['Content-Encoding', 'gzip']));
    expect(res.status).toBe(200);
    const received = only(gateway.upstream);
    expect(received.headers['content-encoding']).toBeUndefined();
    expect(received.headers['transfer-encoding']).toBeUndefined();
    expect(received.headers['content-length']).toBe(String(received.body.length));
    expect(jsonOf(received)).toMatchObject(toolsCall());
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  it('forwards a chunked client body with Content-Length and no Transfer-Encoding', async () => {
    const gateway = await startGateway({ options: { carriers: ['headers'] } });
    const res = await rawRequest(gateway.url, {
      path: '/mcp',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      chunks: [CALL.slice(0, 10), CALL.slice(10, 30), CALL.slice(30)],
    });
    expect(res.status).toBe(200);
    const received = only(gateway.upstream);
    expect(received.headers['transfer-encoding']).toBeUndefined();
    expect(received.headers['content-length']).toBe(String(Buffer.byteLength(CALL)));
    expect(received.body.toString('utf8')).toBe(CALL);
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  it('forwards 1,000 repetitions of é😀 with a Content-Length in bytes', async () => {
    const gateway = await startGateway();
    const text = 'é😀'.repeat(1000);
    const res = await rawRequest(gateway.url, withJson(JSON.stringify(toolsCall({ params: { name: 'echo', arguments: { text } } }))));
    expect(res.status).toBe(200);
    const received = only(gateway.upstream);
    expect(received.headers['content-length']).toBe(String(received.body.length));
    expect(received.body.length).toBeGreaterThan(received.body.toString('utf8').length);
    expect(jsonOf(received).params.arguments.text).toBe(text);
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  describe('number lexemes', () => {
    const BIG =
      '{"jsonrpc":"2.0","id":12345678901234567890123,"method":"tools/call","params":{"name":"echo",' +
      '"arguments":{"n":12345678901234567890123,"f":1.0,"e":1e2},"_meta":{"mcp-identity/user":{"id":"mallory"}}}}';
    const untilMeta = BIG.slice(0, BIG.indexOf('{"mcp-identity/user"'));

    it.each([
      ['both carriers', ['headers', 'meta'] as const, false],
      ['the headers carrier', ['headers'] as const, false],
      ['a gzip body', ['headers', 'meta'] as const, true],
    ])(
      'forwards an id and arguments of 12345678901234567890123 byte for byte with %s, bound to what arrived',
      async (_name, carriers, gzip) => {
        const gateway = await startGateway({ options: { carriers } });
        const res = await rawRequest(gateway.url, gzip ? withJson(gzipSync(BIG), ['Content-Encoding', 'gzip']) : withJson(BIG));
        expect(res.status).toBe(200);
        const received = only(gateway.upstream);
        const wire = received.body.toString('utf8');
        expect(wire.startsWith(untilMeta)).toBe(true);
        expect(wire).not.toContain('mallory');
        expect(jsonOf(received).params._meta['mcp-identity/user']?.id).toBe(
          (carriers as readonly string[]).includes('meta') ? 'alice@corp' : undefined,
        );
        expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
      },
    );
  });

  it('works behind express.json(), re-serializing req.body', async () => {
    const gateway = await startGateway({ before: [express.json()], options: { metaCreation: 'always' } });
    await request(gateway.url).post('/mcp').send(toolsCall()).expect(200);
    const received = only(gateway.upstream);
    expect(received.headers['content-length']).toBe(String(received.body.length));
    const body = jsonOf(received);
    expect(body.params.arguments).toEqual({ text: 'hi' });
    expect(body.params._meta['mcp-identity/user'].id).toBe('alice@corp');
    expect(body.params._meta['mcp-identity/assertion']).toBe(received.headers['x-forwarded-user-assertion']);
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  it('works behind express.json() with a gzip body, dropping Content-Encoding', async () => {
    const gateway = await startGateway({ before: [express.json()] });
    const res = await rawRequest(gateway.url, withJson(gzipSync(CALL), ['Content-Encoding', 'gzip']));
    expect(res.status).toBe(200);
    const received = only(gateway.upstream);
    expect(received.headers['content-encoding']).toBeUndefined();
    expect(received.headers['content-length']).toBe(String(received.body.length));
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  it('refuses bad params behind express.json() too, forwarding nothing', async () => {
    const gateway = await startGateway({ before: [express.json()] });
    const res = await rawRequest(gateway.url, withJson('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]}'));
    expect(res.status).toBe(400);
    expect(refusal(res.json)).toEqual({ code: 'invalid_params', rpcCode: -32602, jsonrpc: '2.0' });
    expect(gateway.upstream.received.length).toBe(0);
  });

  it.each(['GET', 'DELETE'] as const)('forwards %s with identity headers only, bound to the empty body', async (method) => {
    const gateway = await startGateway();
    const res = await rawRequest(gateway.url, { method, path: '/mcp?session=s1', headers: ['Accept', 'text/event-stream'] });
    expect(res.status).toBe(200);
    const received = only(gateway.upstream);
    expect(received.method).toBe(method);
    expect(received.body.length).toBe(0);
    expect(received.headers['transfer-encoding']).toBeUndefined();
    expect([undefined, '0']).toContain(received.headers['content-length']);
    expect(received.headers['x-forwarded-user-id']).toBe('alice@corp');
    const claims = await verifyAssertion(received.headers['x-forwarded-user-assertion']);
    expect(claims.req).toEqual({ method, path: '/mcp?session=s1', body_sha256: EMPTY_SHA256 });
    expectBoundTo(claims, received);
  });
});
