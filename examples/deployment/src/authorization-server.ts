/**
 * The example's authorization server: a real `oidc-provider` on loopback with the demo users,
 * open dynamic client registration (RFC 7591), authorization code + PKCE, and resource
 * indicators (RFC 8707) issuing JWT access tokens (RFC 9068) for the gateway's MCP resources.
 * Its own login and consent pages are plain HTML forms (no JavaScript), so a script can
 * complete them over HTTP like a browser would.
 *
 * Grants are configured in one place (`features`), so more (token exchange) can be added here.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { decodeJwt, exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';
import type { Adapter, AdapterPayload, Configuration, KoaContextWithOIDC, ResourceServer } from 'oidc-provider';
import { safeEqual } from '@mcp-identity/gateway';
import type { DemoUser } from '@mcp-identity/example-gateway';
import { registerTokenExchange, TOKEN_EXCHANGE_GRANT } from './token-exchange-grant.js';

/** Options of {@link startAuthorizationServer}. */
export interface AuthorizationServerOptions {
  readonly host?: string;
  readonly port?: number;
  /** The users who can sign in (username and password). */
  readonly users: readonly DemoUser[];
  /** The resources (RFC 8707 indicators) tokens may be issued for, with the scopes each offers. */
  readonly resources: Readonly<Record<string, readonly string[]>>;
  /** Access token lifetime in seconds. Default 300. */
  readonly accessTokenTtlSeconds?: number;
  /**
   * Clients allowed the token-exchange grant (RFC 8693), as static oidc-provider client metadata
   * (`client_id`, `client_secret` or `jwks`, `token_endpoint_auth_method`). They exchange user
   * tokens for JWTs for any of `resources`, with an `act` claim naming the client. Default none.
   */
  readonly tokenExchangeClients?: readonly Record<string, unknown>[];
  /** Lifetime of exchanged tokens in seconds. Default `accessTokenTtlSeconds`. */
  readonly exchangedTokenTtlSeconds?: number;
}

/** A running authorization server. */
export interface AuthorizationServer {
  /** The issuer identifier (what the gateway's metadata names in `authorization_servers`). */
  readonly issuer: string;
  readonly provider: Provider;
  /** Revokes an access token issued here: exchanging it then answers `invalid_grant`. */
  revokeAccessToken(token: string): void;
  close(): Promise<void>;
}

/** An in-memory store for oidc-provider (its own is for development and says so on the console). */
class MemoryAdapter implements Adapter {
  private static readonly store = new Map<string, { payload: AdapterPayload; expiresAt: number | undefined }>();
  constructor(private readonly model: string) {}
  private key(id: string): string {
    return `${this.model}:${id}`;
  }
  upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    MemoryAdapter.store.set(this.key(id), { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
    if (payload.grantId !== undefined)
      MemoryAdapter.store.set(`grant:${payload.grantId}:${this.key(id)}`, { payload, expiresAt: undefined });
    if (payload.userCode !== undefined)
      MemoryAdapter.store.set(`userCode:${payload.userCode}`, { payload: { ...payload, id }, expiresAt: undefined });
    if (payload.uid !== undefined) MemoryAdapter.store.set(`uid:${payload.uid}`, { payload: { ...payload, id }, expiresAt: undefined });
    return Promise.resolve();
  }
  find(id: string): Promise<AdapterPayload | undefined> {
    const entry = MemoryAdapter.store.get(this.key(id));
    if (entry === undefined || (entry.expiresAt !== undefined && entry.expiresAt <= Date.now())) return Promise.resolve(undefined);
    return Promise.resolve(entry.payload);
  }
  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return Promise.resolve(MemoryAdapter.store.get(`userCode:${userCode}`)?.payload);
  }
  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = MemoryAdapter.store.get(`uid:${uid}`)?.payload.id;
    return typeof id === 'string' ? this.find(id) : undefined;
  }
  consume(id: string): Promise<void> {
    const entry = MemoryAdapter.store.get(this.key(id));
    if (entry !== undefined) entry.payload = { ...entry.payload, consumed: Math.floor(Date.now() / 1000) };
    return Promise.resolve();
  }
  destroy(id: string): Promise<void> {
    MemoryAdapter.store.delete(this.key(id));
    return Promise.resolve();
  }
  revokeByGrantId(grantId: string): Promise<void> {
    for (const key of [...MemoryAdapter.store.keys()]) {
      if (key.startsWith(`grant:${grantId}:`)) {
        MemoryAdapter.store.delete(key.slice(`grant:${grantId}:`.length));
        MemoryAdapter.store.delete(key);
      }
    }
    return Promise.resolve();
  }
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

/** Starts the authorization server on loopback. */
export async function startAuthorizationServer(options: AuthorizationServerOptions): Promise<AuthorizationServer> {
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer();
  // A busy port rejects (as the other servers' listens do) instead of an unhandled 'error' event.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`;
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'as-1', alg: 'RS256', use: 'sig' };
  const users = options.users;
  const resourceScopes = options.resources;
  const allScopes = [...new Set(Object.values(resourceScopes).flat())];
  const exchangeClients = (options.tokenExchangeClients ?? []).map((client): AdapterPayload => ({
    grant_types: [TOKEN_EXCHANGE_GRANT],
    response_types: [],
    redirect_uris: [],
    ...client,
  }));
  const revoked = new Set<string>();

  const configuration: Configuration = {
    adapter: MemoryAdapter,
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'offline_access', ...allScopes],
    claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
    pkce: { required: () => true },
    clientBasedCORS: () => true,
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // A client that names one resource gets a token for it (the MCP clients always do).
        defaultResource: (_ctx, _client, oneOf) => oneOf ?? Object.keys(resourceScopes)[0] ?? '',
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          const scopes = resourceScopes[indicator];
          if (scopes === undefined) throw new errors.InvalidTarget();
          return {
            scope: scopes.join(' '),
            audience: indicator,
            accessTokenTTL: options.accessTokenTtlSeconds ?? 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // The gateway reads the user's email and name from the access token; an exchanged token names its actor.
    extraTokenClaims: (_ctx, token) => {
      const user = users.find((candidate) => candidate.username === token.accountId);
      const act = token.gty === 'token-exchange' ? { act: { sub: token.clientId } } : {};
      return user === undefined ? act : { email: user.email, name: user.name, groups: [...user.groups], ...act };
    },
    findAccount: (_ctx, sub) => {
      const user = users.find((candidate) => candidate.username === sub);
      if (user === undefined) return undefined;
      return { accountId: sub, claims: () => ({ sub, email: user.email, name: user.name }) };
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: { Session: 600, Interaction: 600, Grant: 600, AuthorizationCode: 60, AccessToken: options.accessTokenTtlSeconds ?? 300 },
    renderError: (ctx: KoaContextWithOIDC, out) => {
      ctx.type = 'html';
      ctx.body = page('Error', `<pre>${escapeHtml(JSON.stringify(out))}</pre>`);
    },
  };
  const provider = new Provider(issuer, configuration);
  // Registered through the adapter, like dynamically registered clients (static `clients` are
  // structured-cloned, which loses plain-object prototypes under Jest's VM modules).
  for (const client of exchangeClients) await new MemoryAdapter('Client').upsert(String(client.client_id), client, 0);
  const resourceServerOf = (indicator: string): ResourceServer | undefined => {
    const scopes = resourceScopes[indicator];
    return scopes === undefined
      ? undefined
      : {
          scope: scopes.join(' '),
          audience: indicator,
          accessTokenTTL: options.exchangedTokenTtlSeconds ?? options.accessTokenTtlSeconds ?? 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
  };
  if (exchangeClients.length > 0) {
    registerTokenExchange(provider, {
      publicJwk: { ...(await exportJWK(publicKey)), kid: signingKey.kid, alg: signingKey.alg, use: 'sig' },
      clients: new Set(exchangeClients.map((client) => String(client.client_id))),
      resourceServer: resourceServerOf,
      revoked,
    });
  }

  const app = express();
  app.disable('x-powered-by');
  const form = express.urlencoded({ extended: false, limit: '4kb' });

  // The login page, and the consent page once signed in.
  app.get('/interaction/:uid', async (req, res, next) => {
    try {
      const { uid, prompt, params } = await provider.interactionDetails(req, res);
      res.set('cache-control', 'no-store');
      if (prompt.name === 'login') {
        res
          .type('html')
          .send(
            page(
              'Sign in',
              `<form method="post" action="/interaction/${escapeHtml(uid)}/login"><input name="username" autocomplete="username"><input name="password" type="password"><button type="submit">Sign in</button></form>`,
            ),
          );
        return;
      }
      res
        .type('html')
        .send(
          page(
            'Allow access',
            `<p>${escapeHtml(String(params.client_id))} asks for ${escapeHtml(typeof params.scope === 'string' ? params.scope : '')} on ${escapeHtml(typeof params.resource === 'string' ? params.resource : '')}</p><form method="post" action="/interaction/${escapeHtml(uid)}/confirm"><button type="submit">Allow</button></form>`,
          ),
        );
    } catch (error) {
      next(error);
    }
  });

  app.post('/interaction/:uid/login', form, async (req, res, next) => {
    try {
      const { prompt } = await provider.interactionDetails(req, res);
      if (prompt.name !== 'login') throw new errors.InvalidRequest('not a login step');
      const body = req.body as { username?: unknown; password?: unknown };
      const username = typeof body.username === 'string' ? body.username : '';
      const password = typeof body.password === 'string' ? body.password : '';
      let found: DemoUser | undefined;
      for (const user of users) if (safeEqual(user.username, username) && safeEqual(user.password, password)) found = user;
      if (found === undefined) {
        res.status(401).type('html').send(page('Sign in', '<p>Wrong username or password.</p>'));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: found.username } }, { mergeWithLastSubmission: false });
    } catch (error) {
      next(error);
    }
  });

  app.post('/interaction/:uid/confirm', form, async (req, res, next) => {
    try {
      const { prompt, params, session, grantId } = await provider.interactionDetails(req, res);
      if (prompt.name !== 'consent' || session === undefined) throw new errors.InvalidRequest('not a consent step');
      const grant =
        (grantId === undefined ? undefined : await provider.Grant.find(grantId)) ??
        new provider.Grant({ accountId: session.accountId, clientId: String(params.client_id) });
      const details = prompt.details as {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      if (details.missingOIDCScope !== undefined) grant.addOIDCScope(details.missingOIDCScope.join(' '));
      if (details.missingOIDCClaims !== undefined) grant.addOIDCClaims(details.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {}))
        grant.addResourceScope(indicator, scopes.join(' '));
      await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    } catch (error) {
      next(error);
    }
  });

  app.use(provider.callback());
  server.on('request', app);

  return {
    issuer,
    provider,
    revokeAccessToken: (token) => {
      const { jti } = decodeJwt(token);
      if (typeof jti === 'string') revoked.add(jti);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
