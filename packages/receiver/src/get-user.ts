import { isRecord, META_ASSERTION } from '@mcp-identity/core';
import { isIssuedAuthInfo } from './auth-info.js';
import { verifiedUser } from './verified-registry.js';
import type { ReceivedUser } from './auth-info.js';

/** The part of an MCP SDK handler's `extra` that `getUser` reads. */
export interface UserSource {
  readonly authInfo?: unknown;
  readonly _meta?: unknown;
}

/**
 * The verified user inside an MCP SDK tool handler, from `extra.authInfo` (set by
 * `verifyIdentity` as `req.auth`) or from the assertion in `extra._meta` when that
 * request was verified by `verifyIdentity`. Never trusts anything it did not verify:
 * returns `undefined` otherwise.
 * @example
 * server.registerTool('whoami', { description: 'Who am I?' }, async (_args, extra) => {
 *   const user = getUser(extra);
 *   return { content: [{ type: 'text', text: user ? user.id : 'anonymous' }] };
 * });
 */
export function getUser(extra: UserSource | undefined): ReceivedUser | undefined {
  if (extra === undefined || extra === null) return undefined;
  const auth = extra.authInfo;
  if (isIssuedAuthInfo(auth) && isRecord(auth.extra) && isRecord(auth.extra.user)) return auth.extra.user as unknown as ReceivedUser;
  const meta = extra._meta;
  if (isRecord(meta) && typeof meta[META_ASSERTION] === 'string') return verifiedUser(meta[META_ASSERTION]);
  return undefined;
}
