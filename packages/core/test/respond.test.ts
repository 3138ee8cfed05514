import http from 'node:http';
import { listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';
import { IdentityError, refusalOf, writeIdentityError } from '../src/internal.js';

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

function get(url: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('writeIdentityError', () => {
  let server: Running | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers with the status, a JSON-RPC error body, no-store and the error headers', async () => {
    server = await listen((_req, res) => {
      writeIdentityError(
        res,
        new IdentityError('unauthenticated', 'log in first', { headers: { 'WWW-Authenticate': 'Basic realm="mcp"' }, cause: 'hidden' }),
      );
    });
    const reply = await get(server.url);
    expect(reply.status).toBe(401);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.headers['www-authenticate']).toBe('Basic realm="mcp"');
    expect(Number(reply.headers['content-length'])).toBe(Buffer.byteLength(reply.body));
    expect(JSON.parse(reply.body)).toStrictEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32001, message: 'log in first', data: { code: 'unauthenticated' } },
    });
  });

  it('counts the content length in bytes for a non-ASCII message', async () => {
    server = await listen((_req, res) => writeIdentityError(res, new IdentityError('forbidden', 'équipe 🚀 refusée')));
    const reply = await get(server.url);
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.body).error.message).toBe('équipe 🚀 refusée');
  });

  it('cuts a response that has already started instead of writing a second status', async () => {
    server = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      writeIdentityError(res, new IdentityError('upstream_unavailable', 'gone'));
    });
    await expect(get(server.url)).rejects.toThrow(/aborted|hang up|ECONNRESET/i);
  });
});

describe('refusalOf', () => {
  let server: Running | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('returns the code of the refusal written on a response, and undefined for a response without one', async () => {
    const seen: unknown[] = [];
    server = await listen((req, res) => {
      seen.push(refusalOf(res));
      if (req.url === '/refuse') writeIdentityError(res, new IdentityError('forbidden', 'no'));
      else res.end('ok');
      seen.push(refusalOf(res));
    });

    await get(`${server.url}/refuse`);
    await get(`${server.url}/ok`);

    expect(seen).toEqual([undefined, 'forbidden', undefined, undefined]);
  });

  it('records the refusal of a response it cuts because it had already started', async () => {
    const seen: unknown[] = [];
    server = await listen((_req, res) => {
      res.writeHead(200);
      res.write('partial');
      writeIdentityError(res, new IdentityError('upstream_unavailable', 'gone'));
      seen.push(refusalOf(res));
    });

    await expect(get(server.url)).rejects.toThrow(/aborted|hang up|ECONNRESET/i);
    expect(seen).toEqual(['upstream_unavailable']);
  });
});
