import { isRecord, META_ASSERTION } from '@mcp-identity/core/internal';
import { isIssuedAuthInfo } from './auth-info.js';
import { verifiedUser } from './verified-registry.js';
import type { ReceivedUser } from './auth-info.js';

/**
 * The part of an MCP SDK handler's second argument that `getUser` reads: SDK v1's `extra`
 * (`authInfo`, `_meta`) or SDK v2's `ctx` (`http.authInfo`, `mcpReq._meta`).
 */
export interface UserSource {
  readonly authInfo?: unknown;
  readonly _meta?: unknown;
  readonly http?: { readonly authInfo?: unknown } | undefined;
  readonly mcpReq?: { readonly _meta?: unknown } | undefined;
}

function fromAuthInfo(auth: unknown): ReceivedUser | undefined {
  if (isIssuedAuthInfo(auth) && isRecord(auth.extra) && isRecord(auth.extra.user)) return auth.extra.user as unknown as ReceivedUser;
  return undefined;
}

function fromMeta(meta: unknown): ReceivedUser | undefined {
  if (isRecord(meta) && typeof meta[META_ASSERTION] === 'string') return verifiedUser(meta[META_ASSERTION]);
  return undefined;
}

/**
 * The verified user inside an MCP SDK tool handler: from the auth info `verifyIdentity` set as
 * `req.auth` (SDK v1 `extra.authInfo`, SDK v2 `ctx.http.authInfo`), or from the assertion in
 * the request's `_meta` (SDK v1 `extra._meta`, SDK v2 `ctx.mcpReq._meta`) when that request was
 * verified by `verifyIdentity`. Never trusts anything it did not verify: returns `undefined`
 * otherwise.
 * @param extra - The tool handler's `extra` (SDK v1) or `ctx` (SDK v2).
 * @returns The verified user (a UserContext; in ContextForge mode with `unverified` fields), or `undefined`.
 * @example
 * server.registerTool('whoami', { description: 'Who am I?' }, async (_args, extra) => {
 *   const user = getUser(extra);
 *   return { content: [{ type: 'text', text: user ? user.id : 'anonymous' }] };
 * });
 */
export function getUser(extra: UserSource | undefined): ReceivedUser | undefined {
  if (extra === undefined || extra === null) return undefined;
  return (
    fromAuthInfo(extra.authInfo) ??
    (isRecord(extra.http) ? fromAuthInfo(extra.http.authInfo) : undefined) ??
    fromMeta(extra._meta) ??
    (isRecord(extra.mcpReq) ? fromMeta(extra.mcpReq._meta) : undefined)
  );
}
