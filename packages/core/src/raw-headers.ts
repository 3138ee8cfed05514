/**
 * The one reader of a request's raw header list. Node lower-cases names and joins repeated
 * headers, so `req.headers` cannot tell `X-Forwarded-User` from `X_Forwarded_User` or one
 * copy from two; the raw list can. Every header mcp-identity trusts (identity headers,
 * trusted-proxy headers, API keys, delegation, session ids) is read here, and a name that
 * is the header in a non-canonical spelling (`_` for `-`) or a header sent more than once is
 * reported as hostile, never guessed at: another server or proxy may read it differently.
 */
import { canonicalHeaderName } from './header-codec.js';

/** Why a raw header list cannot be trusted for a header. */
export type HostileHeaderReason = 'underscore' | 'repeated';

/** What a raw header list says about a group of headers. */
export type RawHeaderGroup =
  | { readonly ok: true; readonly headers: ReadonlyMap<string, string> }
  | { readonly ok: false; readonly name: string; readonly reason: HostileHeaderReason };

/** What a raw header list says about one header. */
export type RawHeaderReading =
  | { readonly ok: true; readonly value: string | undefined }
  | { readonly ok: false; readonly name: string; readonly reason: HostileHeaderReason };

/**
 * Collects the headers whose canonical name (lower case, `_` read as `-`) `belongs` accepts,
 * keyed by canonical name. Hostile when one of them is spelled with `_` or sent twice
 * (under any spellings). Values are the raw ones (Latin-1 as Node reads them).
 */
export function readRawHeaderGroup(rawHeaders: readonly string[], belongs: (canonicalName: string) => boolean): RawHeaderGroup {
  const headers = new Map<string, string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const lower = (rawHeaders[i] ?? '').toLowerCase();
    // canonicalHeaderName(lower), without lower-casing twice.
    const canonical = lower.includes('_') ? lower.replaceAll('_', '-') : lower;
    if (!belongs(canonical)) continue;
    if (lower !== canonical) return { ok: false, name: canonical, reason: 'underscore' };
    if (headers.has(canonical)) return { ok: false, name: canonical, reason: 'repeated' };
    headers.set(canonical, rawHeaders[i + 1] ?? '');
  }
  return { ok: true, headers };
}

/**
 * Reads one header (`name` in any case; `_` in it is read as `-`): its raw value,
 * `undefined` when absent, or why the list is hostile for it.
 */
export function readRawHeader(rawHeaders: readonly string[], name: string): RawHeaderReading {
  const wanted = canonicalHeaderName(name);
  const group = readRawHeaderGroup(rawHeaders, (canonical) => canonical === wanted);
  return group.ok ? { ok: true, value: group.headers.get(wanted) } : group;
}
