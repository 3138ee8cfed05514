/**
 * Delegation by header: a principal that is allowed to act for users (a service account,
 * say) names the subject in `X-Act-As`; the request then runs as that subject, with the
 * principal recorded as the current actor (RFC 8693 `act`). Anyone else sending the
 * header is refused, and the header never reaches an upstream.
 */
import {
  canonicalHeaderName,
  functionOption,
  headerNameOption,
  IdentityError,
  isIdentityError,
  isRecord,
  limits,
  normalizeUserContext,
  onlyKnownKeys,
  optionKeys,
} from '@mcp-identity/core/internal';
import type { UserContext } from '@mcp-identity/core/internal';
import type { Request } from 'express';
import { headerText, singleHeader } from './single-header.js';
import type { UserContextInput } from './normalizers.js';

/** The default delegation header. */
export const DEFAULT_DELEGATION_HEADER = 'x-act-as';

/** Decides whether an authenticated principal may act for other users. */
export type AllowedActors = readonly string[] | ((actor: UserContext, req: Request) => boolean | Promise<boolean>);

/**
 * Finds the subject's fields (email, name, groups, roles, ...): `id` defaults to the header
 * value; `authMethod`, `serviceAccount` and `delegationChain` are set by the gateway.
 * Returning `undefined` or `false` refuses an unknown subject (403).
 */
export type ResolveSubject = (
  subjectId: string,
  actor: UserContext,
  req: Request,
) => UserContextInput | false | undefined | Promise<UserContextInput | false | undefined>;

/** The `delegation` option of `authenticate`. */
export interface DelegationOptions {
  /** The header naming the subject. Default `"x-act-as"`. */
  readonly header?: string;
  /**
   * Who may act for users: principal ids (a listed principal that itself acts for someone
   * is not allowed), or a predicate given the authenticated principal. Required.
   */
  readonly allowedActors: AllowedActors;
  /** Looks the subject up. Default: `{ id: subjectId }` and nothing else (no groups, roles or admin). */
  readonly resolveSubject?: ResolveSubject;
}

/** Validated delegation settings. */
export interface DelegationConfig {
  /** Lower-case header name. */
  readonly header: string;
  readonly isAllowed: (actor: UserContext, req: Request) => boolean | Promise<boolean>;
  readonly resolveSubject: ResolveSubject;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

// Who authenticated and who acts are the gateway's facts, not the resolver's.
const SET_BY_GATEWAY = new Set(['authMethod', 'serviceAccount', 'delegationChain']);

/** Every key of {@link DelegationOptions} (the compiler checks the list is complete). */
const DELEGATION_KEYS = optionKeys<DelegationOptions>()(['header', 'allowedActors', 'resolveSubject']);

/** Validates the `delegation` option; throws a `TypeError` naming the bad part. */
export function resolveDelegation(value: DelegationOptions | undefined): DelegationConfig | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null)
    throw new TypeError('delegation must be an object: { allowedActors, header?, resolveSubject? }');
  onlyKnownKeys(value, 'authenticate delegation', DELEGATION_KEYS, { prefix: 'delegation.' });
  const header = headerNameOption(value.header, 'delegation.header', DEFAULT_DELEGATION_HEADER);
  const allowed: unknown = value.allowedActors;
  let isAllowed: DelegationConfig['isAllowed'];
  if (typeof allowed === 'function') {
    isAllowed = allowed as DelegationConfig['isAllowed'];
  } else if (Array.isArray(allowed) && allowed.every((id) => typeof id === 'string' && id.length > 0)) {
    const ids = new Set<string>(allowed as string[]);
    isAllowed = (actor) => ids.has(actor.id) && actor.delegationChain === undefined;
  } else {
    throw new TypeError('delegation.allowedActors is required: an array of principal ids, or a function (actor, req) => boolean');
  }
  const resolveSubject = functionOption(value.resolveSubject, 'delegation.resolveSubject', (subjectId: string) => ({ id: subjectId }));
  return Object.freeze({ header: canonicalHeaderName(header), isAllowed, resolveSubject });
}

/** How many times the request carries a header, counting every spelling (case, `_` for `-`). */
function headerCount(req: Request, name: string): number {
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (canonicalHeaderName(req.rawHeaders[i] as string) === name) count++;
  return count;
}

/** Removes every spelling of a header from `req.headers`, so no proxy forwards it. */
function removeHeader(req: Request, name: string): void {
  for (const key of Object.keys(req.headers)) if (canonicalHeaderName(key) === name) Reflect.deleteProperty(req.headers, key);
}

function forbidden(message: string): IdentityError {
  return new IdentityError('forbidden', message);
}

/**
 * Applies header delegation to an authenticated principal. Returns the principal itself when
 * the request carries no delegation header, otherwise the subject acting through it.
 * @throws IdentityError `forbidden` (403) when the header is sent without delegation being
 * enabled, by a principal not allowed to act for others, more than once, with an invalid
 * subject, for a subject `resolveSubject` does not know, or when the chain would get too long.
 */
export async function applyDelegation(actor: UserContext, req: Request, config: DelegationConfig | undefined): Promise<UserContext> {
  const header = config?.header ?? DEFAULT_DELEGATION_HEADER;
  const count = headerCount(req, header);
  if (count === 0) return actor;
  if (config === undefined) throw forbidden(`the ${header} header is not accepted here: delegation is not enabled`);
  // Only `true` allows: a JavaScript predicate returning a truthy non-boolean still refuses.
  const allowed: unknown = await config.isAllowed(actor, req);
  if (allowed !== true) throw forbidden('this principal is not allowed to act for other users');
  const raw = singleHeader(req, header);
  if (raw === undefined) throw forbidden(`the ${header} header must be sent once, spelled with hyphens`);
  const subjectId = headerText(raw).trim();
  if (subjectId.length === 0 || subjectId.length > limits.maxStringLength || !subjectId.isWellFormed() || CONTROL.test(subjectId)) {
    throw forbidden(`the ${header} header does not name a valid subject`);
  }
  const chain = [actor.id, ...(actor.delegationChain ?? [])];
  if (chain.length > limits.maxDelegationDepth) throw forbidden('the delegation chain is too long');

  let resolved: unknown;
  try {
    resolved = await config.resolveSubject(subjectId, actor, req);
  } catch (error) {
    if (isIdentityError(error)) throw error;
    throw new IdentityError('auth_unavailable', 'authentication is unavailable', { cause: error });
  }
  if (!isRecord(resolved)) throw forbidden('the named subject is unknown here');
  removeHeader(req, header);
  const fields = Object.fromEntries(Object.entries(resolved).filter(([key]) => !SET_BY_GATEWAY.has(key)));
  return normalizeUserContext({
    ...fields,
    // Own fields only: an id missing from the resolved subject is never read from a polluted Object.prototype.
    id: (Object.hasOwn(fields, 'id') ? fields.id : undefined) ?? subjectId,
    // The actor authenticated; the subject did not. Earliest actor first: the actor, then whoever acts for it.
    authMethod: actor.authMethod,
    delegationChain: chain,
  });
}
