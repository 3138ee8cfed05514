/**
 * The token-exchange part of the demo, self-contained on loopback: the example authorization
 * server with the token-exchange grant, the tickets API (accepts only tokens for its own
 * audience), a `tickets` MCP server whose `my_tickets` tool calls that API as the user, and a
 * gateway mount that exchanges each OAuth user's token for one for the API (RFC 8693).
 */
import express from 'express';
import { Passport } from 'passport';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { authenticate, OAuthTokenStrategy, propagateIdentity, protectedResource, protectedResourceMetadata } from '@mcp-identity/gateway';
import type { AuditSink } from '@mcp-identity/gateway';
import { getUser, verifyIdentity } from '@mcp-identity/receiver';
import { demoUsers } from '@mcp-identity/example-gateway';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startAuthorizationServer } from './authorization-server.js';
import type { AuthorizationServer } from './authorization-server.js';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { connectWithOAuth, DemoOAuthProvider, signIn } from './oauth-client.js';
import { createTicketsApi } from './tickets-api.js';
import type { DemoStep } from './demo.js';

/** The audience of the tickets API at the authorization server. */
export const TICKETS_API_AUDIENCE = 'urn:example:tickets';
const GATEWAY_ISSUER = 'urn:example:gateway';
const TICKETS_AUDIENCE = 'urn:example:mcp:tickets';

/** A running token-exchange demo. */
export interface TokenExchangeDemo {
  /** The gateway's MCP URL for the tickets server. */
  readonly mcpUrl: string;
  readonly authorizationServer: AuthorizationServer;
  close(): Promise<void>;
}

async function listening(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function closing(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** Starts everything on loopback, ephemeral ports. */
export async function startTokenExchangeDemo(
  options: { readonly audit?: AuditSink; readonly logger?: { warn(message: string): void } } = {},
): Promise<TokenExchangeDemo> {
  const secret = randomBytes(32).toString('base64url');
  const clientSecret = randomBytes(24).toString('base64url');
  let gatewayApp: http.RequestListener = (_req, res) => res.end();
  const gateway = await listening((req, res) => gatewayApp(req, res));
  const mcpUrl = `${gateway.url}/mcp/tickets`;
  const authorizationServer = await startAuthorizationServer({
    users: demoUsers,
    resources: { [mcpUrl]: ['tickets:use'], [TICKETS_API_AUDIENCE]: ['tickets:read'] },
    tokenExchangeClients: [{ client_id: 'mcp-gateway', client_secret: clientSecret, token_endpoint_auth_method: 'client_secret_basic' }],
  });
  const api = await listening(createTicketsApi({ issuer: authorizationServer.issuer, audience: TICKETS_API_AUDIENCE }));

  const upstreamApp = express();
  upstreamApp.post(
    '/mcp',
    verifyIdentity({ audience: TICKETS_AUDIENCE, issuer: GATEWAY_ISSUER, secrets: [{ secret }], requireDelegatedToken: true, ...options }),
    async (req, res) => {
      const server = new McpServer({ name: 'tickets', version: '0.1.0' });
      server.registerTool(
        'my_tickets',
        { description: "The signed-in user's open tickets, read from the tickets API as the user" },
        async (extra) => {
          // The token the gateway exchanged for this user, for the tickets API only.
          const answer = await fetch(`${api.url}/tickets`, { headers: { authorization: `Bearer ${extra.authInfo?.token ?? ''}` } });
          return {
            content: [{ type: 'text', text: `${getUser(extra)?.id ?? '?'} → tickets API HTTP ${answer.status}: ${await answer.text()}` }],
          };
        },
      );
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => void transport.close());
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    },
  );
  const upstream = await listening(upstreamApp);

  const resource = protectedResource({
    publicUrl: gateway.url,
    path: '/mcp/tickets',
    authorizationServers: [authorizationServer.issuer],
    requiredScopes: ['tickets:use'],
  });
  const passport = new Passport();
  passport.use(new OAuthTokenStrategy({ issuers: [{ issuer: authorizationServer.issuer }], audience: [resource] }));
  const app = express();
  app.use(protectedResourceMetadata([resource]));
  app.use(
    '/mcp/tickets',
    // authenticate takes the audit sink but no logger (it has nothing to warn about).
    authenticate(['oauth-bearer'], {
      passport,
      protectedResource: resource,
      ...(options.audit === undefined ? {} : { audit: options.audit }),
    }),
    propagateIdentity({
      target: `${upstream.url}/mcp`,
      audience: TICKETS_AUDIENCE,
      issuer: GATEWAY_ISSUER,
      signing: { secret },
      ...options,
      tokenExchange: {
        issuer: authorizationServer.issuer,
        clientAuth: { method: 'client_secret_basic', clientId: 'mcp-gateway', clientSecret },
        audience: TICKETS_API_AUDIENCE,
        scope: ['tickets:read'],
      },
    }),
  );
  gatewayApp = app;

  return {
    mcpUrl,
    authorizationServer,
    async close() {
      await authorizationServer.close();
      await Promise.all([closing(gateway.server), closing(upstream.server), closing(api.server)]);
    },
  };
}

/**
 * alice and bob each log in and call `my_tickets`; then a fresh token of alice is revoked at the
 * authorization server before use, and her call with it is refused with the MCP challenge.
 */
export async function runTokenExchangeDemo(demo: TokenExchangeDemo): Promise<DemoStep[]> {
  const steps: DemoStep[] = [];
  for (const user of demoUsers.filter((candidate) => candidate.username === 'alice' || candidate.username === 'bob')) {
    const { client } = await connectWithOAuth(demo.mcpUrl, user.username, user.password);
    try {
      const result = await client.callTool({ name: 'my_tickets', arguments: {} });
      const content = (result.content as { text?: string }[] | undefined) ?? [];
      steps.push({
        title: `${user.username} logs in with OAuth and calls tickets/my_tickets; the gateway exchanges the token for one for the tickets API (RFC 8693)`,
        toolText: content.map((part) => part.text ?? '').join(''),
      });
    } finally {
      await client.close();
    }
  }
  const alice = demoUsers.find((user) => user.username === 'alice')!;
  const provider = new DemoOAuthProvider();
  await auth(provider, { serverUrl: demo.mcpUrl });
  const code = await signIn(provider.authorizationUrl!, alice.username, alice.password);
  await auth(provider, { serverUrl: demo.mcpUrl, authorizationCode: code });
  const token = provider.tokens()?.access_token ?? '';
  demo.authorizationServer.revokeAccessToken(token);
  steps.push(await refusedAfterRevocation(demo.mcpUrl, token));
  return steps;
}

async function refusedAfterRevocation(url: string, token: string): Promise<DemoStep> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
      'mcp-protocol-version': '2025-06-18',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'my_tickets', arguments: {} } }),
  });
  const body = (await response.json().catch(() => ({}))) as { error?: { data?: { code?: string } } };
  return {
    title: 'A new token of alice is revoked at the authorization server, then used: the exchange is refused and she must sign in again',
    refused: { status: response.status, code: body.error?.data?.code, challenge: response.headers.get('www-authenticate') ?? '' },
  };
}
