/**
 * The header codec: how UserContext values travel in `X-Forwarded-User-*` headers.
 *
 * Every value is UTF-8 encoded, then each byte outside 0x21–0x7E, and `%` and `,`,
 * is written as `%XX` (upper-case hex). Lists are the encoded elements joined with a
 * bare `,`. So `José`, `équipe-🚀` and a group named `eng,ops` survive exactly, and
 * no CR, LF or other control byte can ever reach a header line.
 */
import { derivedFromUser, isNormalizedUser } from './user-context.js';
import type { UserContext } from './user-context.js';

const HEX = '0123456789ABCDEF';
const utf8 = new TextDecoder('utf-8', { fatal: true });

function isPlain(code: number): boolean {
  return code >= 0x21 && code <= 0x7e && code !== 0x25 /* % */ && code !== 0x2c; /* , */
}

/** Only bytes that travel as they are (0x21–0x7E but `%` and `,`): a native test instead of a loop per character. */
const PLAIN = /^[\x21-\x24\x26-\x2b\x2d-\x7e]*$/;
/** The same, commas allowed: a joined list whose commas are all separators. */
const PLAIN_OR_COMMA = /^[\x21-\x24\x26-\x7e]*$/;

/**
 * Percent-encodes one value for a header.
 * @param value - Any text.
 * @returns The value with every UTF-8 byte outside visible ASCII, and `%` and `,`, percent-encoded.
 */
export function encodeHeaderValue(value: string): string {
  if (PLAIN.test(value)) return value;
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += isPlain(byte) ? String.fromCharCode(byte) : `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/**
 * Decodes one header value. Returns `undefined` for anything the encoder could not have
 * produced: a stray `%`, lower-case or bad hex, a byte that should have been encoded,
 * or bytes that are not UTF-8.
 * @param encoded - A header value as received.
 * @returns The decoded text, or `undefined` when the value is not a valid encoding.
 */
export function decodeHeaderValue(encoded: string): string | undefined {
  if (encoded.length === 0) return undefined;
  if (!encoded.includes('%')) {
    for (let i = 0; i < encoded.length; i++) if (!isPlain(encoded.charCodeAt(i))) return undefined;
    return encoded;
  }
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const code = encoded.charCodeAt(i);
    if (code === 0x25) {
      if (i + 2 >= encoded.length) return undefined;
      const hi = HEX.indexOf(encoded.charAt(i + 1));
      const lo = HEX.indexOf(encoded.charAt(i + 2));
      if (hi < 0 || lo < 0) return undefined;
      const byte = hi * 16 + lo;
      if (isPlain(byte)) return undefined; // not canonical: that byte is never encoded
      bytes.push(byte);
      i += 2;
    } else if (isPlain(code)) {
      bytes.push(code);
    } else {
      return undefined;
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Reads a raw header value as UTF-8. Node reads header bytes as Latin-1, so a proxy that
 * sends UTF-8 (`José`) arrives as `JosÃ©`. Returns `undefined` when the bytes are not UTF-8.
 */
export function headerValueAsUtf8(value: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(value)) return value;
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return undefined;
  }
}

/** Encodes a list: each element percent-encoded, joined with `,`. */
export function encodeHeaderList(values: readonly string[]): string {
  const joined = values.join(',');
  // Every element plain when the only commas are the separators: the joined text is the encoding.
  if (PLAIN_OR_COMMA.test(joined) && commasIn(joined) === values.length - 1) return joined;
  return values.map(encodeHeaderValue).join(',');
}

function commasIn(text: string): number {
  let count = 0;
  for (let at = text.indexOf(','); at !== -1; at = text.indexOf(',', at + 1)) count++;
  return count;
}

/** Decodes a list; `undefined` when any element is malformed or empty. */
export function decodeHeaderList(encoded: string): string[] | undefined {
  const out: string[] = [];
  for (const part of encoded.split(',')) {
    const value = decodeHeaderValue(part);
    if (value === undefined) return undefined;
    out.push(value);
  }
  return out;
}

/** Suffixes of the plain convenience headers, in the order the gateway sets them. */
export const identityHeaderSuffixes = Object.freeze([
  'id',
  'email',
  'full-name',
  'groups',
  'teams',
  'roles',
  'admin',
  'auth-method',
  'service-account',
  'delegation-chain',
  'scopes',
  'client-id',
  'resource',
] as const);

/** One of `identityHeaderSuffixes`. */
export type IdentityHeaderSuffix = (typeof identityHeaderSuffixes)[number];

/** Suffix of the signed assertion header. */
export const ASSERTION_SUFFIX = 'assertion';
/** Suffix of the ContextForge legacy signature header. */
export const CONTEXTFORGE_SIGNATURE_SUFFIX = 'claims-signature';

/**
 * Reads a header name the way a hostile client might hope a server reads it:
 * lower-cased, with `_` taken as `-`.
 */
export function canonicalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  // Most names hold no `_`: returned without the copy replaceAll makes.
  return lower.includes('_') ? lower.replaceAll('_', '-') : lower;
}

/** Normalizes a configured prefix such as `X-Forwarded-User` to `x-forwarded-user`. */
export function normalizePrefix(prefix: string): string {
  return canonicalHeaderName(prefix.trim()).replace(/-+$/, '');
}

/** The default identity header prefix. */
export const DEFAULT_HEADER_PREFIX = 'X-Forwarded-User';

/**
 * Validates and normalizes the `headerPrefix` option, the same way on both sides: letters,
 * digits, `-` and `_`, and something left after normalizing (`'---'` or `'__'` would become
 * the empty prefix, which names every header). Throws a `TypeError` naming the option.
 */
export function identityHeaderPrefix(value: unknown, option = 'headerPrefix'): string {
  if (value === undefined) return normalizePrefix(DEFAULT_HEADER_PREFIX);
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
    throw new TypeError(`${option} must be a header name prefix: 1-64 letters, digits, "-" or "_"`);
  }
  const prefix = normalizePrefix(value);
  if (!/[a-z0-9]/.test(prefix)) throw new TypeError(`${option} must contain a letter or digit (it would name every header)`);
  return prefix;
}

/**
 * The plain convenience header values for a user, keyed by lower-case header name
 * (`<prefix>-id`, ...). Absent optional fields and empty lists are omitted; `-id`,
 * `-admin` and `-auth-method` are always present.
 * @param user - A normalized user.
 * @param prefix - The header prefix, e.g. `"X-Forwarded-User"`.
 * @returns Header values keyed by lower-case header name.
 */
export function userToHeaders(user: UserContext, prefix: string): Record<string, string> {
  const h: Record<string, string> = {};
  h[`${prefix}-id`] = encodeHeaderValue(user.id);
  if (user.email !== undefined) h[`${prefix}-email`] = encodeHeaderValue(user.email);
  if (user.name !== undefined) h[`${prefix}-full-name`] = encodeHeaderValue(user.name);
  if (user.groups.length > 0) h[`${prefix}-groups`] = encodeHeaderList(user.groups);
  if (user.teams.length > 0) h[`${prefix}-teams`] = encodeHeaderList(user.teams);
  if (user.roles.length > 0) h[`${prefix}-roles`] = encodeHeaderList(user.roles);
  h[`${prefix}-admin`] = user.isAdmin ? 'true' : 'false';
  h[`${prefix}-auth-method`] = encodeHeaderValue(user.authMethod);
  if (user.serviceAccount !== undefined) h[`${prefix}-service-account`] = encodeHeaderValue(user.serviceAccount);
  if (user.delegationChain !== undefined && user.delegationChain.length > 0) {
    h[`${prefix}-delegation-chain`] = encodeHeaderList(user.delegationChain);
  }
  if (user.scopes !== undefined && user.scopes.length > 0) h[`${prefix}-scopes`] = encodeHeaderList(user.scopes);
  if (user.clientId !== undefined) h[`${prefix}-client-id`] = encodeHeaderValue(user.clientId);
  if (user.resource !== undefined) h[`${prefix}-resource`] = encodeHeaderValue(user.resource);
  return h;
}

const headerViews = new WeakMap<UserContext, { readonly prefix: string; readonly headers: Readonly<Record<string, string>> }>();

/**
 * {@link userToHeaders}, frozen and kept with a normalized user for its last prefix (the same
 * user object comes back for each request of that user): the per-request path reads it.
 */
export function identityHeadersOf(user: UserContext, prefix: string): Readonly<Record<string, string>> {
  const view = derivedFromUser(headerViews, user, () => ({ prefix, headers: Object.freeze(userToHeaders(user, prefix)) }));
  if (view.prefix === prefix) return view.headers;
  const headers = Object.freeze(userToHeaders(user, prefix));
  if (isNormalizedUser(user)) headerViews.set(user, { prefix, headers });
  return headers;
}

/**
 * Compares a plain header value with what the verified user says.
 * @returns `true` when the header agrees with the user (or the user has no such field and the header is absent).
 */
export function headerAgreesWithUser(suffix: IdentityHeaderSuffix, value: string, user: UserContext): boolean {
  switch (suffix) {
    case 'id':
      return decodeHeaderValue(value) === user.id;
    case 'email':
      return user.email !== undefined && decodeHeaderValue(value) === user.email;
    case 'full-name':
      return user.name !== undefined && decodeHeaderValue(value) === user.name;
    case 'groups':
      return listEquals(decodeHeaderList(value), user.groups);
    case 'teams':
      return listEquals(decodeHeaderList(value), user.teams);
    case 'roles':
      return listEquals(decodeHeaderList(value), user.roles);
    case 'admin':
      return value === (user.isAdmin ? 'true' : 'false');
    case 'auth-method':
      return decodeHeaderValue(value) === user.authMethod;
    case 'service-account':
      return user.serviceAccount !== undefined && decodeHeaderValue(value) === user.serviceAccount;
    case 'delegation-chain':
      return listEquals(decodeHeaderList(value), user.delegationChain ?? []);
    case 'scopes':
      return listEquals(decodeHeaderList(value), user.scopes ?? []);
    case 'client-id':
      return user.clientId !== undefined && decodeHeaderValue(value) === user.clientId;
    case 'resource':
      return user.resource !== undefined && decodeHeaderValue(value) === user.resource;
  }
}

function listEquals(a: readonly string[] | undefined, b: readonly string[]): boolean {
  if (a === undefined || a.length !== b.length || b.length === 0) return false;
  return a.every((value, i) => value === b[i]);
}
