/**
 * Real MCP servers behind `verifyIdentity`, on SDK v1 (`@modelcontextprotocol/sdk`, a fresh
 * stateless transport per request) and SDK v2 (`@modelcontextprotocol/server`'s dual-era
 * `createMcpHandler`), with `propagateIdentity` in front, all on 127.0.0.1.
 */
import { Readable } from 'node:stream';
import express from 'express';
import type { Request, RequestHandler, Response } from 'express';
import { McpServer as McpServerV1 } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpHandler, McpServer as McpServerV2 } from '@modelcontextprotocol/server';
import type { McpRequestContext } from '@modelcontextprotocol/server';
import { propagateIdentity } from '@mcp-identity/gateway';
import type { PropagateIdentityOptions, UserContext } from '@mcp-identity/gateway';
import { listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';
import { getUser, verifyIdentity } from '../src/index.js';
import type { ReceivedUser, VerifyIdentityOptions } from '../src/index.js';
import { AUDIENCE, ISSUER, noAudit, SECRET } from './helpers.js';

/** What a tool handler saw: the user `getUser` found, and the request's era as the SDK served it. */
export interface Seen {
  /** `getUser` given the handler's whole second argument. */
  readonly user: ReceivedUser | undefined;
  /** `getUser` given only the auth info part (`authInfo`, or v2's `http`). */
  readonly viaAuth: ReceivedUser | undefined;
  /** `getUser` given only the `_meta` part (`_meta`, or v2's `mcpReq`). */
  readonly viaMeta: ReceivedUser | undefined;
  /** The era the SDK v2 server served the request in. */
  readonly era?: string;
}

/** Receiver options with the real clock, for requests signed by a real gateway. */
export function liveReceiverOptions(overrides: Partial<VerifyIdentityOptions> = {}): VerifyIdentityOptions {
  return { audience: AUDIENCE, issuer: ISSUER, secrets: [{ secret: SECRET }], audit: noAudit, ...overrides };
}

/** An SDK v1 server: a fresh McpServer and stateless transport per request (a shared stateless transport serves one request only). */
export function sdkV1Handler(seen: Seen[]): RequestHandler {
  return async function sdkV1(req: Request, res: Response) {
    const server = new McpServerV1({ name: 'notes-v1', version: '1.0.0' });
    server.registerTool('whoami', { description: 'Who am I?' }, (extra) => {
      seen.push({ user: getUser(extra), viaAuth: getUser({ authInfo: extra.authInfo }), viaMeta: getUser({ _meta: extra._meta }) });
      return { content: [{ type: 'text', text: getUser(extra)?.id ?? 'anonymous' }] };
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  };
}

/** An SDK v2 dual-era server (`createMcpHandler`), adapted to Express: the verified `req.auth` is its `authInfo`. */
export function sdkV2Handler(seen: Seen[]): RequestHandler {
  const handler = createMcpHandler((context: McpRequestContext) => {
    const server = new McpServerV2({ name: 'notes-v2', version: '1.0.0' });
    server.registerTool('whoami', { description: 'Who am I?' }, (ctx) => {
      seen.push({ user: getUser(ctx), viaAuth: getUser({ http: ctx.http }), viaMeta: getUser({ mcpReq: ctx.mcpReq }), era: context.era });
      return { content: [{ type: 'text', text: getUser(ctx)?.id ?? 'anonymous' }] };
    });
    return server;
  });
  return async function sdkV2(req: Request, res: Response) {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || name === 'content-length' || name === 'transfer-encoding') continue;
      headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const request = new globalThis.Request(`http://${req.headers.host ?? '127.0.0.1'}${req.originalUrl}`, { method: req.method, headers });
    const response = await handler.fetch(request, { ...(req.auth === undefined ? {} : { authInfo: req.auth }), parsedBody: req.body });
    res.status(response.status);
    response.headers.forEach((value, name) => res.setHeader(name, value));
    if (response.body === null) res.end();
    else Readable.fromWeb(response.body).pipe(res);
  };
}

/** `verifyIdentity` in front of an MCP handler at `/mcp`. */
export async function startReceiver(handler: RequestHandler, options: Partial<VerifyIdentityOptions> = {}): Promise<Running> {
  const app = express();
  app.all('/mcp', verifyIdentity(liveReceiverOptions(options)), handler);
  return listen(app);
}

export const bob: UserContext = Object.freeze({
  id: 'bob@corp',
  groups: [],
  teams: [],
  roles: ['reader'],
  isAdmin: false,
  authMethod: 'jwt',
  attributes: {},
});

/** The gateway: a fixed user, then `propagateIdentity` mounted at `/mcp/notes`, targeting the receiver's `/mcp`. */
export async function startGatewayFor(receiver: Running, options: Partial<PropagateIdentityOptions> = {}): Promise<Running> {
  const app = express();
  app.use((req, _res, next) => {
    req.userContext = bob;
    next();
  });
  app.use(
    '/mcp/notes',
    propagateIdentity({
      target: `${receiver.url}/mcp`,
      audience: AUDIENCE,
      issuer: ISSUER,
      signing: { secret: SECRET },
      audit: noAudit,
      ...options,
    }),
  );
  return listen(app);
}
