/**
 * The gateway's audit events: one per request `authenticate` refuses, and one per request
 * `propagateIdentity` handles, emitted when its response ends (forwarded, with the
 * upstream's status and the latency, or refused, with the reason).
 */
import {
  auditPath,
  auditTime,
  auditUserFields,
  clientRequestIdFor,
  isRecord,
  refusalOf,
  requestIdOf,
  rpcSummaryOf,
} from '@mcp-identity/core/internal';
import type {
  AuditEvent,
  EmitAudit,
  IdentityErrorCode,
  PolicyAuditRecord,
  TokenExchangeAuditRecord,
  UserContext,
} from '@mcp-identity/core/internal';
import type { Request, Response } from 'express';
import { deniedWhole, policyRecords } from './policy/guard.js';
import { normalizedUserOf } from './prepare.js';
import type { RequestState } from './request-state.js';

/** A parsed body a body parser left in `req.body`, when it looks like JSON. */
function parsedBody(req: Request): unknown {
  const body: unknown = req.body;
  return isRecord(body) || Array.isArray(body) ? body : undefined;
}

/** The parts of an event that differ between `authenticate` and `propagateIdentity`. */
interface EventParts {
  readonly decision: AuditEvent['decision'];
  readonly reason?: IdentityErrorCode | undefined;
  readonly audience?: string;
  readonly body: unknown;
  readonly user: UserContext | undefined;
  readonly jti?: string | undefined;
  readonly upstreamStatus?: number | undefined;
  readonly latencyMs?: number;
  readonly policy?: readonly PolicyAuditRecord[] | undefined;
  readonly tokenExchange?: TokenExchangeAuditRecord | undefined;
}

/** Builds an event, its fields in the documented order: field by field, without an object per optional field. */
function gatewayEvent(req: Request, res: Response, clock: () => number, parts: EventParts): AuditEvent {
  const requestId = requestIdOf(req);
  const event: { -readonly [K in keyof AuditEvent]: AuditEvent[K] } = { time: auditTime(clock()), requestId } as AuditEvent;
  const client = clientRequestIdFor(req, requestId);
  if (client !== undefined) event.clientRequestId = client;
  event.component = 'gateway';
  event.decision = parts.decision;
  if (parts.reason !== undefined) event.reason = parts.reason;
  if (res.headersSent) event.status = res.statusCode;
  if (parts.audience !== undefined) event.audience = parts.audience;
  event.method = req.method;
  event.path = auditPath(req.originalUrl);
  Object.assign(event, rpcSummaryOf(parts.body));
  if (parts.user !== undefined) Object.assign(event, auditUserFields(parts.user));
  if (parts.jti !== undefined) event.jti = parts.jti;
  if (parts.upstreamStatus !== undefined) event.upstreamStatus = parts.upstreamStatus;
  if (parts.latencyMs !== undefined) event.latencyMs = parts.latencyMs;
  if (parts.policy !== undefined) event.policy = parts.policy;
  if (parts.tokenExchange !== undefined) event.tokenExchange = parts.tokenExchange;
  return event;
}

/** The event of a request `authenticate` refused (after the refusal was written). */
export function authenticationRefusal(
  req: Request,
  res: Response,
  reason: IdentityErrorCode,
  clock: () => number,
  user?: UserContext,
): AuditEvent {
  return gatewayEvent(req, res, clock, { decision: 'refused', reason, body: parsedBody(req), user });
}

/** Audit for one `propagateIdentity`. */
export interface ProxyAudit {
  /** Starts auditing a request: its event is emitted once, when the response ends, from the request's state. */
  begin(req: Request, res: Response, state: RequestState): void;
}

/** Audit turned off (`audit: false` without `metrics`): nothing is listened for or built. */
const NO_AUDIT: ProxyAudit = { begin: () => undefined };

/** Builds the audit of one upstream; emits nothing when `emit` is undefined. */
export function createProxyAudit(audience: string, emitter: EmitAudit | undefined, clock: () => number): ProxyAudit {
  if (emitter === undefined) return NO_AUDIT;
  const emit = emitter;
  function begin(req: Request, res: Response, state: RequestState): void {
    const start = clock();
    res.once('close', () => {
      const { prepared, jti } = state;
      // A request the policy denied whole was answered by the gateway: refused, `forbidden`.
      const reason = refusalOf(res) ?? (deniedWhole(state) ? 'forbidden' : undefined);
      emit(
        gatewayEvent(req, res, clock, {
          decision: reason === undefined && jti !== undefined ? 'forwarded' : 'refused',
          reason,
          audience,
          // A request denied whole forwarded nothing: its event names what the client asked for.
          body: prepared?.rpc?.value ?? prepared?.received?.value ?? parsedBody(req),
          user: prepared?.user ?? normalizedUserOf(req),
          jti,
          upstreamStatus: state.upstreamStatus,
          latencyMs: Math.max(0, clock() - start),
          policy: policyRecords(state),
          tokenExchange: state.delegated?.audit,
        }),
      );
    });
  }

  return { begin };
}
