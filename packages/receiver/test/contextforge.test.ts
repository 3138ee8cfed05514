/**
 * ContextForge legacy mode at the receiver: requests produced exactly as the ContextForge
 * gateway produces them are accepted with only id and email trusted; anything tampered or
 * malformed is refused. Vectors: test/fixtures/contextforge-vectors.json (an independent
 * implementation).
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { verifyIdentity } from '../src/index.js';
import { createTestApp, expectRefusal, identityHeaders, rawRequest, receiverOptions, signFor, toolCall } from './helpers.js';

interface Vector {
  readonly note: string;
  readonly user: { readonly id: string; readonly email?: string };
  readonly headers: { readonly id: string; readonly email?: string };
  readonly signature: string;
}
const fixture = JSON.parse(readFileSync(new URL('../../../test/fixtures/contextforge-vectors.json', import.meta.url), 'utf8')) as {
  secret: string;
  vectors: Vector[];
};

const warnings: string[] = [];
const logger = { warn: (message: string) => warnings.push(message) };

function legacyApp(trustUnsignedFields?: boolean): ReturnType<typeof createTestApp> {
  return createTestApp({
    receiver: { logger, contextforge: { secret: fixture.secret, ...(trustUnsignedFields === undefined ? {} : { trustUnsignedFields }) } },
  });
}

/** The headers ContextForge sends for a vector, plus unsigned extras. */
function contextforgeHeaders(vector: Vector, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'X-Forwarded-User-Id': vector.headers.id,
    ...(vector.headers.email === undefined ? {} : { 'X-Forwarded-User-Email': vector.headers.email }),
    'X-Forwarded-User-Admin': 'false',
    'X-Forwarded-User-Claims-Signature': vector.signature,
    ...extra,
  };
}

afterEach(() => {
  warnings.length = 0;
});

describe('verifyIdentity with contextforge', () => {
  it.each(fixture.vectors.map((vector) => [vector.note, vector] as const))(
    'accepts a ContextForge-signed request: %s',
    async (_note, vector) => {
      const { app, calls } = legacyApp();
      const res = await request(app).post('/mcp').set(contextforgeHeaders(vector)).send(toolCall());
      expect(res.status).toBe(200);
      expect(calls).toHaveLength(1);
      // Header values are what was sent; for the non-ASCII vector that is the percent-encoded form our gateway emits.
      expect(calls[0]!.user).toMatchObject({ id: vector.headers.id, isAdmin: false, authMethod: 'contextforge' });
      if (vector.headers.email === undefined) expect(calls[0]!.user).not.toHaveProperty('email');
      else expect(calls[0]!.user?.email).toBe(vector.headers.email);
      expect(calls[0]!.auth).toMatchObject({ token: vector.signature, clientId: 'contextforge', scopes: [] });
    },
  );

  it('reads raw UTF-8 header bytes as the ContextForge gateway sends them', async () => {
    const { app, calls } = legacyApp();
    const signature = createHmac('sha256', fixture.secret).update('josé:josé@exämple.com', 'utf8').digest('hex');
    const res = await rawRequest(app, {
      headers: [
        ['X-Forwarded-User-Id', 'josé'],
        ['X-Forwarded-User-Email', 'josé@exämple.com'],
        ['X-Forwarded-User-Claims-Signature', signature],
      ],
      body: toolCall(),
    });
    expect(res.status).toBe(200);
    expect(calls[0]!.user).toMatchObject({ id: 'josé', email: 'josé@exämple.com' });
  });

  it('trusts only id and email: unsigned groups, roles and admin flag are marked unverified', async () => {
    const { app, calls } = legacyApp();
    const vector = fixture.vectors[0]!;
    const res = await request(app)
      .post('/mcp')
      .set(
        contextforgeHeaders(vector, {
          'X-Forwarded-User-Admin': 'true',
          'X-Forwarded-User-Groups': 'admins,eng',
          'X-Forwarded-User-Roles': 'root',
          'X-Forwarded-User-Full-Name': 'Alice',
        }),
      )
      .send(toolCall());
    expect(res.status).toBe(200);
    const user = calls[0]!.user!;
    expect(user).toMatchObject({ id: 'alice@company.com', isAdmin: false, groups: [], roles: [] });
    expect(user).not.toHaveProperty('name');
    expect(user.unverified).toEqual({ name: 'Alice', groups: ['admins', 'eng'], teams: [], roles: ['root'], isAdmin: true });
  });

  it('takes the unsigned fields when the app opts in with trustUnsignedFields', async () => {
    const { app, calls } = legacyApp(true);
    const vector = fixture.vectors[0]!;
    await request(app)
      .post('/mcp')
      .set(
        contextforgeHeaders(vector, {
          'X-Forwarded-User-Admin': 'true',
          'X-Forwarded-User-Groups': 'admins',
          'X-Forwarded-User-Auth-Method': 'sso',
        }),
      )
      .send(toolCall())
      .expect(200);
    expect(calls[0]!.user).toMatchObject({ id: 'alice@company.com', isAdmin: true, groups: ['admins'], authMethod: 'sso' });
    expect(calls[0]!.user).not.toHaveProperty('unverified');
  });

  it.each([
    ['a tampered id', { 'X-Forwarded-User-Id': 'mallory@company.com' }],
    ['a tampered email', { 'X-Forwarded-User-Email': 'mallory@company.com' }],
    ['a dropped email', { 'X-Forwarded-User-Email': '' }],
    ['an upper-case signature', { 'X-Forwarded-User-Claims-Signature': fixture.vectors[0]!.signature.toUpperCase() }],
    ['a short signature', { 'X-Forwarded-User-Claims-Signature': fixture.vectors[0]!.signature.slice(0, 62) }],
    ['a long signature', { 'X-Forwarded-User-Claims-Signature': `${fixture.vectors[0]!.signature}00` }],
    ['a non-hex signature', { 'X-Forwarded-User-Claims-Signature': 'z'.repeat(64) }],
    ['an empty signature', { 'X-Forwarded-User-Claims-Signature': '' }],
    [
      'a signature with another secret',
      { 'X-Forwarded-User-Claims-Signature': createHmac('sha256', 'other').update('alice@company.com:alice@company.com').digest('hex') },
    ],
  ])('responds 401 identity_invalid for %s', async (_case, change) => {
    const { app, calls } = legacyApp();
    const res = await request(app).post('/mcp').set(contextforgeHeaders(fixture.vectors[0]!, change)).send(toolCall());
    expectRefusal(res, 401, 'identity_invalid', calls);
  });

  it('responds 401 identity_invalid when the id header is missing', async () => {
    const { app, calls } = legacyApp();
    const headers = contextforgeHeaders(fixture.vectors[0]!);
    delete headers['X-Forwarded-User-Id'];
    const res = await request(app).post('/mcp').set(headers).send(toolCall());
    expectRefusal(res, 401, 'identity_invalid', calls);
  });

  it('responds 401 identity_missing to a ContextForge request when the legacy mode is off', async () => {
    const { app, calls } = createTestApp();
    const res = await request(app).post('/mcp').set(contextforgeHeaders(fixture.vectors[0]!)).send(toolCall());
    expectRefusal(res, 401, 'identity_missing', calls);
  });

  it('judges a request carrying both formats by the assertion: a valid legacy signature does not rescue a bad assertion', async () => {
    const { app, calls } = legacyApp();
    const body = toolCall();
    const token = signFor({ body });
    const tampered = `${token.slice(0, -2)}AA`;
    const res = await request(app)
      .post('/mcp')
      .set({ ...contextforgeHeaders(fixture.vectors[0]!), 'X-Forwarded-User-Assertion': tampered })
      .send(body);
    expectRefusal(res, 401, 'identity_invalid', calls);
  });

  it('judges a request carrying both formats by the assertion: a valid assertion wins over a wrong legacy signature', async () => {
    const { app, calls } = legacyApp();
    const body = toolCall();
    const token = signFor({ body });
    const res = await request(app)
      .post('/mcp')
      .set({ ...identityHeaders(token), 'X-Forwarded-User-Claims-Signature': 'f'.repeat(64) })
      .send(body);
    expect(res.status).toBe(200);
    expect(calls[0]!.user?.authMethod).not.toBe('contextforge');
  });

  it('refuses a legacy request that also plants an mcp-identity user in _meta', async () => {
    const { app, calls } = legacyApp();
    const body = { ...toolCall(), params: { name: 'x', _meta: { 'mcp-identity/user': { id: 'root', isAdmin: true } } } };
    const res = await request(app).post('/mcp').set(contextforgeHeaders(fixture.vectors[0]!)).send(body);
    expectRefusal(res, 401, 'identity_mismatch', calls);
  });

  it('warns once at start, naming what the legacy format does not protect against', () => {
    verifyIdentity(receiverOptions({ logger, contextforge: { secret: 'x'.repeat(40) } }));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/no expiry or replay protection, no audience, groups\/roles\/admin flag unsigned/);
  });

  it('warns about a short legacy secret without naming it', () => {
    verifyIdentity(receiverOptions({ logger, contextforge: { secret: fixture.secret } }));
    expect(warnings.some((warning) => /contextforge\.secret is only 16 bytes/.test(warning))).toBe(true);
    expect(warnings.join('\n')).not.toContain(fixture.secret);
  });

  it.each([
    ['an empty secret', { secret: '' }, /contextforge\.secret must not be empty/],
    ['no secret', {}, /contextforge\.secret/],
    ['a non-boolean trustUnsignedFields', { secret: 'x'.repeat(40), trustUnsignedFields: 'yes' }, /trustUnsignedFields/],
  ])('refuses to start with %s', (_case, contextforge, message) => {
    expect(() => verifyIdentity(receiverOptions({ logger, contextforge: contextforge as never }))).toThrow(message);
  });
});
