/**
 * Options of the per-upstream token exchange (RFC 8693), validated once at start-up into a
 * {@link TokenExchangeConfig}. Mistakes throw a `TypeError` naming the option.
 */
import { createPrivateKey, KeyObject } from 'node:crypto';
import type { webcrypto } from 'node:crypto';
import { importJWK } from 'jose';
import type { JWK } from 'jose';
import {
  clockOption,
  functionOption,
  httpsUrl,
  integerInRange,
  loggerOption,
  objectOption,
  onlyKnownKeys,
  optionKeys,
  secondsToMs,
} from '@mcp-identity/core/internal';
import type { IdentityStore, LoggerLike } from '@mcp-identity/core/internal';

/** The RFC 8693 grant type. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** The RFC 8693 token type of an OAuth access token. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** How the gateway authenticates to the authorization server's token endpoint. */
export type TokenExchangeClientAuth =
  | {
      /** HTTP Basic (`client_secret_basic`) or form fields (`client_secret_post`). */
      readonly method: 'client_secret_basic' | 'client_secret_post';
      readonly clientId: string;
      readonly clientSecret: string;
    }
  | {
      /** A JWT client assertion signed with the gateway's private key (RFC 7523, `private_key_jwt`). */
      readonly method: 'private_key_jwt';
      readonly clientId: string;
      /** A private `KeyObject`, a PEM string (PKCS#8) or a private JWK. */
      readonly privateKey: KeyObject | webcrypto.CryptoKey | string | JWK;
      /** JWS algorithm. Default: the JWK's `alg`, else RS256 for RSA, ES256 for P-256, EdDSA for Ed25519. */
      readonly alg?: string;
      /** `kid` put in the assertion's header. Default: the JWK's `kid`, else none. */
      readonly kid?: string;
    };

/** The exchanged-token cache. */
export interface TokenExchangeCacheOptions {
  /** Most tokens kept in this process; the least recently used is dropped first. Default 10 000. */
  readonly maxEntries?: number;
  /** A token is reused until its expiry minus this many seconds. Default 30. */
  readonly skewSeconds?: number;
  /**
   * A store shared by several gateway instances (a `RedisStore`): an instance that misses its
   * own cache looks there before exchanging. Needs `encryptionKey`. Default: none.
   */
  readonly store?: IdentityStore;
  /** 32 bytes (a `Uint8Array`, or 64 hex characters / 43 base64url characters): tokens in `store` are AES-256-GCM encrypted with it. */
  readonly encryptionKey?: string | Uint8Array;
}

/** Options of `propagateIdentity`'s `tokenExchange`: obtain a token for this upstream as the user. */
export interface TokenExchangeOptions {
  /** The authorization server's issuer identifier; its token endpoint is read from its RFC 8414 / OpenID Connect metadata. One of `issuer` and `tokenEndpoint` is required. */
  readonly issuer?: string;
  /** The token endpoint, when there is no metadata to discover. */
  readonly tokenEndpoint?: string;
  /** How the gateway authenticates as a client. Required. */
  readonly clientAuth: TokenExchangeClientAuth;
  /** `audience` parameter(s): the logical name of the target service. At least one of `audience` and `resource` is required. */
  readonly audience?: string | readonly string[];
  /** `resource` parameter(s): the URI of the target service (RFC 8707). */
  readonly resource?: string | readonly string[];
  /** Scopes requested for the exchanged token. Default: none (the authorization server decides). */
  readonly scope?: readonly string[];
  /** `requested_token_type`. Default `urn:ietf:params:oauth:token-type:access_token`. */
  readonly requestedTokenType?: string;
  /** The gateway's own token, sent as `actor_token` (called per exchange; cache it yourself). Default: none. */
  readonly actorToken?: () => string | Promise<string>;
  /** `actor_token_type`. Default `urn:ietf:params:oauth:token-type:access_token`. */
  readonly actorTokenType?: string;
  /** Longest time for discovery and the exchange, in milliseconds; then 504 `token_exchange_timeout`. Default 5000. */
  readonly timeoutMs?: number;
  /**
   * A login that carries no OAuth access token (Basic, API key, delegation with `X-Act-As`):
   * `"refuse"` answers 403 `token_exchange_unsupported_login`; `"forward-without"` forwards
   * the request with the identity assertion only. Default `"refuse"`.
   */
  readonly onMissingToken?: 'refuse' | 'forward-without';
  /** The cache of exchanged tokens. */
  readonly cache?: TokenExchangeCacheOptions;
  /** The fetch used for discovery and the exchange. Default the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Current time in milliseconds. Default `Date.now`. */
  readonly clock?: () => number;
  /** Receives warnings (an authorization server refusing the gateway's client, a shared-store failure). Never given a token. Default `console`. */
  readonly logger?: LoggerLike;
}

/** The signing material of `private_key_jwt`. */
export interface ClientAssertionKey {
  readonly key: Promise<KeyObject | webcrypto.CryptoKey | Uint8Array>;
  readonly alg: string;
  readonly kid: string | undefined;
}

/** Validated configuration. */
export interface TokenExchangeConfig {
  readonly issuer: string | undefined;
  readonly tokenEndpoint: string | undefined;
  readonly clientId: string;
  readonly authMethod: TokenExchangeClientAuth['method'];
  readonly clientSecret: string | undefined;
  readonly assertionKey: ClientAssertionKey | undefined;
  readonly audience: readonly string[];
  readonly resource: readonly string[];
  readonly scope: string | undefined;
  readonly requestedTokenType: string;
  readonly actorToken: (() => string | Promise<string>) | undefined;
  readonly actorTokenType: string;
  /** What the token is for, as audited and put in the `dtk` claim: the audiences and resources, space-separated. */
  readonly target: string;
  readonly timeoutMs: number;
  readonly refuseMissing: boolean;
  readonly maxEntries: number;
  readonly skewMs: number;
  readonly store: IdentityStore | undefined;
  readonly encryptionKey: Buffer | undefined;
  readonly fetch: typeof fetch;
  readonly clock: () => number;
  readonly logger: LoggerLike;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const ASYMMETRIC = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);

/** An `https:` URL (`http:` on loopback only) without fragment or credentials. */
export function endpointUrl(value: unknown, option: string): string {
  const url = httpsUrl(value, option);
  if (url.hash !== '' || url.username !== '' || url.password !== '') throw new TypeError(`${option} must have no fragment or credentials`);
  return value as string;
}

function nonEmpty(value: unknown, option: string): string {
  // Printable text only: these values end up in a form body and in log lines.
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048 || !/^[\x20-\x7e\u00a0-\uffff]+$/.test(value))
    throw new TypeError(`${option} must be a non-empty string without control characters`);
  return value;
}

function list(value: unknown, option: string): readonly string[] {
  if (value === undefined) return [];
  const entries: unknown[] = typeof value === 'string' ? [value] : Array.isArray(value) ? (value as unknown[]) : [undefined];
  return Object.freeze(entries.map((entry, index) => nonEmpty(entry, `${option}[${index}]`)));
}

function encryptionKeyOf(value: unknown): Buffer {
  let key: Buffer | undefined;
  if (value instanceof Uint8Array) key = Buffer.from(value);
  else if (typeof value === 'string' && /^[0-9a-fA-F]{64}$/.test(value)) key = Buffer.from(value, 'hex');
  else if (typeof value === 'string' && /^[A-Za-z0-9_-]{43}$/.test(value)) key = Buffer.from(value, 'base64url');
  if (key?.length !== 32) throw new TypeError('cache.encryptionKey must be 32 bytes: a Uint8Array, 64 hex or 43 base64url characters');
  return key;
}

function defaultAlg(key: KeyObject): string {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new TypeError('clientAuth.alg is required for this key type');
}

function assertionKeyOf(auth: Extract<TokenExchangeClientAuth, { method: 'private_key_jwt' }>): ClientAssertionKey {
  const raw: unknown = auth.privateKey;
  const kidOption = auth.kid === undefined ? undefined : nonEmpty(auth.kid, 'clientAuth.kid');
  let alg: unknown = auth.alg;
  let key: Promise<KeyObject | webcrypto.CryptoKey | Uint8Array>;
  let kid = kidOption;
  if (typeof raw === 'string') {
    let object: KeyObject;
    try {
      object = createPrivateKey(raw);
    } catch (error) {
      throw new TypeError('clientAuth.privateKey is not a readable private key (PEM)', { cause: error });
    }
    alg ??= defaultAlg(object);
    key = Promise.resolve(object);
  } else if (raw instanceof KeyObject) {
    if (raw.type !== 'private') throw new TypeError('clientAuth.privateKey must be a private key');
    alg ??= defaultAlg(raw);
    key = Promise.resolve(raw);
  } else if (raw instanceof (globalThis as unknown as { CryptoKey: abstract new () => object }).CryptoKey) {
    if ((raw as webcrypto.CryptoKey).type !== 'private') throw new TypeError('clientAuth.privateKey must be a private key');
    if (alg === undefined) throw new TypeError('clientAuth.alg is required with a CryptoKey');
    key = Promise.resolve(raw as webcrypto.CryptoKey);
  } else if (typeof raw === 'object' && raw !== null && typeof (raw as JWK).kty === 'string') {
    const jwk = raw as JWK;
    if (jwk.d === undefined) throw new TypeError('clientAuth.privateKey must be a private JWK (with "d")');
    alg ??= jwk.alg;
    kid ??= jwk.kid;
    if (typeof alg !== 'string') throw new TypeError('clientAuth.alg is required when the JWK has no "alg"');
    key = importJWK(jwk, alg);
    // Import errors surface on the first exchange as token_exchange_unavailable; avoid an unhandled rejection until then.
    key.catch(() => undefined);
  } else {
    throw new TypeError('clientAuth.privateKey must be a private KeyObject, CryptoKey, PEM string or JWK');
  }
  if (typeof alg !== 'string' || !ASYMMETRIC.has(alg))
    throw new TypeError(`clientAuth.alg must be one of ${[...ASYMMETRIC].join(', ')} (no HMAC, no "none")`);
  return { key, alg, kid };
}

/** Validates {@link TokenExchangeOptions}; throws a `TypeError` naming the first bad option (prefixed `tokenExchange.`). */
export function resolveTokenExchangeOptions(options: TokenExchangeOptions): TokenExchangeConfig {
  try {
    return resolve(options);
  } catch (error) {
    if (error instanceof TypeError) throw new TypeError(`tokenExchange.${error.message}`, { cause: error.cause });
    throw error;
  }
}

/** Every key of {@link TokenExchangeOptions} and of its `cache` (the compiler checks both lists are complete). */
const OPTION_KEYS = optionKeys<TokenExchangeOptions>()([
  'issuer',
  'tokenEndpoint',
  'clientAuth',
  'audience',
  'resource',
  'scope',
  'requestedTokenType',
  'actorToken',
  'actorTokenType',
  'timeoutMs',
  'onMissingToken',
  'cache',
  'fetch',
  'clock',
  'logger',
]);
const CACHE_KEYS = optionKeys<TokenExchangeCacheOptions>()(['maxEntries', 'skewSeconds', 'store', 'encryptionKey']);

function resolve(options: TokenExchangeOptions): TokenExchangeConfig {
  onlyKnownKeys(objectOption(options, 'options'), 'tokenExchange', OPTION_KEYS);
  const issuer = options.issuer === undefined ? undefined : endpointUrl(options.issuer, 'issuer');
  const tokenEndpoint = options.tokenEndpoint === undefined ? undefined : endpointUrl(options.tokenEndpoint, 'tokenEndpoint');
  if (issuer === undefined && tokenEndpoint === undefined) throw new TypeError('issuer or tokenEndpoint is required');
  const auth: unknown = options.clientAuth;
  if (typeof auth !== 'object' || auth === null) throw new TypeError('clientAuth is required: { method, clientId, ... }');
  const { method } = auth as TokenExchangeClientAuth;
  if (method !== 'client_secret_basic' && method !== 'client_secret_post' && method !== 'private_key_jwt')
    throw new TypeError('clientAuth.method must be "client_secret_basic", "client_secret_post" or "private_key_jwt"');
  const clientAuth = auth as TokenExchangeClientAuth;
  onlyKnownKeys(
    auth,
    'tokenExchange.clientAuth',
    method === 'private_key_jwt' ? ['method', 'clientId', 'privateKey', 'alg', 'kid'] : ['method', 'clientId', 'clientSecret'],
    {
      prefix: 'clientAuth.',
    },
  );
  const clientId = nonEmpty(clientAuth.clientId, 'clientAuth.clientId');
  const clientSecret = clientAuth.method === 'private_key_jwt' ? undefined : nonEmpty(clientAuth.clientSecret, 'clientAuth.clientSecret');
  const assertionKey = clientAuth.method === 'private_key_jwt' ? assertionKeyOf(clientAuth) : undefined;
  const audience = list(options.audience, 'audience');
  const resource = list(options.resource, 'resource');
  resource.forEach((entry, index) => {
    if (!URL.canParse(entry) || entry.includes('#')) throw new TypeError(`resource[${index}] must be an absolute URI without fragment`);
  });
  if (audience.length === 0 && resource.length === 0)
    throw new TypeError('audience or resource is required: the token is for one upstream');
  const scope = options.scope;
  if (scope !== undefined && (!Array.isArray(scope) || scope.some((entry) => typeof entry !== 'string' || !SCOPE_TOKEN.test(entry))))
    throw new TypeError('scope must be an array of OAuth scope tokens');
  const requestedTokenType =
    options.requestedTokenType === undefined ? ACCESS_TOKEN_TYPE : nonEmpty(options.requestedTokenType, 'requestedTokenType');
  if (options.actorToken !== undefined && typeof options.actorToken !== 'function')
    throw new TypeError("actorToken must be a function returning the gateway's token");
  const actorTokenType = options.actorTokenType === undefined ? ACCESS_TOKEN_TYPE : nonEmpty(options.actorTokenType, 'actorTokenType');
  const onMissing: unknown = options.onMissingToken ?? 'refuse';
  if (onMissing !== 'refuse' && onMissing !== 'forward-without')
    throw new TypeError('onMissingToken must be "refuse" or "forward-without"');
  const cache: TokenExchangeCacheOptions = objectOption(options.cache ?? {}, 'cache');
  onlyKnownKeys(cache, 'tokenExchange.cache', CACHE_KEYS, { prefix: 'cache.' });
  const store = cache.store;
  if (store !== undefined && (typeof store?.get !== 'function' || typeof store.setIfAbsent !== 'function'))
    throw new TypeError('cache.store must be an IdentityStore (MemoryStore, RedisStore)');
  if (store !== undefined && cache.encryptionKey === undefined)
    throw new TypeError('cache.encryptionKey is required with cache.store: tokens are stored encrypted');
  if (store === undefined && cache.encryptionKey !== undefined) throw new TypeError('cache.encryptionKey needs cache.store');
  const clock = clockOption(options.clock);
  const fetchFn = functionOption(options.fetch, 'fetch', fetch);
  const logger = loggerOption(options.logger);
  return Object.freeze({
    issuer,
    tokenEndpoint,
    clientId,
    authMethod: clientAuth.method,
    clientSecret,
    assertionKey,
    audience,
    resource,
    scope: scope === undefined || scope.length === 0 ? undefined : [...new Set(scope)].join(' '),
    requestedTokenType,
    actorToken: options.actorToken,
    actorTokenType,
    target: [...audience, ...resource].join(' '),
    timeoutMs: integerInRange(options.timeoutMs, 'timeoutMs', 5000, 1, 120_000),
    refuseMissing: onMissing === 'refuse',
    maxEntries: integerInRange(cache.maxEntries, 'cache.maxEntries', 10_000, 1, 10_000_000),
    skewMs: secondsToMs(integerInRange(cache.skewSeconds, 'cache.skewSeconds', 30, 0, 3600)),
    store,
    encryptionKey: cache.encryptionKey === undefined ? undefined : encryptionKeyOf(cache.encryptionKey),
    fetch: fetchFn,
    clock,
    logger,
  });
}
