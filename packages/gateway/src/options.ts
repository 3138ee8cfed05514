/**
 * The identity options shared by `propagateIdentity` and `identityPlugin`, validated once at
 * construction into a {@link GatewayConfig}. Mistakes throw a `TypeError` naming the option.
 */
import {
  canonicalHeaderName,
  contextforgeSecret,
  createAssertionSigner,
  createUserMemo,
  DEFAULT_BODY_LIMIT,
  derivedFromUser,
  defaultSensitiveAttributes,
  headerNameOption,
  identityHeaderPrefix,
  loggerOption,
  onlyKnownKeys,
  optionKeys,
  parseFieldList,
  positiveInteger,
  selectUserFields,
  sensitiveAttributeMatcher,
} from '@mcp-identity/core/internal';
import type {
  AssertionSigner,
  IdentityStore,
  ImportedSigningKeys,
  LoggerLike,
  SessionBinder,
  SigningKey,
  UserContext,
  UserContextField,
  UserMemo,
} from '@mcp-identity/core/internal';
import { optionName } from './option-names.js';
import type { OptionNames, RenamedOption } from './option-names.js';
import { DEFAULT_MAX_HEADER_BYTES } from './budget.js';
import { resolveSessionOptions } from './sessions.js';

/** Where the gateway puts the identity: HTTP headers, JSON-RPC `params._meta`, or both. */
export type Carrier = 'headers' | 'meta';

/**
 * When the gateway may create `params._meta` to carry the identity: `"preserve-era"` only
 * where that cannot change how an MCP server classifies the request (a legacy request in an
 * `Mcp-Session-Id` session; a `_meta` the client sent always gets our keys), or `"always"` on
 * every request and notification.
 */
export type MetaCreation = 'preserve-era' | 'always';

/** Options of `identityPlugin`, and the identity part of `propagateIdentity`'s options. */
export interface IdentityOptions {
  /** The upstream's identifier, put in `aud`. Required. */
  readonly audience: string;
  /** The gateway's identifier, put in `iss`. Required. */
  readonly issuer: string;
  /** Signing key: `{ secret, kid? }` for HS256 (the default `alg`), or several keys with one `active`. Required. */
  readonly signing: SigningKey | readonly SigningKey[];
  /** Assertion lifetime in seconds. Default 60. */
  readonly ttlSeconds?: number;
  /** UserContext fields sent to this upstream. Default: all. `id`, `authMethod` and delegation are always sent. */
  readonly claims?: readonly UserContextField[];
  /** Attribute names never sent (case-insensitive substrings, or patterns). Default {@link defaultSensitiveAttributes}. */
  readonly sensitiveAttributes?: readonly (string | RegExp)[];
  /** Prefix of the identity headers. Default `"X-Forwarded-User"`. */
  readonly headerPrefix?: string;
  /** Where the identity travels. Default `["headers", "meta"]`. */
  readonly carriers?: readonly Carrier[];
  /**
   * When the `meta` carrier may create `params._meta` on a request that has none.
   * `"preserve-era"` never turns a session-less legacy request into one a dual-era server reads
   * as the stateless 2026-07-28 revision: such a request carries the identity in headers only
   * (whatever `carriers` says). `"always"` creates `_meta` everywhere, for paths that drop
   * identity headers; some dual-era servers then answer legacy clients with `-32020`.
   * Default `"preserve-era"`, or `"always"` when `carriers` is `["meta"]` alone (its behaviour before this option).
   */
  readonly metaCreation?: MetaCreation;
  /** Largest request body accepted, in bytes (before and after decoding). Default 4 MiB. */
  readonly bodyLimit?: number;
  /**
   * Stripped headers to forward anyway (e.g. `["remote-user"]`). Default none. `Authorization`,
   * `Proxy-Authorization`, `Cookie` and the API-key header are refused at start-up: the MCP
   * authorization spec forbids token passthrough.
   */
  readonly forwardCredentials?: readonly string[];
  /** Header carrying API keys, stripped before forwarding. Default `"x-api-key"`. */
  readonly apiKeyHeader?: string;
  /** Query parameters treated as credentials and removed. Default `access_token`, `id_token`, `api_key`, `apikey`, `token`. */
  readonly credentialQueryParams?: readonly string[];
  /** Further inbound identity headers to strip (exact names, or prefixes ending in `-`). Default: oauth2-proxy's and common auth-proxy headers, and `x-act-as`. */
  readonly stripHeaders?: readonly string[];
  /** Time to wait for the upstream's response headers, in milliseconds; then 504. Default 60 000. */
  readonly timeoutMs?: number;
  /** Current time in milliseconds. Default `Date.now`. */
  readonly clock?: () => number;
  /**
   * ContextForge compatibility: also send its `-Claims-Signature` header and, in `tools/call`,
   * its unsigned `_meta.user`, so upstreams written for ContextForge work unchanged. The
   * secret is the one the ContextForge deployment already uses. Default: off.
   */
  readonly contextforge?: { readonly secret: string | Uint8Array };
  /** Receives warnings: start-up ones (a short ContextForge secret) and session-store failures. Default `console`. Never given a token. */
  readonly logger?: LoggerLike;
  /**
   * Where MCP sessions are bound to their users: a `MemoryStore` (one gateway instance) or a
   * `RedisStore` shared by every instance; `false` turns session isolation off.
   * Default: a new `MemoryStore` for this middleware.
   */
  readonly sessionStore?: IdentityStore | false;
  /**
   * Largest upstream request head (request line and headers, identity headers included), in
   * bytes, when the identity travels in headers; a bigger one is refused with 431
   * `identity_too_large` instead of being sent. Default 16 384 (Node's `--max-http-header-size`).
   */
  readonly maxHeaderBytes?: number;
  /** How long a session stays bound from its creation, in seconds; then it answers 404 and the client re-initializes. Default 28 800 (8 hours). */
  readonly sessionTtlSeconds?: number;
  /**
   * Most live sessions one user (issuer and id) holds at this upstream, per gateway process;
   * creating one more ends that user's oldest session binding (it then answers 404). Default 100.
   */
  readonly maxSessionsPerUser?: number;
}

/** Every key of {@link IdentityOptions} (the compiler checks the list is complete). */
export const IDENTITY_OPTION_KEYS = optionKeys<IdentityOptions>()([
  'audience',
  'issuer',
  'signing',
  'ttlSeconds',
  'claims',
  'sensitiveAttributes',
  'headerPrefix',
  'carriers',
  'metaCreation',
  'bodyLimit',
  'forwardCredentials',
  'apiKeyHeader',
  'credentialQueryParams',
  'stripHeaders',
  'timeoutMs',
  'clock',
  'contextforge',
  'logger',
  'sessionStore',
  'maxHeaderBytes',
  'sessionTtlSeconds',
  'maxSessionsPerUser',
]);

/** Default extra identity headers stripped from client requests. */
export const defaultStripHeaders: readonly string[] = Object.freeze([
  // oauth2-proxy's user header; the identity prefix covers it only while that prefix is the default.
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-access-token',
  'x-auth-request-',
  'x-remote-user',
  'remote-user',
  // The default delegation header: it names a subject for authenticate, never for an upstream.
  'x-act-as',
]);

/** Default credential query parameters removed from forwarded URLs. */
export const defaultCredentialQueryParams: readonly string[] = Object.freeze(['access_token', 'id_token', 'api_key', 'apikey', 'token']);

const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];

/** Validated, precomputed configuration. */
export interface GatewayConfig {
  readonly signer: AssertionSigner;
  readonly audience: string;
  readonly prefix: string;
  readonly assertionHeader: string;
  readonly fields: ReadonlySet<UserContextField>;
  readonly isSensitive: (name: string) => boolean;
  /** `normalizeUserContext`, returning the same object for a user whose fields did not change (core user-memo.ts). */
  readonly users: UserMemo;
  /** `selectUserFields(user, fields, isSensitive)`, kept with each normalized user. */
  readonly visibleUser: (user: UserContext) => UserContext;
  readonly headersCarrier: boolean;
  readonly metaCarrier: boolean;
  /** `metaCreation: "always"`. */
  readonly metaAlways: boolean;
  readonly bodyLimit: number;
  readonly timeoutMs: number;
  readonly maxHeaderBytes: number;
  /** Lower-case, `_` read as `-`: exact names removed from every forwarded request. */
  readonly stripExact: ReadonlySet<string>;
  /** Lower-case prefixes removed from every forwarded request (the identity prefix among them). */
  readonly stripPrefixes: readonly string[];
  readonly credentialQueryParams: ReadonlySet<string>;
  /** The ContextForge secret, when compatibility is on. */
  readonly contextforgeSecret: Buffer | undefined;
  /** Session isolation; undefined when `sessionStore` is `false`. */
  readonly sessions: SessionBinder | undefined;
}

/** What a caller that validated shared settings already hands the resolver. */
export interface ResolveContext {
  /** The signing keys, imported once by `createGateway`; `options.signing` is then not read again. */
  readonly keys?: ImportedSigningKeys;
  readonly names?: OptionNames;
}

function stringList(value: unknown, option: string, fallback: readonly string[]): readonly string[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string' || entry.length === 0)) {
    throw new TypeError(`${option} must be an array of non-empty strings`);
  }
  return value as string[];
}

function resolveContextforge(options: IdentityOptions, headers: boolean, names: OptionNames | undefined): Buffer | undefined {
  if (options.contextforge === undefined) return undefined;
  const option = optionName(names, 'contextforge');
  if (typeof options.contextforge !== 'object' || options.contextforge === null) throw new TypeError(`${option} must be { secret }`);
  onlyKnownKeys(options.contextforge, option, ['secret'], { prefix: `${option}.` });
  if (!headers) throw new TypeError(`${option} needs the headers carrier: ContextForge upstreams read X-Forwarded-User-* headers`);
  const secret = contextforgeSecret(options.contextforge.secret, `${option}.secret`);
  const logger = loggerOption(options.logger);
  if (secret.length < 32)
    logger.warn(`mcp-identity: contextforge.secret is only ${secret.length} bytes; ContextForge signatures are only as strong as it`);
  return secret;
}

/**
 * Validates {@link IdentityOptions}; throws a `TypeError` naming the first bad option (as
 * `context.names` calls it). With `context.keys` the signing keys are not imported again.
 */
export function resolveIdentityOptions(options: IdentityOptions, context: ResolveContext = {}): GatewayConfig {
  const { names } = context;
  const name = (option: RenamedOption): string => optionName(names, option);
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const logger = loggerOption(options.logger);
  if (options.signing === undefined) throw new TypeError('signing is required: { secret } for HS256, or { alg, privateKey }');
  const signer = createAssertionSigner(
    {
      signing: options.signing,
      issuer: options.issuer,
      audience: options.audience,
      ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    },
    context.keys,
  );
  // The same rule as the receiver's: '---' would normalize to '' and strip every header.
  const prefix = identityHeaderPrefix(options.headerPrefix, name('headerPrefix'));
  const carriers = options.carriers ?? ['headers', 'meta'];
  if (!Array.isArray(carriers) || carriers.length === 0 || carriers.some((c) => c !== 'headers' && c !== 'meta')) {
    throw new TypeError(`${name('carriers')} must be a non-empty array of "headers" and "meta"`);
  }
  const metaOnly = !carriers.includes('headers');
  const metaCreation: unknown = options.metaCreation === undefined ? (metaOnly ? 'always' : 'preserve-era') : options.metaCreation;
  if (metaCreation !== 'preserve-era' && metaCreation !== 'always') throw new TypeError('metaCreation must be "preserve-era" or "always"');
  const sensitive = options.sensitiveAttributes ?? defaultSensitiveAttributes;
  if (!Array.isArray(sensitive) || sensitive.some((entry) => typeof entry !== 'string' && !(entry instanceof RegExp))) {
    throw new TypeError('sensitiveAttributes must be an array of strings and RegExps');
  }
  const forward = new Set(stringList(options.forwardCredentials, name('forwardCredentials'), []).map(canonicalHeaderName));
  const apiKeyHeader = canonicalHeaderName(headerNameOption(options.apiKeyHeader, name('apiKeyHeader'), 'x-api-key'));
  for (const header of forward) {
    if (header.startsWith(prefix)) throw new TypeError(`${name('forwardCredentials')} cannot keep an identity header (${header})`);
    if (CREDENTIAL_HEADERS.includes(header) || header === apiKeyHeader || header === 'x-api-key')
      throw new TypeError(
        `${name('forwardCredentials')} cannot keep ${header}: the MCP authorization spec forbids token passthrough ` +
          '("the MCP server MUST NOT pass through the token it received from the MCP client")',
      );
  }
  const extra = stringList(options.stripHeaders, name('stripHeaders'), defaultStripHeaders).map(canonicalHeaderName);
  const stripExact = new Set(
    [...CREDENTIAL_HEADERS, apiKeyHeader, ...extra.filter((name) => !name.endsWith('-'))].filter((name) => !forward.has(name)),
  );
  const fields = parseFieldList(options.claims, name('claims'));
  const isSensitive = sensitiveAttributeMatcher(sensitive);
  const visible = new WeakMap<UserContext, UserContext>();
  const select = (user: UserContext): UserContext => selectUserFields(user, fields, isSensitive);
  return Object.freeze({
    signer,
    audience: options.audience,
    prefix,
    assertionHeader: `${prefix}-assertion`,
    fields,
    isSensitive,
    users: createUserMemo(),
    visibleUser: (user: UserContext) => derivedFromUser(visible, user, select),
    headersCarrier: carriers.includes('headers'),
    metaCarrier: carriers.includes('meta'),
    metaAlways: carriers.includes('meta') && metaCreation === 'always',
    bodyLimit: positiveInteger(options.bodyLimit, name('bodyLimit'), DEFAULT_BODY_LIMIT),
    timeoutMs: positiveInteger(options.timeoutMs, name('timeoutMs'), 60_000),
    maxHeaderBytes: positiveInteger(options.maxHeaderBytes, name('maxHeaderBytes'), DEFAULT_MAX_HEADER_BYTES),
    stripExact,
    // The default family is stripped whatever the prefix: upstreams written for ContextForge read it.
    stripPrefixes: [...new Set([prefix, 'x-forwarded-user', ...extra.filter((name) => name.endsWith('-'))])],
    credentialQueryParams: new Set(
      stringList(options.credentialQueryParams, name('credentialQueryParams'), defaultCredentialQueryParams).map((p) => p.toLowerCase()),
    ),
    contextforgeSecret: resolveContextforge(options, carriers.includes('headers'), names),
    sessions: resolveSessionOptions(options, logger, names),
  });
}
