/**
 * The example gateway: Passport authenticates (JWT from a demo issuer, HTTP Basic, an API
 * key), then one `propagateIdentity` per upstream signs the user for that upstream and
 * forwards the request. The gateway's public keys are served as a JWKS. Listed principals
 * may act for the demo users with `X-Act-As`; every request is audited, and counted when a
 * metrics registry is given (served at `/metrics`).
 */
import express from 'express';
import { Passport } from 'passport';
import { BasicStrategy } from 'passport-http';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { ApiKeyStrategy, authenticate, jwks, propagateIdentity, safeEqual } from '@mcp-identity/gateway';
import type { Express, Request, Response } from 'express';
import type { AuditSink, SigningKey } from '@mcp-identity/gateway';
import type { Registry } from 'prom-client';
import type { DemoApiClient, DemoUser } from './demo-identities.js';

/** One upstream MCP server, mounted at `/mcp/<name>`. */
export interface UpstreamConfig {
  readonly name: string;
  readonly target: string;
  readonly audience: string;
}

/** Options of {@link createApp}. */
export interface GatewayAppOptions {
  /** The gateway's identifier (`iss` of every assertion). */
  readonly issuer: string;
  /** Signing keys; asymmetric ones are published at `/.well-known/mcp-identity/jwks.json`. */
  readonly signing: SigningKey | readonly SigningKey[];
  readonly upstreams: readonly UpstreamConfig[];
  /** The JWT issuer the gateway trusts for bearer tokens (the demo's own, HS256). */
  readonly jwt: { readonly secret: Uint8Array; readonly issuer: string; readonly audience: string };
  readonly users: readonly DemoUser[];
  readonly apiClients: readonly DemoApiClient[];
  /** Principals (e.g. an API-key client's id) allowed to act for the demo users with `X-Act-As`. Default none. */
  readonly actors?: readonly string[];
  /** Receives the audit events of `authenticate` and of every upstream. Default: JSON lines on standard output. */
  readonly audit?: AuditSink;
  /** Counts requests by decision and reason; served at `/metrics` when given. */
  readonly metrics?: Registry;
}

/** The Basic users as the subjects a delegate may act for: found by username, with their groups and roles. */
function demoSubject(users: readonly DemoUser[], id: string): Record<string, unknown> | undefined {
  const user = users.find((candidate) => candidate.username === id);
  return user === undefined ? undefined : { id: user.username, email: user.email, name: user.name, groups: user.groups, roles: user.roles };
}

/** The JWKS path receivers point `jwksUrl` at. */
export const JWKS_PATH = '/.well-known/mcp-identity/jwks.json';

function isAsymmetric(key: SigningKey): boolean {
  return key.alg === 'EdDSA' || key.alg === 'ES256';
}

/**
 * Unmatched paths get a JSON-RPC error body (404, `error.code` -32601, `error.data.code`
 * `"not_found"`), like every other refusal, instead of Express's HTML page.
 */
function notFound(_req: Request, res: Response): void {
  res
    .status(404)
    .set('cache-control', 'no-store')
    .json({ jsonrpc: '2.0', id: null, error: { code: -32601, message: 'no route serves this path', data: { code: 'not_found' } } });
}

/** Creates the example gateway app; it does not listen. */
export function createApp(options: GatewayAppOptions): Express {
  const passport = new Passport();

  passport.use(
    new JwtStrategy(
      {
        secretOrKey: Buffer.from(options.jwt.secret),
        algorithms: ['HS256'],
        issuer: options.jwt.issuer,
        audience: options.jwt.audience,
        jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      },
      (payload: unknown, done: (error: unknown, user?: unknown) => void) => done(null, payload),
    ),
  );

  passport.use(
    new BasicStrategy((username, password, done) => {
      // Every user is compared, so timing says nothing about which usernames exist.
      let found: DemoUser | undefined;
      for (const user of options.users) {
        const nameMatches = safeEqual(user.username, username);
        const passwordMatches = safeEqual(user.password, password);
        if (nameMatches && passwordMatches) found = user;
      }
      done(
        null,
        found === undefined
          ? false
          : { id: found.username, email: found.email, name: found.name, groups: found.groups, roles: found.roles },
      );
    }),
  );

  passport.use(
    new ApiKeyStrategy({
      verify: (key) => {
        const client = options.apiClients.find((candidate) => safeEqual(candidate.key, key));
        return client === undefined ? false : { id: client.id, name: client.name, roles: client.roles };
      },
    }),
  );

  const app = express();
  app.disable('x-powered-by');
  const keys: readonly SigningKey[] = Array.isArray(options.signing) ? options.signing : [options.signing as SigningKey];
  if (keys.some(isAsymmetric)) app.get(JWKS_PATH, jwks(keys.filter(isAsymmetric)));

  const { audit, metrics } = options;
  if (metrics !== undefined) {
    app.get('/metrics', async (_req, res) => {
      res.type(metrics.contentType).send(await metrics.metrics());
    });
  }

  const login = authenticate(['jwt', 'basic', 'api-key'], {
    passport,
    delegation: { allowedActors: options.actors ?? [], resolveSubject: (id) => demoSubject(options.users, id) },
    audit,
    metrics,
  });
  for (const upstream of options.upstreams) {
    app.use(
      `/mcp/${upstream.name}`,
      login,
      propagateIdentity({
        target: upstream.target,
        audience: upstream.audience,
        issuer: options.issuer,
        signing: options.signing,
        audit,
        metrics,
      }),
    );
  }
  app.use(notFound);
  return app;
}
