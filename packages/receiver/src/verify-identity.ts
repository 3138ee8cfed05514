import { adoptRequestId, createAuditEmitter, isIdentityError, writeIdentityError } from '@mcp-identity/core/internal';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { receiverEvent } from './audit.js';
import { createAuthInfo } from './auth-info.js';
import { resolveReceiverOptions } from './options.js';
import { resolvePolicy } from './policy.js';
import { deleteSessionHeader, guardSession } from './sessions.js';
import { rememberVerified } from './verified-registry.js';
import { verifyRequest } from './verify-request.js';
import type { ReceiverOptions, VerifyIdentityOptions } from './options.js';
import type { VerificationProgress } from './verify-request.js';

/**
 * The receiver middleware for an MCP server behind the gateway. It verifies the signed
 * assertion (from the header or JSON-RPC `_meta`), refuses everything unverified with 401
 * and a JSON-RPC error, applies the upstream's policy (403 `identity_forbidden`), and
 * exposes the user as `req.user` and `req.auth` (the MCP SDK's `AuthInfo`, which tool
 * handlers get as `extra.authInfo`). The parsed JSON body is left in `req.body`: pass it on
 * with `transport.handleRequest(req, res, req.body)`. Each request is audited as accepted
 * or refused.
 *
 * Options come grouped ({@link ReceiverOptions}: one `keys` choice, `replay`, `sessions`,
 * `policy`) or in the older flat form ({@link VerifyIdentityOptions}), which keeps working.
 * @param options - Audience, issuer, one `keys` choice and the optional `replay`, `sessions`, `policy`, audit and metrics (or the older flat form).
 * @returns The Express middleware.
 * @example
 * app.post('/mcp', verifyIdentity({ audience: 'urn:mcp:files', issuer: 'https://gateway.example', keys: { secrets: [{ secret }] } }),
 *   (req, res) => transport.handleRequest(req, res, req.body));
 */
export function verifyIdentity(options: ReceiverOptions | VerifyIdentityOptions): RequestHandler {
  const config = resolveReceiverOptions(options);
  const checkPolicy = resolvePolicy(options);
  const emit = createAuditEmitter(options);
  const { audience } = options;
  return async function verifyIdentityMiddleware(req: Request, res: Response, next: NextFunction): Promise<void> {
    const progress: VerificationProgress = {};
    let verified;
    try {
      verified = await verifyRequest(req, config, progress);
      // Only a request that verified completely (signature, binding, fresh jti) takes the gateway's id.
      adoptRequestId(req, verified.assertion?.claims.request_id);
      // After the replay check: a refused assertion is spent, like an accepted one.
      if (checkPolicy !== undefined) await checkPolicy(verified.user, req, verified.assertion?.claims);
      // The stateless revision has no sessions: a modern request's session id is neither checked
      // nor passed on, and nothing its response carries is bound.
      if (verified.era === 'modern') deleteSessionHeader(req);
      else if (config.sessions !== undefined) await guardSession(req, res, verified.user, config.sessions);
    } catch (error) {
      if (isIdentityError(error)) writeIdentityError(res, error);
      else next(error);
      // With audit off, no event is built.
      emit?.(receiverEvent(req, res, audience, config.clock, { assertion: progress.assertion, refusal: { error } }));
      return;
    }
    const { user, credential, issuer, expiresAt, delegatedToken } = verified;
    req.user = user;
    // With a delegated token, `req.auth.token` (the SDK's `authInfo.token`) is that token: tool code calls its API with it.
    req.auth = createAuthInfo(delegatedToken ?? credential, issuer, expiresAt, user);
    // Only an assertion carried in `_meta` can be met there by getUser.
    if (verified.inMeta) rememberVerified(credential, user, res);
    emit?.(receiverEvent(req, res, audience, config.clock, { assertion: verified.assertion, user }));
    next();
  };
}
