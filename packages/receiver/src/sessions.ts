/**
 * The receiver's own session isolation, for deployments without the gateway's: an MCP
 * session is bound to the verified user whose request created it, and a request from
 * anyone else carrying its `Mcp-Session-Id` is answered 404 before the MCP server sees it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createSessionBinder,
  DEFAULT_SESSION_TTL_SECONDS,
  DEFAULT_SESSIONS_PER_USER,
  isRecord,
  isSessionId,
  isSessionStore,
  objectOption,
  onlyKnownKeys,
  optionKeys,
  positiveInteger,
  readSessionId,
  secondsToMs,
  SESSION_HEADER,
} from '@mcp-identity/core/internal';
import type { IdentityStore, SessionBinder, SessionOptions, UserContext } from '@mcp-identity/core/internal';

/** The `sessions` option of `verifyIdentity`: the gateway's `sessions` shape, with `store` required (off by default here). */
export interface ReceiverSessionOptions extends SessionOptions {
  /** Where the bindings are kept: a `MemoryStore` for one instance, a `RedisStore` shared by several. Required. */
  readonly store: IdentityStore;
  /** How long a binding lives from the session's creation, in seconds; then the session answers 404. Default 28 800 (8 hours). */
  readonly ttlSeconds?: number;
  /**
   * Most live sessions one user (issuer and id) holds, per process; creating one more ends
   * that user's oldest binding (it then answers 404). Default 100.
   */
  readonly maxPerUser?: number;
}

/** Every key of {@link ReceiverSessionOptions} (the compiler checks the list is complete). */
const SESSION_KEYS = optionKeys<ReceiverSessionOptions>()(['store', 'ttlSeconds', 'maxPerUser']);

/** Validates the `sessions` option; `undefined` leaves session isolation off. */
export function resolveSessionOptions(
  value: ReceiverSessionOptions | undefined,
  audience: string,
  storeErrorStatus: number,
  warn: (message: string) => void,
): SessionBinder | undefined {
  if (value === undefined) return undefined;
  const record = objectOption(value, 'sessions', '{ store, ttlSeconds?, maxPerUser? }');
  onlyKnownKeys(record, 'verifyIdentity sessions', SESSION_KEYS, { prefix: 'sessions.' });
  const { store } = record;
  if (!isSessionStore(store))
    throw new TypeError('sessions.store must implement setIfAbsent, get and delete (a MemoryStore or RedisStore)');
  return createSessionBinder({
    store,
    audience,
    ttlMs: secondsToMs(positiveInteger(value.ttlSeconds, 'sessions.ttlSeconds', DEFAULT_SESSION_TTL_SECONDS)),
    maxPerUser: positiveInteger(value.maxPerUser, 'sessions.maxPerUser', DEFAULT_SESSIONS_PER_USER),
    storeErrorStatus,
    onError: () => warn('mcp-identity: a session binding could not be written (the session store failed); the session will answer 404'),
  });
}

/** The session id a `writeHead(status, [reason,] headers)` call sets, if any. */
function sessionIdIn(args: readonly unknown[]): unknown {
  const headers = typeof args[0] === 'string' ? args[1] : args[0];
  if (Array.isArray(headers)) {
    // Node also takes a flat `[name, value, name, value, ...]` list.
    const list = headers as unknown[];
    const found: unknown[] = [];
    for (let i = 0; i + 1 < list.length; i += 2) {
      const name = list[i];
      if (typeof name === 'string' && name.toLowerCase() === SESSION_HEADER) found.push(list[i + 1]);
    }
    return found.length > 1 ? found : found[0];
  }
  if (isRecord(headers)) {
    for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() === SESSION_HEADER) return value;
  }
  return undefined;
}

type WriteHead = (this: ServerResponse, statusCode: number, ...rest: unknown[]) => ServerResponse;

// The binding is written when the response head is, before the client can learn the
// session id: every way of sending a response goes through `writeHead` (`write` and `end`
// call it implicitly), and the MCP SDK passes the header to it. A synchronous store (the
// MemoryStore) holds the binding by then; an asynchronous one is still writing it, and a
// request using the session meanwhile waits for that write (in this process) or, at another
// instance, may be answered 404 — refused, never let through.
function onNewSession(res: ServerResponse, bind: (sessionId: string) => void): void {
  // Called with `this`, as Node calls it.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const original = res.writeHead as unknown as WriteHead;
  let seen = false;
  const writeHeadWithSession: WriteHead = function (statusCode, ...rest) {
    if (!seen) {
      seen = true;
      const fromArgs = sessionIdIn(rest);
      const sessionId = fromArgs === undefined ? res.getHeader(SESSION_HEADER) : fromArgs;
      if (statusCode >= 200 && statusCode < 300 && isSessionId(sessionId)) bind(sessionId);
    }
    return original.call(this, statusCode, ...rest);
  };
  res.writeHead = writeHeadWithSession;
}

/** Removes `Mcp-Session-Id` (any spelling) from a request before the MCP server reads it. */
export function deleteSessionHeader(req: IncomingMessage): void {
  for (const name of Object.keys(req.headers)) if (name.replaceAll('_', '-') === SESSION_HEADER) Reflect.deleteProperty(req.headers, name);
}

/**
 * Checks a verified request against the session bindings: a request carrying a session id
 * must come from the user the session is bound to; a request without one may create a
 * session, which is then bound to its user; a successful `DELETE` ends the binding.
 * @throws IdentityError `session_not_found` (404) or `store_unavailable`.
 */
export async function guardSession(req: IncomingMessage, res: ServerResponse, user: UserContext, sessions: SessionBinder): Promise<void> {
  const sessionId = readSessionId(req.rawHeaders);
  if (sessionId === undefined) {
    onNewSession(res, (id) => {
      try {
        sessions.bind(id, user);
      } catch {
        // Already reported to the logger; the MCP server's response is on its way, and the
        // session will answer 404 (refused, never let through).
      }
    });
    return;
  }
  await sessions.check(sessionId, user);
  res.once('finish', () => {
    // The session is this user's: released when deleted, or when the MCP server no longer knows it.
    if ((req.method === 'DELETE' && res.statusCode >= 200 && res.statusCode < 300) || res.statusCode === 404) sessions.end(sessionId, user);
  });
}
