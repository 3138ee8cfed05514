/**
 * The gateway's audit events: one per request `authenticate` refuses, and one per request
 * `propagateIdentity` handles, emitted when its response ends (forwarded, with the
 * upstream's status and the latency, or refused, with the reason).
 */
import type { IncomingMessage } from 'node:http';
import {
  auditPath,
  auditUserFields,
  clientRequestIdField,
  isRecord,
  normalizeUserContext,
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
import type { Plugin } from 'http-proxy-middleware';
import type { Request, Response } from 'express';
import type { IdentityProxyParts } from './plugin.js';

/** The user an event names: the normalized `req.userContext`, or none when it is absent or invalid. */
function userOf(req: Request): UserContext | undefined {
  if (req.userContext === undefined) return undefined;
  try {
    return normalizeUserContext(req.userContext);
  } catch {
    return undefined;
  }
}

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

/** What the audit needs of the policy guard. */
export interface AuditedPolicy {
  records(req: IncomingMessage): readonly PolicyAuditRecord[] | undefined;
  refused(req: IncomingMessage): boolean;
}

/** Builds an event, its fields in the documented order. */
function gatewayEvent(req: Request, res: Response, clock: () => number, parts: EventParts): AuditEvent {
  const requestId = requestIdOf(req);
  return {
    time: new Date(clock()).toISOString(),
    requestId,
    ...clientRequestIdField(req, requestId),
    component: 'gateway',
    decision: parts.decision,
    ...(parts.reason === undefined ? {} : { reason: parts.reason }),
    ...(res.headersSent ? { status: res.statusCode } : {}),
    ...(parts.audience === undefined ? {} : { audience: parts.audience }),
    method: req.method,
    path: auditPath(req.originalUrl),
    ...rpcSummaryOf(parts.body),
    ...auditUserFields(parts.user),
    ...(parts.jti === undefined ? {} : { jti: parts.jti }),
    ...(parts.upstreamStatus === undefined ? {} : { upstreamStatus: parts.upstreamStatus }),
    ...(parts.latencyMs === undefined ? {} : { latencyMs: parts.latencyMs }),
    ...(parts.policy === undefined ? {} : { policy: parts.policy }),
    ...(parts.tokenExchange === undefined ? {} : { tokenExchange: parts.tokenExchange }),
  };
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
  /** Records each upstream response's status. */
  readonly plugin: Plugin;
  /** Starts auditing a request: its event is emitted once, when the response ends. */
  begin(req: Request, res: Response): void;
}

/** Builds the audit of one upstream. */
export function createProxyAudit(
  audience: string,
  parts: IdentityProxyParts,
  emit: EmitAudit,
  clock: () => number,
  policy?: AuditedPolicy,
): ProxyAudit {
  const upstreamStatus = new WeakMap<IncomingMessage, number>();

  const plugin: Plugin = function mcpIdentityAuditPlugin(proxyServer) {
    proxyServer.on('proxyRes', (proxyRes: IncomingMessage, req: IncomingMessage) => {
      if (proxyRes.statusCode !== undefined) upstreamStatus.set(req, proxyRes.statusCode);
    });
  };

  function begin(req: Request, res: Response): void {
    const start = clock();
    res.once('close', () => {
      const prepared = parts.prepared.get(req);
      // A request the policy denied whole was answered by the gateway: refused, `forbidden`.
      const reason = refusalOf(res) ?? (policy?.refused(req) === true ? 'forbidden' : undefined);
      const jti = parts.signed.get(req);
      emit(
        gatewayEvent(req, res, clock, {
          decision: reason === undefined && jti !== undefined ? 'forwarded' : 'refused',
          reason,
          audience,
          body: prepared?.rpc?.value ?? parsedBody(req),
          user: prepared?.user ?? userOf(req),
          jti,
          upstreamStatus: upstreamStatus.get(req),
          latencyMs: Math.max(0, clock() - start),
          policy: policy?.records(req),
          tokenExchange: prepared?.delegated?.audit,
        }),
      );
    });
  }

  return { plugin, begin };
}
