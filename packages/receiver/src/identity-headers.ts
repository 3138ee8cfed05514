/**
 * Reads the identity headers of a request and refuses every hostile variant: a name with
 * `_` for `-`, a header sent twice, or a name under the prefix that the gateway never sends.
 */
import type { IncomingMessage } from 'node:http';
import {
  ASSERTION_SUFFIX,
  CONTEXTFORGE_SIGNATURE_SUFFIX,
  IdentityError,
  identityHeaderSuffixes,
  readRawHeaderGroup,
} from '@mcp-identity/core/internal';
import type { IdentityHeaderSuffix } from '@mcp-identity/core/internal';

/** The identity headers of one request. */
export interface IdentityHeaders {
  readonly assertion: string | undefined;
  readonly contextforgeSignature: string | undefined;
  /** Plain convenience headers, by suffix. */
  readonly plain: ReadonlyMap<IdentityHeaderSuffix, string>;
}

const KNOWN = new Set<string>([...identityHeaderSuffixes, ASSERTION_SUFFIX, CONTEXTFORGE_SIGNATURE_SUFFIX]);

/** Collects the identity headers under `prefix` (lower case, no trailing `-`). */
export function readIdentityHeaders(req: IncomingMessage, prefix: string): IdentityHeaders {
  const group = readRawHeaderGroup(req.rawHeaders, (canonical) => canonical.startsWith(prefix));
  if (!group.ok) {
    if (group.reason === 'underscore') throw new IdentityError('identity_mismatch', 'an identity header is spelled with underscores');
    throw new IdentityError('identity_invalid', 'an identity header is repeated');
  }
  const seen = new Map<string, string>();
  for (const [name, value] of group.headers) {
    const suffix = name.slice(prefix.length + 1);
    if (name.charAt(prefix.length) !== '-' || !KNOWN.has(suffix))
      throw new IdentityError('identity_mismatch', 'an unknown identity header is present');
    seen.set(suffix, value);
  }
  const plain = new Map<IdentityHeaderSuffix, string>();
  for (const suffix of identityHeaderSuffixes) {
    const value = seen.get(suffix);
    if (value !== undefined) plain.set(suffix, value);
  }
  return { assertion: seen.get(ASSERTION_SUFFIX), contextforgeSignature: seen.get(CONTEXTFORGE_SIGNATURE_SUFFIX), plain };
}
