/**
 * The ContextForge identity-propagation format, for compatibility with upstreams written
 * against IBM's ContextForge gateway (and a way off it).
 *
 * Its `-Claims-Signature` is HMAC-SHA256, lower-case hex, over the UTF-8 bytes of
 * `user_id + ":" + email` (empty when there is no email), keyed with the UTF-8 bytes of the
 * shared secret. Nothing else is signed: no groups, roles or admin flag, no expiry,
 * audience or nonce. A captured signature is a permanent credential for that user, and
 * `a:b` + `c` signs like `a` + `b:c`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { UserContext } from './user-context.js';

/** What the legacy format does not protect against, for start-up warnings and docs. */
export const CONTEXTFORGE_WEAKNESSES = 'no expiry or replay protection, no audience, groups/roles/admin flag unsigned';

const HEX_SIGNATURE = /^[0-9a-f]{64}$/;

/** Imports a legacy secret: any non-empty secret (the deployment already has one). */
export function contextforgeSecret(secret: unknown, option: string): Buffer {
  if (typeof secret !== 'string' && !(secret instanceof Uint8Array)) throw new TypeError(`${option} must be a string or bytes`);
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (bytes.length === 0) throw new TypeError(`${option} must not be empty`);
  return bytes;
}

/**
 * The signature over header values as sent. `id` and `email` are the bytes of the header
 * values: pass Latin-1 strings as Node reads headers (see {@link contextforgeSignatureOf}).
 */
function sign(secret: Buffer, id: Buffer, email: Buffer): Buffer {
  return createHmac('sha256', secret).update(id).update(':').update(email).digest();
}

/** The `-Claims-Signature` for the `-Id` and `-Email` values exactly as sent (ASCII, or UTF-8 text). */
export function contextforgeSignatureOf(secret: Buffer, idValue: string, emailValue: string | undefined): string {
  return sign(secret, Buffer.from(idValue, 'utf8'), Buffer.from(emailValue ?? '', 'utf8')).toString('hex');
}

/**
 * Checks a received `-Claims-Signature` against the received `-Id` and `-Email` header
 * values (strings as Node reads them, one character per byte). Constant time; a signature
 * that is not 64 lower-case hex characters is simply false.
 */
export function verifyContextforgeSignature(secret: Buffer, idHeader: string, emailHeader: string | undefined, signature: string): boolean {
  if (!HEX_SIGNATURE.test(signature)) return false;
  const expected = sign(secret, Buffer.from(idHeader, 'latin1'), Buffer.from(emailHeader ?? '', 'latin1'));
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}

/** The ContextForge `_meta.user` object of a user (lists and strings only when non-empty). */
export function contextforgeMetaUser(user: UserContext): Record<string, unknown> {
  const out: Record<string, unknown> = { id: user.id };
  if (user.email !== undefined) out.email = user.email;
  if (user.name !== undefined) out.full_name = user.name;
  if (user.groups.length > 0) out.groups = [...user.groups];
  if (user.teams.length > 0) out.teams = [...user.teams];
  if (user.roles.length > 0) out.roles = [...user.roles];
  out.is_admin = user.isAdmin;
  out.auth_method = user.authMethod;
  if (user.serviceAccount !== undefined) out.service_account = user.serviceAccount;
  if (user.delegationChain !== undefined && user.delegationChain.length > 0) out.delegation_chain = [...user.delegationChain];
  return out;
}
