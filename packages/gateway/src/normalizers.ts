/**
 * Normalizers turn what a Passport strategy produced into UserContext fields. One ships
 * for each kind of login; an app can replace any of them per strategy.
 */
import { actorToChain, IdentityError, isRecord, objectOption, onlyKnownKeys, optionKeys } from '@mcp-identity/core/internal';
import type { Request } from 'express';

/** What a normalizer returns: UserContext fields; `authMethod` is set from the strategy. */
export type UserContextInput = Readonly<Record<string, unknown>>;

/** Maps a strategy's `user` (and `info`) to UserContext fields. */
export type Normalizer = (user: unknown, info: unknown, req: Request) => UserContextInput;

/** Claim names or dotted paths (`realm_access.roles`), tried in order; an exact key wins over a path. */
export type ClaimPath = string | readonly string[];

/** Where the JWT/OIDC normalizers find each field. */
export interface ClaimPaths {
  /** Default `sub`. */
  readonly id?: ClaimPath;
  /** Default `email`. */
  readonly email?: ClaimPath;
  /** Default `name`, then `preferred_username`. */
  readonly name?: ClaimPath;
  /** Default `groups`, then `cognito:groups`. */
  readonly groups?: ClaimPath;
  /** Default `teams`. */
  readonly teams?: ClaimPath;
  /** Default `roles`, then `realm_access.roles` (Keycloak). */
  readonly roles?: ClaimPath;
  /** A boolean claim. Default `is_admin`, then `admin`. */
  readonly isAdmin?: ClaimPath;
  /** Default `iss`. */
  readonly issuer?: ClaimPath;
}

/** Options of the shipped normalizers. */
export interface NormalizerOptions {
  /** Claim locations (JWT and OIDC). */
  readonly claims?: ClaimPaths;
  /** Groups or roles that make `isAdmin` true. Default none. */
  readonly adminRoles?: readonly string[];
  /** Claims copied into `attributes` when they hold a string or a number (as text) (JWT and OIDC). Default none. */
  readonly attributes?: readonly string[];
}

const DEFAULT_PATHS: Required<{ [K in keyof ClaimPaths]: readonly string[] }> = {
  id: ['sub'],
  email: ['email'],
  name: ['name', 'preferred_username'],
  groups: ['groups', 'cognito:groups'],
  teams: ['teams'],
  roles: ['roles', 'realm_access.roles'],
  isAdmin: ['is_admin', 'admin'],
  issuer: ['iss'],
};

/**
 * `source[key]` when the object or a prototype of its own class chain has it (an app's user
 * class may define getters), but never a value that exists only on `Object.prototype`: a
 * prototype polluted elsewhere in the process must not add a role or make an admin.
 */
function field(source: Record<string, unknown>, key: string): unknown {
  for (
    let holder: object | null = source;
    holder !== null && holder !== Object.prototype;
    holder = Object.getPrototypeOf(holder) as object | null
  ) {
    if (Object.hasOwn(holder, key)) return source[key];
  }
  return undefined;
}

function readPath(source: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(source, path)) return source[path];
  let current: unknown = source;
  for (const part of path.split('.')) {
    if (!isRecord(current) || !Object.hasOwn(current, part)) return undefined;
    current = current[part];
  }
  return current;
}

function readFirst(source: Record<string, unknown>, paths: ClaimPath): unknown {
  for (const path of typeof paths === 'string' ? [paths] : paths) {
    const value = readPath(source, path);
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : typeof value === 'number' ? String(value) : undefined;
}

function asList(value: unknown): string[] {
  if (typeof value === 'string') return value.length > 0 ? [value] : [];
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string' && entry.length > 0) : [];
}

/** Keeps the string-valued entries: attributes are strings on the wire. */
function stringEntries(source: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(source).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

function attributesOf(value: unknown): Record<string, string> | undefined {
  return isRecord(value) ? stringEntries(value) : undefined;
}

function isAdminBy(adminRoles: readonly string[], ...lists: readonly string[][]): boolean {
  return adminRoles.length > 0 && lists.some((list) => list.some((entry) => adminRoles.includes(entry)));
}

function delegationOf(claims: Record<string, unknown>): string[] | undefined {
  // Own claims only, as readPath: never an `act` from a polluted Object.prototype.
  const act = Object.hasOwn(claims, 'act') ? claims.act : undefined;
  if (act === undefined) return undefined;
  const chain = actorToChain(act);
  if (chain === undefined) throw new IdentityError('unauthenticated', 'the token act claim is malformed');
  return chain;
}

/** A normalizer's options, read once when it is built (own properties only) rather than on every login. */
interface ResolvedOptions {
  readonly paths: Readonly<Record<keyof typeof DEFAULT_PATHS, ClaimPath>>;
  readonly adminRoles: readonly string[];
  readonly attributes: readonly string[];
}

const NORMALIZER_KEYS = optionKeys<NormalizerOptions>()(['claims', 'adminRoles', 'attributes']);
const CLAIM_PATH_KEYS = optionKeys<ClaimPaths>()(['id', 'email', 'name', 'groups', 'teams', 'roles', 'isAdmin', 'issuer']);

/**
 * Reads a normalizer's options, refusing keys it does not take: a misspelt claim name
 * (`claims.userId`, `claims.admin`) would otherwise leave the default path in use, so `id` or
 * `isAdmin` would come from a claim the deployment did not mean.
 */
function resolveOptions(options: NormalizerOptions, owner: string, known: readonly string[] = NORMALIZER_KEYS): ResolvedOptions {
  onlyKnownKeys(objectOption(options, `${owner} options`), owner, known);
  if (options.claims !== undefined)
    onlyKnownKeys(objectOption(options.claims, `${owner} claims`), `${owner} claims`, CLAIM_PATH_KEYS, { prefix: 'claims.' });
  const own = <K extends keyof NormalizerOptions>(name: K): NormalizerOptions[K] | undefined =>
    Object.hasOwn(options, name) ? options[name] : undefined;
  const claims = own('claims');
  const paths = { ...DEFAULT_PATHS };
  if (claims !== undefined)
    for (const [name, path] of Object.entries(claims) as [string, ClaimPath | undefined][]) {
      if (path !== undefined && Object.hasOwn(paths, name)) Object.assign(paths, { [name]: path });
    }
  return Object.freeze({ paths: Object.freeze(paths), adminRoles: own('adminRoles') ?? [], attributes: own('attributes') ?? [] });
}

/** Checks the shipped normalizers' options as `authenticate`'s `normalizers` gives them (every key they take). */
export function checkNormalizerOptions(options: NormalizerOptions, owner: string): void {
  resolveOptions(options, owner);
}

function fromClaims(claims: Record<string, unknown>, options: ResolvedOptions): Record<string, unknown> {
  const { paths, adminRoles } = options;
  const groups = asList(readFirst(claims, paths.groups));
  const roles = asList(readFirst(claims, paths.roles));
  const attributes: Record<string, string> = {};
  for (const name of options.attributes) {
    const value = asString(readPath(claims, name));
    if (value !== undefined) attributes[name] = value;
  }
  return {
    id: asString(readFirst(claims, paths.id)),
    email: asString(readFirst(claims, paths.email)),
    name: asString(readFirst(claims, paths.name)),
    groups,
    teams: asList(readFirst(claims, paths.teams)),
    roles,
    isAdmin: readFirst(claims, paths.isAdmin) === true || isAdminBy(adminRoles, groups, roles),
    issuer: asString(readFirst(claims, paths.issuer)),
    delegationChain: delegationOf(claims),
    attributes,
  };
}

/**
 * For passport-jwt and `OAuthTokenStrategy`: the `user` is the verified payload (pass it to `done` as is).
 * Reads `sub`, `email`, `name`, `groups`, `roles`, an admin flag, the token's scopes, client
 * (`client_id`/`azp`) and audience, and a nested `act`
 * (RFC 8693 delegation), at configurable claim paths (Keycloak `realm_access.roles`,
 * Azure `roles`/`groups`, Cognito `cognito:groups`).
 * @param options - Claim paths (`claims`), roles or groups that make an admin (`adminRoles`), and claims copied into `attributes`.
 * @returns A normalizer for `authenticate`'s `strategies[].normalize` or `normalizers`.
 * @example
 * app.use('/mcp', authenticate([{ name: 'jwt', normalize: jwtNormalizer({ claims: { roles: 'realm_access.roles' }, adminRoles: ['admin'] }) }]));
 */
export function jwtNormalizer(options: NormalizerOptions = {}): Normalizer {
  const resolved = resolveOptions(options, 'jwtNormalizer');
  return function normalizeJwt(user) {
    if (!isRecord(user)) throw new IdentityError('unauthenticated', 'the token payload is not an object');
    return { ...fromClaims(user, resolved), ...accessTokenFields(user) };
  };
}

/**
 * The OAuth part of an access token (RFC 9068, RFC 7662): `scope` (space-separated) or `scp`
 * (Entra ID, Okta: a list or a string) as `scopes`, `client_id` else `azp` as `clientId`, and
 * `aud` as `audience` (checked by `authenticate` against the protected resource, not kept).
 */
function accessTokenFields(claims: Record<string, unknown>): Record<string, unknown> {
  const raw = field(claims, 'scope') ?? field(claims, 'scp');
  const scopes =
    typeof raw === 'string' ? raw.split(' ').filter((scope) => scope.length > 0) : Array.isArray(raw) ? asList(raw) : undefined;
  const audience = asList(field(claims, 'aud'));
  return {
    ...(scopes === undefined ? {} : { scopes }),
    clientId: asString(field(claims, 'client_id')) ?? asString(field(claims, 'azp')),
    ...(audience.length === 0 ? {} : { audience }),
  };
}

/**
 * For OIDC/SSO strategies that yield a Passport profile (`id`, `displayName`, `emails`,
 * `_json` claims): the id token claims in `_json` are read like a JWT's.
 * @param options - Claim paths (`claims`), roles or groups that make an admin (`adminRoles`), and claims copied into `attributes`.
 * @returns A normalizer for `authenticate`'s `strategies[].normalize` or `normalizers`.
 */
export function profileNormalizer(options: NormalizerOptions = {}): Normalizer {
  const resolved = resolveOptions(options, 'profileNormalizer');
  return function normalizeProfile(user) {
    if (!isRecord(user)) throw new IdentityError('unauthenticated', 'the profile is not an object');
    const json = field(user, '_json');
    const claims = isRecord(json) ? json : {};
    const fromJson = fromClaims(claims, resolved);
    const listed = field(user, 'emails');
    const emails: unknown[] = Array.isArray(listed) ? listed : [];
    // Only an element the list has: `[][0]` would read a polluted Object.prototype[0].
    const first = emails.length > 0 ? emails[0] : undefined;
    const firstEmail = isRecord(first) ? asString(field(first, 'value')) : undefined;
    return {
      ...fromJson,
      id: asString(field(user, 'id')) ?? fromJson.id,
      email: firstEmail ?? fromJson.email,
      name: asString(field(user, 'displayName')) ?? fromJson.name,
      issuer: fromJson.issuer ?? asString(field(user, 'provider')),
    };
  };
}

/**
 * For strategies whose `user` is the app's own object (passport-http Basic, API keys, the
 * trusted-proxy strategy): reads `id` (or `username`), `email`, `name`, `groups`, `teams`,
 * `roles`, `isAdmin`, `serviceAccount`, `delegationChain`, `issuer`, `attributes`.
 * A string user is taken as the id.
 * @param options - `adminRoles`: groups or roles that make `isAdmin` true.
 * @returns A normalizer for `authenticate`'s `strategies[].normalize` or `normalizers`.
 */
export function userObjectNormalizer(options: Pick<NormalizerOptions, 'adminRoles'> = {}): Normalizer {
  const { adminRoles } = resolveOptions(options, 'userObjectNormalizer', ['adminRoles']);
  return function normalizeUserObject(user) {
    if (typeof user === 'string') return { id: user };
    if (!isRecord(user)) throw new IdentityError('unauthenticated', 'the authenticated user is not an object');
    const groups = asList(field(user, 'groups'));
    const roles = asList(field(user, 'roles'));
    return {
      id: asString(field(user, 'id')) ?? asString(field(user, 'username')),
      email: asString(field(user, 'email')),
      name: asString(field(user, 'name')) ?? asString(field(user, 'displayName')),
      groups,
      teams: asList(field(user, 'teams')),
      roles,
      isAdmin: field(user, 'isAdmin') === true || isAdminBy(adminRoles, groups, roles),
      serviceAccount: asString(field(user, 'serviceAccount')),
      delegationChain: Array.isArray(field(user, 'delegationChain')) ? asList(field(user, 'delegationChain')) : undefined,
      issuer: asString(field(user, 'issuer')),
      attributes: attributesOf(field(user, 'attributes')),
    };
  };
}
