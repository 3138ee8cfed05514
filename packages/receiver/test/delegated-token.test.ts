/**
 * The receiver's side of token exchange: an assertion whose `dtk` claim announces a delegated
 * token is accepted only with exactly that token as `Authorization: Bearer`, about the same
 * subject; the token is then `req.auth.token`.
 */
import { createHash } from 'node:crypto';
import request from 'supertest';
import { SignJWT } from 'jose';
import { bindingOf, createTestApp, expectRefusal, fixedClock, hsSigner, identityHeaders, rawRequest, toolCall, USER } from './helpers.js';

const signer = hsSigner();
const body = toolCall();
const ath = (token: string): string => createHash('sha256').update(token).digest('base64url');

async function jwtFor(sub: string): Promise<string> {
  return new SignJWT({ scope: 'tickets:read' })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setSubject(sub)
    .setAudience('urn:example:tickets')
    .setIssuedAt(Math.floor(fixedClock() / 1000))
    .sign(Buffer.alloc(32, 1));
}

function assertionWith(token: string | undefined, claim?: unknown): string {
  if (claim !== undefined) {
    // A hand-made claim: sign a user whose dtk is exactly `claim` by going through the signer's extras.
    return signer.sign(USER, bindingOf({ body }), { delegatedToken: claim as { ath: string; aud: string } }).token;
  }
  return signer.sign(
    USER,
    bindingOf({ body }),
    token === undefined ? undefined : { delegatedToken: { ath: ath(token), aud: 'urn:example:tickets' } },
  ).token;
}

describe('verifyIdentity with a delegated token', () => {
  it('exposes the announced token as req.auth.token when the bearer token matches dtk.ath and its sub is the user', async () => {
    const { app, calls } = createTestApp({ receiver: { requireDelegatedToken: true } });
    const token = await jwtFor(USER.id);
    const res = await request(app)
      .post('/mcp')
      .set({ ...identityHeaders(assertionWith(token)), authorization: `Bearer ${token}` })
      .send(body);
    expect(res.status).toBe(200);
    expect(calls[0]?.auth?.token).toBe(token);
    expect(calls[0]?.user).toEqual(USER);
  });

  it('accepts an opaque delegated token on its dtk.ath binding alone', async () => {
    const { app, calls } = createTestApp();
    const token = 'opaque-Token_123';
    const res = await request(app)
      .post('/mcp')
      .set({ ...identityHeaders(assertionWith(token)), authorization: `Bearer ${token}` })
      .send(body);
    expect(res.status).toBe(200);
    expect(calls[0]?.auth?.token).toBe(token);
  });

  it('keeps the assertion as req.auth.token when no delegated token is announced and none is required', async () => {
    const { app, calls } = createTestApp();
    const assertion = assertionWith(undefined);
    const res = await request(app).post('/mcp').set(identityHeaders(assertion)).send(body);
    expect(res.status).toBe(200);
    expect(calls[0]?.auth?.token).toBe(assertion);
  });

  it('responds 401 delegated_token_missing when a delegated token is required and the assertion announces none', async () => {
    const { app, calls } = createTestApp({ receiver: { requireDelegatedToken: true } });
    const token = await jwtFor(USER.id);
    const res = await request(app)
      .post('/mcp')
      .set({ ...identityHeaders(assertionWith(undefined)), authorization: `Bearer ${token}` })
      .send(body);
    expectRefusal(res, 401, 'delegated_token_missing', calls);
  });

  it('responds 401 delegated_token_missing when the announced token is not sent', async () => {
    const { app, calls } = createTestApp();
    const res = await request(app)
      .post('/mcp')
      .set(identityHeaders(assertionWith(await jwtFor(USER.id))))
      .send(body);
    expectRefusal(res, 401, 'delegated_token_missing', calls);
  });

  it('responds 401 delegated_token_mismatch when the bearer token is another one than announced', async () => {
    const { app, calls } = createTestApp();
    const res = await request(app)
      .post('/mcp')
      .set({ ...identityHeaders(assertionWith(await jwtFor(USER.id))), authorization: `Bearer ${await jwtFor('someone-else')}` })
      .send(body);
    expectRefusal(res, 401, 'delegated_token_mismatch', calls);
  });

  it('responds 401 delegated_token_mismatch when the announced JWT is about another subject', async () => {
    const { app, calls } = createTestApp();
    const token = await jwtFor('mallory');
    const res = await request(app)
      .post('/mcp')
      .set({ ...identityHeaders(assertionWith(token)), authorization: `Bearer ${token}` })
      .send(body);
    expectRefusal(res, 401, 'delegated_token_mismatch', calls);
  });

  it.each([
    ['a malformed dtk claim', (token: string) => assertionWith(token, { aud: 'x' }), (token: string) => `Bearer ${token}`],
    ['a non-bearer scheme', (token: string) => assertionWith(token), (token: string) => `Basic ${token}`],
  ])('responds 401 delegated_token_mismatch for %s', async (_name, assertion, header) => {
    const { app, calls } = createTestApp();
    const token = await jwtFor(USER.id);
    const res = await request(app)
      .post('/mcp')
      .set({ ...identityHeaders(assertion(token)), authorization: header(token) })
      .send(body);
    expectRefusal(res, 401, 'delegated_token_mismatch', calls);
  });

  it('responds 401 delegated_token_mismatch when Authorization is sent twice', async () => {
    const { app, calls } = createTestApp();
    const token = await jwtFor(USER.id);
    const headers = Object.entries(identityHeaders(assertionWith(token)));
    const res = await rawRequest(app, {
      headers: [...headers, ['Authorization', `Bearer ${token}`], ['Authorization', `Bearer ${token}`]],
      body,
    });
    expectRefusal(res, 401, 'delegated_token_mismatch', calls);
  });

  it('refuses a requireDelegatedToken that is not a boolean at construction', () => {
    expect(() => createTestApp({ receiver: { requireDelegatedToken: 'yes' as unknown as boolean } })).toThrow(/requireDelegatedToken/);
  });
});
