/**
 * Token exchange (RFC 8693) per upstream, end to end on loopback against the real oidc-provider
 * authorization server of the example: alice and bob log in with OAuth (the MCP SDK's client,
 * discovery, PKCE, resource); the gateway exchanges their access token for one whose audience
 * is the tickets API, forwards it with the identity assertion, and the upstream's tool code
 * calls the API as the user.
 */
import { generateKeyPairSync } from 'node:crypto';
import type http from 'node:http';
import express from 'express';
import { Passport } from 'passport';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  ApiKeyStrategy,
  authenticate,
  OAuthTokenStrategy,
  propagateIdentity,
  protectedResource,
  protectedResourceMetadata,
  RedisStore,
} from '@mcp-identity/gateway';
import type { AuditEvent, ProtectedResource, TokenExchangeOptions } from '@mcp-identity/gateway';
import { getUser, verifyIdentity } from '@mcp-identity/receiver';
import { demoUsers } from '@mcp-identity/example-gateway';
import { listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';
import { describeRedis, startRedis } from '../../../test/redis.js';
import type { RedisServer } from '../../../test/redis.js';
import { createTicketsApi, DemoOAuthProvider, signIn, startAuthorizationServer, TOKEN_EXCHANGE_GRANT } from '../src/index.js';
import type { AuthorizationServer } from '../src/index.js';

const alice = demoUsers.find((user) => user.username === 'alice')!;
const bob = demoUsers.find((user) => user.username === 'bob')!;
const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const GATEWAY = 'https://gateway.example';
const AUDIENCE = 'urn:mcp:tickets';
const TICKETS_API = 'urn:example:tickets';
const { privateKey: gatewayKey, publicKey: gatewayPublicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

/** The upstream MCP server's answer to the test's plain JSON-RPC call: what its tool code saw. */
interface ToolView {
  readonly user: string | undefined;
  readonly status: number;
  readonly api: { owner?: string; actor?: string | null; tickets?: string[] } | undefined;
}

let as: AuthorizationServer;
let api: Running;
let upstream: Running;
let gatewayServer: Running;
let gateway: http.RequestListener = (_req, res) => res.end();
let resource: ProtectedResource;
let exchanges = 0;
let aliceToken: string;
const warnings: string[] = [];
const audit: AuditEvent[] = [];
/** Every token the upstream MCP server received as `req.auth.token`. */
const delegatedSeen: string[] = [];

/** Gets an access token for the gateway's MCP URL the way an MCP client does. */
async function login(user: { username: string; password: string }): Promise<string> {
  const provider = new DemoOAuthProvider();
  expect(await auth(provider, { serverUrl: resource.resource })).toBe('REDIRECT');
  const code = await signIn(provider.authorizationUrl!, user.username, user.password);
  expect(await auth(provider, { serverUrl: resource.resource, authorizationCode: code })).toBe('AUTHORIZED');
  return provider.tokens()!.access_token;
}

/** Mounts a fresh gateway (fresh cache) with these exchange options. */
function mountGateway(overrides: Partial<TokenExchangeOptions> = {}, extra: { apiKeys?: boolean } = {}): void {
  gateway = buildGateway(overrides, extra);
}

function buildGateway(overrides: Partial<TokenExchangeOptions> = {}, extra: { apiKeys?: boolean } = {}): express.Express {
  const passport = new Passport();
  passport.use(new OAuthTokenStrategy({ issuers: [{ issuer: as.issuer }], audience: [resource] }));
  passport.use(new ApiKeyStrategy({ verify: (key) => (key === 'ops-key' ? { id: 'ops-bot' } : false) }));
  const app = express();
  app.use(protectedResourceMetadata([resource]));
  app.use(
    '/mcp',
    authenticate(extra.apiKeys === true ? ['oauth-bearer', 'api-key'] : ['oauth-bearer'], {
      passport,
      protectedResource: resource,
      audit: (event) => void audit.push(event),
    }),
    propagateIdentity({
      target: `${upstream.url}/mcp`,
      audience: AUDIENCE,
      issuer: GATEWAY,
      signing: { secret: SECRET },
      audit: (event) => void audit.push(event),
      logger: { warn: (message) => warnings.push(message) },
      tokenExchange: {
        issuer: as.issuer,
        clientAuth: { method: 'client_secret_basic', clientId: 'mcp-gateway', clientSecret: 'gateway-secret' },
        audience: TICKETS_API,
        scope: ['tickets:read'],
        logger: { warn: (message) => warnings.push(message) },
        ...overrides,
      },
    }),
  );
  return app;
}

/** The upstream MCP server: verifies the identity and requires the delegated token; its tool calls the tickets API. */
function upstreamApp(): express.Express {
  const app = express();
  app.use(express.json());
  app.post(
    '/mcp',
    verifyIdentity({
      audience: AUDIENCE,
      issuer: GATEWAY,
      secrets: [{ secret: SECRET }],
      requireDelegatedToken: true,
      audit: (event) => void audit.push(event),
    }),
    async (req, res) => {
      const server = new McpServer({ name: 'tickets', version: '1.0.0' });
      server.registerTool('my_tickets', { description: 'My open tickets' }, async (extraArgs) => {
        const token = extraArgs.authInfo?.token ?? '';
        delegatedSeen.push(token);
        const answer = await fetch(`${api.url}/tickets`, { headers: { authorization: `Bearer ${token}` } });
        const view: ToolView = {
          user: getUser(extraArgs)?.id,
          status: answer.status,
          api: answer.ok ? ((await answer.json()) as ToolView['api']) : undefined,
        };
        return { content: [{ type: 'text', text: JSON.stringify(view) }], structuredContent: { ...view } };
      });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => void transport.close());
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    },
  );
  return app;
}

/** Calls `my_tickets` through the gateway with a plain JSON-RPC POST. */
async function callTool(token: string | undefined, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gatewayServer.url}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'my_tickets', arguments: {} } }),
  });
}

async function toolView(response: Response): Promise<ToolView> {
  expect(response.status).toBe(200);
  const body = (await response.json()) as { result: { content: { text: string }[] } };
  return JSON.parse(body.result.content[0]!.text) as ToolView;
}

async function errorOf(response: Response): Promise<{ status: number; code: unknown; challenge: string | null }> {
  const body = (await response.json()) as { error: { code: number; data: { code: string } } };
  expect(Number.isInteger(body.error.code)).toBe(true);
  return { status: response.status, code: body.error.data.code, challenge: response.headers.get('www-authenticate') };
}

beforeAll(async () => {
  upstream = await listen(upstreamApp());
  gatewayServer = await listen((req, res) => gateway(req, res));
  // The resources the authorization server knows: the gateway's MCP endpoint, and the tickets API.
  const mcpResource = `${gatewayServer.url}/mcp`;
  as = await startAuthorizationServer({
    users: demoUsers,
    resources: { [mcpResource]: ['tickets:use'], [TICKETS_API]: ['tickets:read'] },
    tokenExchangeClients: [
      { client_id: 'mcp-gateway', client_secret: 'gateway-secret', token_endpoint_auth_method: 'client_secret_basic' },
      { client_id: 'mcp-gateway-post', client_secret: 'gateway-secret-2', token_endpoint_auth_method: 'client_secret_post' },
      {
        client_id: 'mcp-gateway-jwt',
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks: { keys: [{ ...gatewayPublicKey.export({ format: 'jwk' }), kid: 'gw-1', alg: 'ES256', use: 'sig' }] },
      },
    ],
  });
  as.provider.on('grant.success', (ctx) => {
    if (ctx.oidc.params.grant_type === TOKEN_EXCHANGE_GRANT) exchanges += 1;
  });
  api = await listen(createTicketsApi({ issuer: as.issuer, audience: TICKETS_API }));
  resource = protectedResource({
    publicUrl: gatewayServer.url,
    path: '/mcp',
    authorizationServers: [as.issuer],
    requiredScopes: ['tickets:use'],
  });
  mountGateway();
  aliceToken = await login(alice);
});

afterAll(async () => {
  await Promise.all([gatewayServer?.close(), upstream?.close(), api?.close(), as?.close()]);
});

beforeEach(() => {
  exchanges = 0;
});

describe('token exchange per upstream (RFC 8693)', () => {
  it('calls the upstream API as the user with a token exchanged at the authorization server, the gateway as actor', async () => {
    mountGateway();
    const view = await toolView(await callTool(aliceToken));
    expect(view).toEqual({
      user: 'alice',
      status: 200,
      api: { owner: 'alice', actor: 'mcp-gateway', tickets: ['ALICE-1: renew the certificate', 'ALICE-2: review the rota'] },
    });
    expect(exchanges).toBe(1);
    // The client's own token never reached the upstream: the tool saw the exchanged one.
    expect(delegatedSeen.at(-1)).not.toBe(aliceToken);
  });

  it('exchanges once for N sequential requests of one user (counted at the authorization server)', async () => {
    mountGateway();
    for (let i = 0; i < 5; i += 1) expect((await toolView(await callTool(aliceToken))).api?.owner).toBe('alice');
    expect(exchanges).toBe(1);
  });

  it('exchanges once for 100 concurrent requests of one user (single flight)', async () => {
    mountGateway();
    const views = await Promise.all(Array.from({ length: 100 }, async () => toolView(await callTool(aliceToken))));
    expect(views.every((view) => view.api?.owner === 'alice')).toBe(true);
    expect(exchanges).toBe(1);
  });

  it('exchanges again once the cached token is within the skew of its expiry', async () => {
    let now = Date.now();
    mountGateway({ clock: () => now, cache: { skewSeconds: 30 } });
    await toolView(await callTool(aliceToken));
    now += 200_000;
    await toolView(await callTool(aliceToken));
    expect(exchanges).toBe(1);
    // The example server issues tokens for 300 s: at 271 s they are within the 30 s skew.
    now += 71_000;
    expect((await toolView(await callTool(aliceToken))).api?.owner).toBe('alice');
    expect(exchanges).toBe(2);
  });

  it("keeps users apart: bob gets his own exchanged token, not alice's cached one", async () => {
    mountGateway();
    await toolView(await callTool(aliceToken));
    const view = await toolView(await callTool(await login(bob)));
    expect(view.api).toEqual({ owner: 'bob', actor: 'mcp-gateway', tickets: ['BOB-1: fix the printer'] });
    expect(exchanges).toBe(2);
  });

  it.each([
    ['client_secret_post', { method: 'client_secret_post', clientId: 'mcp-gateway-post', clientSecret: 'gateway-secret-2' }],
    ['private_key_jwt', { method: 'private_key_jwt', clientId: 'mcp-gateway-jwt', privateKey: gatewayKey, kid: 'gw-1' }],
  ] as const)('authenticates the gateway with %s', async (_name, clientAuth) => {
    mountGateway({ clientAuth });
    const view = await toolView(await callTool(aliceToken));
    expect(view.api).toMatchObject({ owner: 'alice', actor: clientAuth.clientId });
    expect(exchanges).toBe(1);
  });

  it('uses an explicit token endpoint without discovery', async () => {
    mountGateway({ issuer: undefined, tokenEndpoint: `${as.issuer}/token` });
    expect((await toolView(await callTool(aliceToken))).api?.owner).toBe('alice');
  });

  it("responds 401 token_exchange_rejected with the MCP challenge when the user's token was revoked, and forwards nothing", async () => {
    mountGateway();
    const token = await login(bob);
    as.revokeAccessToken(token);
    const before = delegatedSeen.length;
    const error = await errorOf(await callTool(token));
    expect(error).toEqual({
      status: 401,
      code: 'token_exchange_rejected',
      challenge: `Bearer error="invalid_token", resource_metadata="${resource.metadataUrl}", scope="tickets:use"`,
    });
    expect(delegatedSeen.length).toBe(before);
  });

  it('responds 502 token_exchange_unavailable when the authorization server is down, and forwards nothing', async () => {
    const closed = await listen((_req, res) => res.end());
    const endpoint = `${closed.url}/token`;
    await closed.close();
    mountGateway({ issuer: undefined, tokenEndpoint: endpoint, timeoutMs: 2000 });
    const before = delegatedSeen.length;
    expect(await errorOf(await callTool(aliceToken))).toMatchObject({ status: 502, code: 'token_exchange_unavailable' });
    expect(delegatedSeen.length).toBe(before);
  });

  it('responds 504 token_exchange_timeout when the authorization server does not answer within timeoutMs', async () => {
    const silent = await listen(() => undefined);
    try {
      mountGateway({ issuer: undefined, tokenEndpoint: `${silent.url}/token`, timeoutMs: 300 });
      const before = delegatedSeen.length;
      expect(await errorOf(await callTool(aliceToken))).toMatchObject({ status: 504, code: 'token_exchange_timeout' });
      expect(delegatedSeen.length).toBe(before);
    } finally {
      await silent.close();
    }
  });

  it("responds 502 token_exchange_unavailable, and warns the operator without a token, when the gateway's client is refused", async () => {
    mountGateway({ clientAuth: { method: 'client_secret_basic', clientId: 'mcp-gateway', clientSecret: 'wrong' } });
    const response = await callTool(aliceToken);
    const text = await response.text();
    expect(response.status).toBe(502);
    expect(JSON.parse(text)).toMatchObject({ error: { data: { code: 'token_exchange_unavailable' } } });
    // Nothing of the authorization server's answer reaches the client.
    expect(text).not.toMatch(/invalid_client|client authentication/i);
    expect(warnings.some((warning) => warning.includes('invalid_client'))).toBe(true);
  });

  it('responds 403 token_exchange_unsupported_login to a login without an access token, or forwards without one when configured', async () => {
    mountGateway({}, { apiKeys: true });
    expect(await errorOf(await callTool(undefined, { 'x-api-key': 'ops-key' }))).toMatchObject({
      status: 403,
      code: 'token_exchange_unsupported_login',
    });
    mountGateway({ onMissingToken: 'forward-without' }, { apiKeys: true });
    // Forwarded with the assertion only: this upstream requires a delegated token and says so.
    expect(await errorOf(await callTool(undefined, { 'x-api-key': 'ops-key' }))).toMatchObject({
      status: 401,
      code: 'delegated_token_missing',
    });
    expect(exchanges).toBe(0);
  });

  it('audits each exchange (miss, then hit, latency, target) and never writes a token to a log or audit line', async () => {
    mountGateway();
    audit.length = 0;
    await toolView(await callTool(aliceToken));
    await toolView(await callTool(aliceToken));
    const forwarded = audit.filter((event) => event.component === 'gateway' && event.decision === 'forwarded');
    expect(forwarded.map((event) => event.tokenExchange?.cache)).toEqual(['miss', 'hit']);
    expect(forwarded[0]?.tokenExchange).toMatchObject({ target: TICKETS_API, latencyMs: expect.any(Number) });
    const lines = [...audit.map((event) => JSON.stringify(event)), ...warnings].join('\n');
    const secrets = [aliceToken, ...new Set(delegatedSeen)];
    expect(secrets.length).toBeGreaterThan(1);
    for (const secret of secrets) {
      expect(lines).not.toContain(secret);
      // Not even the signature part.
      expect(lines).not.toContain(secret.split('.')[2]);
    }
  });
});

describe('the tool an MCP client calls through the gateway', () => {
  it('shows alice her tickets from the API, called with the exchanged token (MCP SDK client end to end)', async () => {
    mountGateway();
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(resource.resource), {
        requestInit: { headers: { authorization: `Bearer ${aliceToken}` } },
      }),
    );
    try {
      const result = await client.callTool({ name: 'my_tickets', arguments: {} });
      expect(result.structuredContent).toMatchObject({ user: 'alice', api: { owner: 'alice', actor: 'mcp-gateway' } });
    } finally {
      await client.close();
    }
  });
});

describeRedis('the exchanged-token cache shared through Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it("lets a second gateway instance reuse the first one's exchange, stored encrypted", async () => {
    const key = Buffer.alloc(32, 7);
    const shared = (prefix: string): Partial<TokenExchangeOptions> => ({
      cache: { store: new RedisStore(redis.client(), { prefix }), encryptionKey: key },
    });
    const first = buildGateway(shared('tx-test:'));
    const second = buildGateway(shared('tx-test:'));
    audit.length = 0;
    gateway = first;
    await toolView(await callTool(aliceToken));
    gateway = second;
    expect((await toolView(await callTool(aliceToken))).api?.owner).toBe('alice');
    expect(exchanges).toBe(1);
    const forwarded = audit.filter((event) => event.component === 'gateway' && event.decision === 'forwarded');
    expect(forwarded.map((event) => event.tokenExchange?.cache)).toEqual(['miss', 'shared']);
    // At rest, neither token appears in Redis.
    const raw = redis.client();
    const keys = await raw.keys('tx-test:*');
    expect(keys.length).toBe(1);
    const stored = await raw.get(keys[0]!);
    expect(stored).not.toContain(aliceToken);
    for (const token of new Set(delegatedSeen)) expect(stored).not.toContain(token.split('.')[1]);
    expect(keys[0]).not.toContain(aliceToken.split('.')[2]);
  });
});
