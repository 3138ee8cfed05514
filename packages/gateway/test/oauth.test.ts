/**
 * The gateway as an OAuth protected resource: RFC 9728 documents at the well-known URLs MCP
 * clients request, the exact 401/403 challenges, and OAuthTokenStrategy verifying access
 * tokens of a real JWKS served on loopback.
 */
import { randomBytes } from 'node:crypto';
import express from 'express';
import { Passport } from 'passport';
import { BasicStrategy } from 'passport-http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWTPayload } from 'jose';
import { listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';
import { authenticate, OAuthTokenStrategy, propagateIdentity, protectedResource, protectedResourceMetadata } from '../src/index.js';
import type { ProtectedResource } from '../src/index.js';

interface Issuer extends Running {
  readonly privateKey: CryptoKey;
  sign(claims: JWTPayload, options?: { typ?: string; exp?: number; alg?: string }): Promise<string>;
  readonly jwksRequests: number[];
}

const started: Running[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.close()));
});

async function startIssuer(): Promise<Issuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const jwksRequests: number[] = [];
  let url = '';
  const app = express();
  app.get('/.well-known/oauth-authorization-server', (_req, res) => {
    res.json({ issuer: url, jwks_uri: `${url}/jwks` });
  });
  app.get('/jwks', (_req, res) => {
    jwksRequests.push(1);
    res.json({ keys: [jwk] });
  });
  const server = await listen(app);
  url = server.url;
  started.push(server);
  return {
    ...server,
    privateKey,
    jwksRequests,
    sign: (claims, options = {}) =>
      new SignJWT({ client_id: 'client-1', scope: 'notes:read', ...claims })
        .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: 'k1', typ: options.typ ?? 'at+jwt' })
        .setIssuer(claims.iss ?? url)
        .setSubject(claims.sub ?? 'ada')
        .setIssuedAt()
        .setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 300)
        .sign(privateKey),
  };
}

interface Gateway extends Running {
  readonly notes: ProtectedResource;
  readonly reports: ProtectedResource;
  readonly reached: unknown[];
}

/** The gateway: PRM documents, then /mcp/notes (scope notes:read) and /mcp/reports (scope reports:read). */
async function startGateway(issuer: Issuer, publicUrl = 'https://mcp.example.test'): Promise<Gateway> {
  const common = { publicUrl, authorizationServers: [issuer.url], scopesSupported: ['notes:read', 'reports:read'] };
  const notes = protectedResource({ ...common, path: '/mcp/notes', requiredScopes: ['notes:read'], resourceName: 'Notes' });
  const reports = protectedResource({ ...common, path: '/mcp/reports', requiredScopes: ['reports:read'], resourceName: 'Notes' });
  const passport = new Passport();
  passport.use(new OAuthTokenStrategy({ issuers: [{ issuer: issuer.url }], audience: [notes, reports] }));
  passport.use(new BasicStrategy((user, password, done) => done(null, user === 'bob' && password === 'pw' ? { id: 'bob' } : false)));
  const reached: unknown[] = [];
  const app = express();
  app.use(protectedResourceMetadata([notes, reports]));
  for (const [path, resource] of [
    ['/mcp/notes', notes],
    ['/mcp/reports', reports],
  ] as const) {
    app.use(
      path,
      authenticate(['oauth-bearer', 'basic'], { passport, protectedResource: resource, audit: () => undefined }),
      (req, res) => {
        reached.push(req.userContext);
        res.json({ user: req.userContext });
      },
    );
  }
  const server = await listen(app);
  started.push(server);
  return { ...server, notes, reports, reached };
}

function post(url: string, authorization?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
    body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
  });
}

async function expectRefused(response: Response, status: number, code: string, challenge: string[]): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('www-authenticate')).toBe(challenge.join(', '));
  expect(await response.json()).toEqual({
    jsonrpc: '2.0',
    id: null,
    error: { code: expect.any(Number), message: expect.any(String), data: { code } },
  });
}

const NOTES_PRM = 'https://mcp.example.test/.well-known/oauth-protected-resource/mcp/notes';
const NOTES_401 = `Bearer resource_metadata="${NOTES_PRM}", scope="notes:read"`;
const NOTES_INVALID = `Bearer error="invalid_token", resource_metadata="${NOTES_PRM}", scope="notes:read"`;
const BASIC = 'Basic realm="Users"';

describe('protectedResourceMetadata', () => {
  it('serves each mount its RFC 9728 document at the path-inserted well-known URL, built from publicUrl', async () => {
    const issuer = await startIssuer();
    const gateway = await startGateway(issuer);
    const response = await fetch(`${gateway.url}/.well-known/oauth-protected-resource/mcp/notes`, { headers: { host: 'evil.example' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(await response.json()).toEqual({
      resource: 'https://mcp.example.test/mcp/notes',
      authorization_servers: [issuer.url],
      scopes_supported: ['notes:read', 'reports:read'],
      bearer_methods_supported: ['header'],
      resource_name: 'Notes',
    });
    const reports = (await (await fetch(`${gateway.url}/.well-known/oauth-protected-resource/mcp/reports`)).json()) as { resource: string };
    expect(reports.resource).toBe('https://mcp.example.test/mcp/reports');
  });

  it('answers 404 at the root well-known URL when the mounts are different resources', async () => {
    const gateway = await startGateway(await startIssuer());
    expect((await fetch(`${gateway.url}/.well-known/oauth-protected-resource`)).status).toBe(404);
  });

  it('serves one document at the root well-known URL when every mount shares the resource', async () => {
    const issuer = await startIssuer();
    const shared = {
      publicUrl: 'https://gw.example.test',
      authorizationServers: [issuer.url],
      resourceDocumentation: 'https://docs.example.test/mcp',
    };
    const app = express();
    app.use(
      protectedResourceMetadata([
        protectedResource({ ...shared, requiredScopes: ['a'] }),
        protectedResource({ ...shared, requiredScopes: ['a'] }),
      ]),
    );
    const server = await listen(app);
    started.push(server);
    const response = await fetch(`${server.url}/.well-known/oauth-protected-resource`);
    expect(await response.json()).toEqual({
      resource: 'https://gw.example.test',
      authorization_servers: [issuer.url],
      scopes_supported: ['a'],
      bearer_methods_supported: ['header'],
      resource_documentation: 'https://docs.example.test/mcp',
    });
  });

  it.each([
    ['publicUrl missing', { authorizationServers: ['https://as.example'] }, /publicUrl/],
    [
      'publicUrl over http on a public host',
      { publicUrl: 'http://mcp.example', authorizationServers: ['https://as.example'] },
      /publicUrl/,
    ],
    ['publicUrl with a query', { publicUrl: 'https://mcp.example/?x=1', authorizationServers: ['https://as.example'] }, /publicUrl/],
    [
      'path with a trailing slash',
      { publicUrl: 'https://mcp.example', path: '/mcp/', authorizationServers: ['https://as.example'] },
      /path/,
    ],
    ['no authorization server', { publicUrl: 'https://mcp.example', authorizationServers: [] }, /authorizationServers/],
    [
      'a scope with a space',
      { publicUrl: 'https://mcp.example', authorizationServers: ['https://as.example'], requiredScopes: ['a b'] },
      /requiredScopes/,
    ],
    [
      'a required scope not supported',
      { publicUrl: 'https://mcp.example', authorizationServers: ['https://as.example'], requiredScopes: ['a'], scopesSupported: ['b'] },
      /scopesSupported/,
    ],
  ])('throws at start-up naming the option: %s', (_title, options, message) => {
    expect(() => protectedResource(options as never)).toThrow(message);
  });
});

describe('authenticate with a protectedResource', () => {
  it('answers 401 with resource_metadata and scope, alongside the Basic challenge, when no credential is sent', async () => {
    const gateway = await startGateway(await startIssuer());
    await expectRefused(await post(`${gateway.url}/mcp/notes`), 401, 'unauthenticated', [NOTES_401, BASIC]);
    expect(gateway.reached).toHaveLength(0);
  });

  it('accepts an access token for this resource and records its scopes, client and resource', async () => {
    const issuer = await startIssuer();
    const gateway = await startGateway(issuer);
    const token = await issuer.sign({ aud: gateway.notes.resource, scope: 'notes:read profile', email: 'ada@example.com' });
    const response = await post(`${gateway.url}/mcp/notes`, `Bearer ${token}`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { user: unknown }).user).toEqual({
      id: 'ada',
      email: 'ada@example.com',
      groups: [],
      teams: [],
      roles: [],
      isAdmin: false,
      authMethod: 'oauth',
      issuer: issuer.url,
      scopes: ['notes:read', 'profile'],
      clientId: 'client-1',
      resource: 'https://mcp.example.test/mcp/notes',
    });
  });

  it('reads clientId from azp and scopes from an scp list (Entra ID, Okta)', async () => {
    const issuer = await startIssuer();
    const gateway = await startGateway(issuer);
    const token = await issuer.sign({
      aud: gateway.notes.resource,
      scope: undefined,
      client_id: undefined,
      azp: 'vscode',
      scp: ['notes:read'],
    });
    const response = await post(`${gateway.url}/mcp/notes`, `Bearer ${token}`);
    expect(((await response.json()) as { user: { clientId: string; scopes: string[] } }).user).toMatchObject({
      clientId: 'vscode',
      scopes: ['notes:read'],
    });
  });

  it('answers 401 invalid_token for a token issued for another resource', async () => {
    const issuer = await startIssuer();
    const gateway = await startGateway(issuer);
    const token = await issuer.sign({ aud: gateway.reports.resource, scope: 'notes:read reports:read' });
    await expectRefused(await post(`${gateway.url}/mcp/notes`, `Bearer ${token}`), 401, 'unauthenticated', [NOTES_INVALID]);
    expect(gateway.reached).toHaveLength(0);
  });

  it('answers 401 invalid_token for a token for a resource the gateway does not serve', async () => {
    const issuer = await startIssuer();
    const gateway = await startGateway(issuer);
    const token = await issuer.sign({ aud: 'https://other-mcp.example.test/mcp' });
    await expectRefused(await post(`${gateway.url}/mcp/notes`, `Bearer ${token}`), 401, 'unauthenticated', [NOTES_INVALID, BASIC]);
  });

  it.each([
    ['expired beyond the 30 s tolerance', { exp: Math.floor(Date.now() / 1000) - 60 }],
    ['typed as an ID token', { typ: 'id_token+jwt' }],
  ])('answers 401 invalid_token for a token %s', async (_title, options) => {
    const issuer = await startIssuer();
    const gateway = await startGateway(issuer);
    const token = await issuer.sign({ aud: gateway.notes.resource }, options);
    await expectRefused(await post(`${gateway.url}/mcp/notes`, `Bearer ${token}`), 401, 'unauthenticated', [NOTES_INVALID, BASIC]);
    expect(gateway.reached).toHaveLength(0);
  });

  it('answers 401 invalid_token for a token of an issuer it does not trust, and for garbage', async () => {
    const issuer = await startIssuer();
    const other = await startIssuer();
    const gateway = await startGateway(issuer);
    const foreign = await other.sign({ aud: gateway.notes.resource });
    await expectRefused(await post(`${gateway.url}/mcp/notes`, `Bearer ${foreign}`), 401, 'unauthenticated', [NOTES_INVALID, BASIC]);
    await expectRefused(await post(`${gateway.url}/mcp/notes`, 'bearer not-a-token'), 401, 'unauthenticated', [NOTES_INVALID, BASIC]);
    expect(gateway.reached).toHaveLength(0);
  });

  it('answers 403 insufficient_scope with the step-up challenge when a required scope is missing', async () => {
    const issuer = await startIssuer();
    const gateway = await startGateway(issuer);
    const token = await issuer.sign({ aud: gateway.reports.resource, scope: 'notes:read' });
    const response = await post(`${gateway.url}/mcp/reports`, `Bearer ${token}`);
    await expectRefused(response, 403, 'insufficient_scope', [
      'Bearer error="insufficient_scope", scope="reports:read", resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp/reports"',
    ]);
    expect(gateway.reached).toHaveLength(0);
  });

  it('takes neither an audience nor a scope from a polluted Object.prototype', async () => {
    const issuer = await startIssuer();
    const gateway = await startGateway(issuer);
    const noScope = await issuer.sign({ aud: gateway.reports.resource, scope: undefined });
    const noAudience = await issuer.sign({ scope: 'reports:read' });
    const polluted = Object.prototype as Record<string, unknown>;
    const planted = {
      scope: 'reports:read',
      scopes: ['reports:read'],
      aud: gateway.reports.resource,
      audience: [gateway.reports.resource],
    };
    Object.assign(polluted, planted);
    try {
      await expectRefused(await post(`${gateway.url}/mcp/reports`, `Bearer ${noScope}`), 403, 'insufficient_scope', [
        'Bearer error="insufficient_scope", scope="reports:read", resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp/reports"',
      ]);
      const refused = await post(`${gateway.url}/mcp/reports`, `Bearer ${noAudience}`);
      expect(refused.status).toBe(401);
    } finally {
      for (const name of Object.keys(planted)) Reflect.deleteProperty(polluted, name);
    }
    expect(gateway.reached).toHaveLength(0);
  });

  it('lets a Basic user through without audience or scope checks', async () => {
    const gateway = await startGateway(await startIssuer());
    const response = await post(`${gateway.url}/mcp/reports`, `Basic ${Buffer.from('bob:pw').toString('base64')}`);
    expect(response.status).toBe(200);
  });

  it('enforces the audience on passport-jwt logins too', async () => {
    const issuer = await startIssuer();
    const notes = protectedResource({ publicUrl: 'https://mcp.example.test', path: '/mcp/notes', authorizationServers: [issuer.url] });
    const { Strategy: JwtStrategy, ExtractJwt } = await import('passport-jwt');
    const { exportSPKI } = await import('jose');
    const passport = new Passport();
    // A passport-jwt set-up that forgot `audience`: authenticate still refuses other resources' tokens.
    const spki = await exportSPKI(await importPublic(issuer));
    passport.use(
      new JwtStrategy(
        { secretOrKey: spki, algorithms: ['ES256'], jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken() },
        (payload: unknown, done: (e: unknown, u?: unknown) => void) => done(null, payload),
      ),
    );
    const app = express();
    app.use('/mcp/notes', authenticate(['jwt'], { passport, protectedResource: notes, audit: () => undefined }), (req, res) => {
      res.json({ user: req.userContext });
    });
    const server = await listen(app);
    started.push(server);
    const wrong = await issuer.sign({ aud: 'https://mcp.example.test/mcp/reports' });
    const response = await post(`${server.url}/mcp/notes`, `Bearer ${wrong}`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer error="invalid_token", resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp/notes"',
    );
    const right = await issuer.sign({ aud: notes.resource });
    expect((await post(`${server.url}/mcp/notes`, `Bearer ${right}`)).status).toBe(200);
  });
});

/** The issuer's public key, as passport-jwt wants it. */
async function importPublic(issuer: Issuer): Promise<CryptoKey> {
  const { keys } = (await (await fetch(`${issuer.url}/jwks`)).json()) as { keys: Record<string, unknown>[] };
  const { importJWK } = await import('jose');
  return await importJWK(keys[0] as never, 'ES256');
}

describe('OAuthTokenStrategy', () => {
  it.each([
    ['no issuers', { issuers: [], audience: ['https://r'] }, /issuers/],
    ['an http issuer on a public host', { issuers: [{ issuer: 'http://as.example' }], audience: ['https://r'] }, /issuers\[0\]\.issuer/],
    ['no audience', { issuers: [{ issuer: 'https://as.example' }], audience: [] }, /audience/],
    ['HS256 allowed', { issuers: [{ issuer: 'https://as.example' }], audience: ['https://r'], algorithms: ['HS256'] }, /algorithms/],
    ['none allowed', { issuers: [{ issuer: 'https://as.example' }], audience: ['https://r'], algorithms: ['none'] }, /algorithms/],
    [
      'introspection without a secret',
      {
        issuers: [{ issuer: 'https://as.example' }],
        audience: ['https://r'],
        introspection: { endpoint: 'https://as.example/i', clientId: 'gw' },
      },
      /introspection\.clientSecret/,
    ],
  ])('throws at start-up naming the option: %s', (_title, options, message) => {
    expect(() => new OAuthTokenStrategy(options as never)).toThrow(message);
  });

  it('refuses a token signed with HS256 even by a key the issuer publishes', async () => {
    const issuer = await startIssuer();
    const gateway = await startGateway(issuer);
    const token = await new SignJWT({ aud: gateway.notes.resource, scope: 'notes:read' })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setIssuer(issuer.url)
      .setSubject('ada')
      .setExpirationTime('5m')
      .sign(new Uint8Array(32));
    await expectRefused(await post(`${gateway.url}/mcp/notes`, `Bearer ${token}`), 401, 'unauthenticated', [NOTES_INVALID, BASIC]);
  });

  it('introspects opaque tokens (RFC 7662) and caches an active answer', async () => {
    const issuer = await startIssuer();
    const calls: string[] = [];
    const app = express();
    app.post('/introspect', express.urlencoded({ extended: false }), (req, res) => {
      calls.push(String(req.headers.authorization));
      const body = req.body as { token: string };
      res.json(
        body.token === 'opaque-good'
          ? {
              active: true,
              sub: 'ada',
              iss: issuer.url,
              aud: 'https://mcp.example.test/mcp/notes',
              scope: 'notes:read',
              client_id: 'cli',
              exp: Math.floor(Date.now() / 1000) + 60,
            }
          : body.token === 'opaque-without-aud-and-exp'
            ? { active: true, sub: 'ada', iss: issuer.url, scope: 'notes:read' }
            : { active: false },
      );
    });
    const as = await listen(app);
    started.push(as);
    const notes = protectedResource({ publicUrl: 'https://mcp.example.test', path: '/mcp/notes', authorizationServers: [issuer.url] });
    const passport = new Passport();
    passport.use(
      new OAuthTokenStrategy({
        issuers: [{ issuer: issuer.url }],
        audience: [notes],
        introspection: { endpoint: `${as.url}/introspect`, clientId: 'gateway', clientSecret: 's3cret' },
      }),
    );
    const gw = express();
    gw.use('/mcp', authenticate(['oauth-bearer'], { passport, protectedResource: notes, audit: () => undefined }), (req, res) => {
      res.json({ user: req.userContext });
    });
    const server = await listen(gw);
    started.push(server);
    for (let i = 0; i < 2; i++) {
      const response = await post(`${server.url}/mcp`, 'Bearer opaque-good');
      expect(((await response.json()) as { user: unknown }).user).toMatchObject({
        id: 'ada',
        clientId: 'cli',
        scopes: ['notes:read'],
        authMethod: 'oauth',
      });
    }
    expect(calls).toEqual([`Basic ${Buffer.from('gateway:s3cret').toString('base64')}`]);
    expect((await post(`${server.url}/mcp`, 'Bearer opaque-bad')).status).toBe(401);

    // An active answer without aud and exp, behind the strategy alone (no protectedResource check):
    // a polluted Object.prototype supplies neither.
    // The answer parsed in this realm, whose Object.prototype the test pollutes (the global fetch parses in Node's own).
    const parsedHere = (async (url: string, init: RequestInit) => {
      const response = await fetch(url, init);
      const text = await response.text();
      return { ok: response.ok, status: response.status, json: () => Promise.resolve(JSON.parse(text) as unknown) };
    }) as unknown as typeof fetch;
    const alone = new Passport();
    alone.use(
      new OAuthTokenStrategy({
        issuers: [{ issuer: issuer.url }],
        audience: [notes],
        introspection: { endpoint: `${as.url}/introspect`, clientId: 'gateway', clientSecret: 's3cret' },
        fetch: parsedHere,
      }),
    );
    const bare = express();
    bare.use('/mcp', authenticate(['oauth-bearer'], { passport: alone, audit: () => undefined }), (req, res) => {
      res.json({ user: req.userContext });
    });
    const strategyOnly = await listen(bare);
    started.push(strategyOnly);
    const polluted = Object.prototype as Record<string, unknown>;
    const planted = { aud: 'https://mcp.example.test/mcp/notes', exp: Math.floor(Date.now() / 1000) + 600 };
    Object.assign(polluted, planted);
    try {
      const refused = await post(`${strategyOnly.url}/mcp`, 'Bearer opaque-without-aud-and-exp');
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: { data: { code: string } } }).error.data.code).toBe('unauthenticated');
    } finally {
      for (const name of Object.keys(planted)) Reflect.deleteProperty(polluted, name);
    }
  });
});

describe('propagateIdentity refuses token passthrough', () => {
  it('throws at start-up for forwardCredentials: ["authorization"], naming the spec rule', () => {
    expect(() =>
      propagateIdentity({
        target: 'http://127.0.0.1:1/mcp',
        audience: 'urn:up',
        issuer: 'urn:gw',
        signing: { secret: randomBytes(32).toString('base64url') },
        forwardCredentials: ['authorization'],
      }),
    ).toThrow(/forwardCredentials cannot keep authorization: the MCP authorization spec forbids token passthrough/);
  });
});
