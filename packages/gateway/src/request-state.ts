/**
 * What the gateway knows of one request while it handles it, in one object: the proxy
 * middleware creates it, and the identity plugin, the policy guard and the audit read and fill
 * it in. One lookup per step instead of one map per fact.
 */
import type { IncomingMessage } from 'node:http';
import type { UserContext } from '@mcp-identity/core/internal';
import type { PolicyOutcome } from './policy/enforce.js';
import type { PreparedRequest } from './prepare.js';
import type { SessionCheck } from './sessions.js';
import type { DelegatedToken } from './token-exchange/exchanger.js';

/** One request's state at one upstream. */
export interface RequestState {
  /** The request ready to forward (body read, `_meta` rewritten); undefined until prepared. */
  prepared: PreparedRequest | undefined;
  /** True once the gateway answered the request itself with a refusal: nothing more is sent. */
  refused: boolean;
  /** The `jti` of the assertion signed for it (the audit's proof it was forwarded). */
  jti: string | undefined;
  /** The upstream's response status. */
  upstreamStatus: number | undefined;
  /** What the policy made of the body; undefined without a policy (or before it decided). */
  policy: PolicyOutcome | undefined;
  /** The whole normalized user the policy decided for: list responses are filtered for them. */
  policyUser: UserContext | undefined;
  /** The token exchanged for this upstream (token exchange only). */
  delegated: DelegatedToken | undefined;
  /** The session check's outcome, once it passed (session isolation on). */
  session: SessionCheck | undefined;
}

/** The states of the requests one upstream is handling, held no longer than the requests. */
export class RequestStates {
  readonly #states = new WeakMap<IncomingMessage, RequestState>();

  /** The request's state, or undefined when the gateway has not started on it. */
  get(req: IncomingMessage): RequestState | undefined {
    return this.#states.get(req);
  }

  /** The request's state, created empty on first use. */
  of(req: IncomingMessage): RequestState {
    let state = this.#states.get(req);
    if (state === undefined) {
      // Every member present from the start: one object shape for all requests.
      state = {
        prepared: undefined,
        refused: false,
        jti: undefined,
        upstreamStatus: undefined,
        policy: undefined,
        policyUser: undefined,
        delegated: undefined,
        session: undefined,
      };
      this.#states.set(req, state);
    }
    return state;
  }
}
