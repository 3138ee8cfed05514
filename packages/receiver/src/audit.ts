/**
 * The receiver's audit events: one per request, `accepted` (the handler runs next) or
 * `refused` with the reason code. A refusal after the signature checked out (binding,
 * replay, policy) still names the verified subject and the `jti`.
 */
import {
  auditPath,
  auditTime,
  auditUserFields,
  clientRequestIdFor,
  isIdentityError,
  requestIdOf,
  rpcSummaryOf,
} from '@mcp-identity/core/internal';
import type { AuditEvent, UserContext, VerifiedAssertion } from '@mcp-identity/core/internal';
import type { Request, Response } from 'express';

/** Builds the event of one request, after its answer (for a refusal) was written. */
export function receiverEvent(
  req: Request,
  res: Response,
  audience: string,
  clock: () => number,
  outcome: {
    /** The verified assertion, when verification got that far. */
    readonly assertion?: VerifiedAssertion | undefined;
    /** The accepted user (a ContextForge legacy request has no assertion). */
    readonly user?: UserContext;
    /** Set for a refusal: what refused the request. */
    readonly refusal?: { readonly error: unknown };
  },
): AuditEvent {
  const { assertion, refusal } = outcome;
  const refused = refusal !== undefined;
  const error = refusal?.error;
  const requestId = requestIdOf(req);
  // Built field by field, in the order of the JSON line, without intermediate objects: one per request.
  const event: { -readonly [K in keyof AuditEvent]: AuditEvent[K] } = { time: auditTime(clock()), requestId } as AuditEvent;
  const client = clientRequestIdFor(req, requestId);
  if (client !== undefined) event.clientRequestId = client;
  event.component = 'receiver';
  event.decision = refused ? 'refused' : 'accepted';
  if (isIdentityError(error)) event.reason = error.code;
  if (refused && res.headersSent) event.status = res.statusCode;
  event.audience = audience;
  event.method = req.method;
  event.path = auditPath(req.originalUrl);
  // The receiver leaves the parsed JSON body in req.body (or a parser in front did).
  Object.assign(event, rpcSummaryOf(req.body));
  const user = assertion?.user ?? outcome.user;
  if (user !== undefined) Object.assign(event, auditUserFields(user));
  if (assertion !== undefined) event.jti = assertion.jti;
  return event;
}
