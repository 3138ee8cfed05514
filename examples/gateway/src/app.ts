/**
 * The example gateway: one `createGateway` holds the issuer, signing keys, audit and metrics;
 * Passport authenticates (JWT from a demo issuer, HTTP Basic, an API key), then one
 * `gateway.upstream` per upstream signs the user for that upstream and forwards the request,
 * after its `policy` (when given) has allowed the call.
 * The gateway's public keys are served as a JWKS. Listed principals
 * may act for the demo users with `X-Act-As`; every request is audited, and counted when a
 * metrics registry is given (served at `/metrics`).
 */
import { createSecretKey } from 'node:crypto';
import express from 'express';
import { Passport } from 'passport';
import { BasicStrategy } from 'passport-http';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import {
  ApiKeyStrategy,
  createGateway,
  OAuthTokenStrategy,
  protectedResource,
  protectedResourceMetadata,
  safeEqual,
} from '@mcp-identity/gateway';
import type { Express, Request, Response } from 'express';
import type { AuditSink, MetaCreation, Policy, PolicyConfig, SigningKey } from '@mcp-identity/gateway';
import type { Registry } from 'prom-client';
import type { DemoApiClient, DemoUser } from './demo-identities.js';

/** One upstream MCP server, mounted at `/mcp/<name>`. */
export interface UpstreamConfig {
  readonly name: string;
  readonly target: string;
  readonly audience: string;
  /** `propagateIdentity`'s `metaCreation`: `"always"` when something on the way drops identity headers. Default `"preserve-era"`. */
  readonly metaCreation?: MetaCreation;
  /**
   * Which users may call which tools of this upstream (and see them in `tools/list`): a `Policy`
   * (`loadPolicy`, `createPolicy`) or inline `{ rules, default? }`. Default none: every tool is
   * left to the upstream's own code.
   */
  readonly policy?: Policy | PolicyConfig;
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
  /** Lets MCP clients log in with OAuth: each upstream becomes a protected resource. Default: off. */
  readonly oauth?: GatewayOAuthOptions;
}

/** The gateway as an OAuth protected resource (RFC 9728) for MCP clients. */
export interface GatewayOAuthOptions {
  /** The gateway's public URL; each upstream's resource is `<publicUrl>/mcp/<name>`. */
  readonly publicUrl: string;
  /** The authorization server's issuer identifier; its JWKS is found through its metadata. */
  readonly authorizationServer: string;
  /** Scopes a token must carry, by upstream name. Default none. Each upstream offers `<name>:read`. */
  readonly requiredScopes?: Readonly<Record<string, readonly string[]>>;
}

/** The Basic users as the subjects a delegate may act for: found by username, with their groups and roles. */
function demoSubject(users: readonly DemoUser[], id: string): Record<string, unknown> | undefined {
  const user = users.find((candidate) => candidate.username === id);
  return user === undefined ? undefined : { id: user.username, email: user.email, name: user.name, groups: user.groups, roles: user.roles };
}

/** The JWKS path receivers point `jwksUrl` at. */
export const JWKS_PATH = '/.well-known/mcp-identity/jwks.json';

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
  // A KeyObject made once: given a string or Buffer, jsonwebtoken (under passport-jwt) first tries
  // it as a PEM public key on every request and throws, about 350 µs instead of 8 (docs/gateway.md).
  // passport-jwt's types say string | Buffer; jsonwebtoken 9 takes a KeyObject.
  // Checked here: jsonwebtoken verifies against an empty KeyObject, so a missing secret would let anyone sign logins.
  if (options.jwt.secret.length < 32) throw new TypeError('jwt.secret must be at least 32 bytes');
  const jwtKey = createSecretKey(Buffer.from(options.jwt.secret)) as unknown as Buffer;

  passport.use(
    new JwtStrategy(
      {
        secretOrKey: jwtKey,
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

  const { audit, metrics } = options;
  // Keys are imported once, here; every piece below is bound to them.
  const gateway = createGateway({ issuer: options.issuer, signing: options.signing, audit, metrics });
  const app = express();
  app.disable('x-powered-by');
  // Only EdDSA/ES256 public keys are published; an HS256-only gateway serves an empty set.
  app.get(JWKS_PATH, gateway.jwks());

  if (metrics !== undefined) {
    app.get('/metrics', async (_req, res) => {
      res.type(metrics.contentType).send(await metrics.metrics());
    });
  }

  const { oauth } = options;
  const resources = new Map(
    options.upstreams.map((upstream) => [
      upstream.name,
      oauth === undefined
        ? undefined
        : protectedResource({
            publicUrl: oauth.publicUrl,
            path: `/mcp/${upstream.name}`,
            authorizationServers: [oauth.authorizationServer],
            scopesSupported: [`${upstream.name}:read`],
            requiredScopes: oauth.requiredScopes?.[upstream.name] ?? [],
            resourceName: `Example MCP server "${upstream.name}"`,
            // The demo JWT issuer's tokens name the whole gateway as their audience.
            acceptedAudiences: [options.jwt.audience],
          }),
    ]),
  );
  const protectedResources = [...resources.values()].filter((resource) => resource !== undefined);
  if (oauth !== undefined) {
    passport.use(new OAuthTokenStrategy({ issuers: [{ issuer: oauth.authorizationServer }], audience: protectedResources }));
    app.use(protectedResourceMetadata(protectedResources));
  }
  const strategies = oauth === undefined ? ['jwt', 'basic', 'api-key'] : ['oauth-bearer', 'jwt', 'basic', 'api-key'];
  const loginFor = (resource: ReturnType<typeof protectedResource> | undefined) =>
    gateway.authenticate(strategies, {
      passport,
      delegation: { allowedActors: options.actors ?? [], resolveSubject: (id) => demoSubject(options.users, id) },
      ...(resource === undefined ? {} : { protectedResource: resource }),
    });
  for (const upstream of options.upstreams) {
    app.use(
      `/mcp/${upstream.name}`,
      loginFor(resources.get(upstream.name)),
      gateway.upstream({
        target: upstream.target,
        audience: upstream.audience,
        ...(upstream.metaCreation === 'always' ? { carry: { meta: 'always' } } : {}),
        ...(upstream.policy === undefined ? {} : { policy: upstream.policy }),
      }),
    );
  }
  app.use(notFound);
  return app;
}
