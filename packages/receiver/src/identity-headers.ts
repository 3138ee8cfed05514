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

const NO_PLAIN: ReadonlyMap<IdentityHeaderSuffix, string> = new Map();
const ASSERTION = ASSERTION_SUFFIX as string;
const CONTEXTFORGE_SIGNATURE = CONTEXTFORGE_SIGNATURE_SUFFIX as string;

/** Collects the identity headers under `prefix` (lower case, no trailing `-`). */
export function readIdentityHeaders(req: IncomingMessage, prefix: string): IdentityHeaders {
  // One pass for the usual request: each identity header once, spelled with `-`, known. Anything
  // else (an `_`, a repeat, an unknown name) is judged by the full reading below, which decides
  // which refusal applies.
  const raw = req.rawHeaders;
  let assertion: string | undefined;
  let contextforgeSignature: string | undefined;
  let plain: Map<IdentityHeaderSuffix, string> | undefined;
  // A prefix starting with a letter (the default's `x`): a name whose first character is ASCII and
  // not that letter in either case is not under it, and is passed over without being lower-cased.
  const first = prefix.charCodeAt(0);
  const letter = first >= 0x61 && first <= 0x7a ? first : -1;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    const code = name.charCodeAt(0);
    if (code < 0x80 && (code | 0x20) !== letter && letter !== -1) continue;
    const lower = name.toLowerCase();
    if (!lower.startsWith(prefix)) {
      if (lower.includes('_')) return readStrictly(raw, prefix);
      continue;
    }
    if (lower.includes('_') || lower.charCodeAt(prefix.length) !== 0x2d) return readStrictly(raw, prefix);
    const suffix = lower.slice(prefix.length + 1);
    const value = raw[i + 1] ?? '';
    if (suffix === ASSERTION) {
      if (assertion !== undefined) return readStrictly(raw, prefix);
      assertion = value;
    } else if (suffix === CONTEXTFORGE_SIGNATURE) {
      if (contextforgeSignature !== undefined) return readStrictly(raw, prefix);
      contextforgeSignature = value;
    } else {
      if (!KNOWN.has(suffix) || plain?.has(suffix as IdentityHeaderSuffix) === true) return readStrictly(raw, prefix);
      (plain ??= new Map()).set(suffix, value);
    }
  }
  return { assertion, contextforgeSignature, plain: plain ?? NO_PLAIN };
}

/** The full reading of the identity headers: refuses underscores, repeats and unknown names, in that order of precedence. */
function readStrictly(rawHeaders: readonly string[], prefix: string): IdentityHeaders {
  const group = readRawHeaderGroup(rawHeaders, (canonical) => canonical.startsWith(prefix));
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
