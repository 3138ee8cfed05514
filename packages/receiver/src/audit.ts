/**
 * The receiver's audit events: one per request, `accepted` (the handler runs next) or
 * `refused` with the reason code. A refusal after the signature checked out (binding,
 * replay, policy) still names the verified subject and the `jti`.
 */
import { auditPath, auditUserFields, clientRequestIdField, isIdentityError, requestIdOf, rpcSummaryOf } from '@mcp-identity/core/internal';
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
  return {
    time: new Date(clock()).toISOString(),
    requestId,
    ...clientRequestIdField(req, requestId),
    component: 'receiver',
    decision: refused ? 'refused' : 'accepted',
    ...(isIdentityError(error) ? { reason: error.code } : {}),
    ...(refused && res.headersSent ? { status: res.statusCode } : {}),
    audience,
    method: req.method,
    path: auditPath(req.originalUrl),
    // The receiver leaves the parsed JSON body in req.body (or a parser in front did).
    ...rpcSummaryOf(req.body),
    ...auditUserFields(assertion?.user ?? outcome.user),
    ...(assertion === undefined ? {} : { jti: assertion.jti }),
  };
}
