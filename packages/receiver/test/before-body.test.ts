/**
 * The check before the body: a request that cannot carry an assertion anywhere but the
 * header is refused before a byte of its body is read, so a directly reachable receiver
 * never buffers up to `bodyLimit` for it. The `_meta` carrier keeps working where it is on.
 */
import net from 'node:net';
import request from 'supertest';
import { errorCodes } from '@mcp-identity/core/internal';
import type { IdentityErrorCode } from '@mcp-identity/core/internal';
import { listen } from '../../../test/kit.js';
import { createTestApp, expectRefusal, identityHeaders, signFor, signIntoMeta, toolCall } from './helpers.js';
import type { TestApp } from './helpers.js';

interface EarlyAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: any;
}

/**
 * Sends a request head and the first chunk of a chunked body that never ends, and reads the
 * answer: it can only come before the body was read, and the server must close the connection.
 */
async function sendEndlessBody(test: TestApp, headers: readonly string[]): Promise<EarlyAnswer> {
  const server = await listen(test.app);
  try {
    const head = ['POST /mcp HTTP/1.1', 'Host: 127.0.0.1', 'Transfer-Encoding: chunked', ...headers].join('\r\n');
    const answer = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = net.connect(server.port, '127.0.0.1', () => socket.write(`${head}\r\n\r\n400\r\n${'{'.repeat(1024)}\r\n`));
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.on('error', reject);
    });
    const split = answer.indexOf('\r\n\r\n');
    const [statusLine = '', ...lines] = answer.slice(0, split).split('\r\n');
    const responseHeaders: Record<string, string> = {};
    for (const line of lines) responseHeaders[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
    return { status: Number(statusLine.split(' ')[1]), headers: responseHeaders, body: JSON.parse(answer.slice(split + 4)) };
  } finally {
    await server.close();
  }
}

function expectEarlyRefusal(answer: EarlyAnswer, code: IdentityErrorCode, test: TestApp): void {
  expect(answer.status).toBe(401);
  expect(answer.body).toEqual({
    jsonrpc: '2.0',
    id: null,
    error: { code: errorCodes[code].rpcCode, message: expect.any(String), data: { code } },
  });
  expect(answer.headers.connection).toBe('close');
  expect(test.calls).toHaveLength(0);
  expect(test.events.map((event) => [event.decision, event.reason])).toEqual([['refused', code]]);
}

const headersOnly = { receiver: { carriers: ['headers'] as const } };

describe('verifyIdentity refuses before reading the body what the body cannot save', () => {
  it('answers 401 identity_missing at once to a request without an assertion header, with carriers: ["headers"], though its body never ends', async () => {
    const test = createTestApp(headersOnly);

    const answer = await sendEndlessBody(test, ['Content-Type: application/json']);

    expectEarlyRefusal(answer, 'identity_missing', test);
  });

  it('answers 401 identity_missing at once to a non-JSON body without an assertion header, whatever the carriers', async () => {
    const test = createTestApp();

    const answer = await sendEndlessBody(test, ['Content-Type: text/plain']);

    expectEarlyRefusal(answer, 'identity_missing', test);
  });

  it.each([
    ['a token with an empty payload segment', 'a..c'],
    ['not a compact JWS', 'only.two'],
    ['a header segment that is not JSON', 'bm90IGpzb24.e30.c2ln'],
  ])('answers 401 identity_invalid at once to an assertion header that is %s, whatever the carriers', async (_case, token) => {
    const test = createTestApp();

    const answer = await sendEndlessBody(test, ['Content-Type: application/json', `X-Forwarded-User-Assertion: ${token}`]);

    expectEarlyRefusal(answer, 'identity_invalid', test);
  });

  it('refuses a body far over bodyLimit without an assertion with 401, not 413: it was never read', async () => {
    const test = createTestApp({ receiver: { carriers: ['headers'], bodyLimit: 1024 } });

    const res = await request(test.app)
      .post('/mcp')
      .type('application/json')
      .send(`[${'1,'.repeat(512 * 1024)}1]`);

    expectRefusal(res, 401, 'identity_missing', test.calls);
  });

  it('refuses with carriers: ["headers"] a request whose only assertion is in _meta', async () => {
    const test = createTestApp(headersOnly);
    const { body } = signIntoMeta(toolCall());

    const res = await request(test.app).post('/mcp').send(body);

    expectRefusal(res, 401, 'identity_missing', test.calls);
  });

  it('still accepts an assertion carried only in _meta by default, and a header assertion with carriers: ["headers"]', async () => {
    const meta = createTestApp();
    const headers = createTestApp(headersOnly);
    const { body } = signIntoMeta(toolCall());

    await request(meta.app).post('/mcp').send(body).expect(200);
    await request(headers.app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body: toolCall() })))
      .send(toolCall())
      .expect(200);

    expect(meta.calls).toHaveLength(1);
    expect(headers.calls).toHaveLength(1);
  });

  it('reads the body as usual when a JSON body may carry the assertion in _meta (default carriers)', async () => {
    const test = createTestApp();

    const res = await request(test.app).post('/mcp').send(toolCall());

    expectRefusal(res, 401, 'identity_missing', test.calls);
    // The body was read: the refusal's event names the JSON-RPC method.
    expect(test.events[0]).toMatchObject({ rpcMethod: 'tools/call' });
  });
});
