/**
 * What the receiver compares a request's plain headers and `_meta` user with, per verified
 * user: the encoded identity headers and the canonical JSON of the user. The verifier hands
 * back the same frozen user object for the same claims (core's user cache), so these are
 * computed once per user instead of once per request. Bounded; keyed by the user object
 * itself, so an entry can only ever be the views of that very user.
 */
import { canonicalJson, contextforgeMetaUser, userToHeaders } from '@mcp-identity/core/internal';
import type { UserContext } from '@mcp-identity/core/internal';

/** The views of one user. */
export interface UserViews {
  /** The plain identity headers the gateway sends for this user, by suffix (`id`, `groups`, ...). */
  headers(): ReadonlyMap<string, string>;
  /** `canonicalJson(user)`: what a `_meta` user must canonicalize to. */
  canonical(): string;
  /** The canonical JSON of the ContextForge-compatible `_meta.user`. */
  legacyCanonical(): string;
}

/** Most users whose views one receiver keeps. */
export const USER_VIEW_ENTRIES = 256;

function encodedHeaders(user: UserContext, prefix: string): ReadonlyMap<string, string> {
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(userToHeaders(user, prefix))) headers.set(name.slice(prefix.length + 1), value);
  return headers;
}

// Each view is computed on first use: most requests need the headers only, or nothing.
function viewsOf(user: UserContext, prefix: string): UserViews {
  let headers: ReadonlyMap<string, string> | undefined;
  let canonical: string | undefined;
  let legacy: string | undefined;
  return {
    headers: () => (headers ??= encodedHeaders(user, prefix)),
    canonical: () => (canonical ??= canonicalJson(user)),
    legacyCanonical: () => (legacy ??= canonicalJson(contextforgeMetaUser(user))),
  };
}

/** A bounded cache of {@link UserViews} for one header prefix; the oldest entry goes first when full. */
export function createUserViews(prefix: string, entries = USER_VIEW_ENTRIES): (user: UserContext) => UserViews {
  const cache = new Map<UserContext, UserViews>();
  return function userViews(user) {
    let views = cache.get(user);
    if (views === undefined) {
      views = viewsOf(user, prefix);
      if (cache.size >= entries) cache.delete(cache.keys().next().value as UserContext);
      cache.set(user, views);
    }
    return views;
  };
}
