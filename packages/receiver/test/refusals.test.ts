import { SignJWT } from 'jose';
import request from 'supertest';
import { createAssertionSigner, jwkThumbprint, META_USER, MAX_TOKEN_LENGTH } from '@mcp-identity/core/internal';
import type { PublicJwk } from '@mcp-identity/core/internal';
import {
  ASSERTION_HEADER,
  AUDIENCE,
  claimsFor,
  createTestApp,
  ed25519,
  ed25519PublicPem,
  expectRefusal,
  fixedClock,
  hmacToken,
  hsSigner,
  identityHeaders,
  ISSUER,
  OTHER_SECRET,
  rawRequest,
  SECRET,
  signFor,
  toolCall,
  USER,
  withMeta,
  withMetaAssertion,
} from './helpers.js';

const body = toolCall();
const valid = signFor({ body });
const [validHeader = '', validPayload = '', validSignature = ''] = valid.split('.');
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
// The last character of a 32-byte signature carries 2 unused bits: flipping one gives the same bytes.
const lastIndex = ALPHABET.indexOf(validSignature.slice(-1));
const nonCanonicalSignature = validSignature.slice(0, -1) + ALPHABET.charAt(lastIndex ^ 1);

describe('verifyIdentity refusals', () => {
  describe('identity_missing', () => {
    it('responds 401 identity_missing when a POST carries no assertion', async () => {
      const { app, calls } = createTestApp();

      const res = await request(app).post('/mcp').send(body);

      expectRefusal(res, 401, 'identity_missing', calls);
    });

    it('responds 401 identity_missing when a GET carries no assertion', async () => {
      const { app, calls } = createTestApp();

      const res = await request(app).get('/mcp');

      expectRefusal(res, 401, 'identity_missing', calls);
    });

    it('responds 401 identity_missing for plain identity headers without an assertion', async () => {
      const { app, calls } = createTestApp();
      const plain = Object.fromEntries(Object.entries(identityHeaders(valid)).filter(([name]) => name !== ASSERTION_HEADER));

      const res = await request(app)
        .post('/mcp')
        .set({ ...plain, 'X-Forwarded-User-Admin': 'true' })
        .send(body);

      expectRefusal(res, 401, 'identity_missing', calls);
    });

    it.each([
      ['a mcp-identity/user object', { [META_USER]: { ...USER, isAdmin: true } }],
      ['a ContextForge user object', { user: { id: 'admin', isAdmin: true } }],
    ])('responds 401 identity_missing for a direct request with %s in _meta and no assertion', async (_case, meta) => {
      const { app, calls } = createTestApp();

      const res = await request(app).post('/mcp').send(withMeta(body, meta));

      expectRefusal(res, 401, 'identity_missing', calls);
    });
  });

  describe('identity_invalid', () => {
    it.each([
      ['an empty value', ''],
      ['only dots', '..'],
      ['one segment', 'abc'],
      ['four segments', `${valid}.abc`],
      ['an empty signature', `${validHeader}.${validPayload}.`],
      ['segments that are not base64url', '!!!.###.$$$'],
      ['a header segment that is not JSON', `bm90IGpzb24.${validPayload}.${validSignature}`],
      ['a payload that is not JSON', `${validHeader}.bm90IGpzb24.${validSignature}`],
      ['a payload that is an array', `${validHeader}.${b64([1])}.${validSignature}`],
      ['a ~15 KB value', 'a'.repeat(15 * 1024)],
      ['a ~15 KB JWS-shaped value', `${validHeader}.${'A'.repeat(15 * 1024)}.${validSignature}`],
      ['a tampered payload', `${validHeader}.${b64({ ...claimsFor({ body }), admin: true })}.${validSignature}`],
      ['a truncated signature', valid.slice(0, -2)],
      ['a non-canonical base64url signature', `${validHeader}.${validPayload}.${nonCanonicalSignature}`],
      ['a signature by another secret', signFor({ body }, { signer: hsSigner({ signing: { secret: OTHER_SECRET } }) })],
    ])('responds 401 identity_invalid for an assertion header with %s', async (_case, token) => {
      const { app, calls } = createTestApp();

      const res = await request(app).post('/mcp').set(ASSERTION_HEADER, token).send(body);

      expectRefusal(res, 401, 'identity_invalid', calls);
    });

    it.each([
      ['1 MB string', 'a'.repeat(1024 * 1024)],
      ['token just over the length limit', `${valid}${'A'.repeat(MAX_TOKEN_LENGTH)}`],
      ['number', 42],
      ['null', null],
      ['object', { token: valid }],
      ['empty string', ''],
    ])('responds 401 identity_invalid for a _meta assertion that is a %s', async (_case, assertion) => {
      const { app, calls } = createTestApp();

      const res = await request(app).post('/mcp').send(withMetaAssertion(body, assertion));

      expectRefusal(res, 401, 'identity_invalid', calls);
    });

    it('accepts one assertion header sent over a raw socket', async () => {
      const { app, calls } = createTestApp();

      const res = await rawRequest(app, { headers: [[ASSERTION_HEADER, valid]], body });

      expect(res.status).toBe(200);
      expect(calls).toHaveLength(1);
    });

    it.each([
      ['the same name twice', [ASSERTION_HEADER, ASSERTION_HEADER]],
      ['names differing in case', [ASSERTION_HEADER, ASSERTION_HEADER.toLowerCase()]],
    ])('responds 401 identity_invalid for two assertion headers with %s', async (_case, names) => {
      const { app, calls } = createTestApp();

      const res = await rawRequest(app, { headers: names.map((name) => [name, valid] as const), body });

      expectRefusal(res, 401, 'identity_invalid', calls);
    });

    it('never echoes the assertion in the error message', async () => {
      const { app } = createTestApp();
      const tampered = `${validHeader}.${b64({ ...claimsFor({ body }), admin: true })}.${validSignature}`;

      const res = await request(app).post('/mcp').set(ASSERTION_HEADER, tampered).send(body);

      expect(res.status).toBe(401);
      expect(res.text).not.toContain(validSignature);
      expect(res.text).not.toContain(SECRET);
    });
  });

  describe('crafted headers', () => {
    const claims = claimsFor({ body });

    it('accepts the hand-crafted token before any tampering', async () => {
      const { app, calls } = createTestApp();

      const res = await request(app)
        .post('/mcp')
        .set(ASSERTION_HEADER, hmacToken({ alg: 'HS256', typ: 'user-context+jwt' }, claims))
        .send(body);

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
    });

    it.each([
      ['typ JWT', { alg: 'HS256', typ: 'JWT' }],
      ['no typ', { alg: 'HS256' }],
      ['a jku parameter', { alg: 'HS256', typ: 'user-context+jwt', jku: 'https://evil.test/jwks' }],
      ['an embedded jwk', { alg: 'HS256', typ: 'user-context+jwt', jwk: { kty: 'oct', k: 'AAAA' } }],
      ['a crit parameter', { alg: 'HS256', typ: 'user-context+jwt', crit: ['exp'] }],
      ['a path-like kid', { alg: 'HS256', typ: 'user-context+jwt', kid: '../../etc/passwd' }],
      ['alg HS512', { alg: 'HS512', typ: 'user-context+jwt' }],
    ])('responds 401 identity_invalid for an assertion with %s, even with a valid MAC', async (_case, header) => {
      const { app, calls } = createTestApp();

      const res = await request(app).post('/mcp').set(ASSERTION_HEADER, hmacToken(header, claims)).send(body);

      expectRefusal(res, 401, 'identity_invalid', calls);
    });

    it('responds 401 identity_invalid for a kid no configured secret has, when every secret has a kid', async () => {
      const { app, calls } = createTestApp({ receiver: { secrets: [{ secret: SECRET, kid: 'k1' }] } });

      const res = await request(app)
        .post('/mcp')
        .set(ASSERTION_HEADER, hmacToken({ alg: 'HS256', typ: 'user-context+jwt', kid: 'unknown' }, claims))
        .send(body);

      expectRefusal(res, 401, 'identity_invalid', calls);
    });

    it('refuses a jose-signed assertion whose typ is not user-context+jwt', async () => {
      const { app, calls } = createTestApp();
      const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(Buffer.from(SECRET));

      const res = await request(app).post('/mcp').set(ASSERTION_HEADER, token).send(body);

      expectRefusal(res, 401, 'identity_invalid', calls);
    });

    it.each([
      ['no jti', { jti: undefined }],
      ['a short jti', { jti: 'short' }],
      ['no request binding', { req: undefined }],
      ['no iat', { iat: undefined }],
      ['a string exp', { exp: String(claims.exp) }],
      ['no auth_method', { auth_method: undefined }],
      ['a non-boolean admin claim', { admin: 'true' }],
      ['no sub', { sub: undefined }],
      ['a malformed act claim', { act: 'agent-1' }],
    ])('responds 401 identity_invalid for a correctly MACed assertion with %s', async (_case, overrides) => {
      const { app, calls } = createTestApp();
      const token = hmacToken({ alg: 'HS256', typ: 'user-context+jwt' }, { ...claims, ...overrides });

      const res = await request(app).post('/mcp').set(ASSERTION_HEADER, token).send(body);

      expectRefusal(res, 401, 'identity_invalid', calls);
    });
  });

  describe('algorithm confusion', () => {
    const receiver = { secrets: undefined, publicKeys: [{ alg: 'EdDSA' as const, publicKey: ed25519PublicPem }] };
    const claims = claimsFor({ body });
    const kid = jwkThumbprint(ed25519.publicKey.export({ format: 'jwk' }) as unknown as PublicJwk);

    it.each([
      ['without a kid', { alg: 'HS256', typ: 'user-context+jwt' }],
      ["with the public key's kid", { alg: 'HS256', typ: 'user-context+jwt', kid }],
    ])('responds 401 identity_invalid for an HS256 token MACed with the EdDSA public key PEM %s', async (_case, header) => {
      const { app, calls } = createTestApp({ receiver });

      const res = await request(app)
        .post('/mcp')
        .set(ASSERTION_HEADER, hmacToken(header, claims, ed25519PublicPem))
        .send(body);

      expectRefusal(res, 401, 'identity_invalid', calls);
    });

    it('accepts a genuine EdDSA assertion on the same receiver', async () => {
      const { app, calls } = createTestApp({ receiver });
      const signer = createAssertionSigner({
        signing: { alg: 'EdDSA', privateKey: ed25519.privateKey },
        issuer: ISSUER,
        audience: AUDIENCE,
        clock: fixedClock,
      });

      const res = await request(app).post('/mcp').set(ASSERTION_HEADER, signFor({ body }, { signer })).send(body);

      expect(res.status).toBe(200);
      expect(calls).toHaveLength(1);
    });

    it.each([
      ['an empty signature', `${b64({ alg: 'none', typ: 'user-context+jwt' })}.${b64(claims)}.`],
      ['a signature', `${b64({ alg: 'none', typ: 'user-context+jwt' })}.${b64(claims)}.${validSignature}`],
      ['a MAC by the right secret', hmacToken({ alg: 'none', typ: 'user-context+jwt' }, claims)],
    ])('responds 401 identity_invalid for alg none with %s', async (_case, token) => {
      const { app, calls } = createTestApp();

      const res = await request(app).post('/mcp').set(ASSERTION_HEADER, token).send(body);

      expectRefusal(res, 401, 'identity_invalid', calls);
    });
  });

  describe('audience and issuer', () => {
    it.each([
      ['another upstream', hsSigner({ audience: 'urn:mcp:other' })],
      ['an audience differing in case', hsSigner({ audience: AUDIENCE.toUpperCase() })],
    ])('responds 401 identity_audience for an assertion for %s', async (_case, signer) => {
      const { app, calls } = createTestApp();

      const res = await request(app)
        .post('/mcp')
        .set(identityHeaders(signFor({ body }, { signer })))
        .send(body);

      expectRefusal(res, 401, 'identity_audience', calls);
    });

    it('responds 401 identity_audience for an audience list without this upstream', async () => {
      const { app, calls } = createTestApp();
      const token = hmacToken({ alg: 'HS256', typ: 'user-context+jwt' }, claimsFor({ body }, { aud: ['urn:mcp:a', 'urn:mcp:b'] }));

      const res = await request(app).post('/mcp').set(ASSERTION_HEADER, token).send(body);

      expectRefusal(res, 401, 'identity_audience', calls);
    });

    it.each([
      ['another gateway', hsSigner({ issuer: 'https://evil.test' })],
      ['an issuer with a trailing slash', hsSigner({ issuer: `${ISSUER}/` })],
    ])('responds 401 identity_issuer for an assertion from %s', async (_case, signer) => {
      const { app, calls } = createTestApp();

      const res = await request(app)
        .post('/mcp')
        .set(identityHeaders(signFor({ body }, { signer })))
        .send(body);

      expectRefusal(res, 401, 'identity_issuer', calls);
    });
  });

  describe('bodyLimit', () => {
    const big = toolCall({ data: 'x'.repeat(2048) });

    it('responds 413 body_too_large for a declared body over bodyLimit', async () => {
      const { app, calls } = createTestApp({ receiver: { bodyLimit: 1024 } });

      const res = await request(app)
        .post('/mcp')
        .set(identityHeaders(signFor({ body: big })))
        .send(big);

      expectRefusal(res, 413, 'body_too_large', calls);
    });

    it('responds 413 body_too_large for a chunked body over bodyLimit', async () => {
      const { app, calls } = createTestApp({ receiver: { bodyLimit: 1024 } });

      const res = await rawRequest(app, { headers: Object.entries(identityHeaders(signFor({ body: big }))), body: big, chunked: true });

      expectRefusal(res, 413, 'body_too_large', calls);
    });

    it('accepts a body of exactly bodyLimit bytes', async () => {
      const exact = Buffer.byteLength(JSON.stringify(big));
      const { app, calls } = createTestApp({ receiver: { bodyLimit: exact } });

      const res = await request(app)
        .post('/mcp')
        .set(identityHeaders(signFor({ body: big })))
        .send(big);

      expect(res.status).toBe(200);
      expect(calls).toHaveLength(1);
    });
  });
});
