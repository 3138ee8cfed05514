/**
 * Session isolation, framework-free: an MCP Streamable HTTP session (`Mcp-Session-Id`) is
 * bound to the user whose request created it, and only that user may use it. The gateway
 * and the receiver adapt this to their HTTP objects.
 */
import { IdentityError } from './errors.js';
import { positiveInteger } from './options.js';
import { readRawHeader } from './raw-headers.js';
import { storeUnavailable } from './store.js';
import type { IdentityStore } from './store.js';
import type { UserContext } from './user-context.js';

/** The MCP session header, as Node spells request and response header names. */
export const SESSION_HEADER = 'mcp-session-id';

/** Longest session id accepted, in characters. */
export const MAX_SESSION_ID_LENGTH = 1024;

// MCP: a session ID MUST only contain visible ASCII characters (0x21 to 0x7E).
const SESSION_ID = /^[\x21-\x7e]+$/;

/** Tells whether a value is a session id the MCP specification allows (visible ASCII, at most 1024 characters). */
export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_SESSION_ID_LENGTH && SESSION_ID.test(value);
}

function notFound(): IdentityError {
  return new IdentityError('session_not_found', 'the session does not exist or belongs to another user');
}

/**
 * The session id a request carries, read from its raw header list; `undefined` when it
 * carries none. Node lower-cases names and trims values, so those variants are the header
 * itself. Anything a proxy or server could read differently — a name spelled with `_`, the
 * header sent twice (Node would join the copies with ", "), a value that is empty or has
 * whitespace or control characters inside — is refused with `session_not_found` (404), the
 * answer for an unknown session, rather than guessed at.
 * @throws IdentityError `session_not_found` for a hostile variant.
 */
export function readSessionId(rawHeaders: readonly string[]): string | undefined {
  const reading = readRawHeader(rawHeaders, SESSION_HEADER);
  if (!reading.ok) throw notFound();
  if (reading.value === undefined) return undefined;
  if (!isSessionId(reading.value)) throw notFound();
  return reading.value;
}

/** What a session is bound to: the user's identity provider (`issuer`, or `""`) and id, as JSON. */
export function sessionSubject(user: Pick<UserContext, 'id' | 'issuer'>): string {
  return JSON.stringify([user.issuer ?? '', user.id]);
}

/** Default {@link SessionBinderOptions.maxPerUser}. */
export const DEFAULT_SESSIONS_PER_USER = 100;
/** Default binding lifetime, in seconds: 8 hours, a working day (see `docs/sessions.md`). */
export const DEFAULT_SESSION_TTL_SECONDS = 28_800;

/**
 * The `sessions` option, the same name and shape at the gateway (`createGateway`) and the
 * receiver (`verifyIdentity`): where MCP sessions are bound to their users, and for how long.
 */
export interface SessionOptions {
  /** Where the bindings are kept: a `MemoryStore` (one instance) or a `RedisStore` shared by every instance. */
  readonly store?: IdentityStore;
  /** How long a binding lives from the session's creation, in seconds; then the session answers 404. Default 28 800 (8 hours). */
  readonly ttlSeconds?: number;
  /** Most live sessions one user (issuer and id) holds, per process; one more ends that user's oldest. Default 100. */
  readonly maxPerUser?: number;
}

/** Options of {@link createSessionBinder}. */
export interface SessionBinderOptions {
  /** Where bindings are kept: `MemoryStore` for one instance, `RedisStore` for several. */
  readonly store: IdentityStore;
  /** The upstream the sessions belong to; part of every key, so one store serves several upstreams. */
  readonly audience: string;
  /** How long a binding lives after the session was created, in milliseconds. */
  readonly ttlMs: number;
  /**
   * Most live bindings one user (issuer and id) holds, per binder. Binding one more ends that
   * user's oldest binding (its session then answers 404); other users' bindings are never
   * touched. Counted by this binder, so per process. Default {@link DEFAULT_SESSIONS_PER_USER}.
   */
  readonly maxPerUser?: number;
  /** HTTP status of a `store_unavailable` refusal. Default 503. */
  readonly storeErrorStatus?: number;
  /** Told when a binding could not be recorded or removed (the session then answers 404). */
  readonly onError?: (error: unknown) => void;
  /** Current time in milliseconds. Default `Date.now`. */
  readonly clock?: () => number;
}

type SessionUser = Pick<UserContext, 'id' | 'issuer'>;

/** Binds sessions to users and checks requests against the bindings. */
export interface SessionBinder {
  /**
   * Resolves when `sessionId` is bound to `user`.
   * @throws IdentityError `session_not_found` (unknown session, or another user's) or `store_unavailable`.
   */
  check(sessionId: string, user: SessionUser): Promise<void>;
  /**
   * Binds a session the upstream just created to the user whose request created it, ending
   * that user's oldest binding when the user holds `maxPerUser` already.
   * @throws IdentityError `store_unavailable` when a synchronous store (a full `MemoryStore`)
   * refuses the binding; an asynchronous store's failure goes to `onError`.
   */
  bind(sessionId: string, user: SessionUser): void;
  /** Ends a binding (the session was deleted, or the upstream no longer knows it). Never throws. */
  end(sessionId: string, user?: SessionUser): void;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * The binding logic over an {@link IdentityStore}: key `session:<audience>:<session id>`,
 * value {@link sessionSubject}. A binding is written once, with `setIfAbsent`, and lives
 * `ttlMs` from the session's creation. Writes still in flight in this process are awaited
 * by `check`, so a client that uses its new session at once is not refused for being fast.
 *
 * Per-user bound: the binder keeps, per subject, the session ids it bound (oldest first) with
 * their expiry. A user at `maxPerUser` live bindings who creates another loses the oldest
 * one, so one user's flood of `initialize` can only evict that user's own sessions and never
 * fills the store for everyone else.
 */
export function createSessionBinder(options: SessionBinderOptions): SessionBinder {
  const { store, audience, ttlMs, storeErrorStatus, onError } = options;
  const maxPerUser = positiveInteger(options.maxPerUser, 'maxPerUser', DEFAULT_SESSIONS_PER_USER);
  const clock = options.clock ?? Date.now;
  const keyOf = (sessionId: string): string => `session:${audience}:${sessionId}`;
  const inFlight = new Map<string, Promise<void>>();
  // subject -> (session id -> expiry in ms), both in insertion order: oldest first.
  const bySubject = new Map<string, Map<string, number>>();

  function report(error: unknown): void {
    try {
      onError?.(error);
    } catch {
      // A failing logger must not break the request that triggered it.
    }
  }

  function track(key: string, run: () => unknown): void {
    let result: unknown;
    try {
      result = run();
    } catch (error) {
      report(error);
      return;
    }
    if (!isPromiseLike(result)) return;
    const settled = Promise.resolve(result).then(
      () => undefined,
      (error: unknown) => report(error),
    );
    inFlight.set(key, settled);
    void settled.then(() => {
      if (inFlight.get(key) === settled) inFlight.delete(key);
    });
  }

  function pruneExpired(sessions: Map<string, number>, now: number): void {
    for (const [sessionId, expiry] of sessions) if (expiry <= now) sessions.delete(sessionId);
  }

  // A few subjects from the front (least recently bound) are pruned on each bind, so users
  // who never come back do not keep their index entries after their bindings expired.
  function sweepSubjects(now: number): void {
    let budget = 2;
    for (const [subject, sessions] of bySubject) {
      if (budget-- === 0) return;
      pruneExpired(sessions, now);
      if (sessions.size === 0) bySubject.delete(subject);
    }
  }

  function forget(sessionId: string, user: SessionUser | undefined): void {
    if (user !== undefined) {
      bySubject.get(sessionSubject(user))?.delete(sessionId);
      return;
    }
    for (const sessions of bySubject.values()) if (sessions.delete(sessionId)) return;
  }

  return {
    async check(sessionId, user) {
      const key = keyOf(sessionId);
      await inFlight.get(key);
      let bound: string | undefined;
      try {
        bound = await store.get(key);
      } catch (cause) {
        throw storeUnavailable(cause, 'the session store is unavailable', storeErrorStatus);
      }
      if (bound !== sessionSubject(user)) throw notFound();
    },
    bind(sessionId, user) {
      const now = clock();
      const subject = sessionSubject(user);
      sweepSubjects(now);
      const sessions = bySubject.get(subject) ?? new Map<string, number>();
      bySubject.delete(subject);
      bySubject.set(subject, sessions);
      pruneExpired(sessions, now);
      for (const oldest of sessions.keys()) {
        if (sessions.size < maxPerUser) break;
        sessions.delete(oldest);
        const oldKey = keyOf(oldest);
        track(oldKey, () => store.delete(oldKey));
      }
      const key = keyOf(sessionId);
      let result: unknown;
      try {
        result = store.setIfAbsent(key, subject, ttlMs);
      } catch (cause) {
        report(cause);
        throw storeUnavailable(cause, 'the session store is unavailable', storeErrorStatus);
      }
      sessions.set(sessionId, now + ttlMs);
      track(key, () => result);
    },
    end(sessionId, user) {
      forget(sessionId, user);
      const key = keyOf(sessionId);
      track(key, () => store.delete(key));
    },
  };
}
