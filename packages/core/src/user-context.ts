import { IdentityError } from './errors.js';

/** How the gateway authenticated the user; custom strategies may use their own name. */
export type AuthMethod = 'jwt' | 'basic' | 'api_key' | 'sso' | 'proxy' | (string & {});

/**
 * The normalized identity of the caller, as the gateway signs it and the receiver exposes it.
 * Lists are always arrays (`[]` when empty), never `null`.
 */
export interface UserContext {
  /** The subject: who the request is for. Required, non-empty. */
  readonly id: string;
  readonly email?: string;
  /** Display name. */
  readonly name?: string;
  readonly groups: readonly string[];
  readonly teams: readonly string[];
  readonly roles: readonly string[];
  readonly isAdmin: boolean;
  readonly authMethod: AuthMethod;
  /** The current actor when the principal acts for the subject; always the last entry of `delegationChain`. */
  readonly serviceAccount?: string;
  /** The actors between the subject and this request, earliest first, current actor last. */
  readonly delegationChain?: readonly string[];
  /** Who authenticated the user (the identity provider), not the gateway. */
  readonly issuer?: string;
  readonly attributes?: Readonly<Record<string, string>>;
  /** OAuth logins: the access token's scopes (`scope`/`scp`). Absent for other logins. */
  readonly scopes?: readonly string[];
  /** OAuth logins: the client the token was issued to (`client_id`, else `azp`). */
  readonly clientId?: string;
  /** OAuth logins: the protected resource (RFC 8707) the token was accepted for. */
  readonly resource?: string;
}

/** The optional fields of a {@link UserContext} that an upstream's `claims` allow-list can select. */
export type UserContextField =
  'email' | 'name' | 'groups' | 'teams' | 'roles' | 'isAdmin' | 'issuer' | 'attributes' | 'scopes' | 'clientId' | 'resource';

/** All selectable fields, in wire order. `id`, `authMethod` and delegation are always sent. */
export const userContextFields: readonly UserContextField[] = Object.freeze([
  'email',
  'name',
  'groups',
  'teams',
  'roles',
  'isAdmin',
  'issuer',
  'attributes',
  'scopes',
  'clientId',
  'resource',
]);

/** Bounds that keep an assertion small enough for one HTTP header. */
export const limits = Object.freeze({
  maxStringLength: 1024,
  maxListLength: 256,
  maxAttributes: 64,
  maxAttributeNameLength: 128,
  maxDelegationDepth: 16,
});

const AUTH_METHOD = /^[A-Za-z0-9_.:-]{1,64}$/;
// RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
// Shared by every user without a list: frozen, so no one can add a group to a normalized user.
const EMPTY_LIST: readonly string[] = Object.freeze([]);
// Objects this module produced: normalizing one again returns it as is.
const normalized = new WeakSet<object>();

/**
 * The prototype of every normalized user: each optional field is `undefined` here, so reading a
 * field a user lacks (`user.scopes`) stops at this object and never reaches an `Object.prototype`
 * polluted elsewhere in the process. Own keys, JSON and `constructor` are those of a plain object.
 */
const USER_PROTOTYPE: object = Object.freeze(
  Object.assign(Object.create(Object.prototype) as object, {
    email: undefined,
    name: undefined,
    serviceAccount: undefined,
    delegationChain: undefined,
    issuer: undefined,
    attributes: undefined,
    scopes: undefined,
    clientId: undefined,
    resource: undefined,
  }),
);

type OptionalField = 'email' | 'name' | 'serviceAccount' | 'delegationChain' | 'issuer' | 'attributes' | 'scopes' | 'clientId' | 'resource';
type MutableUser = { -readonly [K in keyof UserContext]: UserContext[K] };

/**
 * An empty user object to fill in: its missing optional fields read as `undefined` whatever
 * `Object.prototype` holds. Set required fields by assignment and optional ones with {@link setOptional}.
 */
export function newUser(): MutableUser {
  return Object.create(USER_PROTOTYPE) as MutableUser;
}

/** Sets an optional field of a {@link newUser} object (defined, not assigned: the prototype's field is read-only). */
export function setOptional<K extends OptionalField>(user: MutableUser, field: K, value: UserContext[K]): void {
  Object.defineProperty(user, field, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Validates and normalizes anything shaped like a {@link UserContext}: fills empty lists,
 * defaults `isAdmin` to `false`, ties `serviceAccount` to the end of `delegationChain`,
 * drops unknown fields and returns a frozen object.
 * @param input - A user-shaped object from any source.
 * @returns The normalized, frozen user.
 * @throws IdentityError `user_context_invalid` naming the offending field.
 */
export function normalizeUserContext(input: unknown): UserContext {
  if (typeof input === 'object' && input !== null && normalized.has(input)) return input as UserContext;
  if (!isRecord(input)) throw invalid('the user context is not an object');
  // Own properties only: neither the input's prototype nor a polluted Object.prototype can make anyone an admin.
  const fields = ownFields(input);
  const id = requiredString(fields.id, 'id');
  const authMethod = fields.authMethod === undefined ? 'unknown' : requiredString(fields.authMethod, 'authMethod');
  if (!AUTH_METHOD.test(authMethod)) throw invalid('authMethod must be 1-64 characters of A-Z a-z 0-9 _ . : -');
  if (fields.isAdmin !== undefined && typeof fields.isAdmin !== 'boolean') throw invalid('isAdmin must be a boolean');

  let delegationChain = optionalList(fields.delegationChain, 'delegationChain', limits.maxDelegationDepth);
  const serviceAccount = optionalString(fields.serviceAccount, 'serviceAccount');
  if (serviceAccount !== undefined) {
    if (delegationChain === undefined || delegationChain.length === 0) delegationChain = [serviceAccount];
    else if (delegationChain[delegationChain.length - 1] !== serviceAccount) {
      throw invalid('serviceAccount must be the last entry of delegationChain');
    }
  }

  const email = optionalString(fields.email, 'email');
  const name = optionalString(fields.name, 'name');
  const issuer = optionalString(fields.issuer, 'issuer');
  const attributes = optionalAttributes(fields.attributes);
  const scopes = optionalList(fields.scopes, 'scopes');
  if (scopes?.some((scope) => !SCOPE_TOKEN.test(scope))) throw invalid('scopes must be RFC 6749 scope tokens (no spaces or quotes)');
  const clientId = optionalString(fields.clientId, 'clientId');
  const resource = optionalString(fields.resource, 'resource');
  // Built in reading order: JSON output lists id, email, name, lists, flags, then the rest.
  const user = newUser();
  user.id = id;
  if (email !== undefined) setOptional(user, 'email', email);
  if (name !== undefined) setOptional(user, 'name', name);
  user.groups = optionalList(fields.groups, 'groups') ?? EMPTY_LIST;
  user.teams = optionalList(fields.teams, 'teams') ?? EMPTY_LIST;
  user.roles = optionalList(fields.roles, 'roles') ?? EMPTY_LIST;
  user.isAdmin = fields.isAdmin === true;
  user.authMethod = authMethod;
  if (delegationChain !== undefined && delegationChain.length > 0) {
    setOptional(user, 'serviceAccount', delegationChain[delegationChain.length - 1]);
    setOptional(user, 'delegationChain', delegationChain);
  }
  if (issuer !== undefined) setOptional(user, 'issuer', issuer);
  if (attributes !== undefined) setOptional(user, 'attributes', attributes);
  if (scopes !== undefined) setOptional(user, 'scopes', scopes);
  if (clientId !== undefined) setOptional(user, 'clientId', clientId);
  if (resource !== undefined) setOptional(user, 'resource', resource);
  Object.freeze(user);
  normalized.add(user);
  return user;
}

/**
 * Whether `value` is a user this module produced (or adopted): frozen all the way down, so a
 * value derived from it (its headers, claims, JSON) can be kept for as long as the object lives.
 */
export function isNormalizedUser(value: unknown): value is UserContext {
  return typeof value === 'object' && value !== null && normalized.has(value);
}

/**
 * Registers a user built only from a normalized user's parts and frozen (`selectUserFields`),
 * so that normalizing it again is free and per-user caches apply to it.
 */
export function adoptNormalizedUser(user: UserContext): UserContext {
  if (!Object.isFrozen(user)) throw new TypeError('only a frozen user can be adopted');
  normalized.add(user);
  return user;
}

/**
 * `compute(user)`, kept in `cache` for a normalized user (immutable, so the value never goes
 * stale; it goes when the user object does); computed every time for any other object.
 */
export function derivedFromUser<T>(cache: WeakMap<UserContext, T>, user: UserContext, compute: (user: UserContext) => T): T {
  if (!normalized.has(user)) return compute(user);
  let value = cache.get(user);
  if (value === undefined) {
    value = compute(user);
    cache.set(user, value);
  }
  return value;
}

/** JSON Schema (draft 2020-12) of a normalized {@link UserContext}. */
export const userContextSchema = Object.freeze({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://mcp-identity.dev/schemas/user-context.json',
  title: 'UserContext',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'groups', 'teams', 'roles', 'isAdmin', 'authMethod'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: limits.maxStringLength },
    email: { type: 'string', minLength: 1, maxLength: limits.maxStringLength },
    name: { type: 'string', minLength: 1, maxLength: limits.maxStringLength },
    groups: { $ref: '#/$defs/list' },
    teams: { $ref: '#/$defs/list' },
    roles: { $ref: '#/$defs/list' },
    isAdmin: { type: 'boolean' },
    authMethod: {
      description: 'jwt | basic | api_key | sso | proxy, or the name of a custom strategy',
      type: 'string',
      pattern: AUTH_METHOD.source,
    },
    serviceAccount: { type: 'string', minLength: 1, maxLength: limits.maxStringLength },
    delegationChain: { $ref: '#/$defs/list', type: 'array', maxItems: limits.maxDelegationDepth, minItems: 1 },
    issuer: { type: 'string', minLength: 1, maxLength: limits.maxStringLength },
    attributes: {
      type: 'object',
      maxProperties: limits.maxAttributes,
      propertyNames: { minLength: 1, maxLength: limits.maxAttributeNameLength },
      additionalProperties: { type: 'string', maxLength: limits.maxStringLength },
    },
    scopes: { $ref: '#/$defs/list' },
    clientId: { type: 'string', minLength: 1, maxLength: limits.maxStringLength },
    resource: { type: 'string', minLength: 1, maxLength: limits.maxStringLength },
  },
  $defs: {
    list: {
      type: 'array',
      maxItems: limits.maxListLength,
      items: { type: 'string', minLength: 1, maxLength: limits.maxStringLength },
    },
  },
});

/**
 * The own enumerable properties of `input`, in an object without a prototype: reading a field
 * it lacks gives `undefined`, even when `Object.prototype` was polluted elsewhere in the process.
 */
export function ownFields(input: object): Record<string, unknown> {
  const fields = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(input)) fields[key] = value;
  return fields;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string): IdentityError {
  return new IdentityError('user_context_invalid', `invalid user context: ${message}`);
}

/** `field`, or its entry `field[index]`: built only for a refusal, so a long list costs no names. */
function nameOf(field: string, index: number | undefined): string {
  return index === undefined ? field : `${field}[${index}]`;
}

function checkString(value: string, field: string, index?: number): string {
  if (value.length === 0) throw invalid(`${nameOf(field, index)} must not be empty`);
  if (value.length > limits.maxStringLength) throw invalid(`${nameOf(field, index)} is longer than ${limits.maxStringLength} characters`);
  if (!value.isWellFormed()) throw invalid(`${nameOf(field, index)} is not well-formed Unicode`);
  return value;
}

function requiredString(value: unknown, field: string, index?: number): string {
  if (typeof value !== 'string') throw invalid(`${nameOf(field, index)} must be a string`);
  return checkString(value, field, index);
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return requiredString(value, field);
}

function optionalList(value: unknown, field: string, max: number = limits.maxListLength): readonly string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalid(`${field} must be an array of strings`);
  // A valid user the limits cannot carry: a code that says so, not "invalid credentials".
  if (value.length > max) throw new IdentityError('claims_limit_exceeded', `${field} has more than ${max} entries`);
  const list = new Array<string>(value.length);
  for (let index = 0; index < value.length; index++) list[index] = requiredString(value[index], field, index);
  return Object.freeze(list);
}

function optionalAttributes(value: unknown): Readonly<Record<string, string>> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw invalid('attributes must be an object of strings');
  const entries = Object.entries(value);
  if (entries.length === 0) return undefined;
  if (entries.length > limits.maxAttributes) throw invalid(`attributes has more than ${limits.maxAttributes} entries`);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, entry] of entries) {
    if (key.length === 0 || key.length > limits.maxAttributeNameLength || !key.isWellFormed()) {
      throw invalid('attribute names must be 1-128 characters');
    }
    if (typeof entry !== 'string') throw invalid(`attributes.${key} must be a string`);
    if (entry.length > limits.maxStringLength || !entry.isWellFormed()) throw invalid(`attributes.${key} is too long or malformed`);
    out[key] = entry;
  }
  return Object.freeze(out);
}
