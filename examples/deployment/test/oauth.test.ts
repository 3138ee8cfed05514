/**
 * MCP clients logging in with OAuth, end to end on loopback: the MCP SDK's client, given only
 * the gateway's MCP URL, discovers the real oidc-provider authorization server through the
 * gateway's protected resource metadata, registers, signs alice in on the server's own pages
 * (authorization code + PKCE + resource indicator) and calls `whoami`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { createApp as createGatewayApp, createDemoIssuer, demoUsers } from '@mcp-identity/example-gateway';
import { getUser, verifyIdentity } from '@mcp-identity/receiver';
import type { Request } from 'express';
import { listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';
import { connectWithOAuth, DemoOAuthProvider, signIn, startAuthorizationServer, startDeployment } from '../src/index.js';
import type { AuthorizationServer, Deployment } from '../src/index.js';

const alice = demoUsers[0]!;

function post(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  });
}

/** Gets a token for `mcpUrl` the way an MCP client does, asking for `scope` (default: what the server challenges for). */
async function tokenFor(mcpUrl: string, scope?: string): Promise<string> {
  const provider = new DemoOAuthProvider();
  expect(await auth(provider, { serverUrl: mcpUrl, ...(scope === undefined ? {} : { scope }) })).toBe('REDIRECT');
  const code = await signIn(provider.authorizationUrl!, alice.username, alice.password);
  expect(await auth(provider, { serverUrl: mcpUrl, authorizationCode: code })).toBe('AUTHORIZED');
  return provider.tokens()!.access_token;
}

describe('the example deployment with OAuth', () => {
  let deployment: Deployment;
  let notes: string;
  let reports: string;

  beforeAll(async () => {
    deployment = await startDeployment({ oauth: true, audit: () => undefined, logger: { warn: () => undefined } });
    notes = `${deployment.gatewayUrl}/mcp/notes`;
    reports = `${deployment.gatewayUrl}/mcp/reports`;
  });

  afterAll(async () => {
    await deployment.close();
  });

  it('logs alice in from only the gateway URL (discovery, registration, PKCE, resource) and whoami shows her', async () => {
    const { client, provider } = await connectWithOAuth(notes, alice.username, alice.password);
    try {
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      const user = (result.structuredContent as { user: Record<string, unknown> }).user;
      expect(user).toMatchObject({
        id: 'alice',
        email: 'alice@example.com',
        name: 'Alice Liddell',
        authMethod: 'oauth',
        issuer: deployment.authorizationServer!.issuer,
        scopes: ['notes:read'],
        clientId: provider.clientInformation()!.client_id,
        resource: notes,
      });
      // The authorization request named the resource and used PKCE.
      expect(provider.authorizationUrl!.searchParams.get('resource')).toBe(notes);
      expect(provider.authorizationUrl!.searchParams.get('code_challenge_method')).toBe('S256');
    } finally {
      await client.close();
    }
  });

  it('answers an unauthenticated request 401 with the exact resource challenge, alongside Basic and API key', async () => {
    const response = await post(notes);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${deployment.gatewayUrl}/.well-known/oauth-protected-resource/mcp/notes", scope="notes:read", ` +
        'Basic realm="Users", ApiKey header="x-api-key"',
    );
  });

  it('serves the protected resource metadata at the path-inserted well-known URL', async () => {
    const response = await fetch(`${deployment.gatewayUrl}/.well-known/oauth-protected-resource/mcp/reports`);
    expect(await response.json()).toEqual({
      resource: reports,
      authorization_servers: [deployment.authorizationServer!.issuer],
      scopes_supported: ['reports:read'],
      bearer_methods_supported: ['header'],
      resource_name: 'Example MCP server "reports"',
    });
  });

  it('refuses a token for another resource 401 invalid_token', async () => {
    const token = await tokenFor(notes);
    const response = await post(reports, { authorization: `Bearer ${token}` });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", resource_metadata="${deployment.gatewayUrl}/.well-known/oauth-protected-resource/mcp/reports", scope="reports:read"`,
    );
    expect(((await response.json()) as { error: { data: { code: string } } }).error.data.code).toBe('unauthenticated');
  });

  it('answers a token without the required scope 403 insufficient_scope with the step-up challenge', async () => {
    const token = await tokenFor(reports, 'reports:list');
    const response = await post(reports, { authorization: `Bearer ${token}` });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", scope="reports:read", resource_metadata="${deployment.gatewayUrl}/.well-known/oauth-protected-resource/mcp/reports"`,
    );
    expect(((await response.json()) as { error: { data: { code: string } } }).error.data.code).toBe('insufficient_scope');
  });

  it('runs the OAuth steps of the demo', async () => {
    const { runDemo } = await import('../src/index.js');
    const steps = await runDemo(deployment);
    const oauth = steps.slice(-3);
    expect(oauth[0]?.whoami).toMatchObject({ id: 'alice', authMethod: 'oauth', scopes: ['notes:read'] });
    expect(oauth[1]?.refused).toMatchObject({
      status: 401,
      code: 'unauthenticated',
      challenge: expect.stringMatching(/^Bearer error="invalid_token"/),
    });
    expect(oauth[2]?.refused).toMatchObject({
      status: 403,
      code: 'insufficient_scope',
      challenge: expect.stringMatching(/scope="reports:read"/),
    });
  });
});

describe('the receiver behind an OAuth login', () => {
  const servers: Running[] = [];
  let as: AuthorizationServer | undefined;

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await as?.close();
  });

  it("maps the token's clientId, scopes and resource into req.auth as the MCP SDK's AuthInfo defines", async () => {
    const seen: Request[] = [];
    const receiver = express();
    receiver.use(
      '/mcp',
      verifyIdentity({
        issuer: 'urn:test:gw',
        audience: 'urn:test:echo',
        secrets: [{ secret: 'r'.repeat(8) + 'abcdefghijklmnopqrstuvwx' }],
      }),
      (req, res) => {
        seen.push(req);
        res.json({ ok: true });
      },
    );
    const upstream = await listen(receiver);
    servers.push(upstream);
    // Listen first: the gateway's public URL names the resource the authorization server issues tokens for.
    const gatewayServer = http.createServer();
    await new Promise<void>((resolve) => gatewayServer.listen(0, '127.0.0.1', resolve));
    const gatewayUrl = `http://127.0.0.1:${(gatewayServer.address() as AddressInfo).port}`;
    servers.push({
      url: gatewayUrl,
      port: 0,
      server: gatewayServer,
      close: () =>
        new Promise((resolve) => {
          gatewayServer.closeAllConnections();
          gatewayServer.close(() => resolve());
        }),
    });
    as = await startAuthorizationServer({ users: demoUsers, resources: { [`${gatewayUrl}/mcp/echo`]: ['echo:read'] } });
    gatewayServer.on(
      'request',
      createGatewayApp({
        issuer: 'urn:test:gw',
        signing: { secret: 'r'.repeat(8) + 'abcdefghijklmnopqrstuvwx' },
        upstreams: [{ name: 'echo', target: `${upstream.url}/mcp`, audience: 'urn:test:echo' }],
        jwt: createDemoIssuer(),
        users: demoUsers,
        apiClients: [],
        audit: () => undefined,
        oauth: { publicUrl: gatewayUrl, authorizationServer: as.issuer },
      }),
    );

    const provider = new DemoOAuthProvider();
    await auth(provider, { serverUrl: `${gatewayUrl}/mcp/echo` });
    await auth(provider, {
      serverUrl: `${gatewayUrl}/mcp/echo`,
      authorizationCode: await signIn(provider.authorizationUrl!, alice.username, alice.password),
    });
    const token = provider.tokens()!.access_token;
    const response = await post(`${gatewayUrl}/mcp/echo`, { authorization: `Bearer ${token}` });
    expect(response.status).toBe(200);

    const authInfo = seen[0]!.auth!;
    expect(authInfo.clientId).toBe(provider.clientInformation()!.client_id);
    expect(authInfo.scopes).toEqual(['echo:read']);
    expect(authInfo.resource).toEqual(new URL(`${gatewayUrl}/mcp/echo`));
    // The access token never reaches the MCP server: req.auth.token is the gateway's assertion.
    expect(authInfo.token).not.toBe(token);
    expect(JSON.stringify(seen[0]!.headers)).not.toContain(token);
    expect(getUser({ authInfo: authInfo })).toMatchObject({ id: 'alice', authMethod: 'oauth', roles: [] });
  });
});
