/**
 * Normalizing the same user again, request after request, for nothing: a login hands the
 * gateway a new object each time (a decoded token, a looked-up account) with the same content.
 * The memo keeps, per user id, the last input's fields and the frozen user made from them; an
 * input whose fields are the same values gets that same user object back, so every per-user
 * cache keyed by it (headers, claims, JSON) applies. Anything else is normalized as usual.
 */
import { nonNegativeInteger } from './options.js';
import { isNormalizedUser, isRecord, normalizeUserContext } from './user-context.js';
import type { UserContext } from './user-context.js';

/** The fields `normalizeUserContext` reads; nothing else of an input changes its result. */
const FIELDS = [
  'id',
  'authMethod',
  'isAdmin',
  'delegationChain',
  'serviceAccount',
  'email',
  'name',
  'issuer',
  'attributes',
  'scopes',
  'clientId',
  'resource',
  'groups',
  'teams',
  'roles',
] as const;

/** A field as it was read: a primitive, a copy of a list, or the entries of an attributes object. */
type Seen = string | boolean | null | undefined | ListCopy | EntriesCopy;

class ListCopy {
  constructor(readonly items: readonly unknown[]) {}
}

class EntriesCopy {
  constructor(readonly entries: readonly (readonly [string, unknown])[]) {}
}

interface Entry {
  readonly seen: readonly Seen[];
  readonly user: UserContext;
}

/** Options of {@link createUserMemo}. */
export interface UserMemoOptions {
  /** Most users kept. Default 256; 0 keeps none. */
  readonly maxUsers?: number;
  /** A user whose strings add up to more characters is not kept. Default 8,192. */
  readonly maxChars?: number;
}

/** See {@link createUserMemo}. */
export interface UserMemo {
  /** `normalizeUserContext(input)`: the same object as last time for an input with the same fields. */
  normalize(input: unknown): UserContext;
}

/** The field as `normalizeUserContext` reads it: own and enumerable (it copies `Object.entries`). */
function fieldOf(input: object, name: string): unknown {
  return Object.prototype.propertyIsEnumerable.call(input, name) ? (input as Record<string, unknown>)[name] : undefined;
}

const LIST_FIELDS: ReadonlySet<string> = new Set(['groups', 'teams', 'roles', 'scopes', 'delegationChain']);

/**
 * The input read once: its own enumerable fields (those `normalizeUserContext` reads), lists
 * copied element by element, the attributes' own entries copied. Normalizing and remembering
 * this one copy means a getter or a Proxy that answers differently on a second read cannot pair
 * a remembered field with a user built from another value.
 */
function snapshotOf(input: object): Record<string, unknown> {
  const copy = Object.create(null) as Record<string, unknown>;
  for (const name of FIELDS) {
    if (!Object.prototype.propertyIsEnumerable.call(input, name)) continue;
    const value = (input as Record<string, unknown>)[name];
    if (LIST_FIELDS.has(name) && Array.isArray(value)) {
      const length = value.length;
      const list = new Array<unknown>(length);
      for (let i = 0; i < length; i++) list[i] = value[i];
      copy[name] = list;
    } else if (name === 'attributes' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const entries = Object.create(null) as Record<string, unknown>;
      for (const [key, item] of Object.entries(value)) entries[key] = item;
      copy[name] = entries;
    } else {
      copy[name] = value;
    }
  }
  return copy;
}

/** What to remember of one field of a snapshot, with its length in characters; undefined when it cannot be compared cheaply. */
function remember(value: unknown): [Seen, number] | undefined {
  switch (typeof value) {
    case 'string':
      return [value, value.length];
    case 'boolean':
    case 'undefined':
      return [value, 0];
    case 'object': {
      if (value === null) return [null, 0];
      if (Array.isArray(value)) {
        let chars = 0;
        for (const item of value) chars += typeof item === 'string' ? item.length : 0;
        // The snapshot's own copy: nothing else holds it.
        return [new ListCopy(value), chars];
      }
      const entries = Object.entries(value);
      let chars = 0;
      for (const [key, item] of entries) chars += key.length + (typeof item === 'string' ? item.length : 0);
      return [new EntriesCopy(entries), chars];
    }
    case 'number':
    case 'bigint':
    case 'function':
    case 'symbol':
      return undefined;
  }
}

function same(value: unknown, seen: Seen): boolean {
  if (value === seen) return true;
  if (seen instanceof ListCopy) {
    if (!Array.isArray(value) || value.length !== seen.items.length) return false;
    for (let i = 0; i < value.length; i++) if (value[i] !== seen.items[i]) return false;
    return true;
  }
  if (seen instanceof EntriesCopy) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    const entries = Object.entries(value);
    if (entries.length !== seen.entries.length) return false;
    for (let i = 0; i < entries.length; i++) {
      const [key, item] = entries[i] as [string, unknown];
      const [seenKey, seenItem] = seen.entries[i] as readonly [string, unknown];
      if (key !== seenKey || item !== seenItem) return false;
    }
    return true;
  }
  return false;
}

/**
 * Creates a memo of `normalizeUserContext` for one gateway. Bounded: one entry per user id (a
 * changed user replaces its entry), at most `maxUsers` (the oldest go first), none larger than
 * `maxChars`; an entry holds the strings its user holds anyway. A user is kept from its second
 * request on (`maxUsers` ids seen once are remembered for that), so users who never return
 * cost no copies.
 * @param options - Bounds.
 * @returns The memo.
 */
export function createUserMemo(options: UserMemoOptions = {}): UserMemo {
  const maxUsers = nonNegativeInteger(options.maxUsers, 'maxUsers', 256);
  const maxChars = nonNegativeInteger(options.maxChars, 'maxChars', 8192);
  const entries = new Map<string, Entry>();
  // Ids seen once and not kept yet: a user is kept from its second request on, so a stream of
  // users that never come back (more than the memo holds) costs a set entry, not a kept copy.
  const seenOnce = new Set<string>();

  function lookup(input: object, id: string): UserContext | undefined {
    const entry = entries.get(id);
    if (entry === undefined) return undefined;
    let i = 0;
    for (const name of FIELDS) if (!same(fieldOf(input, name), entry.seen[i++])) return undefined;
    return entry.user;
  }

  /** Whether a user not found should be kept: it was kept before (and changed), or seen once already. */
  function admit(id: string): boolean {
    if (entries.has(id) || seenOnce.delete(id)) return true;
    if (maxUsers === 0) return false;
    if (seenOnce.size >= maxUsers) seenOnce.delete(seenOnce.values().next().value as string);
    seenOnce.add(id);
    return false;
  }

  function store(snapshot: Record<string, unknown>, id: string, user: UserContext): void {
    const seen: Seen[] = [];
    let chars = 0;
    for (const name of FIELDS) {
      const read = remember(snapshot[name]);
      if (read === undefined) return;
      seen.push(read[0]);
      chars += read[1];
    }
    if (chars > maxChars) return;
    entries.delete(id);
    if (entries.size >= maxUsers) entries.delete(entries.keys().next().value as string);
    entries.set(id, { seen, user });
  }

  return {
    normalize(input) {
      // What normalizeUserContext refuses (not an object, an array) or returns as is goes straight to it.
      if (!isRecord(input) || isNormalizedUser(input)) return normalizeUserContext(input);
      const id = fieldOf(input, 'id');
      if (typeof id !== 'string') return normalizeUserContext(input);
      const known = lookup(input, id);
      if (known !== undefined) return known;
      // Read once; normalized first (an input it refuses is never remembered), then remembered from the same copy.
      const snapshot = snapshotOf(input);
      const user = normalizeUserContext(snapshot);
      if (admit(user.id)) store(snapshot, user.id, user);
      return user;
    },
  };
}
