import type { UserContext } from '@mcp-identity/core';

/**
 * The MCP SDK's `AuthInfo`, declared structurally so the receiver does not depend on the
 * SDK: the SDK's Streamable HTTP transport reads `req.auth` and hands it to tool handlers
 * as `extra.authInfo`.
 */
export interface AuthInfo {
  /** The verified assertion. */
  token: string;
  /** The gateway that signed it (`iss`). */
  clientId: string;
  /** The user's roles. */
  scopes: string[];
  /** Seconds since the epoch. */
  expiresAt?: number;
  resource?: URL;
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
  const auth: AuthInfo = {
    token,
    clientId: issuer,
    scopes: [...user.roles],
    ...(expiresAt === undefined ? {} : { expiresAt }),
    extra: { user },
  };
  issued.add(auth);
  return auth;
}

/** Tells whether an AuthInfo was built by this receiver. */
export function isIssuedAuthInfo(value: unknown): value is AuthInfo {
  return typeof value === 'object' && value !== null && issued.has(value);
}
