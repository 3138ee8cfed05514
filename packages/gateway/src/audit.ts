/**
 * The gateway's audit events: one per request `authenticate` refuses, and one per request
 * `propagateIdentity` handles, emitted when its response ends (forwarded, with the
 * upstream's status and the latency, or refused, with the reason).
 */
import type { IncomingMessage } from 'node:http';
import { auditPath, auditUserFields, isRecord, normalizeUserContext, refusalOf, requestIdOf, rpcSummaryOf } from '@mcp-identity/core';
import type { AuditEvent, EmitAudit, IdentityErrorCode, UserContext } from '@mcp-identity/core';
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

function common(req: Request, res: Response, clock: () => number): Omit<AuditEvent, 'decision'> {
  return {
    time: new Date(clock()).toISOString(),
    requestId: requestIdOf(req),
    component: 'gateway',
    ...(res.headersSent ? { status: res.statusCode } : {}),
    method: req.method,
    path: auditPath(req.originalUrl),
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
  return {
    ...common(req, res, clock),
    decision: 'refused',
    reason,
    ...rpcSummaryOf(parsedBody(req)),
    ...auditUserFields(user),
  };
}

/** Audit for one `propagateIdentity`. */
export interface ProxyAudit {
  /** Records each upstream response's status. */
  readonly plugin: Plugin;
  /** Starts auditing a request: its event is emitted once, when the response ends. */
  begin(req: Request, res: Response): void;
}

/** Builds the audit of one upstream. */
export function createProxyAudit(audience: string, parts: IdentityProxyParts, emit: EmitAudit, clock: () => number): ProxyAudit {
  const upstreamStatus = new WeakMap<IncomingMessage, number>();

  const plugin: Plugin = function mcpIdentityAuditPlugin(proxyServer) {
    proxyServer.on('proxyRes', (proxyRes: IncomingMessage, req: IncomingMessage) => {
      if (proxyRes.statusCode !== undefined) upstreamStatus.set(req, proxyRes.statusCode);
    });
  };

  function begin(req: Request, res: Response): void {
    const start = clock();
    // The upstream gets the same id, so its receiver's events line up with ours.
    req.headers['x-request-id'] = requestIdOf(req);
    res.once('close', () => {
      const prepared = parts.prepared.get(req);
      const reason = refusalOf(res);
      const jti = parts.signed.get(req);
      const status = upstreamStatus.get(req);
      emit({
        ...common(req, res, clock),
        decision: reason === undefined && jti !== undefined ? 'forwarded' : 'refused',
        ...(reason === undefined ? {} : { reason }),
        audience,
        ...rpcSummaryOf(prepared?.rpc?.value ?? parsedBody(req)),
        ...auditUserFields(prepared?.user ?? userOf(req)),
        ...(jti === undefined ? {} : { jti }),
        ...(status === undefined ? {} : { upstreamStatus: status }),
        latencyMs: Math.max(0, clock() - start),
      });
    });
  }

  return { plugin, begin };
}
