/**
 * The verifier: checks an assertion's signature, issuer, audience and lifetime, and reads
 * the user back. The request binding and the replay check need the request and a store,
 * so the receiver does those with what this returns.
 */
import { claimsToUser } from './claims.js';
import { IdentityError } from './errors.js';
import { parseJws, verifyJwsSignature } from './jws.js';
import { positiveInteger, requiredIdentifier } from './sign.js';
import { isRecord } from './user-context.js';
import type { RequestBinding } from './binding.js';
import type { JwsHeader } from './jws.js';
import type { KeySource } from './key-source.js';
import type { UserContext } from './user-context.js';

/** Options of {@link createAssertionVerifier}. */
export interface AssertionVerifierOptions {
  /** The gateway's identifier; `iss` must equal it. */
  readonly issuer: string;
  /** This upstream's identifier; `aud` must equal (or contain) it. */
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
  verify(token: string): Promise<VerifiedAssertion>;
}

const JTI = /^[A-Za-z0-9_-]{16,128}$/;

function nonNegativeInteger(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new TypeError(`${option} must be a non-negative integer`);
  return value;
}

function readBinding(value: unknown): RequestBinding {
  if (!isRecord(value) || typeof value.method !== 'string' || typeof value.path !== 'string' || typeof value.body_sha256 !== 'string') {
    throw new IdentityError('identity_invalid', 'the assertion has no request binding');
  }
  return { method: value.method, path: value.path, bodySha256: value.body_sha256 };
}

/**
 * Creates a verifier. Options are checked here; a mistake throws a `TypeError` naming the option.
 */
export function createAssertionVerifier(options: AssertionVerifierOptions): AssertionVerifier {
  const issuer = requiredIdentifier(options.issuer, 'issuer');
  const audience = requiredIdentifier(options.audience, 'audience');
  const tolerance = nonNegativeInteger(options.clockToleranceSeconds, 'clockToleranceSeconds', 5);
  const maxLifetime = positiveInteger(options.maxLifetimeSeconds, 'maxLifetimeSeconds', 600);
  const clock = options.clock ?? Date.now;
  if (typeof clock !== 'function') throw new TypeError('clock must be a function returning milliseconds');
  const keySource = options.keys;
  if (typeof keySource?.keysFor !== 'function') throw new TypeError('keys must be a KeySource: an object with keysFor(header)');

  return {
    async verify(token) {
      const jws = parseJws(token);
      const claims = jws.payload;
      // Issuer and audience are pinned configuration: a token for someone else is refused
      // before any key lookup, so it can never make the receiver fetch anything.
      if (claims.iss !== issuer) throw new IdentityError('identity_issuer', 'the assertion was not issued by the configured gateway');
      const aud = claims.aud;
      if (!(aud === audience || (Array.isArray(aud) && aud.includes(audience)))) {
        throw new IdentityError('identity_audience', 'the assertion is not for this upstream');
      }

      const keys = await keySource.keysFor(jws.header);
      if (keys.length === 0) throw new IdentityError('identity_invalid', 'no configured key matches the assertion');
      if (!keys.some((key) => verifyJwsSignature(jws, key)))
        throw new IdentityError('identity_invalid', 'the assertion signature does not verify');

      const { iat, exp, jti } = claims;
      if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp))
        throw new IdentityError('identity_invalid', 'the assertion lacks iat or exp');
      const issuedAt = iat as number;
      const expiresAt = exp as number;
      const now = clock() / 1000;
      if (issuedAt > now + tolerance) throw new IdentityError('identity_invalid', 'the assertion is issued in the future');
      if (expiresAt <= issuedAt || expiresAt - issuedAt > maxLifetime)
        throw new IdentityError('identity_invalid', 'the assertion lifetime is not acceptable');
      if (now >= expiresAt + tolerance) throw new IdentityError('identity_expired', 'the assertion has expired');
      if (typeof jti !== 'string' || !JTI.test(jti))
        throw new IdentityError('identity_invalid', 'the assertion jti is missing or malformed');

      return {
        token,
        header: jws.header,
        claims,
        user: claimsToUser(claims),
        issuer,
        jti,
        iat: issuedAt,
        exp: expiresAt,
        binding: readBinding(claims.req),
      };
    },
  };
}
