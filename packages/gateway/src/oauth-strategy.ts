/**
 * `OAuthTokenStrategy`: a Passport strategy for OAuth 2.1 access tokens sent as
 * `Authorization: Bearer`. JWT access tokens (RFC 9068) are verified against the JWKS of the
 * configured issuers with jose; opaque tokens, when configured, by RFC 7662 introspection
 * (cached, bounded). The token must be for one of the configured audiences (the resources).
 */
import { createHash } from 'node:crypto';
import { Strategy } from 'passport-strategy';
import { createRemoteJWKSet, customFetch as jwksFetch, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import type { Request } from 'express';
import {
  booleanOption,
  clockOption,
  functionOption,
  httpsUrl,
  integerInRange,
  isRecord,
  objectOption,
  onlyKnownKeys,
  optionKeys,
  ownFields,
  secondsToMs,
} from '@mcp-identity/core/internal';
import type { ProtectedResource } from './protected-resource.js';

/** One trusted authorization server. */
export interface OAuthIssuer {
  /** Its issuer identifier, compared exactly with `iss`. Required. */
  readonly issuer: string;
  /** Its JWKS URL. Default: `jwks_uri` from its RFC 8414 / OpenID Connect discovery document, fetched on first use. */
  readonly jwksUri?: string;
}

/** RFC 7662 introspection for opaque (non-JWT) access tokens. */
export interface OAuthIntrospection {
  /** The introspection endpoint. Required. */
  readonly endpoint: string;
  /** The gateway's client credentials at the authorization server (HTTP Basic). Required. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** How long an active answer is reused, in seconds (never past the token's `exp`). Default 60. */
  readonly cacheTtlSeconds?: number;
  /** Most answers kept; the oldest is dropped first. Default 1000. */
  readonly cacheSize?: number;
}

/** Options of {@link OAuthTokenStrategy}. */
export interface OAuthTokenStrategyOptions {
  /** The authorization servers whose tokens are accepted. Required, at least one. */
  readonly issuers: readonly OAuthIssuer[];
  /**
   * The resources the gateway serves: tokens must carry one of them in `aud`. Pass the
   * `protectedResource()` objects (their `audiences`) or identifiers. Required.
   * `authenticate` then checks the one resource of the mount.
   */
  readonly audience: readonly (string | ProtectedResource)[];
  /** Accepted JWS algorithms. Default `["RS256", "PS256", "ES256", "EdDSA"]`; `none` and HMAC are refused. */
  readonly algorithms?: readonly string[];
  /** Clock skew allowed on `exp`, `nbf` and `iat`, in seconds. Default 30. */
  readonly clockToleranceSeconds?: number;
  /** Require the RFC 9068 `typ` `at+jwt`. Default `false`: `at+jwt`, `application/at+jwt`, `JWT` or none are accepted. */
  readonly requireAtJwtType?: boolean;
  /** Opaque tokens are introspected here. Default: none, only JWT access tokens are accepted. */
  readonly introspection?: OAuthIntrospection;
  /** Current time in milliseconds. Default `Date.now`. */
  readonly clock?: () => number;
  /** The fetch used for discovery and introspection (and JWKS). Default the global `fetch`. */
  readonly fetch?: typeof fetch;
}

const DEFAULT_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'];
const ASYMMETRIC = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);
const TYPES = new Set(['at+jwt', 'application/at+jwt', 'jwt']);
const MAX_TOKEN_LENGTH = 16 * 1024;

/** `Array.isArray` without narrowing (it narrows a readonly array to `any[]`). */
const isList = (value: unknown): boolean => Array.isArray(value);

/** A refusal of the token itself (as opposed to the authorization server being unreachable). */
class TokenRefused extends Error {}

interface CachedAnswer {
  readonly claims: Record<string, unknown>;
  readonly until: number;
}

/** Every key of {@link OAuthTokenStrategyOptions} and of its `introspection` (the compiler checks both lists are complete). */
const OPTION_KEYS = optionKeys<OAuthTokenStrategyOptions>()([
  'issuers',
  'audience',
  'algorithms',
  'clockToleranceSeconds',
  'requireAtJwtType',
  'introspection',
  'clock',
  'fetch',
]);
const ISSUER_KEYS = optionKeys<OAuthIssuer>()(['issuer', 'jwksUri']);
const INTROSPECTION_KEYS = optionKeys<OAuthIntrospection>()(['endpoint', 'clientId', 'clientSecret', 'cacheTtlSeconds', 'cacheSize']);

/**
 * A Passport strategy (registered as `"oauth-bearer"`, recorded as `authMethod: "oauth"`) for
 * OAuth access tokens. Its `user` is the verified claims; `authenticate`'s normalizer reads
 * `sub`, `scope`/`scp`, `client_id`/`azp` and `aud` from them.
 * @example
 * passport.use(new OAuthTokenStrategy({
 *   issuers: [{ issuer: 'https://login.example.com/realms/mcp' }],
 *   audience: [notes, reports],
 * }));
 * app.use('/mcp/notes', authenticate(['oauth-bearer'], { protectedResource: notes }), propagateIdentity({ ... }));
 */
export class OAuthTokenStrategy extends Strategy {
  readonly name = 'oauth-bearer';
  private readonly _issuers: ReadonlyMap<string, OAuthIssuer>;
  private readonly _keys = new Map<string, Promise<JWTVerifyGetKey>>();
  private readonly _audience: readonly string[];
  private readonly _algorithms: readonly string[];
  private readonly _tolerance: number;
  private readonly _requireType: boolean;
  private readonly _introspection: Required<OAuthIntrospection> | undefined;
  private readonly _cache = new Map<string, CachedAnswer>();
  private readonly _clock: () => number;
  private readonly _fetch: typeof fetch;

  /**
   * Creates the strategy; a bad option throws a `TypeError` naming it.
   * @param options - Issuers, accepted audiences, algorithms, clock tolerance, introspection, `fetch` and `clock`.
   */
  constructor(options: OAuthTokenStrategyOptions) {
    super();
    onlyKnownKeys(objectOption(options, 'options'), 'OAuthTokenStrategy', OPTION_KEYS);
    const issuerList: readonly OAuthIssuer[] = options.issuers;
    if (!isList(issuerList) || issuerList.length === 0) throw new TypeError('issuers must list at least one { issuer, jwksUri? }');
    const issuers = new Map<string, OAuthIssuer>();
    for (const [index, entry] of issuerList.entries()) {
      if (typeof entry !== 'object' || entry === null || typeof entry.issuer !== 'string' || entry.issuer.length === 0)
        throw new TypeError(`issuers[${index}].issuer is required`);
      // `jwksUrl` for `jwksUri` would otherwise drop the pinned JWKS for discovery.
      onlyKnownKeys(entry, `OAuthTokenStrategy issuers[${index}]`, ISSUER_KEYS, { prefix: `issuers[${index}].` });
      httpsUrl(entry.issuer, `issuers[${index}].issuer`);
      if (entry.jwksUri !== undefined) httpsUrl(entry.jwksUri, `issuers[${index}].jwksUri`);
      issuers.set(entry.issuer, Object.freeze({ ...entry }));
    }
    this._issuers = issuers;
    if (!Array.isArray(options.audience) || options.audience.length === 0)
      throw new TypeError('audience must list the resources (protectedResource() objects or identifiers) tokens are accepted for');
    this._audience = Object.freeze(
      options.audience.flatMap((entry: unknown, index) => {
        if (typeof entry === 'string' && entry.length > 0) return [entry];
        if (typeof entry === 'object' && entry !== null && Array.isArray((entry as ProtectedResource).audiences))
          return (entry as ProtectedResource).audiences;
        throw new TypeError(`audience[${index}] must be a resource identifier or a protectedResource()`);
      }),
    );
    const algorithms: readonly string[] = options.algorithms ?? DEFAULT_ALGORITHMS;
    if (!isList(algorithms) || algorithms.length === 0 || algorithms.some((alg) => !ASYMMETRIC.has(alg)))
      throw new TypeError(`algorithms must be a non-empty list of ${[...ASYMMETRIC].join(', ')} (no "none", no HMAC)`);
    this._algorithms = Object.freeze([...algorithms]);
    this._tolerance = integerInRange(options.clockToleranceSeconds, 'clockToleranceSeconds', 30, 0, 300);
    this._requireType = booleanOption(options.requireAtJwtType, 'requireAtJwtType', false);
    this._introspection = resolveIntrospection(options.introspection);
    this._clock = clockOption(options.clock);
    this._fetch = functionOption(options.fetch, 'fetch', fetch);
  }

  override authenticate(req: Request): void {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header) : null;
    if (match === null || (match[1] as string).length > MAX_TOKEN_LENGTH) {
      this.fail(401);
      return;
    }
    const token = match[1] as string;
    (token.split('.').length === 3 ? this._verifyJwt(token) : this._introspect(token)).then(
      (claims) => this.success(claims, { token }),
      (error: unknown) => {
        if (error instanceof TokenRefused) this.fail(401);
        else this.error(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  private async _verifyJwt(token: string): Promise<Record<string, unknown>> {
    let iss: unknown;
    let typ: unknown;
    try {
      iss = decodeJwt(token).iss;
      typ = decodeProtectedHeader(token).typ;
    } catch {
      throw new TokenRefused('malformed token');
    }
    const issuer = typeof iss === 'string' ? this._issuers.get(iss) : undefined;
    if (issuer === undefined) throw new TokenRefused('unknown issuer');
    if (typ !== undefined && (typeof typ !== 'string' || !TYPES.has(typ.toLowerCase()))) throw new TokenRefused('not an access token');
    if (this._requireType && !(typeof typ === 'string' && typ.toLowerCase().endsWith('at+jwt')))
      throw new TokenRefused('typ is not at+jwt');
    const keys = await this._keysOf(issuer);
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: issuer.issuer,
        audience: [...this._audience],
        algorithms: [...this._algorithms],
        clockTolerance: this._tolerance,
        currentDate: new Date(this._clock()),
        requiredClaims: ['exp', 'sub'],
      });
      return payload;
    } catch (error) {
      // A key set that cannot be fetched is the server's trouble (503); anything else refuses the token.
      if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) throw error;
      if (error instanceof joseErrors.JOSEError && error.code === 'ERR_JOSE_GENERIC') throw error;
      if (error instanceof joseErrors.JOSEError) throw new TokenRefused(error.code);
      throw error;
    }
  }

  private _keysOf(issuer: OAuthIssuer): Promise<JWTVerifyGetKey> {
    let keys = this._keys.get(issuer.issuer);
    if (keys === undefined) {
      keys = (issuer.jwksUri === undefined ? this._discoverJwksUri(issuer.issuer) : Promise.resolve(issuer.jwksUri)).then((uri) =>
        createRemoteJWKSet(new URL(uri), { [jwksFetch]: this._fetchForJose() }),
      );
      // A failed discovery is retried on the next request.
      keys.catch(() => this._keys.delete(issuer.issuer));
      this._keys.set(issuer.issuer, keys);
    }
    return keys;
  }

  private _fetchForJose(): (url: string, init: RequestInit) => Promise<Response> {
    return (url, init) => this._fetch(url, init);
  }

  private async _discoverJwksUri(issuer: string): Promise<string> {
    const url = new URL(issuer);
    const path = url.pathname.replace(/\/$/, '');
    // RFC 8414 path insertion first, then OpenID Connect Discovery (appended).
    const candidates = [
      `${url.origin}/.well-known/oauth-authorization-server${path}`,
      `${url.origin}${path}/.well-known/openid-configuration`,
    ];
    for (const candidate of candidates) {
      const response = await this._fetch(candidate, { headers: { accept: 'application/json' }, redirect: 'error' });
      if (!response.ok) continue;
      const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
      if (document.issuer !== issuer || typeof document.jwks_uri !== 'string')
        throw new Error(`the metadata of ${issuer} does not match it`);
      httpsUrl(document.jwks_uri, 'jwks_uri');
      return document.jwks_uri;
    }
    throw new Error(`no authorization server metadata found for ${issuer}`);
  }

  private async _introspect(token: string): Promise<Record<string, unknown>> {
    const settings = this._introspection;
    if (settings === undefined) throw new TokenRefused('opaque tokens are not accepted');
    const now = this._clock();
    const key = createHash('sha256').update(token).digest('base64url');
    const cached = this._cache.get(key);
    if (cached !== undefined && cached.until > now) return cached.claims;
    this._cache.delete(key);
    const response = await this._fetch(settings.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(settings.clientId)}:${encodeURIComponent(settings.clientSecret)}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      redirect: 'error',
    });
    if (!response.ok) throw new Error(`the introspection endpoint answered ${response.status}`);
    const answer: unknown = await response.json();
    if (!isRecord(answer)) throw new TokenRefused('inactive');
    // Own members only: a polluted Object.prototype must not supply an audience, an issuer or an expiry.
    const claims = ownFields(answer);
    if (claims.active !== true) throw new TokenRefused('inactive');
    const nowSeconds = now / 1000;
    const exp = typeof claims.exp === 'number' ? claims.exp : undefined;
    if (exp === undefined || exp + this._tolerance <= nowSeconds) throw new TokenRefused('expired');
    if (typeof claims.nbf === 'number' && claims.nbf - this._tolerance > nowSeconds) throw new TokenRefused('not yet valid');
    if (typeof claims.iss !== 'string' || !this._issuers.has(claims.iss)) throw new TokenRefused('unknown issuer');
    const audience = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
    if (!audience.some((entry) => this._audience.includes(entry as string))) throw new TokenRefused('audience');
    if (typeof claims.sub !== 'string' || claims.sub.length === 0) throw new TokenRefused('no subject');
    while (this._cache.size >= settings.cacheSize) this._cache.delete(this._cache.keys().next().value as string);
    this._cache.set(key, { claims, until: Math.min(now + secondsToMs(settings.cacheTtlSeconds), exp * 1000) });
    return claims;
  }
}

function resolveIntrospection(value: OAuthIntrospection | undefined): Required<OAuthIntrospection> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw new TypeError('introspection must be { endpoint, clientId, clientSecret }');
  onlyKnownKeys(value, 'OAuthTokenStrategy introspection', INTROSPECTION_KEYS, { prefix: 'introspection.' });
  httpsUrl(value.endpoint, 'introspection.endpoint');
  if (typeof value.clientId !== 'string' || value.clientId.length === 0) throw new TypeError('introspection.clientId is required');
  if (typeof value.clientSecret !== 'string' || value.clientSecret.length === 0)
    throw new TypeError('introspection.clientSecret is required');
  const ttl = integerInRange(value.cacheTtlSeconds, 'introspection.cacheTtlSeconds', 60, 0, 3600);
  const size = integerInRange(value.cacheSize, 'introspection.cacheSize', 1000, 1, 1_000_000);
  return Object.freeze({ ...value, cacheTtlSeconds: ttl, cacheSize: size });
}
