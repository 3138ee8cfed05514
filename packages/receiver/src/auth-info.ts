import type { UserContext } from '@mcp-identity/core/internal';

/**
 * The MCP SDK's `AuthInfo`, declared structurally so the receiver does not depend on the
 * SDK: the SDK's Streamable HTTP transport reads `req.auth` and hands it to tool handlers
 * as `extra.authInfo`.
 */
export interface AuthInfo {
  /**
   * The token the gateway exchanged for the user for this server (`tokenExchange`), checked
   * against the assertion's `dtk` claim; otherwise the verified assertion. Never the client's own
   * access token: the gateway does not pass it through.
   */
  token: string;
  /**
   * The OAuth client the user's access token was issued to (`client_id`/`azp`). For logins
   * without one (Basic, API keys, a JWT without those claims) the gateway that signed the
   * assertion (`iss`), as before.
   */
  clientId: string;
  /**
   * The access token's scopes. For logins without an OAuth scope claim: the user's roles, as
   * before (kept for compatibility; read `extra.user.roles` for roles).
   */
  scopes: string[];
  /** When the assertion expires, in seconds since the epoch. */
  expiresAt?: number;
  /** The protected resource (RFC 8707) the access token was accepted for at the gateway. */
  resource?: URL;
  /** `user`: the verified UserContext (roles, groups, delegation, the token's `resource` as a string). */
  extra?: Record<string, unknown>;
}

/** The verified user as `req.user`: a UserContext, plus unverified extras in legacy mode. */
export interface ReceivedUser extends UserContext {
  /** ContextForge mode only: fields the legacy format does not sign, for display, never for decisions. */
  readonly unverified?: Readonly<Record<string, unknown>>;
}

// AuthInfo objects this package built: getUser trusts `extra.user` only on those.
const issued = new WeakSet<object>();

/** Builds the `req.auth` for a verified user. */
export function createAuthInfo(token: string, issuer: string, expiresAt: number | undefined, user: ReceivedUser): AuthInfo {
  // An OAuth login carries the token's client, scopes and resource; other logins keep the old mapping.
  const oauth = user.scopes !== undefined || user.clientId !== undefined || user.resource !== undefined;
  const resource = user.resource === undefined || !URL.canParse(user.resource) ? undefined : new URL(user.resource);
  const auth: AuthInfo = {
    token,
    clientId: user.clientId ?? issuer,
    scopes: [...(user.scopes ?? (oauth ? [] : user.roles))],
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(resource === undefined ? {} : { resource }),
    extra: { user },
  };
  issued.add(auth);
  return auth;
}

/** Tells whether an AuthInfo was built by this receiver. */
export function isIssuedAuthInfo(value: unknown): value is AuthInfo {
  return typeof value === 'object' && value !== null && issued.has(value);
}
