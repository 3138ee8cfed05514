import express from 'express';
import request from 'supertest';
import { SignJWT } from 'jose';
import { createAssertionSigner, META_USER, normalizeUserContext, userToHeaders } from '@mcp-identity/core/internal';
import {
  ASSERTION_HEADER,
  AUDIENCE,
  createTestApp,
  ed25519,
  identityHeaders,
  ISSUER,
  issueFor,
  OTHER_SECRET,
  p256,
  payloadOf,
  PREFIX,
  SECRET,
  signFor,
  signIntoMeta,
  T0,
  TTL_SECONDS,
  toolCall,
  USER,
  withMeta,
} from './helpers.js';

describe('verifyIdentity', () => {
  describe('with the assertion header', () => {
    it('exposes the signed user as req.user and the MCP AuthInfo as req.auth', async () => {
      const { app, calls } = createTestApp();
      const body = toolCall();
      const { token, exp } = issueFor({ body });

      const res = await request(app).post('/mcp').set(identityHeaders(token)).send(body);

      expect(res.status).toBe(200);
      expect(calls).toHaveLength(1);
      const [call] = calls;
      expect(call?.user).toEqual(USER);
      expect(call?.user).toMatchObject({
        name: 'Zoë Ñandú 🚀',
        groups: ['eng,ops', 'équipe'],
        delegationChain: ['agent-1', 'svc-reporter'],
      });
      expect(call?.auth).toEqual({ token, clientId: ISSUER, scopes: ['reader', 'writer'], expiresAt: exp, extra: { user: USER } });
      expect(call?.auth?.extra?.user).toBe(call?.user);
      expect(res.body).toEqual({
        user: JSON.parse(JSON.stringify(USER)),
        auth: { token, clientId: ISSUER, scopes: ['reader', 'writer'], expiresAt: exp, extra: { user: JSON.parse(JSON.stringify(USER)) } },
      });
    });

    it('accepts the assertion header alone, without the plain headers', async () => {
      const { app, calls } = createTestApp();
      const body = toolCall();

      const res = await request(app).post('/mcp').set(ASSERTION_HEADER, signFor({ body })).send(body);

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
    });

    it.each([
      ['lower case', 'x-forwarded-user'],
      ['upper case', 'X-FORWARDED-USER'],
      ['mixed case', 'x-FoRwArDeD-uSeR'],
    ])('reads identity header names in %s', async (_case, prefix) => {
      const { app, calls } = createTestApp();
      const body = toolCall();
      const token = signFor({ body });

      const res = await request(app)
        .post('/mcp')
        .set({ [`${prefix}-assertion`]: token, ...userToHeaders(USER, prefix) })
        .send(body);

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
    });

    it('defaults a user without optional fields to empty lists and isAdmin false', async () => {
      const minimal = normalizeUserContext({ id: 'svc', authMethod: 'api_key' });
      const { app, calls } = createTestApp();
      const body = toolCall();

      const res = await request(app)
        .post('/mcp')
        .set(identityHeaders(signFor({ body }, { user: minimal }), minimal))
        .send(body);

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual({ id: 'svc', groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'api_key' });
      expect(calls[0]?.auth?.scopes).toEqual([]);
    });

    it('accepts an admin whose -Admin header says true', async () => {
      const admin = normalizeUserContext({ ...USER, isAdmin: true });
      const { app, calls } = createTestApp();
      const body = toolCall();

      const res = await request(app)
        .post('/mcp')
        .set(identityHeaders(signFor({ body }, { user: admin }), admin))
        .send(body);

      expect(res.status).toBe(200);
      expect(calls[0]?.user?.isAdmin).toBe(true);
    });
  });

  describe('with the assertion in params._meta', () => {
    it('accepts the assertion from _meta alone when no identity header is sent', async () => {
      const { app, calls } = createTestApp();
      const { token, body } = signIntoMeta(toolCall());

      const res = await request(app).post('/mcp').send(body);

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
      expect(calls[0]?.auth?.token).toBe(token);
    });

    it('accepts _meta carrying the gateway user object next to the assertion', async () => {
      const { app, calls } = createTestApp();
      // The meta carrier adds the user first; the digest covers it, not the assertion.
      const { body } = signIntoMeta(withMeta(toolCall(), { [META_USER]: USER }));

      const res = await request(app).post('/mcp').send(body);

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
    });

    it('accepts the same assertion in the header and in _meta', async () => {
      const { app, calls } = createTestApp();
      const { token, body } = signIntoMeta(toolCall());

      const res = await request(app).post('/mcp').set(identityHeaders(token)).send(body);

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
    });

    it('accepts a batch whose requests all carry the same assertion', async () => {
      const { app, calls } = createTestApp();
      const { body } = signIntoMeta([toolCall({ path: '/a' }, 1), toolCall({ path: '/b' }, 2)]);

      const res = await request(app).post('/mcp').send(body);

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
    });
  });

  describe('request binding', () => {
    it('binds to req.originalUrl when mounted under a sub-path', async () => {
      const { app, calls } = createTestApp({ mount: '/mcp' });
      const body = toolCall();
      const token = signFor({ path: '/mcp/files?tenant=7', body });

      const res = await request(app).post('/mcp/files?tenant=7').set(identityHeaders(token)).send(body);

      expect(res.status).toBe(200);
      expect(calls[0]).toMatchObject({ url: '/files?tenant=7', originalUrl: '/mcp/files?tenant=7', user: USER });
    });

    it('accepts a JSON body re-serialized with other key order, whitespace and escapes (JCS)', async () => {
      const { app, calls } = createTestApp();
      const token = signFor({ body: toolCall({ path: '/docs/a.txt', limit: 10 }) });
      const reserialized =
        '{\n  "params" : { "arguments": { "limit": 1e1, "path": "\\/docs\\/a.txt" }, "name": "read\\u005ffile" },\n' +
        '  "method": "tools/call", "id": 1.0, "jsonrpc": "2.0"\n}';

      const res = await request(app).post('/mcp').set(identityHeaders(token)).set('content-type', 'application/json').send(reserialized);

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
    });

    it.each(['GET', 'DELETE'])('accepts a %s without a body bound to the empty digest', async (method) => {
      const { app, calls } = createTestApp();
      const token = signFor({ method, path: '/mcp' });

      const res = await request(app)[method === 'GET' ? 'get' : 'delete']('/mcp').set(identityHeaders(token));

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
    });

    it('accepts a token for any request when bindRequest is false', async () => {
      const { app, calls } = createTestApp({ receiver: { bindRequest: false } });
      const token = signFor({ method: 'GET', path: '/elsewhere' });

      const res = await request(app).post('/mcp').set(identityHeaders(token)).send(toolCall());

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
    });
  });

  describe('body handling', () => {
    it('leaves the parsed JSON body in req.body when no body parser ran', async () => {
      const { app, calls } = createTestApp();
      const { body: sent } = signIntoMeta(toolCall({ path: '/x', nested: { ok: true } }));

      const res = await request(app).post('/mcp').send(sent);

      expect(res.status).toBe(200);
      expect(calls[0]?.body).toEqual(sent);
    });

    it('verifies after express.json() by the JCS digest of req.body', async () => {
      const { app, calls } = createTestApp({ before: [express.json()] });
      const token = signFor({ body: toolCall({ b: 2, a: 1 }) });

      const res = await request(app)
        .post('/mcp')
        .set(identityHeaders(token))
        .set('content-type', 'application/json')
        .send('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"a":1,"b":2}}}');

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
      expect(calls[0]?.body).toEqual(toolCall({ a: 1, b: 2 }));
    });

    it('verifies a non-JSON body by the digest of its raw bytes', async () => {
      const { app, calls } = createTestApp();
      const bytes = Buffer.from('plain text, not JSON');
      const token = signFor({ body: bytes });

      const res = await request(app).post('/mcp').set(identityHeaders(token)).set('content-type', 'text/plain').send(bytes.toString());

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
    });
  });

  describe('keys', () => {
    it.each([
      ['PEM', (key: typeof ed25519.publicKey) => key.export({ format: 'pem', type: 'spki' }).toString()],
      ['JWK', (key: typeof ed25519.publicKey) => key.export({ format: 'jwk' })],
      ['KeyObject', (key: typeof ed25519.publicKey) => key],
    ])('verifies EdDSA assertions with the public key as %s', async (_form, as) => {
      const { app, calls } = createTestApp({
        receiver: { secrets: undefined, publicKeys: [{ alg: 'EdDSA', publicKey: as(ed25519.publicKey) }] },
      });
      const signer = createAssertionSigner({
        signing: { alg: 'EdDSA', privateKey: ed25519.privateKey },
        issuer: ISSUER,
        audience: AUDIENCE,
        clock: () => T0,
      });
      const body = toolCall();

      const res = await request(app)
        .post('/mcp')
        .set(identityHeaders(signFor({ body }, { signer })))
        .send(body);

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
    });

    it('verifies ES256 assertions', async () => {
      const { app, calls } = createTestApp({
        receiver: { secrets: undefined, publicKeys: [{ alg: 'ES256', publicKey: p256.publicKey.export({ format: 'jwk' }) }] },
      });
      const signer = createAssertionSigner({
        signing: { alg: 'ES256', privateKey: p256.privateKey },
        issuer: ISSUER,
        audience: AUDIENCE,
        clock: () => T0,
      });
      const body = toolCall();

      const res = await request(app)
        .post('/mcp')
        .set(identityHeaders(signFor({ body }, { signer })))
        .send(body);

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
    });

    it('verifies with the secret whose kid the assertion names during a rotation', async () => {
      const { app, calls } = createTestApp({
        receiver: {
          secrets: [
            { secret: SECRET, kid: 'old' },
            { secret: OTHER_SECRET, kid: 'new' },
          ],
        },
      });
      const signer = createAssertionSigner({
        signing: { secret: OTHER_SECRET, kid: 'new' },
        issuer: ISSUER,
        audience: AUDIENCE,
        clock: () => T0,
      });
      const body = toolCall();

      const res = await request(app)
        .post('/mcp')
        .set(identityHeaders(signFor({ body }, { signer })))
        .send(body);

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
    });

    it('accepts an assertion produced by jose with the same claims', async () => {
      const { app, calls } = createTestApp();
      const body = toolCall();
      const payload = payloadOf(signFor({ body }));
      const token = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'user-context+jwt' }).sign(Buffer.from(SECRET));

      const res = await request(app).post('/mcp').set(identityHeaders(token)).send(body);

      expect(res.status).toBe(200);
      expect(calls[0]?.auth).toMatchObject({ token, expiresAt: T0 / 1000 + TTL_SECONDS });
    });
  });

  describe('headerPrefix', () => {
    it('reads the identity headers under a custom prefix and ignores the default one', async () => {
      const { app, calls } = createTestApp({ receiver: { headerPrefix: 'X-Identity' } });
      const body = toolCall();
      const token = signFor({ body });

      const res = await request(app)
        .post('/mcp')
        .set({ 'X-Identity-Assertion': token, ...userToHeaders(USER, 'X-Identity'), [`${PREFIX}-Admin`]: 'true' })
        .send(body);

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
    });
  });
});
