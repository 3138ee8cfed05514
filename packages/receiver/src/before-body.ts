/**
 * The check made before the body is read: a receiver reachable without the gateway must not
 * buffer up to `bodyLimit` for a request that cannot carry an assertion. A request is refused
 * here when its assertion header is malformed, or when it has none and no other carrier is
 * possible: no ContextForge signature (when that mode is on), and no `_meta` (the `meta`
 * carrier is off, or the request has no unread JSON body).
 */
import type { IncomingMessage } from 'node:http';
import { hasRequestBody, IdentityError, isBodyConsumed, isJsonContentType, parseJws } from '@mcp-identity/core/internal';
import type { ParsedJws } from '@mcp-identity/core/internal';
import type { IdentityHeaders } from './identity-headers.js';
import type { ReceiverConfig } from './options.js';

/** True when the body may hold `params._meta` the receiver has yet to read (or was handed parsed). */
function mayCarryMeta(req: IncomingMessage): boolean {
  // A body parser ran first: nothing is left to buffer, the body is judged as usual.
  if (isBodyConsumed(req)) return true;
  return hasRequestBody(req) && isJsonContentType(req.headers['content-type']);
}

/**
 * Refuses, before any byte of the body is read, what the body cannot save.
 * @throws IdentityError `identity_invalid` for a malformed assertion header (too long, not a
 *   compact JWS, a header or payload segment that does not parse), `identity_missing` when no
 *   carrier is possible. With an unread body the refusal closes the connection.
 * @returns the parsed assertion header, when there is one, for the verifier to reuse.
 */
export function checkBeforeBody(req: IncomingMessage, headers: IdentityHeaders, config: ReceiverConfig): ParsedJws | undefined {
  if (headers.assertion !== undefined) {
    try {
      // Shape only (no key, no signature): the same checks the verifier starts with.
      return parseJws(headers.assertion);
    } catch (error) {
      if (error instanceof IdentityError) throw new IdentityError(error.code, error.message, closing(req));
      throw error;
    }
  }
  if (config.contextforge !== undefined && headers.contextforgeSignature !== undefined) return undefined;
  if (config.metaCarrier && mayCarryMeta(req)) return undefined;
  throw new IdentityError('identity_missing', 'the request carries no identity assertion', closing(req));
}

/** The refusal's options: with an unread body, the connection closes (only worked out for a refusal). */
function closing(req: IncomingMessage): { headers?: { connection: string } } {
  return hasRequestBody(req) && !isBodyConsumed(req) ? { headers: { connection: 'close' } } : {};
}
