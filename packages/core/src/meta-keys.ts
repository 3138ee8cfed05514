/**
 * Keys of the identity carried inside JSON-RPC `params._meta`. They use the
 * `mcp-identity/` prefix, as the MCP specification asks of non-spec `_meta` keys.
 */

/** Prefix of every identity key in `_meta`. */
export const META_PREFIX = 'mcp-identity/';
/** The allowed UserContext fields, as a JSON object. */
export const META_USER = 'mcp-identity/user';
/** The signed assertion, the same compact JWS as the assertion header. */
export const META_ASSERTION = 'mcp-identity/assertion';
/** The ContextForge-compatible, unsigned user object. */
export const META_CONTEXTFORGE_USER = 'user';

/** Tells whether a `_meta` key is identity: anything under `mcp-identity/`, and the legacy `user`. */
export function isIdentityMetaKey(key: string): boolean {
  return key === META_CONTEXTFORGE_USER || key.toLowerCase().startsWith(META_PREFIX);
}
