/**
 * `createGateway`: real Passport (Basic) in front, real receivers (`verifyIdentity` with the
 * grouped `keys`) behind, all on 127.0.0.1.
 */
import { generateKeyPairSync } from 'node:crypto';
import express from 'express';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { Passport } from 'passport';
import { BasicStrategy } from 'passport-http';
import { Registry } from 'prom-client';
import request from 'supertest';
import { verifyIdentity } from '@mcp-identity/receiver';
import { defaultSinkLines, listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';
import { createGateway, identityPlugin, propagateIdentity } from '../src/index.js';
import type { AuditEvent, GatewayOptions, SigningKey } from '../src/index.js';
import { closeAll, track } from './propagate-kit.js';

afterEach(closeAll);

const ISSUER = 'https://gateway.test';
const SECRET = 'create-gateway tests: a 32+ byte HS256 secret 0123456789';
const ed25519 = generateKeyPairSync('ed25519');
const edPem = ed25519.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const edPublicPem = ed25519.publicKey.export({ format: 'pem', type: 'spki' }).toString();
const noAudit = (): void => undefined;

/** An EdDSA key that signs, and an HS256 secret kept during a rotation (never published). */
const signing: readonly SigningKey[] = [
  { alg: 'EdDSA', privateKey: edPem, kid: 'ed-1', active: true },
  { secret: SECRET, kid: 'hs-old' },
];

function passportWithAlice(): InstanceType<typeof Passport> {
  const passport = new Passport();
  passport.use(
    new BasicStrategy((username, password, done) => {
      if (username === 'alice' && password === 'wonderland')
        done(null, { id: 'alice', email: 'alice@corp.example', name: 'Alice', groups: ['eng'] });
      else done(null, false);
    }),
  );
  return passport;
}

// Anything reaching Express's error handling escaped the gateway's own answers: 599 makes it visible.
const onError: ErrorRequestHandler = (error: unknown, _req, res, next) => {
  if (res.headersSent) next(error);
  else res.status(599).end();
};

/** A real MCP-style upstream: `verifyIdentity`, then a handler answering `req.user`. */
async function startReceiver(receiver: RequestHandler): Promise<Running & { readonly reached: unknown[] }> {
  const reached: unknown[] = [];
  const app = express();
  app.use(receiver, (req, res) => {
    reached.push(req.user);
    res.json({ user: req.user });
  });
  app.use(onError);
  return Object.assign(track(await listen(app)), { reached });
}

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const toolsList = { jsonrpc: '2.0', id: 1, method: 'tools/list' };

describe('createGateway', () => {
  it('authenticates with Passport, signs with EdDSA and is verified by a receiver fetching the gateway JWKS', async () => {
    const events: AuditEvent[] = [];
    const gateway = createGateway({ issuer: ISSUER, signing, audit: (event) => void events.push(event) });
    // The gateway app: JWKS first, so the receiver (started after) can point at it.
    const app = express();
    app.get('/.well-known/mcp-identity/jwks.json', gateway.jwks());
    const gatewayServer = track(await listen(app));
    const upstream = await startReceiver(
      verifyIdentity({
        audience: 'urn:mcp:files',
        issuer: ISSUER,
        keys: { jwksUrl: `${gatewayServer.url}/.well-known/mcp-identity/jwks.json`, timeoutMs: 2000 },
        audit: noAudit,
      }),
    );
    app.use(
      '/mcp/files',
      gateway.authenticate(['basic'], { passport: passportWithAlice() }),
      gateway.upstream({ target: upstream.url, audience: 'urn:mcp:files', fields: ['email'], carry: { meta: false } }),
    );
    app.use(onError);

    const ok = await request(gatewayServer.url)
      .post('/mcp/files')
      .set('authorization', basic('alice', 'wonderland'))
      .set('accept', 'application/json, text/event-stream')
      .send(toolsList);

    expect(ok.status).toBe(200);
    // `fields: ['email']`: the id and authMethod always travel, the name does not.
    expect(ok.body).toEqual({
      user: expect.objectContaining({ id: 'alice', email: 'alice@corp.example', authMethod: 'basic' }) as unknown,
    });
    expect((ok.body as { user: Record<string, unknown> }).user.name).toBeUndefined();

    const refused = await request(gatewayServer.url).post('/mcp/files').set('authorization', basic('alice', 'nope')).send(toolsList);

    expect(refused.status).toBe(401);
    expect((refused.body as { error: { data: { code: string } } }).error.data.code).toBe('unauthenticated');
    expect(upstream.reached).toHaveLength(1);
    // One audit sink, given once, for authenticate and the upstream alike.
    expect(events.map((event) => [event.decision, event.reason, event.audience])).toEqual([
      ['forwarded', undefined, 'urn:mcp:files'],
      ['refused', 'unauthenticated', undefined],
    ]);
  });

  it('with audit: false writes no event for authenticate or an upstream (the default sink writes each) and still counts them', async () => {
    const upstream = await startReceiver(
      verifyIdentity({ audience: 'urn:mcp:files', issuer: ISSUER, keys: { secrets: [{ secret: SECRET }] }, audit: false }),
    );
    async function gatewayWith(options: Partial<GatewayOptions>): Promise<Running> {
      const gateway = createGateway({ issuer: ISSUER, signing: { secret: SECRET }, ...options });
      const app = express();
      app.use(
        '/mcp/files',
        gateway.authenticate(['basic'], { passport: passportWithAlice() }),
        gateway.upstream({ target: upstream.url, audience: 'urn:mcp:files' }),
      );
      app.use(onError);
      return track(await listen(app));
    }
    const requests = (server: Running) => async (): Promise<void> => {
      await request(server.url).post('/mcp/files').set('authorization', basic('alice', 'wonderland')).send(toolsList).expect(200);
      await request(server.url).post('/mcp/files').set('authorization', basic('alice', 'nope')).send(toolsList).expect(401);
    };
    const registry = new Registry();
    const off = await gatewayWith({ audit: false });
    const counted = await gatewayWith({ audit: false, metrics: registry });
    const byDefault = await gatewayWith({});

    const offLines = await defaultSinkLines(requests(off));
    const countedLines = await defaultSinkLines(requests(counted));
    const defaultLines = await defaultSinkLines(requests(byDefault));

    expect(offLines).toEqual([]);
    expect(countedLines).toEqual([]);
    expect(defaultLines.map((line) => (line.audit as AuditEvent).decision).sort()).toEqual(['forwarded', 'refused']);
    expect(upstream.reached).toHaveLength(3);
    const lines = (await registry.metrics()).split('\n').filter((line) => line.startsWith('mcp_identity_requests_total{'));
    expect(lines.sort()).toEqual([
      'mcp_identity_requests_total{component="gateway",decision="forwarded",reason=""} 1',
      'mcp_identity_requests_total{component="gateway",decision="refused",reason="unauthenticated"} 1',
    ]);
  });

  it('serves an app-built createProxyMiddleware through plugin(), verified by a receiver with keys.publicKeys', async () => {
    const gateway = createGateway({ issuer: ISSUER, signing, audit: noAudit, sessions: false });
    const upstream = await startReceiver(
      verifyIdentity({
        audience: 'urn:mcp:notes',
        issuer: ISSUER,
        keys: { publicKeys: [{ alg: 'EdDSA', publicKey: edPublicPem, kid: 'ed-1' }] },
        audit: noAudit,
      }),
    );
    const app = express();
    app.use(
      '/mcp/notes',
      gateway.authenticate(['basic'], { passport: passportWithAlice() }),
      express.json(),
      createProxyMiddleware({
        target: upstream.url,
        on: { error: () => undefined },
        plugins: [gateway.plugin({ audience: 'urn:mcp:notes' })],
      }),
    );
    const server = track(await listen(app));

    const response = await request(server.url).post('/mcp/notes').set('authorization', basic('alice', 'wonderland')).send(toolsList);

    expect(response.status).toBe(200);
    expect((response.body as { user: { id: string; name: string } }).user).toMatchObject({ id: 'alice', name: 'Alice' });
  });

  it('imports the signing keys once, however many upstreams, plugins and JWKS handlers it builds', () => {
    let reads = 0;
    const key = {
      alg: 'EdDSA' as const,
      kid: 'counted',
      get privateKey(): string {
        reads += 1;
        return edPem;
      },
    };
    const gateway = createGateway({ issuer: ISSUER, signing: key, audit: noAudit });
    const afterConstruction = reads;

    gateway.upstream({ target: 'http://127.0.0.1:9', audience: 'urn:mcp:a' });
    gateway.upstream({ target: 'http://127.0.0.1:9', audience: 'urn:mcp:b' });
    gateway.plugin({ audience: 'urn:mcp:c' });
    gateway.jwks();

    expect(afterConstruction).toBeGreaterThan(0);
    expect(reads).toBe(afterConstruction);
    // The old entry points import per call: the counter proves the hook sees imports.
    propagateIdentity({ target: 'http://127.0.0.1:9', audience: 'urn:mcp:d', issuer: ISSUER, signing: key, audit: noAudit });
    expect(reads).toBeGreaterThan(afterConstruction);
  });

  it('publishes only the asymmetric public keys of signing in jwks()', async () => {
    const gateway = createGateway({ issuer: ISSUER, signing, audit: noAudit });
    const app = express();
    app.get('/jwks', gateway.jwks({ maxAgeSeconds: 60 }));
    const server = track(await listen(app));

    const response = await request(server.url).get('/jwks');

    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('public, max-age=60');
    const body = JSON.parse(response.text) as { keys: Record<string, unknown>[] };
    expect(body.keys).toEqual([{ kty: 'OKP', crv: 'Ed25519', x: expect.any(String) as unknown, kid: 'ed-1', alg: 'EdDSA', use: 'sig' }]);
    expect(response.text).not.toContain('hs-old');
  });

  it('serves an empty key set from jwks() when signing holds only HS256 secrets', async () => {
    const gateway = createGateway({ issuer: ISSUER, signing: { secret: SECRET, kid: 'hs-only' }, audit: noAudit });
    const app = express();
    app.get('/jwks', gateway.jwks());
    const server = track(await listen(app));

    const response = await request(server.url).get('/jwks');

    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toEqual({ keys: [] });
  });
});

describe('createGateway options', () => {
  const base: GatewayOptions = { issuer: ISSUER, signing: { secret: SECRET }, audit: noAudit };
  const create = (overrides: Record<string, unknown>): unknown => createGateway({ ...base, ...overrides });
  const upstream = (overrides: Record<string, unknown>): unknown =>
    createGateway(base).upstream({ target: 'http://127.0.0.1:9', audience: 'urn:mcp:a', ...overrides });
  const plugin = (overrides: Record<string, unknown>): unknown => createGateway(base).plugin({ audience: 'urn:mcp:a', ...overrides });

  it('takes an option set to undefined as one left unset, on createGateway, upstream() and authenticate()', () => {
    const gateway = createGateway({ ...base, claims: undefined } as never);
    expect(() => gateway.upstream({ target: 'http://127.0.0.1:9', audience: 'urn:mcp:a', issuer: undefined } as never)).not.toThrow();
    expect(() => gateway.authenticate(['basic'], { passport: passportWithAlice(), audit: undefined } as never)).not.toThrow();
  });

  it.each([
    ['no issuer', () => create({ issuer: undefined }), /^issuer is required/],
    ['no signing', () => create({ signing: undefined }), /^signing is required/],
    ['a weak secret', () => create({ signing: { secret: 'short' } }), /^signing\.secret/],
    ['a bad assertionTtlSeconds', () => create({ assertionTtlSeconds: 0 }), /^assertionTtlSeconds must be a positive integer/],
    ['a flat ttlSeconds', () => create({ ttlSeconds: 30 }), /^ttlSeconds is not an option here: use assertionTtlSeconds/],
    ['sessions that is not an object', () => create({ sessions: 'memory' }), /^sessions must be an object/],
    ['an unknown sessions key', () => create({ sessions: { ttl: 5 } }), /^sessions\.ttl is not an option/],
    ['a bad sessions.ttlSeconds', () => create({ sessions: { ttlSeconds: -1 } }), /^sessions\.ttlSeconds must be a positive integer/],
    ['a bad sessions.maxPerUser', () => create({ sessions: { maxPerUser: 1.5 } }), /^sessions\.maxPerUser must be a positive integer/],
    ['a bad sessions.store', () => upstream({ sessions: { store: {} } }), /^sessions\.store must implement/],
    ['a bad logger', () => create({ logger: {} }), /^logger must have a warn/],
    ['a bad clock', () => create({ clock: 5 }), /^clock must be a function/],
    ['a bad audit sink', () => create({ audit: 'stdout' }), /^audit must be a function/],
    ['no target', () => upstream({ target: undefined }), /^target is required/],
    ['no audience', () => upstream({ audience: undefined }), /^audience is required/],
    ['a flat claims', () => upstream({ claims: ['email'] }), /^claims is not an option here: use fields/],
    [
      "an upstream's flat name on createGateway",
      () => create({ claims: ['email'] }),
      /^claims is not an option here: use fields on gateway\.upstream\(\) or gateway\.plugin\(\)$/,
    ],
    ['a name Object.prototype has', () => upstream({ constructor: 1 }), /^constructor is not an option \(options takes audience, /],
    ['a key that is no plain name', () => upstream({ 'a\nb': 1 }), /^"a\\u000ab" is not an option \(options takes /],
    ['a flat metaCreation', () => upstream({ metaCreation: 'always' }), /^metaCreation is not an option here: use carry\.meta: 'always'/],
    ['issuer on upstream()', () => upstream({ issuer: ISSUER }), /^issuer is not an option here: use createGateway\(\{ issuer \}\)/],
    [
      'signing on upstream()',
      () => upstream({ signing: { secret: SECRET } }),
      /^signing is not an option here: use createGateway\(\{ signing \}\)/,
    ],
    ['audit on plugin()', () => plugin({ audit: noAudit }), /^audit is not an option here: use createGateway\(\{ audit \}\)/],
    [
      'sensitiveAttributes on upstream()',
      () => upstream({ sensitiveAttributes: ['pin'] }),
      /^sensitiveAttributes is not an option here: use createGateway\(\{ sensitiveAttributes \}\)/,
    ],
    ['an unknown field', () => upstream({ fields: ['password'] }), /fields/],
    ['carry that is not an object', () => upstream({ carry: ['headers'] }), /^carry must be an object/],
    ['carry.headers that is not a boolean', () => upstream({ carry: { headers: 'yes' } }), /^carry\.headers must be a boolean/],
    ['no carrier at all', () => upstream({ carry: { headers: false, meta: false } }), /^carry: headers and meta cannot both be false/],
    ['carry.headerPrefix "---"', () => upstream({ carry: { headerPrefix: '---' } }), /^carry\.headerPrefix must contain a letter or digit/],
    [
      'carry.contextforge without headers',
      () => upstream({ carry: { headers: false, contextforge: { secret: SECRET } } }),
      /^carry\.contextforge needs/,
    ],
    [
      'strip.except keeping an identity header',
      () => upstream({ strip: { except: ['x-forwarded-user-id'] } }),
      /^strip\.except cannot keep/,
    ],
    ['a bad strip.apiKeyHeader', () => upstream({ strip: { apiKeyHeader: 'x api' } }), /^strip\.apiKeyHeader must be/],
    ['a bad strip.headers', () => upstream({ strip: { headers: [''] } }), /^strip\.headers must be/],
    ['a bad strip.queryParams', () => upstream({ strip: { queryParams: 'token' } }), /^strip\.queryParams must be/],
    ['an unknown strip key', () => upstream({ strip: { cookies: true } }), /^strip\.cookies is not an option/],
    ['a bad limits.bodyBytes', () => upstream({ limits: { bodyBytes: 0 } }), /^limits\.bodyBytes must be a positive integer/],
    ['a bad limits.timeoutMs', () => upstream({ limits: { timeoutMs: '5s' } }), /^limits\.timeoutMs must be a positive integer/],
    [
      'limits.listResponseBytes without policy',
      () => upstream({ limits: { listResponseBytes: 64 } }),
      /^limits\.listResponseBytes needs a policy/,
    ],
    [
      'a bad limits.listResponseBytes',
      () => upstream({ limits: { listResponseBytes: -1 } }),
      /^limits\.listResponseBytes must be a positive/,
    ],
    ['proxy.target', () => upstream({ proxy: { target: 'http://elsewhere' } }), /^proxy\.target is set by the gateway/],
    ['a bad policy', () => upstream({ policy: { rules: 'all' } }), /rules/],
    [
      'a tokenExchange without an authorization server',
      () =>
        upstream({
          tokenExchange: { audience: 'urn:api', clientAuth: { method: 'client_secret_basic', clientId: 'c', clientSecret: 's' } },
        }),
      /^tokenExchange\.issuer or tokenEndpoint is required/,
    ],
    [
      'carry.meta that is not true, false or "always"',
      () => upstream({ carry: { meta: 'sometimes' } }),
      /^carry\.meta must be true, false or "always"/,
    ],
    ['a bad limits.headerBytes', () => upstream({ limits: { headerBytes: 0 } }), /^limits\.headerBytes must be a positive integer/],
    ['target on plugin()', () => plugin({ target: 'http://127.0.0.1:9' }), /^target is not an option/],
    [
      'limits.listResponseBytes on plugin()',
      () => plugin({ limits: { listResponseBytes: 64 } }),
      /^limits\.listResponseBytes is not an option/,
    ],
    [
      'audit on authenticate()',
      () => createGateway(base).authenticate(['basic'], { audit: noAudit } as never),
      /audit is set once, on createGateway/,
    ],
  ])('throws a TypeError naming the option for %s', (_case, build, message) => {
    expect(build).toThrow(TypeError);
    expect(build).toThrow(message);
  });
});

describe('headerPrefix "---" at the gateway', () => {
  it.each(['---', '__', '-_-'])('refuses %s in propagateIdentity and identityPlugin at start-up', (headerPrefix) => {
    const options = { audience: 'urn:mcp:a', issuer: ISSUER, signing: { secret: SECRET }, headerPrefix };

    expect(() => propagateIdentity({ ...options, target: 'http://127.0.0.1:9', audit: noAudit })).toThrow(/^headerPrefix must contain/);
    expect(() => identityPlugin(options)).toThrow(/^headerPrefix must contain/);
  });
});
