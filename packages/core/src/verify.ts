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
}

const JTI = /^[A-Za-z0-9_-]{16,128}$/;

/** A time claim: a JSON number whose value is a non-negative integer at most 2^53 - 1 (`1.0` is `1`). */
function isTime(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
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

  return {
    async verify(token, parsed) {
      const jws = parsed ?? parseJws(token);
      const claims = jws.payload;
      // Issuer and audience are pinned configuration: a token for someone else is refused
      // before any key lookup, so it can never make the receiver fetch anything.
      if (claims.iss !== issuer) throw new IdentityError('identity_issuer', 'the assertion was not issued by the configured gateway');
      // One assertion, one upstream: an `aud` array (even one naming this upstream) is refused,
      // so a token can never be spent at several receivers with separate replay stores.
      if (claims.aud !== audience) throw new IdentityError('identity_audience', 'the assertion is not for this upstream');

      const keys = await keySource.keysFor(jws.header);
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
      if (typeof jti !== 'string' || !JTI.test(jti))
        throw new IdentityError('identity_invalid', 'the assertion jti is missing or malformed');
      const user = claimsToUser(claims);
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
    },
  };
}
