/**
 * The example upstream API: a tiny ticket service that accepts only access tokens issued by the
 * authorization server for its own audience (verified with the server's JWKS), and answers as
 * the token's subject. MCP tools behind the gateway call it with the token the gateway
 * exchanged for the user.
 */
import express from 'express';
import type { Express } from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';

/** Options of {@link createTicketsApi}. */
export interface TicketsApiOptions {
  /** The authorization server's issuer; its keys are read from `${issuer}/jwks` unless `jwksUri` is given. */
  readonly issuer: string;
  readonly jwksUri?: string;
  /** This API's audience: tokens must carry it in `aud`. */
  readonly audience: string;
}

const TICKETS: Readonly<Record<string, readonly string[]>> = {
  alice: ['ALICE-1: renew the certificate', 'ALICE-2: review the rota'],
  bob: ['BOB-1: fix the printer'],
};

/** Builds the API (`GET /tickets`, bearer token with `tickets:read`). */
export function createTicketsApi(options: TicketsApiOptions): Express {
  const keys = createRemoteJWKSet(new URL(options.jwksUri ?? `${options.issuer}/jwks`));
  const app = express();
  app.disable('x-powered-by');
  app.get('/tickets', async (req, res) => {
    const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(req.headers.authorization ?? '');
    try {
      if (match === null) throw new Error('no bearer token');
      const { payload } = await jwtVerify(match[1] as string, keys, { issuer: options.issuer, audience: options.audience, typ: 'at+jwt' });
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
      if (!scopes.includes('tickets:read')) {
        res.status(403).json({ error: 'insufficient_scope' });
        return;
      }
      const sub = String(payload.sub);
      const act = payload.act as { sub?: unknown } | undefined;
      res.json({ owner: sub, actor: typeof act?.sub === 'string' ? act.sub : null, tickets: TICKETS[sub] ?? [] });
    } catch {
      res.status(401).set('www-authenticate', 'Bearer error="invalid_token"').json({ error: 'invalid_token' });
    }
  });
  return app;
}
