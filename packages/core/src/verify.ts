/**
 * The verifier: checks an assertion's signature, issuer, audience and lifetime, and reads
 * the user back. The request binding and the replay check need the request and a store,
 * so the receiver does those with what this returns.
 */
import { claimsToUser } from './claims.js';
import { IdentityError } from './errors.js';
import { parseJws, verifyJwsSignature } from './jws.js';
import type { ParsedJws } from './jws.js';
import { clockOption, DEFAULT_CLOCK_TOLERANCE_SECONDS, nonNegativeInteger, positiveInteger, requiredIdentifier } from './options.js';
import { WIRE_FORMAT_VERSION } from './sign.js';
import { isRecord } from './user-context.js';
import type { RequestBinding } from './binding.js';
import type { JwsHeader } from './jws.js';
import type { KeySource } from './key-source.js';
import type { ImportedKey } from './keys.js';
import type { UserContext } from './user-context.js';

/** Options of {@link createAssertionVerifier}. */
export interface AssertionVerifierOptions {
  /** The gateway's identifier; `iss` must equal it. */
  readonly issuer: string;
  /** This upstream's identifier; `aud` must be a string equal to it (an array is refused). */
  readonly audience: string;
  readonly keys: KeySource;
  /** Allowed clock skew in seconds. Default 5. */
  readonly clockToleranceSeconds?: number;
  /** Longest `exp - iat` accepted, in seconds. Default 600. */
  readonly maxLifetimeSeconds?: number;
  /** Current time in milliseconds. Default `Date.now`. */
  readonly clock?: () => number;
}

/** A verified assertion. */
export interface VerifiedAssertion {
  readonly token: string;
  readonly header: JwsHeader;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly user: UserContext;
  readonly issuer: string;
  readonly jti: string;
  /** Seconds since the epoch. */
  readonly iat: number;
  readonly exp: number;
  readonly binding: RequestBinding;
}

/** Verifies assertions for one upstream. */
export interface AssertionVerifier {
  /**
   * Verifies `token`. `parsed`, when given, must be `parseJws(token)`: a caller that already
   * checked the token's shape (the receiver does, before it reads the body) passes it on, so
   * the token is not decoded twice.
   */
  verify(token: string, parsed?: ParsedJws): Promise<VerifiedAssertion>;
  /**
   * The same checks as {@link verify}, answered without a promise when the keys are at hand
   * (configured keys, or a JWKS already fetched): the receiver's common path saves an
   * asynchronous step. Throws (or rejects) an `IdentityError` where `verify` rejects.
   */
  verifyNow?(token: string, parsed?: ParsedJws): VerifiedAssertion | Promise<VerifiedAssertion>;
}

const JTI = /^[A-Za-z0-9_-]{16,128}$/;

/** A time claim: a JSON number whose value is a non-negative integer at most 2^53 - 1 (`1.0` is `1`). */
function isTime(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

// Claims that change with every assertion and are not part of the user: left out of the user cache's comparison.
const PER_REQUEST_CLAIMS = new Set(['iss', 'aud', 'iat', 'exp', 'nbf', 'jti', 'req', 'request_id', 'dtk', 'v']);
/** Most users kept by one verifier's cache. */
export const USER_CACHE_ENTRIES = 256;
// User claims longer than this (as JSON) are read every time instead of being cached.
const MAX_USER_CLAIMS_LENGTH = 8 * 1024;

/** Every claim but the per-request ones, as names and values in one array, in the token's order. */
function userClaimsOf(claims: Readonly<Record<string, unknown>>): unknown[] {
  const kept: unknown[] = [];
  for (const name of Object.keys(claims)) if (!PER_REQUEST_CLAIMS.has(name)) kept.push(name, claims[name]);
  return kept;
}

/** Equality of two parsed JSON values: same types, same numbers (`Object.is`), same members in the same order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const names = Object.keys(a);
  const others = Object.keys(b);
  if (names.length !== others.length) return false;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if (name !== others[i] || !sameJson((a as Record<string, unknown>)[name], (b as Record<string, unknown>)[name])) return false;
  }
  return true;
}

/** Whether `claims`, but for the per-request claims, are exactly `kept` (names and values, in order). */
function sameUserClaims(claims: Readonly<Record<string, unknown>>, kept: readonly unknown[]): boolean {
  let at = 0;
  for (const name of Object.keys(claims)) {
    if (PER_REQUEST_CLAIMS.has(name)) continue;
    if (at >= kept.length || kept[at] !== name || !sameJson(claims[name], kept[at + 1])) return false;
    at += 2;
  }
  return at === kept.length;
}

/** Deepest nesting, and most objects, arrays and values, of user claims the cache copies. */
const MAX_COPY_DEPTH = 32;
const MAX_COPY_NODES = 2048;
const TOO_COMPLEX = Symbol('too complex to cache');

/**
 * A deep copy of parsed JSON, or TOO_COMPLEX past the bounds: a claim nested thousands deep
 * must neither overflow the stack (a 500) nor be kept as thousands of objects.
 */
function jsonCopy(value: unknown, seen: { depth: number; nodes: number }): unknown {
  if (++seen.nodes > MAX_COPY_NODES) return TOO_COMPLEX;
  if (typeof value !== 'object' || value === null) return value;
  if (seen.depth >= MAX_COPY_DEPTH) return TOO_COMPLEX;
  seen.depth++;
  try {
    if (Array.isArray(value)) {
      const copy: unknown[] = [];
      for (const item of value) {
        const inner = jsonCopy(item, seen);
        if (inner === TOO_COMPLEX) return TOO_COMPLEX;
        copy.push(inner);
      }
      return copy;
    }
    // Own members only, `__proto__` among them as data (as JSON.parse made them).
    const copy = Object.create(null) as Record<string, unknown>;
    for (const [name, item] of Object.entries(value)) {
      const inner = jsonCopy(item, seen);
      if (inner === TOO_COMPLEX) return TOO_COMPLEX;
      copy[name] = inner;
    }
    return copy;
  } finally {
    seen.depth--;
  }
}

/** One cached user: the user claims it was read from (a private deep copy) and the user. */
interface CachedUser {
  readonly kept: readonly unknown[];
  readonly user: UserContext;
}

/** Most users cached under one `sub` (a user seen with other groups, scopes or actors). */
const USERS_PER_SUBJECT = 4;

/**
 * A bounded cache of the users read back from verified claims: a gateway signs the same user
 * for many requests, and reading one back (validation, normalization) costs more than the rest
 * of the claim checks together. Users are deeply frozen, so sharing one between requests is safe.
 * Only users that read back without error are kept; the oldest subject goes first when full.
 *
 * A hit needs every claim but the per-request ones to be exactly those of the cached entry
 * (names in the same order, values equal as parsed JSON, numbers by `Object.is`): claimsToUser
 * reads nothing else, so it would return an equal user. Entries are found by `sub` and compared
 * member by member, which costs less than serializing the claims into a key on every request.
 */
export function createUserCache(entries = USER_CACHE_ENTRIES): (claims: Readonly<Record<string, unknown>>) => UserContext {
  const bySubject = new Map<string, CachedUser[]>();
  let size = 0;
  return function cachedUser(claims) {
    const { sub } = claims;
    if (typeof sub !== 'string') return claimsToUser(claims);
    const found = bySubject.get(sub);
    if (found !== undefined) for (const entry of found) if (sameUserClaims(claims, entry.kept)) return entry.user;
    const user = claimsToUser(claims);
    // A copy: the claims object is the caller's (a policy callback sees it), the entry must not change with it.
    // Claims too deep or with too many values to copy cheaply, or too large as JSON, are read every time.
    const kept = jsonCopy(userClaimsOf(claims), { depth: 0, nodes: 0 });
    if (kept === TOO_COMPLEX || JSON.stringify(kept).length > MAX_USER_CLAIMS_LENGTH) return user;
    const entry: CachedUser = { kept: kept as unknown[], user };
    // The subject moves to the newest end, with its newest entry first; its oldest entry goes when it has too many.
    const list = found ?? [];
    bySubject.delete(sub);
    list.unshift(entry);
    size++;
    if (list.length > USERS_PER_SUBJECT) {
      list.pop();
      size--;
    }
    bySubject.set(sub, list);
    for (const [subject, older] of bySubject) {
      if (size <= entries) break;
      if (subject === sub) {
        // Only this subject is left: its oldest entries go.
        size -= list.length - Math.max(1, entries);
        list.length = Math.max(1, entries);
        break;
      }
      bySubject.delete(subject);
      size -= older.length;
    }
    return user;
  };
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function readBinding(value: unknown): RequestBinding {
  if (!isRecord(value) || typeof value.method !== 'string' || typeof value.path !== 'string' || typeof value.body_sha256 !== 'string') {
    throw new IdentityError('identity_invalid', 'the assertion has no request binding');
  }
  return { method: value.method, path: value.path, bodySha256: value.body_sha256 };
}

/**
 * Creates a verifier. Options are checked here; a mistake throws a `TypeError` naming the option.
 * @param options - Issuer, audience, key source, clock tolerance and longest lifetime.
 * @returns A verifier; its `verify(token)` resolves to the verified assertion or rejects with an `IdentityError`.
 * @example
 * const verifier = createAssertionVerifier({
 *   issuer: 'https://gateway.example',
 *   audience: 'urn:mcp:files',
 *   keys: staticKeySource(importVerificationSecrets([{ secret: process.env.MCP_IDENTITY_SECRET! }])),
 * });
 * const { user } = await verifier.verify(token);
 */
export function createAssertionVerifier(options: AssertionVerifierOptions): AssertionVerifier {
  const issuer = requiredIdentifier(options.issuer, 'issuer');
  const audience = requiredIdentifier(options.audience, 'audience');
  const tolerance = nonNegativeInteger(options.clockToleranceSeconds, 'clockToleranceSeconds', DEFAULT_CLOCK_TOLERANCE_SECONDS);
  const maxLifetime = positiveInteger(options.maxLifetimeSeconds, 'maxLifetimeSeconds', 600);
  const clock = clockOption(options.clock);
  const keySource = options.keys;
  if (typeof keySource?.keysFor !== 'function') throw new TypeError('keys must be a KeySource: an object with keysFor(header)');

  const userOf = createUserCache();

  function checked(token: string, jws: ParsedJws, keys: readonly ImportedKey[]): VerifiedAssertion {
    const claims = jws.payload;
    if (keys.length === 0) throw new IdentityError('identity_invalid', 'no configured key matches the assertion');
    if (!keys.some((key) => verifyJwsSignature(jws, key)))
      throw new IdentityError('identity_invalid', 'the assertion signature does not verify');

    // The checks below run in the order docs/spec/wire-format-v1.md lists them.
    if (claims.v !== WIRE_FORMAT_VERSION)
      throw new IdentityError('identity_invalid', 'the assertion is not of wire-format version 1 (claim v)');
    const { iat, exp, nbf, jti } = claims;
    if (!isTime(iat) || !isTime(exp)) throw new IdentityError('identity_invalid', 'the assertion lacks iat or exp');
    const now = clock() / 1000;
    if (iat > now + tolerance) throw new IdentityError('identity_invalid', 'the assertion is issued in the future');
    if (exp <= iat || exp - iat > maxLifetime) throw new IdentityError('identity_invalid', 'the assertion lifetime is not acceptable');
    if (now >= exp + tolerance) throw new IdentityError('identity_expired', 'the assertion has expired');
    if (nbf !== undefined && (!isTime(nbf) || nbf > now + tolerance))
      throw new IdentityError('identity_invalid', 'the assertion is not valid yet (nbf)');
    if (typeof jti !== 'string' || !JTI.test(jti)) throw new IdentityError('identity_invalid', 'the assertion jti is missing or malformed');
    // Only now are the claims trusted: the user is read back (or found, read from the same claims before).
    const user = userOf(claims);
    const binding = readBinding(claims.req);

    return {
      token,
      header: jws.header,
      claims,
      user,
      issuer,
      jti,
      iat,
      exp,
      binding,
    };
  }

  function verifyNow(token: string, parsed?: ParsedJws): VerifiedAssertion | Promise<VerifiedAssertion> {
    const jws = parsed ?? parseJws(token);
    const claims = jws.payload;
    // Issuer and audience are pinned configuration: a token for someone else is refused
    // before any key lookup, so it can never make the receiver fetch anything.
    if (claims.iss !== issuer) throw new IdentityError('identity_issuer', 'the assertion was not issued by the configured gateway');
    // One assertion, one upstream: an `aud` array (even one naming this upstream) is refused,
    // so a token can never be spent at several receivers with separate replay stores.
    if (claims.aud !== audience) throw new IdentityError('identity_audience', 'the assertion is not for this upstream');

    const keys = keySource.keysFor(jws.header);
    if (isPromiseLike(keys)) return Promise.resolve(keys).then((found) => checked(token, jws, found));
    return checked(token, jws, keys);
  }

  return {
    async verify(token, parsed) {
      return verifyNow(token, parsed);
    },
    verifyNow,
  };
}
