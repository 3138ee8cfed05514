/**
 * The signer: issues a `user-context+jwt` assertion for one upstream (audience), with a
 * short expiry, a 128-bit `jti` and the request binding.
 */
import { userToClaims } from './claims.js';
import { createJwsSigner } from './jws.js';
import { importSigningKeys } from './keys.js';
import { clockOption, positiveInteger, requiredIdentifier } from './options.js';
import { randomId } from './random.js';
import type { RequestBinding } from './binding.js';
import type { ImportedSigningKey, ImportedSigningKeys, PublicJwk, SigningKey } from './keys.js';
import { derivedFromUser } from './user-context.js';
import type { UserContext } from './user-context.js';

/** The wire-format version this package signs and verifies: the `v` claim of every assertion (docs/spec). */
export const WIRE_FORMAT_VERSION = 1;

/** Options of {@link createAssertionSigner}. */
export interface AssertionSignerOptions {
  /** One key, or several with exactly one `active: true`. */
  readonly signing: SigningKey | readonly SigningKey[];
  /** The gateway's identifier (`iss`). */
  readonly issuer: string;
  /** The upstream's identifier (`aud`). */
  readonly audience: string;
  /** Lifetime in seconds. Default 60. */
  readonly ttlSeconds?: number;
  /** Current time in milliseconds. Default `Date.now`. */
  readonly clock?: () => number;
}

/** An issued assertion. */
export interface SignedAssertion {
  readonly token: string;
  readonly jti: string;
  /** Seconds since the epoch. */
  readonly iat: number;
  readonly exp: number;
}

/** Optional claims of one assertion. */
export interface AssertionExtras {
  /** The ids of the gateway policy's rules that allowed each message with a `method`, in body order: the `policy_rules` claim. */
  readonly policyRules?: readonly string[];
  /** The gateway's id of the request (`requestIdOf`): the `request_id` claim, so the receiver's audit events carry the same id. */
  readonly requestId?: string;
  /** A delegated (token-exchanged) access token accompanies the request: the `dtk` claim. */
  readonly delegatedToken?: DelegatedTokenClaim;
}

/** The `dtk` claim: says an exchanged access token travels with the request as `Authorization: Bearer`. */
export interface DelegatedTokenClaim {
  /** base64url SHA-256 of the exact token sent (as DPoP's `ath`): the receiver checks the bearer token against it. */
  readonly ath: string;
  /** The exchange target the token was requested for (the configured `audience` or `resource`). */
  readonly aud: string;
}

// A normalized user's claims as JSON, kept with the user object (the same one for each request of that user).
const claimsJson = new WeakMap<UserContext, string>();
const claimsJsonOf = (user: UserContext): string => JSON.stringify(userToClaims(user));

/** Signs assertions; build one per upstream at start-up. */
export interface AssertionSigner {
  readonly alg: ImportedSigningKey['alg'];
  readonly kid: string | undefined;
  /** Public keys to publish (never a secret). */
  readonly publicJwks: readonly PublicJwk[];
  /**
   * Signs `user` for one request; `extra.policyRules` adds the `policy_rules` claim (the gateway
   * policy's rule ids), `extra.requestId` the `request_id` claim.
   */
  sign(user: UserContext, binding: RequestBinding, extra?: AssertionExtras): SignedAssertion;
}

/**
 * Creates a signer. Keys are imported here, once, unless `imported` (the result of
 * `importSigningKeys(options.signing)`) is given: a gateway with several upstreams imports its
 * keys once and builds one signer per upstream from them. A mistake throws a `TypeError`
 * naming the option.
 * @param options - Signing key, issuer, audience, lifetime and clock.
 * @param imported - The signing keys already imported with `importSigningKeys(options.signing)`; default: imported here.
 * @returns A signer for this audience.
 * @example
 * const signer = createAssertionSigner({ signing: { secret: process.env.MCP_IDENTITY_SECRET! }, issuer: 'https://gateway.example', audience: 'urn:mcp:files' });
 */
export function createAssertionSigner(options: AssertionSignerOptions, imported?: ImportedSigningKeys): AssertionSigner {
  const issuer = requiredIdentifier(options.issuer, 'issuer');
  const audience = requiredIdentifier(options.audience, 'audience');
  const ttlSeconds = positiveInteger(options.ttlSeconds, 'ttlSeconds', 60);
  const clock = clockOption(options.clock);
  const keys = imported ?? importSigningKeys(options.signing, 'signing');
  const signJws = createJwsSigner(keys.active);
  // The constant claims are serialized once.
  const prefix = `{"v":${WIRE_FORMAT_VERSION},"iss":${JSON.stringify(issuer)},"aud":${JSON.stringify(audience)}`;
  return {
    alg: keys.active.alg,
    kid: keys.active.kid,
    publicJwks: keys.all.flatMap((key) => (key.publicJwk === undefined ? [] : [key.publicJwk])),
    sign(user, binding, extra) {
      const iat = Math.floor(clock() / 1000);
      const exp = iat + ttlSeconds;
      const jti = randomId();
      const userJson = derivedFromUser(claimsJson, user, claimsJsonOf);
      const req = JSON.stringify({ method: binding.method, path: binding.path, body_sha256: binding.bodySha256 });
      const rules = extra?.policyRules === undefined ? '' : `,"policy_rules":${JSON.stringify(extra.policyRules)}`;
      const rid = extra?.requestId === undefined ? '' : `,"request_id":${JSON.stringify(extra.requestId)}`;
      const dtk =
        extra?.delegatedToken === undefined
          ? ''
          : `,"dtk":${JSON.stringify({ ath: extra.delegatedToken.ath, aud: extra.delegatedToken.aud })}`;
      const payload = `${prefix},"iat":${iat},"exp":${exp},"jti":"${jti}",${userJson.slice(1, -1)},"req":${req}${rules}${rid}${dtk}}`;
      return { token: signJws(payload), jti, iat, exp };
    },
  };
}
