import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';
import {
  DEFAULT_BODY_LIMIT,
  hasRequestBody,
  isBodyConsumed,
  isIdentityError,
  readRequestBody,
  writeIdentityError,
} from '../src/internal.js';
import type { ReadBodyOptions } from '../src/internal.js';

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly json: { bytes?: string; decoded?: boolean; error?: { data: { code: string } } };
}

/** A server that reads each body with `options` and answers what it got (base64) or the error. */
function bodyServer(options: ReadBodyOptions): Promise<Running> {
  return listen((req, res) => {
    readRequestBody(req, options).then(
      (body) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ bytes: body.bytes.toString('base64'), decoded: body.decoded }));
      },
      (error: unknown) => {
        if (isIdentityError(error)) writeIdentityError(res, error);
        else {
          res.statusCode = 599;
          res.end(JSON.stringify({ unexpected: String(error) }));
        }
      },
    );
  });
}

interface Send {
  readonly headers?: http.OutgoingHttpHeaders;
  /** Written one after another; with no content-length header the request is chunked. */
  readonly chunks?: readonly Buffer[];
  /** Send the headers only and wait for the answer without ending the request. */
  readonly holdBody?: boolean;
}

function send(url: string, { headers = {}, chunks = [], holdBody = false }: Send): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => {
        answered = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(Buffer.concat(parts).toString('utf8')) });
        req.destroy();
      });
    });
    // The server may answer and close before the whole body is sent; only an error
    // before any answer fails the request.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (holdBody) {
      req.flushHeaders();
      return;
    }
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

const limit = 1024;
const jsonOf = (size: number): Buffer => Buffer.from(`"${'x'.repeat(size - 2)}"`);

describe('readRequestBody', () => {
  let server: Running;
  beforeAll(async () => {
    server = await bodyServer({ limit });
  });
  afterAll(async () => {
    await server.close();
  });

  it('reads a body sent with Content-Length', async () => {
    const body = Buffer.from('{"jsonrpc":"2.0","method":"ping","params":{"name":"José 🚀"}}');
    const reply = await send(server.url, { headers: { 'content-length': body.length }, chunks: [body] });
    expect(reply.status).toBe(200);
    expect(Buffer.from(reply.json.bytes!, 'base64').equals(body)).toBe(true);
    expect(reply.json.decoded).toBe(false);
  });

  it('reads a chunked body in pieces', async () => {
    const pieces = [Buffer.from('{"a":'), Buffer.from('"é'), Buffer.from('"}')];
    const reply = await send(server.url, { chunks: pieces });
    expect(Buffer.from(reply.json.bytes!, 'base64').toString()).toBe('{"a":"é"}');
  });

  it('reads an empty body', async () => {
    const reply = await send(server.url, { headers: { 'content-length': 0 } });
    expect(reply.json.bytes).toBe('');
  });

  it.each([
    ['exactly the limit with Content-Length', limit, true, true],
    ['one byte over the limit with Content-Length', limit + 1, true, false],
    ['exactly the limit, chunked', limit, false, true],
    ['one byte over the limit, chunked', limit + 1, false, false],
  ])('handles a body of %s', async (_label, size, withLength, accepted) => {
    const body = jsonOf(size);
    const reply = await send(server.url, {
      headers: withLength ? { 'content-length': size } : {},
      chunks: withLength ? [body] : [body.subarray(0, 100), body.subarray(100)],
    });
    if (accepted) expect(Buffer.from(reply.json.bytes!, 'base64').equals(body)).toBe(true);
    else {
      expect(reply.status).toBe(413);
      expect(reply.json.error?.data.code).toBe('body_too_large');
      expect(reply.headers.connection).toBe('close');
    }
  });

  it('refuses a declared Content-Length over the limit before reading any of the body', async () => {
    const reply = await send(server.url, { headers: { 'content-length': 10 * 1024 * 1024 }, holdBody: true });
    expect(reply.status).toBe(413);
    expect(reply.json.error?.data.code).toBe('body_too_large');
  });

  it('stops a chunked stream that grows past the limit', async () => {
    const chunk = Buffer.alloc(300, 0x20);
    const reply = await send(server.url, { chunks: Array.from({ length: 20 }, () => chunk) });
    expect(reply.status).toBe(413);
    expect(reply.json.error?.data.code).toBe('body_too_large');
  });

  describe('content encodings', () => {
    const json = Buffer.from('{"jsonrpc":"2.0","method":"tools/call","params":{"name":"équipe-🚀"}}');

    it.each([
      ['gzip', gzipSync(json)],
      ['x-gzip', gzipSync(json)],
      ['GZip', gzipSync(json)],
      [' gzip ', gzipSync(json)],
      ['deflate', deflateSync(json)],
      ['identity', json],
    ])('decodes %j', async (encoding, wire) => {
      const reply = await send(server.url, { headers: { 'content-encoding': encoding, 'content-length': wire.length }, chunks: [wire] });
      expect(reply.status).toBe(200);
      expect(Buffer.from(reply.json.bytes!, 'base64').equals(json)).toBe(true);
      expect(reply.json.decoded).toBe(encoding !== 'identity');
    });

    it.each([
      ['a decoded size exactly at the limit', limit, true],
      ['a decoded size one byte over the limit', limit + 1, false],
    ])('bounds gzip by the decoded size: %s', async (_label, size, accepted) => {
      const wire = gzipSync(jsonOf(size));
      expect(wire.length).toBeLessThan(limit);
      const reply = await send(server.url, { headers: { 'content-encoding': 'gzip' }, chunks: [wire] });
      if (accepted) expect(Buffer.from(reply.json.bytes!, 'base64').equals(jsonOf(size))).toBe(true);
      else expect(reply.json.error?.data.code).toBe('body_too_large');
    });

    it.each([
      ['gzip', gzipSync],
      ['deflate', deflateSync],
    ])('stops a %s bomb (50 MB of zeros) at the limit', async (encoding, compress) => {
      const bomb = compress(Buffer.alloc(50 * 1024 * 1024));
      // Small on the wire, so only the bound on the decoded size can stop it.
      expect(bomb.length).toBeLessThan(DEFAULT_BODY_LIMIT);
      const bombServer = await bodyServer({ limit: DEFAULT_BODY_LIMIT });
      try {
        const reply = await send(bombServer.url, { headers: { 'content-encoding': encoding }, chunks: [bomb] });
        expect(reply.status).toBe(413);
        expect(reply.json.error?.data.code).toBe('body_too_large');
      } finally {
        await bombServer.close();
      }
    });

    it.each([
      ['br', Buffer.from('x')],
      ['zstd', Buffer.from('x')],
      ['compress', Buffer.from('x')],
      ['gzip, gzip', gzipSync(gzipSync(json))],
      ['gzip;q=1', gzipSync(json)],
      ['', json],
    ])('refuses Content-Encoding %j with unsupported_encoding', async (encoding, wire) => {
      const reply = await send(server.url, { headers: { 'content-encoding': encoding, 'content-length': wire.length }, chunks: [wire] });
      expect(reply.status).toBe(415);
      expect(reply.json.error?.data.code).toBe('unsupported_encoding');
    });

    it.each([
      [
        'gzip with a flipped byte',
        'gzip',
        (() => {
          const wire = gzipSync(json);
          wire[wire.length - 12] = wire[wire.length - 12]! ^ 0xff;
          return wire;
        })(),
      ],
      ['truncated gzip', 'gzip', gzipSync(json).subarray(0, 20)],
      ['plain JSON labelled gzip', 'gzip', json],
      ['raw deflate without the zlib header', 'deflate', deflateRawSync(json)],
      ['gzip labelled deflate', 'deflate', gzipSync(json)],
    ])('refuses %s with parse_error', async (_label, encoding, wire) => {
      const reply = await send(server.url, { headers: { 'content-encoding': encoding, 'content-length': wire.length }, chunks: [wire] });
      expect(reply.status).toBe(400);
      expect(reply.json.error?.data.code).toBe('parse_error');
    });
  });

  it('refuses any encoding when decoding is off', async () => {
    const noDecode = await bodyServer({ limit, decode: false });
    try {
      const wire = gzipSync(Buffer.from('{}'));
      const reply = await send(noDecode.url, { headers: { 'content-encoding': 'gzip', 'content-length': wire.length }, chunks: [wire] });
      expect(reply.json.error?.data.code).toBe('unsupported_encoding');
      const plain = await send(noDecode.url, { headers: { 'content-length': 2 }, chunks: [Buffer.from('{}')] });
      expect(Buffer.from(plain.json.bytes!, 'base64').toString()).toBe('{}');
    } finally {
      await noDecode.close();
    }
  });
});

describe('hasRequestBody', () => {
  const request = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

  it.each([
    ['is true with a Content-Length', { 'content-length': '12' }, true],
    ['is true with chunked transfer encoding', { 'transfer-encoding': 'chunked' }, true],
    ['is true with any transfer encoding', { 'transfer-encoding': 'gzip, chunked' }, true],
    ['is false with Content-Length 0', { 'content-length': '0' }, false],
    ['is false with no body headers', {}, false],
  ])('%s', (_label, headers, expected) => {
    expect(hasRequestBody(request(headers))).toBe(expected);
  });
});

describe('isBodyConsumed', () => {
  it.each([
    ['is false for a fresh stream', { readableEnded: false, readableDidRead: false }, false],
    ['is true for a stream someone read from', { readableEnded: false, readableDidRead: true }, true],
    ['is true for an ended stream', { readableEnded: true, readableDidRead: false }, true],
  ])('%s', (_label, state, expected) => {
    expect(isBodyConsumed(state as unknown as IncomingMessage)).toBe(expected);
  });
});
