/**
 * Options of `verifyIdentity`, validated once at construction. Mistakes throw a
 * `TypeError` naming the option.
 */
import {
  createAssertionVerifier,
  createRemoteKeySet,
  DEFAULT_BODY_LIMIT,
  firstKeySource,
  importVerificationPublicKeys,
  importVerificationSecrets,
  MemoryStore,
  normalizePrefix,
  positiveInteger,
  staticKeySource,
} from '@mcp-identity/core';
import { resolveContextforge } from './contextforge.js';
import type { ContextforgeConfig, ContextforgeOptions } from './contextforge.js';
import { resolveSessionOptions } from './sessions.js';
import type { ReceiverSessionOptions } from './sessions.js';
import type {
  AssertionVerifier,
  AuditOptions,
  IdentityStore,
  KeySource,
  RemoteKeySetOptions,
  SessionBinder,
  VerificationPublicKey,
  VerificationSecret,
} from '@mcp-identity/core';
import type { ReceiverPolicyOptions } from './policy.js';

/** Where warnings go (JWKS fetch failures). */
export interface ReceiverLogger {
  warn(message: string): void;
}

/** Options of `verifyIdentity`. */
export interface VerifyIdentityOptions extends ReceiverPolicyOptions, AuditOptions {
  /** This upstream's identifier: the assertion's `aud` must be it. Required. */
  readonly audience: string;
  /** The gateway's identifier: the assertion's `iss` must be it. Required. */
  readonly issuer: string;
  /** HS256 secrets, one per `kid` during a rotation. */
  readonly secrets?: readonly VerificationSecret[];
  /** EdDSA/ES256 public keys. */
  readonly publicKeys?: readonly VerificationPublicKey[];
  /** The gateway's JWKS URL, pinned: keys are fetched from here only. */
  readonly jwksUrl?: string | URL;
  /** JWKS fetching: `timeoutMs` (5000), `cooldownMs` (30 000, least time between re-fetches for unknown kids), `maxAgeMs` (300 000), `fetch`. */
  readonly jwks?: Omit<RemoteKeySetOptions, 'clock' | 'onError'>;
  /** Receives warnings (a failed JWKS fetch). Default `console`. Never given a token or a key. */
  readonly logger?: ReceiverLogger;
  /** Allowed clock skew in seconds. Default 5. */
  readonly clockToleranceSeconds?: number;
  /** Longest assertion lifetime accepted (`exp - iat`), in seconds; at least the gateway's `ttlSeconds`. Default 600. */
  readonly maxLifetimeSeconds?: number;
  /** Where used `jti`s are kept until they expire. Default: a new `MemoryStore` (one process only). */
  readonly replayStore?: IdentityStore;
  /** Check the assertion's method, path and body digest against this request. Default true. */
  readonly bindRequest?: boolean;
  /** Prefix of the identity headers. Default `"X-Forwarded-User"`. */
  readonly headerPrefix?: string;
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
  /** Bind MCP sessions to the verified user who created them (`{ store, ttlSeconds? }`). Default off: the gateway binds them. */
  readonly sessions?: ReceiverSessionOptions;
  /**
   * Refuse (401 `delegated_token_missing`) requests whose assertion announces no token exchanged
   * for the user (the gateway's `tokenExchange`). Whatever this says, an announced token is
   * checked: it must be the request's `Authorization: Bearer` token and, for a JWT, have the
   * assertion's subject as `sub`; it is then `req.auth.token`. Default false.
   */
  readonly requireDelegatedToken?: boolean;
}

/** Validated configuration. */
export interface ReceiverConfig {
  readonly verifier: AssertionVerifier;
  readonly prefix: string;
  readonly assertionHeader: string;
  readonly replayStore: IdentityStore;
  readonly bindRequest: boolean;
  readonly bodyLimit: number;
  readonly toleranceMs: number;
  readonly clock: () => number;
  readonly contextforge: ContextforgeConfig | undefined;
  readonly storeErrorStatus: number;
  /** Session isolation, when the `sessions` option is set. */
  readonly sessions: SessionBinder | undefined;
  readonly requireDelegatedToken: boolean;
}

const STORE_ERROR_STATUSES = [500, 502, 503, 504];

function keySources(options: VerifyIdentityOptions, clock: () => number, logger: ReceiverLogger): KeySource {
  const sources: KeySource[] = [];
  const statics = [
    ...(options.secrets === undefined ? [] : importVerificationSecrets(options.secrets, 'secrets')),
    ...(options.publicKeys === undefined ? [] : importVerificationPublicKeys(options.publicKeys, 'publicKeys')),
  ];
  if (statics.length > 0) sources.push(staticKeySource(statics));
  if (options.jwksUrl !== undefined) {
    const onError = (error: Error): void =>
      logger.warn(`mcp-identity: JWKS fetch failed (keys fetched earlier, if any, stay in use): ${error.message}`);
    sources.push(createRemoteKeySet(options.jwksUrl, { ...options.jwks, clock, onError }, 'jwksUrl'));
  } else if (options.jwks !== undefined) {
    throw new TypeError('jwks options need jwksUrl');
  }
  if (sources.length === 0) throw new TypeError('verifyIdentity needs keys: secrets (HS256), publicKeys (EdDSA/ES256) or jwksUrl');
  return firstKeySource(sources);
}

/** Validates {@link VerifyIdentityOptions}. */
export function resolveReceiverOptions(options: VerifyIdentityOptions): ReceiverConfig {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const clock = options.clock ?? Date.now;
  if (typeof clock !== 'function') throw new TypeError('clock must be a function returning milliseconds');
  const logger = options.logger ?? console;
  if (typeof logger.warn !== 'function') throw new TypeError('logger must have a warn(message) method');
  const verifier = createAssertionVerifier({
    issuer: options.issuer,
    audience: options.audience,
    keys: keySources(options, clock, logger),
    ...(options.clockToleranceSeconds === undefined ? {} : { clockToleranceSeconds: options.clockToleranceSeconds }),
    ...(options.maxLifetimeSeconds === undefined ? {} : { maxLifetimeSeconds: options.maxLifetimeSeconds }),
    clock,
  });
  if (options.bindRequest !== undefined && typeof options.bindRequest !== 'boolean') throw new TypeError('bindRequest must be a boolean');
  if (options.replayStore === null) throw new TypeError('replayStore must be a store; leave it undefined for the in-process MemoryStore');
  const store = options.replayStore ?? new MemoryStore({ clock });
  if (typeof store?.setIfAbsent !== 'function') throw new TypeError('replayStore must implement setIfAbsent(key, value, ttlMs)');
  const prefixOption = options.headerPrefix ?? 'X-Forwarded-User';
  if (typeof prefixOption !== 'string' || !/^[A-Za-z0-9_-]+$/.test(prefixOption)) throw new TypeError('headerPrefix must be a header name');
  const prefix = normalizePrefix(prefixOption);
  // '---' or '__' normalize to nothing, and an empty prefix would claim every request header.
  if (prefix.length === 0) throw new TypeError('headerPrefix must be a header name');
  const storeErrorStatus = options.storeErrorStatus === undefined ? 503 : options.storeErrorStatus;
  if (!STORE_ERROR_STATUSES.includes(storeErrorStatus)) throw new TypeError('storeErrorStatus must be 500, 502, 503 or 504');
  if (options.requireDelegatedToken !== undefined && typeof options.requireDelegatedToken !== 'boolean')
    throw new TypeError('requireDelegatedToken must be a boolean');
  const requireDelegatedToken = options.requireDelegatedToken === true;
  const sessions = resolveSessionOptions(options.sessions, options.audience, storeErrorStatus, (message) => logger.warn(message));
  return Object.freeze({
    verifier,
    prefix,
    assertionHeader: `${prefix}-assertion`,
    replayStore: store,
    bindRequest: options.bindRequest ?? true,
    bodyLimit: positiveInteger(options.bodyLimit, 'bodyLimit', DEFAULT_BODY_LIMIT),
    toleranceMs: (options.clockToleranceSeconds ?? 5) * 1000,
    contextforge: resolveContextforge(options.contextforge, logger),
    clock,
    storeErrorStatus,
    sessions,
    requireDelegatedToken,
  });
}
