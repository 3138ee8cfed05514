import { gzipSync } from 'node:zlib';
import express from 'express';
import request from 'supertest';
import { verifyIdentity } from '../src/index.js';
import { sourcedStringsOf } from '@mcp-identity/core/internal';
import {
  createTestApp,
  expectRefusal,
  identityHeaders,
  rawRequest,
  receiverOptions,
  signFor,
  signIntoMeta,
  toolCall,
  USER,
} from './helpers.js';

const body = toolCall();

describe('verifyIdentity reading the body itself', () => {
  it('verifies a gzip-encoded JSON body by the JCS digest of the decoded JSON', async () => {
    const { app, calls } = createTestApp();

    // supertest would serialize a Buffer as JSON: send the compressed bytes over a raw socket.
    const res = await rawRequest(app, {
      headers: [...Object.entries(identityHeaders(signFor({ body }))), ['Content-Encoding', 'gzip']],
      body: gzipSync(JSON.stringify(body)),
    });

    expect(res.status).toBe(200);
    expect(calls[0]?.body).toEqual(body);
  });

  describe('a body with long string values (taken from their own bytes)', () => {
    const long = toolCall({ data: `${'é'.repeat(3000)}${'x'.repeat(70_000)}`, note: 'short' });

    it('verifies it and hands the handler the parsed value with plain data properties', async () => {
      const { app, calls } = createTestApp();

      const res = await request(app)
        .post('/mcp')
        .set(identityHeaders(signFor({ body: long })))
        .send(long);

      expect(res.status).toBe(200);
      expect(calls[0]?.body).toEqual(long);
      const args = (calls[0]?.body as { params: { arguments: object } }).params.arguments;
      expect(Object.getOwnPropertyDescriptor(args, 'data')).toEqual({
        value: (long.params as { arguments: { data: string } }).arguments.data,
        writable: true,
        enumerable: true,
        configurable: true,
      });
      // The client's bytes are not held through the value the handler keeps.
      expect(sourcedStringsOf(calls[0]?.body as object)).toBeUndefined();
    });

    it('responds 401 identity_binding when one byte of a long string differs from the signed body', async () => {
      const { app, calls } = createTestApp();
      const sent = toolCall({ data: `${'é'.repeat(3000)}${'x'.repeat(69_999)}y`, note: 'short' });

      const res = await request(app)
        .post('/mcp')
        .set(identityHeaders(signFor({ body: long })))
        .send(sent);

      expectRefusal(res, 401, 'identity_binding', calls);
    });
  });

  it.each([
    [415, 'unsupported_encoding', 'an unsupported Content-Encoding', 'br', Buffer.from(JSON.stringify(body))],
    [400, 'parse_error', 'corrupt gzip data', 'gzip', Buffer.from('not gzip at all')],
    [
      413,
      'body_too_large',
      'gzip data that inflates past bodyLimit',
      'gzip',
      gzipSync(JSON.stringify(toolCall({ data: '0'.repeat(4096) }))),
    ],
  ] as const)('responds %d %s for %s', async (status, code, _case, encoding, bytes) => {
    const { app, calls } = createTestApp({ receiver: { bodyLimit: 1024 } });

    const res = await rawRequest(app, {
      headers: [...Object.entries(identityHeaders(signFor({ body }))), ['Content-Encoding', encoding]],
      body: bytes,
    });

    expectRefusal(res, status, code, calls);
  });
});

describe('verifyIdentity after a body parser', () => {
  it.each([
    ['express.json()', express.json()],
    ['express.raw()', express.raw({ type: 'application/json' })],
    ['express.text()', express.text({ type: 'application/json' })],
  ])('verifies the header assertion against the JSON body %s consumed', async (_parser, parser) => {
    const { app, calls } = createTestApp({ before: [parser] });

    const res = await request(app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body })))
      .send(body);

    expect(res.status).toBe(200);
    expect(calls[0]?.user).toEqual(USER);
  });

  it.each([
    ['express.json()', express.json()],
    ['express.raw()', express.raw({ type: 'application/json' })],
    ['express.text()', express.text({ type: 'application/json' })],
  ])('finds the _meta assertion in the JSON body %s consumed', async (_parser, parser) => {
    const { app, calls } = createTestApp({ before: [parser] });

    const res = await request(app).post('/mcp').send(signIntoMeta(body).body);

    expect(res.status).toBe(200);
    expect(calls[0]?.user).toEqual(USER);
  });

  it.each([
    ['express.json()', express.json()],
    ['express.text()', express.text({ type: 'application/json' })],
  ])('responds 401 identity_binding for a changed argument in a body %s consumed', async (_parser, parser) => {
    const { app, calls } = createTestApp({ before: [parser] });

    const res = await request(app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body })))
      .send(toolCall({ path: '/etc/shadow' }));

    expectRefusal(res, 401, 'identity_binding', calls);
  });

  it('responds 401 identity_binding for a form body express.urlencoded() consumed under an assertion bound to no body', async () => {
    const { app, calls } = createTestApp({ before: [express.urlencoded()] });

    const res = await request(app)
      .delete('/mcp')
      .set(identityHeaders(signFor({ method: 'DELETE' })))
      .type('form')
      .send('admin=true&path=/etc/shadow');

    expectRefusal(res, 401, 'identity_binding', calls);
  });

  it('responds 401 identity_binding when a parser consumed the stream and left no req.body', async () => {
    const drain: express.RequestHandler = (req, _res, next) => {
      req.resume();
      req.on('end', () => next());
    };
    const { app, calls } = createTestApp({ before: [drain] });

    const res = await request(app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body })))
      .send(body);

    expectRefusal(res, 401, 'identity_binding', calls);
  });

  it('still accepts a bodiless DELETE after express.urlencoded()', async () => {
    const { app, calls } = createTestApp({ before: [express.urlencoded(), express.json()] });

    const res = await request(app)
      .delete('/mcp')
      .set(identityHeaders(signFor({ method: 'DELETE' })));

    expect(res.status).toBe(200);
    expect(calls[0]?.user).toEqual(USER);
  });

  it('leaves express.json() mounted after the receiver the body it parsed', async () => {
    const seen: unknown[] = [];
    const app = express();
    app.post('/mcp', verifyIdentity(receiverOptions()), express.json(), (req, res) => {
      seen.push(req.body);
      res.json({ user: req.user });
    });

    const res = await request(app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body })))
      .send(body);

    expect(res.status).toBe(200);
    expect(seen).toEqual([body]);
  });
});
