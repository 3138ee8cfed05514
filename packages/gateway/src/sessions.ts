/**
 * Session isolation at the gateway: the `Mcp-Session-Id` an upstream returns to a request
 * without one is bound to that request's user (issuer and id); every later request
 * carrying it must come from the same user, or it is answered 404 and never forwarded.
 */
import type { IncomingMessage } from 'node:http';
import {
  createSessionBinder,
  DEFAULT_SESSION_TTL_SECONDS,
  DEFAULT_SESSIONS_PER_USER,
  IdentityError,
  isSessionId,
  isSessionStore,
  MemoryStore,
  normalizeUserContext,
  positiveInteger,
  readSessionId,
  secondsToMs,
  SESSION_HEADER,
} from '@mcp-identity/core/internal';
import type { IdentityStore, LoggerLike, McpEra, SessionBinder, UserContext } from '@mcp-identity/core/internal';
import type { GatewayRequest } from './prepare.js';
import { optionName } from './option-names.js';
import type { OptionNames } from './option-names.js';
import type { RequestStates } from './request-state.js';

/** The session options of `propagateIdentity` and `identityPlugin`. */
export interface SessionOptions {
  readonly audience: string;
  readonly sessionStore?: IdentityStore | false;
  readonly sessionTtlSeconds?: number;
  readonly maxSessionsPerUser?: number;
  readonly clock?: () => number;
}

/** The message logged for a session-store failure: the error's message, never a session id or token. */
function storeWarning(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message.slice(0, 200)}` : '';
  const message = error instanceof Error ? error.message.slice(0, 200) : 'unknown error';
  return `mcp-identity: the session store failed (${message}${cause}); the session will answer 404`;
}

/** Validates the session options: a binder, or `undefined` when `sessionStore` is `false`. */
export function resolveSessionOptions(
  options: SessionOptions,
  logger: LoggerLike = console,
  names?: OptionNames,
): SessionBinder | undefined {
  const ttlSeconds = positiveInteger(options.sessionTtlSeconds, optionName(names, 'sessionTtlSeconds'), DEFAULT_SESSION_TTL_SECONDS);
  const maxPerUser = positiveInteger(options.maxSessionsPerUser, optionName(names, 'maxSessionsPerUser'), DEFAULT_SESSIONS_PER_USER);
  if (options.sessionStore === false) return undefined;
  const store =
    options.sessionStore === undefined
      ? new MemoryStore(options.clock === undefined ? {} : { clock: options.clock })
      : options.sessionStore;
  if (!isSessionStore(store))
    throw new TypeError(
      `${optionName(names, 'sessionStore')} must implement setIfAbsent, get and delete (a MemoryStore or RedisStore), or be false`,
    );
  return createSessionBinder({
    store,
    audience: options.audience,
    ttlMs: secondsToMs(ttlSeconds),
    maxPerUser,
    onError: (error) => logger.warn(storeWarning(error)),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
}

/** Per-request session work, for the proxy middleware and the plugin. */
export interface SessionGuard {
  /**
   * Checks the session id the request carries (if any) against its user, and remembers the
   * request for {@link SessionGuard.onResponse}. A modern (2026-07-28) request has no session:
   * its `Mcp-Session-Id` is not checked, and no session id its response carries is bound.
   * @throws IdentityError `unauthenticated`, `session_not_found` or `store_unavailable`.
   */
  check(req: GatewayRequest, era?: McpEra): Promise<void> | undefined;
  /** True once {@link SessionGuard.check} passed for the request. */
  checked(req: IncomingMessage): boolean;
  /**
   * On the upstream's response, before it reaches the client: binds a new session, or ends one
   * that was deleted (2xx to `DELETE`) or that the upstream no longer knows (404).
   * @throws IdentityError `store_unavailable` when the new session could not be bound (a full
   * `MemoryStore`): the response must not reach the client with a session id that cannot work.
   */
  onResponse(proxyRes: IncomingMessage, req: IncomingMessage): void;
}

/** What a passed session check found, kept in the request's state for the response. */
export interface SessionCheck {
  readonly sessionId: string | undefined;
  readonly user: UserContext;
  readonly modern: boolean;
}

/** Builds the guard for a binder; each check's outcome is kept in the request's state. */
export function createSessionGuard(binder: SessionBinder, states: RequestStates): SessionGuard {
  return {
    // Synchronous unless a session id must be looked up: most requests cost no extra tick.
    check(req, era = 'legacy') {
      if (req.userContext === undefined) return Promise.reject(new IdentityError('unauthenticated', 'the request is not authenticated'));
      // The whole user, before `claims` selects what the upstream sees: `issuer` is part of the subject.
      let user: UserContext;
      let sessionId: string | undefined;
      try {
        user = normalizeUserContext(req.userContext);
        if (era === 'modern') {
          states.of(req).session = { sessionId: undefined, user, modern: true };
          return undefined;
        }
        sessionId = readSessionId(req.rawHeaders);
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      if (sessionId === undefined) {
        states.of(req).session = { sessionId, user, modern: false };
        return undefined;
      }
      return binder.check(sessionId, user).then(() => {
        states.of(req).session = { sessionId, user, modern: false };
      });
    },
    checked: (req) => states.get(req)?.session !== undefined,
    onResponse(proxyRes, req) {
      const state = states.get(req)?.session;
      const status = proxyRes.statusCode ?? 0;
      if (state === undefined || state.modern) return;
      // The check passed: the session is this user's, so only its owner can release it.
      if (state.sessionId !== undefined && status === 404) {
        binder.end(state.sessionId, state.user);
        return;
      }
      if (status < 200 || status > 299) return;
      if (state.sessionId === undefined) {
        const created = proxyRes.headers[SESSION_HEADER];
        if (isSessionId(created)) binder.bind(created, state.user);
      } else if (req.method === 'DELETE') {
        binder.end(state.sessionId, state.user);
      }
    },
  };
}
