/**
 * Options of `verifyIdentity`, validated once at construction. Mistakes throw a
 * `TypeError` naming the option.
 */
import {
  booleanOption,
  clockOption,
  functionOption,
  createAssertionVerifier,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  createRemoteKeySet,
  DEFAULT_BODY_LIMIT,
  firstKeySource,
  importVerificationPublicKeys,
  importVerificationSecrets,
  identityHeaderPrefix,
  isRecord,
  loggerOption,
  MemoryStore,
  nonNegativeInteger,
  objectOption,
  onlyKnownKeys,
  optionKeys,
  positiveInteger,
  secondsToMs,
  staticKeySource,
} from '@mcp-identity/core/internal';
import { resolveContextforge } from './contextforge.js';
import type { ContextforgeConfig, ContextforgeOptions } from './contextforge.js';
import { resolveSessionOptions } from './sessions.js';
import type { ReceiverSessionOptions } from './sessions.js';
import { createUserViews } from './user-views.js';
import type { UserViews } from './user-views.js';
import type {
  AssertionVerifier,
  AuditOptions,
  IdentityStore,
  KeySource,
  LoggerLike,
  RemoteKeySetOptions,
  SessionBinder,
  UserContext,
  VerificationPublicKey,
  VerificationSecret,
} from '@mcp-identity/core/internal';
import type { ReceiverPolicy, ReceiverPolicyGroup, ReceiverPolicyOptions } from './policy.js';

/** Where warnings go (JWKS fetch failures): the same shape as the gateway's `logger`. */
export type ReceiverLogger = LoggerLike;

/** What both forms of `verifyIdentity`'s options share. */
export interface ReceiverCommonOptions extends AuditOptions {
  /** This upstream's identifier: the assertion's `aud` must be it. Required. */
  readonly audience: string;
  /** The gateway's identifier: the assertion's `iss` must be it. Required. */
  readonly issuer: string;
  /** Receives warnings (a failed JWKS fetch). Default `console`. Never given a token or a key. */
  readonly logger?: ReceiverLogger;
  /** Allowed clock skew in seconds. Default 5. */
  readonly clockToleranceSeconds?: number;
  /** Longest assertion lifetime accepted (`exp - iat`), in seconds; at least the gateway's assertion lifetime. Default 600. */
  readonly maxLifetimeSeconds?: number;
  /** Check the assertion's method, path and body digest against this request. Default true. */
  readonly bindRequest?: boolean;
  /** Prefix of the identity headers. Default `"X-Forwarded-User"`. */
  readonly headerPrefix?: string;
  /**
   * Where assertions are accepted: `["headers", "meta"]` (default: the header, or JSON-RPC
   * `params._meta`) or `["headers"]` (match a gateway with `carriers: ["headers"]`): then a
   * request without a well-formed assertion header is refused before its body is read.
   * `"headers"` is always needed: GET and DELETE carry the assertion in the header.
   */
  readonly carriers?: readonly ('headers' | 'meta')[];
  /** Largest request body read, in bytes. Default 4 MiB. */
  readonly bodyLimit?: number;
  /** Current time in milliseconds. Default `Date.now`. */
  readonly clock?: () => number;
  /**
   * Also accept ContextForge-signed requests (those without an assertion of ours): only `id`
   * and `email` are authenticated; other fields land in `req.user.unverified` unless
   * `trustUnsignedFields`. A warning is logged at start. Default: off.
   */
  readonly contextforge?: ContextforgeOptions;
  /** HTTP status when the replay or session store fails: 500, 502, 503 or 504. The request is refused whatever the status. Default 503. */
  readonly storeErrorStatus?: 500 | 502 | 503 | 504;
  /**
   * Refuse (401 `delegated_token_missing`) requests whose assertion announces no token exchanged
   * for the user (the gateway's `tokenExchange`). Whatever this says, an announced token is
   * checked: it must be the request's `Authorization: Bearer` token and, for a JWT, have the
   * assertion's subject as `sub`; it is then `req.auth.token`. Default false.
   */
  readonly requireDelegatedToken?: boolean;
}

/** Options of `verifyIdentity` in the older flat form (keys, replay store and policy beside the rest). */
export interface VerifyIdentityOptions extends ReceiverPolicyOptions, ReceiverCommonOptions {
  /** HS256 secrets, one per `kid` during a rotation. */
  readonly secrets?: readonly VerificationSecret[];
  /** EdDSA/ES256 public keys. */
  readonly publicKeys?: readonly VerificationPublicKey[];
  /** The gateway's JWKS URL, pinned: keys are fetched from here only. */
  readonly jwksUrl?: string | URL;
  /** JWKS fetching: `timeoutMs` (5000), `cooldownMs` (30 000, least time between re-fetches for unknown kids), `maxAgeMs` (300 000), `fetch`. */
  readonly jwks?: Omit<RemoteKeySetOptions, 'clock' | 'onError'>;
  /** Where used `jti`s are kept until they expire. Default: a new `MemoryStore` (one process only). */
  readonly replayStore?: IdentityStore;
  /** Bind MCP sessions to the verified user who created them (`{ store, ttlSeconds? }`). Default off: the gateway binds them. */
  readonly sessions?: ReceiverSessionOptions;
}

/** JWKS fetching settings beside `keys.jwksUrl`. */
export type JwksFetchOptions = Omit<RemoteKeySetOptions, 'clock' | 'onError'>;

/**
 * Where the receiver's verification keys come from: exactly one of the gateway's JWKS URL
 * (with its fetching settings), EdDSA/ES256 public keys, or HS256 secrets.
 */
export type ReceiverKeys =
  | (JwksFetchOptions & { readonly jwksUrl: string | URL; readonly publicKeys?: never; readonly secrets?: never })
  | { readonly publicKeys: readonly VerificationPublicKey[]; readonly jwksUrl?: never; readonly secrets?: never }
  | { readonly secrets: readonly VerificationSecret[]; readonly jwksUrl?: never; readonly publicKeys?: never };

/** The grouped options of `verifyIdentity`: one `keys` choice, `replay`, `sessions`, `policy`. */
export interface ReceiverOptions extends ReceiverCommonOptions {
  /** `{ jwksUrl, timeoutMs?, cooldownMs?, maxAgeMs?, fetch? }`, `{ publicKeys }` or `{ secrets }`: exactly one. Required. */
  readonly keys: ReceiverKeys;
  /** Replay protection: `store` keeps used `jti`s until they expire. Default `{ store: new MemoryStore() }` (one process only). */
  readonly replay?: { readonly store?: IdentityStore };
  /** Bind MCP sessions to the verified user who created them (`{ store, ttlSeconds?, maxPerUser? }`, as at the gateway). Default off. */
  readonly sessions?: ReceiverSessionOptions;
  /** `{ allow?, maxDelegationDepth? }` (or the `allow` function alone). Default: none. */
  readonly policy?: ReceiverPolicy | ReceiverPolicyGroup;
  /** The older flat options are not mixed in: they belong in `keys`, `replay` and `policy`. */
  readonly secrets?: never;
  readonly publicKeys?: never;
  readonly jwksUrl?: never;
  readonly jwks?: never;
  readonly replayStore?: never;
  readonly maxDelegationDepth?: never;
}

/** Validated configuration. */
export interface ReceiverConfig {
  readonly verifier: AssertionVerifier;
  readonly prefix: string;
  readonly assertionHeader: string;
  readonly replayStore: IdentityStore;
  readonly bindRequest: boolean;
  /** False with `carriers: ["headers"]`: an assertion must come in the header. */
  readonly metaCarrier: boolean;
  readonly bodyLimit: number;
  readonly toleranceMs: number;
  readonly clock: () => number;
  readonly contextforge: ContextforgeConfig | undefined;
  readonly storeErrorStatus: number;
  /** Session isolation, when the `sessions` option is set. */
  readonly sessions: SessionBinder | undefined;
  readonly requireDelegatedToken: boolean;
  /** The encoded headers and canonical JSON of each verified user, cached per user. */
  readonly userViews: (user: UserContext) => UserViews;
}

const STORE_ERROR_STATUSES = [500, 502, 503, 504];

/** Validates `carriers`; returns whether the `meta` carrier is on. */
function metaCarrierOption(value: unknown): boolean {
  if (value === undefined) return true;
  if (!Array.isArray(value) || value.length === 0 || value.some((c) => c !== 'headers' && c !== 'meta')) {
    throw new TypeError('carriers must be a non-empty array of "headers" and "meta"');
  }
  if (!value.includes('headers')) {
    throw new TypeError('carriers must include "headers": requests without a JSON-RPC body (GET, DELETE) carry the assertion header');
  }
  return value.includes('meta');
}

/** The key options in either form; `at` is where they sit (`''` flat, `'keys.'` grouped). */
interface KeySpec {
  readonly secrets?: readonly VerificationSecret[];
  readonly publicKeys?: readonly VerificationPublicKey[];
  readonly jwksUrl?: string | URL;
  readonly jwks?: JwksFetchOptions;
}

function keySources(spec: KeySpec, at: string, clock: () => number, logger: ReceiverLogger): KeySource {
  const sources: KeySource[] = [];
  const statics = [
    ...(spec.secrets === undefined ? [] : importVerificationSecrets(spec.secrets, `${at}secrets`)),
    ...(spec.publicKeys === undefined ? [] : importVerificationPublicKeys(spec.publicKeys, `${at}publicKeys`)),
  ];
  if (statics.length > 0) sources.push(staticKeySource(statics));
  if (spec.jwksUrl !== undefined) {
    const onError = (error: Error): void =>
      logger.warn(`mcp-identity: JWKS fetch failed (keys fetched earlier, if any, stay in use): ${error.message}`);
    if (spec.jwks !== undefined)
      onlyKnownKeys(objectOption(spec.jwks, `${at}jwks`), 'verifyIdentity jwks', JWKS_FETCH, { prefix: `${at}jwks.` });
    sources.push(createRemoteKeySet(spec.jwksUrl, { ...spec.jwks, clock, onError }, `${at}jwksUrl`));
  } else if (spec.jwks !== undefined) {
    throw new TypeError('jwks options need jwksUrl');
  }
  if (sources.length === 0) throw new TypeError('verifyIdentity needs keys: secrets (HS256), publicKeys (EdDSA/ES256) or jwksUrl');
  return firstKeySource(sources);
}

const KEY_CHOICES = ['jwksUrl', 'publicKeys', 'secrets'] as const;
const JWKS_FETCH = ['timeoutMs', 'cooldownMs', 'maxAgeMs', 'fetch'] as const;
const FLAT_ONLY = {
  secrets: 'keys: { secrets }',
  publicKeys: 'keys: { publicKeys }',
  jwksUrl: 'keys: { jwksUrl }',
  jwks: 'keys: { jwksUrl, timeoutMs?, cooldownMs?, maxAgeMs?, fetch? }',
  replayStore: 'replay: { store }',
  maxDelegationDepth: 'policy: { maxDelegationDepth }',
} as const;

/** Every key of {@link ReceiverCommonOptions}, and of each form (the compiler checks the lists are complete). */
const COMMON_KEYS = optionKeys<ReceiverCommonOptions>()([
  'audience',
  'issuer',
  'logger',
  'clockToleranceSeconds',
  'maxLifetimeSeconds',
  'bindRequest',
  'headerPrefix',
  'carriers',
  'bodyLimit',
  'clock',
  'contextforge',
  'storeErrorStatus',
  'requireDelegatedToken',
  'audit',
  'metrics',
]) as readonly (keyof ReceiverCommonOptions)[];
const GROUPED_KEYS = optionKeys<Omit<ReceiverOptions, keyof typeof FLAT_ONLY>>()([...COMMON_KEYS, 'keys', 'replay', 'sessions', 'policy']);
const FLAT_KEYS = optionKeys<VerifyIdentityOptions>()([
  ...COMMON_KEYS,
  ...(Object.keys(FLAT_ONLY) as (keyof typeof FLAT_ONLY)[]),
  'sessions',
  'policy',
]);

/** Tells the grouped form (with `keys`) from the older flat one. */
export function isGroupedReceiverOptions(options: VerifyIdentityOptions | ReceiverOptions): options is ReceiverOptions {
  return 'keys' in options;
}

/** The grouped `keys` option: exactly one choice, checked here as the type checks it. */
function groupedKeys(value: unknown): KeySpec {
  const shape = 'keys must be exactly one of { jwksUrl }, { publicKeys } or { secrets }';
  if (!isRecord(value)) throw new TypeError(shape);
  const chosen = KEY_CHOICES.filter((choice) => value[choice] !== undefined);
  if (chosen.length !== 1) throw new TypeError(`${shape} (got ${chosen.length === 0 ? 'none' : chosen.join(' and ')})`);
  const [choice] = chosen;
  for (const key of Object.keys(value)) {
    if (key === choice || (choice === 'jwksUrl' && (JWKS_FETCH as readonly string[]).includes(key))) continue;
    throw new TypeError(`keys.${key} is not an option with keys.${choice ?? ''}`);
  }
  if (choice !== 'jwksUrl') return value;
  const { jwksUrl, ...fetching } = value as JwksFetchOptions & { jwksUrl: string | URL };
  for (const duration of ['timeoutMs', 'cooldownMs', 'maxAgeMs'] as const) positiveInteger(fetching[duration], `keys.${duration}`, 1);
  if (fetching.fetch !== undefined) functionOption(fetching.fetch, 'keys.fetch', fetch);
  return { jwksUrl, jwks: fetching };
}

/** The replay store, from `replay.store` (grouped) or `replayStore` (flat). */
function replayStoreOf(options: VerifyIdentityOptions | ReceiverOptions, clock: () => number): IdentityStore {
  let value: unknown;
  let option: string;
  if (isGroupedReceiverOptions(options)) {
    if (options.replay !== undefined && !isRecord(options.replay)) throw new TypeError('replay must be an object: { store? }');
    for (const key of Object.keys(options.replay ?? {})) {
      if (key !== 'store') throw new TypeError(`replay.${key} is not an option (replay takes store)`);
    }
    value = options.replay?.store;
    option = 'replay.store';
  } else {
    value = options.replayStore;
    option = 'replayStore';
  }
  if (value === null) throw new TypeError(`${option} must be a store; leave it undefined for the in-process MemoryStore`);
  const store = (value ?? new MemoryStore({ clock })) as IdentityStore;
  if (typeof store?.setIfAbsent !== 'function') throw new TypeError(`${option} must implement setIfAbsent(key, value, ttlMs)`);
  return store;
}

/** Validates {@link ReceiverOptions} or the older flat {@link VerifyIdentityOptions}. */
export function resolveReceiverOptions(options: VerifyIdentityOptions | ReceiverOptions): ReceiverConfig {
  objectOption(options, 'options');
  const grouped = isGroupedReceiverOptions(options);
  if (grouped) {
    for (const [flat, home] of Object.entries(FLAT_ONLY)) {
      if ((options as unknown as Record<string, unknown>)[flat] !== undefined)
        throw new TypeError(`${flat} is the older flat form: with keys, use ${home}`);
    }
    onlyKnownKeys(options, 'verifyIdentity', GROUPED_KEYS);
  } else {
    onlyKnownKeys(options, 'verifyIdentity', FLAT_KEYS, {
      elsewhere: { replay: 'replay: { store } is the grouped form, which needs keys: { ... }' },
    });
  }
  const clock = clockOption(options.clock);
  const logger = loggerOption(options.logger);
  const verifier = createAssertionVerifier({
    issuer: options.issuer,
    audience: options.audience,
    keys: grouped ? keySources(groupedKeys(options.keys), 'keys.', clock, logger) : keySources(options, '', clock, logger),
    ...(options.clockToleranceSeconds === undefined ? {} : { clockToleranceSeconds: options.clockToleranceSeconds }),
    ...(options.maxLifetimeSeconds === undefined ? {} : { maxLifetimeSeconds: options.maxLifetimeSeconds }),
    clock,
  });
  const bindRequest = booleanOption(options.bindRequest, 'bindRequest', true);
  const store = replayStoreOf(options, clock);
  // The gateway's rule: '---' or '__' normalize to nothing, and an empty prefix would claim every header.
  const prefix = identityHeaderPrefix(options.headerPrefix, 'headerPrefix');
  const storeErrorStatus = options.storeErrorStatus === undefined ? 503 : options.storeErrorStatus;
  if (!STORE_ERROR_STATUSES.includes(storeErrorStatus)) throw new TypeError('storeErrorStatus must be 500, 502, 503 or 504');
  const requireDelegatedToken = booleanOption(options.requireDelegatedToken, 'requireDelegatedToken', false);
  const sessions = resolveSessionOptions(options.sessions, options.audience, storeErrorStatus, (message) => logger.warn(message));
  return Object.freeze({
    verifier,
    prefix,
    assertionHeader: `${prefix}-assertion`,
    replayStore: store,
    bindRequest,
    metaCarrier: metaCarrierOption(options.carriers),
    bodyLimit: positiveInteger(options.bodyLimit, 'bodyLimit', DEFAULT_BODY_LIMIT),
    // The verifier checked clockToleranceSeconds; the body-first checks use the same window.
    toleranceMs: secondsToMs(nonNegativeInteger(options.clockToleranceSeconds, 'clockToleranceSeconds', DEFAULT_CLOCK_TOLERANCE_SECONDS)),
    contextforge: resolveContextforge(options.contextforge, logger),
    clock,
    storeErrorStatus,
    sessions,
    requireDelegatedToken,
    userViews: createUserViews(prefix),
  });
}
