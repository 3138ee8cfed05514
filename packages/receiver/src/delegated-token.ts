/**
 * The receiver's check of a delegated token: when the gateway's assertion carries a `dtk` claim
 * (a token exchanged for the user accompanies the request), the request's `Authorization: Bearer`
 * token must be exactly that token (its SHA-256 is `dtk.ath`) and, when it is a JWT, be about
 * the same subject. The token's signature, issuer, audience and expiry are the business of the
 * API it is meant for: the receiver does not verify them.
 */
import type { IncomingMessage } from 'node:http';
import { IdentityError, isRecord, safeEqual, sha256Base64url } from '@mcp-identity/core/internal';
import type { VerifiedAssertion } from '@mcp-identity/core/internal';

const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

function subjectOf(token: string): unknown {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8'));
    return isRecord(payload) ? payload.sub : null;
  } catch {
    return null;
  }
}

/**
 * Checks the delegated token of a verified request; returns it, or undefined when the
 * assertion announces none (refused when `required`).
 * @throws IdentityError `delegated_token_missing` or `delegated_token_mismatch`.
 */
export function checkDelegatedToken(req: IncomingMessage, assertion: VerifiedAssertion, required: boolean): string | undefined {
  const claim = assertion.claims.dtk;
  if (claim === undefined) {
    if (required) throw new IdentityError('delegated_token_missing', 'this server needs a token delegated by the gateway');
    return undefined;
  }
  if (!isRecord(claim) || typeof claim.ath !== 'string') throw new IdentityError('delegated_token_mismatch', 'the dtk claim is malformed');
  const headers = req.headersDistinct?.authorization ?? (req.headers.authorization === undefined ? [] : [req.headers.authorization]);
  if (headers.length === 0) throw new IdentityError('delegated_token_missing', 'the delegated token the assertion announces is missing');
  const match = headers.length === 1 ? BEARER.exec(headers[0] as string) : null;
  if (match === null) throw new IdentityError('delegated_token_mismatch', 'the Authorization header is not one bearer token');
  const token = match[1] as string;
  // Constant time, as the Python receiver compares (ath is a hash, so this is consistency, not secrecy).
  if (!safeEqual(sha256Base64url(token), claim.ath))
    throw new IdentityError('delegated_token_mismatch', 'the bearer token is not the one the assertion announces');
  // A JWT must be about the assertion's subject; an opaque token is bound by `ath` alone.
  const sub = subjectOf(token);
  if (sub !== undefined && sub !== assertion.user.id)
    throw new IdentityError('delegated_token_mismatch', 'the delegated token is about another subject');
  return token;
}
