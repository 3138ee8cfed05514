/** What every benchmark process shares: keys, identities and request bodies. */
import { generateKeyPairSync } from 'node:crypto';

export const ISSUER = 'urn:bench:gateway';
export const AUDIENCE = 'urn:bench:upstream';
export const SECRET = 'bench-secret-6d1f0c2b9e8a7d6c5b4a39281706f5e4d3c2b1a0';
/** The key of the client logins (passport-jwt) in the authenticated pair. */
export const LOGIN_SECRET = 'bench-login-secret-0a1b2c3d4e5f60718293a4b5c6d7e8f9';

/** A fresh user object per request, as `authenticate` produces one per request. */
export function benchUser(): Record<string, unknown> {
  return {
    id: 'user-42',
    email: 'user42@example.com',
    name: 'Zoë Example',
    groups: ['eng', 'platform'],
    teams: ['core'],
    roles: ['reader', 'writer'],
    isAdmin: false,
    authMethod: 'jwt',
  };
}

/** The bench user with `count` groups (the cost must not grow with the user's size). */
export function userWithGroups(count: number): Record<string, unknown> {
  return { ...benchUser(), groups: Array.from({ length: count }, (_, i) => `group-${String(i).padStart(3, '0')}-engineering`) };
}

/** A `tools/call` request of about `bytes` bytes (one string argument fills it). */
export function bodyOfSize(bytes: number): string {
  const filler = 'x'.repeat(Math.max(0, bytes - 100));
  return JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'upload', arguments: { content: filler } } });
}

/** A typical `tools/call` request. */
export const TYPICAL_BODY = JSON.stringify({
  jsonrpc: '2.0',
  id: 7,
  method: 'tools/call',
  params: {
    name: 'search_notes',
    arguments: { query: 'quarterly report', limit: 20, tags: ['finance', 'q3'] },
    _meta: { progressToken: 'p-7' },
  },
});

/** A `tools/call` request of 256 KiB. */
export const LARGE_BODY = bodyOfSize(256 * 1024);

/** The EdDSA key, as PKCS#8 PEM so child processes can share it. */
export function eddsaKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** A client's login token for the authenticated pair: the bench user's claims, HS256, valid for an hour. */
export async function loginToken(): Promise<string> {
  const { SignJWT } = await import('jose');
  const { id, email, name, groups, roles } = benchUser() as { id: string; email: string; name: string; groups: string[]; roles: string[] };
  return new SignJWT({ email, name, groups, roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(id)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(LOGIN_SECRET));
}

/** The resource the OAuth rows' access tokens are for (their `aud`). */
export const OAUTH_RESOURCE = 'urn:bench:resource';
/** The `kid` of the OAuth rows' authorization server key (the EdDSA key above, published as a JWK). */
export const OAUTH_KID = 'bench-authorization-server';

/**
 * An MCP client's access token for the OAuth rows: an RFC 9068 JWT for {@link OAUTH_RESOURCE},
 * signed with the shared EdDSA key by the authorization server at `issuer`, valid for an hour.
 */
export async function oauthAccessToken(pem: string, issuer: string): Promise<string> {
  const { SignJWT } = await import('jose');
  const { createPrivateKey } = await import('node:crypto');
  const { id, email, groups } = benchUser() as { id: string; email: string; groups: string[] };
  return new SignJWT({ email, groups, scope: 'notes:read', client_id: 'bench-client' })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: OAUTH_KID })
    .setIssuer(issuer)
    .setAudience(OAUTH_RESOURCE)
    .setSubject(id)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(createPrivateKey(pem));
}
