/**
 * The claim model: how a UserContext is written into an assertion and read back.
 *
 * | UserContext      | claim         |
 * |------------------|---------------|
 * | id               | `sub`         |
 * | email, name      | `email`, `name` |
 * | groups, teams, roles | `groups`, `teams`, `roles` (arrays) |
 * | isAdmin          | `admin` (boolean) |
 * | authMethod       | `auth_method` |
 * | delegationChain / serviceAccount | `act` (RFC 8693, nested; outermost = current actor) |
 * | issuer           | `idp`         |
 * | attributes       | `attrs`       |
 * | scopes           | `scope` (space-separated string, as in RFC 8693 / RFC 9068) |
 * | clientId         | `client_id` (RFC 8693 / RFC 9068) |
 * | resource         | `resource` (the RFC 8707 resource the access token was for) |
 */
import { IdentityError } from './errors.js';
import {
  adoptNormalizedUser,
  isNormalizedUser,
  isRecord,
  limits,
  newUser,
  setOptional,
  normalizeUserContext,
  ownFields,
  userContextFields,
} from './user-context.js';
import type { UserContext, UserContextField } from './user-context.js';

// Frozen like the lists of a normalized user.
const EMPTY_LIST: readonly string[] = Object.freeze([]);

/** RFC 8693 actor claim. */
export interface ActorClaim {
  readonly sub: string;
  readonly act?: ActorClaim;
}

/** The user part of an assertion's claims. */
export interface UserClaims {
  readonly sub: string;
  readonly email?: string;
  readonly name?: string;
  readonly groups?: readonly string[];
  readonly teams?: readonly string[];
  readonly roles?: readonly string[];
  readonly admin?: boolean;
  readonly auth_method: string;
  readonly act?: ActorClaim;
  readonly idp?: string;
  readonly attrs?: Readonly<Record<string, string>>;
  readonly scope?: string;
  readonly client_id?: string;
  readonly resource?: string;
}

/** Default deny-list for `attributes`: names containing any of these (case-insensitive) are never sent. */
export const defaultSensitiveAttributes: readonly string[] = Object.freeze([
  'password',
  'passwd',
  'secret',
  'token',
  'credential',
  'apikey',
  'api_key',
  'api-key',
  'private',
  'cookie',
  'session',
  'ssn',
]);

/** Builds a predicate telling whether an attribute name is sensitive. */
export function sensitiveAttributeMatcher(denyList: readonly (string | RegExp)[]): (name: string) => boolean {
  const words = denyList.filter((entry): entry is string => typeof entry === 'string').map((entry) => entry.toLowerCase());
  const patterns = denyList.filter((entry): entry is RegExp => entry instanceof RegExp);
  return (name) => {
    const lower = name.toLowerCase();
    return words.some((word) => lower.includes(word)) || patterns.some((pattern) => pattern.test(name));
  };
}

/**
 * Keeps only the fields an upstream may see. `id`, `authMethod` and delegation are always
 * kept; attributes lose every sensitive name.
 */
export function selectUserFields(
  user: UserContext,
  fields: ReadonlySet<UserContextField>,
  isSensitive: (name: string) => boolean,
): UserContext {
  const out = newUser();
  out.id = user.id;
  if (fields.has('email') && user.email !== undefined) setOptional(out, 'email', user.email);
  if (fields.has('name') && user.name !== undefined) setOptional(out, 'name', user.name);
  out.groups = fields.has('groups') ? user.groups : EMPTY_LIST;
  out.teams = fields.has('teams') ? user.teams : EMPTY_LIST;
  out.roles = fields.has('roles') ? user.roles : EMPTY_LIST;
  out.isAdmin = fields.has('isAdmin') ? user.isAdmin : false;
  out.authMethod = user.authMethod;
  if (user.delegationChain !== undefined) {
    setOptional(out, 'serviceAccount', user.serviceAccount);
    setOptional(out, 'delegationChain', user.delegationChain);
  }
  if (fields.has('issuer') && user.issuer !== undefined) setOptional(out, 'issuer', user.issuer);
  if (fields.has('attributes') && user.attributes !== undefined) {
    const kept = Object.entries(user.attributes).filter(([name]) => !isSensitive(name));
    if (kept.length > 0)
      setOptional(out, 'attributes', Object.freeze(Object.assign(Object.create(null) as Record<string, string>, Object.fromEntries(kept))));
  }
  if (fields.has('scopes') && user.scopes !== undefined) setOptional(out, 'scopes', user.scopes);
  if (fields.has('clientId') && user.clientId !== undefined) setOptional(out, 'clientId', user.clientId);
  if (fields.has('resource') && user.resource !== undefined) setOptional(out, 'resource', user.resource);
  // Made of the normalized user's frozen parts: a normalized user too.
  return isNormalizedUser(user) ? adoptNormalizedUser(Object.freeze(out)) : Object.freeze(out);
}

/** Validates a `claims` allow-list option. */
export function parseFieldList(value: unknown, option: string): ReadonlySet<UserContextField> {
  if (value === undefined) return new Set(userContextFields);
  if (!Array.isArray(value)) throw new TypeError(`${option} must be an array of UserContext field names`);
  for (const field of value) {
    if (!userContextFields.includes(field as UserContextField)) {
      const always = field === 'id' || field === 'authMethod' || field === 'serviceAccount' || field === 'delegationChain';
      throw new TypeError(
        always
          ? `${option}: "${String(field)}" is always sent and cannot be listed`
          : `${option}: unknown field ${JSON.stringify(String(field)).slice(0, 40)}; expected one of ${userContextFields.join(', ')}`,
      );
    }
  }
  return new Set(value as UserContextField[]);
}

/**
 * Writes a user as claims. Empty lists are omitted; the receiver reads them back as `[]`.
 * @param user - A normalized user.
 * @returns The JWT claims describing the user.
 */
export function userToClaims(user: UserContext): UserClaims {
  const claims: { -readonly [K in keyof UserClaims]: UserClaims[K] } = { sub: user.id, auth_method: user.authMethod };
  if (user.email !== undefined) claims.email = user.email;
  if (user.name !== undefined) claims.name = user.name;
  if (user.groups.length > 0) claims.groups = user.groups;
  if (user.teams.length > 0) claims.teams = user.teams;
  if (user.roles.length > 0) claims.roles = user.roles;
  if (user.isAdmin) claims.admin = true;
  if (user.delegationChain !== undefined && user.delegationChain.length > 0) claims.act = chainToActor(user.delegationChain);
  if (user.issuer !== undefined) claims.idp = user.issuer;
  if (user.attributes !== undefined) claims.attrs = user.attributes;
  // An empty scope list is sent as "": the token had a scope claim, with no scope in it.
  if (user.scopes !== undefined) claims.scope = user.scopes.join(' ');
  if (user.clientId !== undefined) claims.client_id = user.clientId;
  if (user.resource !== undefined) claims.resource = user.resource;
  return claims;
}

/** Nests a delegation chain (earliest first) as an RFC 8693 `act` claim (current actor outermost). */
export function chainToActor(chain: readonly string[]): ActorClaim {
  let actor: ActorClaim | undefined;
  for (const sub of chain) actor = actor === undefined ? { sub } : { sub, act: actor };
  if (actor === undefined) throw new TypeError('an empty delegation chain has no actor');
  return actor;
}

/**
 * Flattens an RFC 8693 `act` claim into a delegation chain, earliest actor first.
 * Returns `undefined` for anything malformed or nested deeper than the limit.
 */
export function actorToChain(act: unknown): string[] | undefined {
  const chain: string[] = [];
  let current: unknown = act;
  while (current !== undefined) {
    if (!isRecord(current) || !Object.hasOwn(current, 'sub') || typeof current.sub !== 'string') return undefined;
    if (chain.length >= limits.maxDelegationDepth) return undefined;
    chain.push(current.sub);
    current = Object.hasOwn(current, 'act') ? current.act : undefined;
  }
  return chain.reverse();
}

/**
 * Reads a user back from verified claims.
 * @param claims - The verified claims of an assertion.
 * @returns The user, normalized and frozen.
 * @throws IdentityError `identity_invalid` when the claims do not describe a valid user.
 */
export function claimsToUser(claims: Record<string, unknown>): UserContext {
  // Own claims only: a claim the assertion lacks is never read from a polluted Object.prototype.
  const own = ownFields(claims);
  const chain = own.act === undefined ? undefined : actorToChain(own.act);
  if (own.act !== undefined && chain === undefined) throw new IdentityError('identity_invalid', 'the assertion act claim is malformed');
  if (own.admin !== undefined && typeof own.admin !== 'boolean')
    throw new IdentityError('identity_invalid', 'the assertion admin claim is not a boolean');
  if (typeof own.auth_method !== 'string') throw new IdentityError('identity_invalid', 'the assertion has no auth_method claim');
  if (own.scope !== undefined && typeof own.scope !== 'string')
    throw new IdentityError('identity_invalid', 'the assertion scope claim is not a string');
  try {
    return normalizeUserContext({
      id: own.sub,
      email: own.email,
      name: own.name,
      groups: own.groups,
      teams: own.teams,
      roles: own.roles,
      isAdmin: own.admin === true,
      authMethod: own.auth_method,
      delegationChain: chain,
      issuer: own.idp,
      attributes: own.attrs,
      scopes: typeof own.scope === 'string' ? own.scope.split(' ').filter((scope) => scope.length > 0) : undefined,
      clientId: own.client_id,
      resource: own.resource,
    });
  } catch (cause) {
    throw new IdentityError('identity_invalid', 'the assertion does not describe a valid user', { cause });
  }
}
