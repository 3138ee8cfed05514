/**
 * The kit of the policy tests: a real MCP server (SDK v1, low-level `Server`, stateless, JSON
 * or SSE responses, tools listed two per page) that records every JSON-RPC message it gets,
 * behind `propagateIdentity` with a policy; the user is chosen per request by a test header.
 */
import express from 'express';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { Registry } from 'prom-client';
import { eventLog, listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';
import { propagateIdentity } from '../src/index.js';
import type { AuditEvent, PolicyConfig, PropagateIdentityOptions, UserContext } from '../src/index.js';
import { identityOptions, recordingErrorHandler, track } from './propagate-kit.js';

export const TOOLS = ['echo', 'deploy', 'read_a', 'delete_all', 'read_b'] as const;
export const PAGE_SIZE = 2;

export const users: Record<string, UserContext> = {
  alice: { id: 'alice', groups: ['readers'], teams: [], roles: [], isAdmin: false, authMethod: 'jwt' },
  root: { id: 'root', groups: [], teams: [], roles: [], isAdmin: true, authMethod: 'jwt' },
};

/** The policy most tests use: admins may do anything; readers may call `echo` and `read_*`. */
export const basePolicy: PolicyConfig = {
  rules: [
    { id: 'admins', effect: 'allow', admin: true },
    { id: 'no-deploy', effect: 'deny', tools: 'deploy*' },
    { id: 'readers', effect: 'allow', groups: 'readers', tools: ['echo', 'read_*'], resources: 'file:///public/*', prompts: 'greet' },
  ],
  default: 'deny',
};

/** An MCP server (SDK v1) recording the JSON-RPC messages it received. */
export interface McpUpstream extends Running {
  /** Every message received, in order. */
  readonly messages: Record<string, unknown>[];
  /** The names of the tools called. */
  readonly called: () => string[];
}

// The low-level Server: McpServer lists every tool at once, and these tests need pages.
// eslint-disable-next-line @typescript-eslint/no-deprecated
function mcpServer(): Server {
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const server = new Server(
    { name: 'reports', version: '1.0.0' },
    { capabilities: { tools: { listChanged: true }, resources: {}, prompts: {} } },
  );
  server.setRequestHandler(ListToolsRequestSchema, (request) => {
    const start = Number(request.params?.cursor ?? '0');
    const page = TOOLS.slice(start, start + PAGE_SIZE).map((name) => ({
      name,
      description: `the ${name} tool`,
      inputSchema: { type: 'object' as const },
    }));
    const next = start + PAGE_SIZE;
    return { tools: page, ...(next < TOOLS.length ? { nextCursor: String(next) } : {}), _meta: { page: start } };
  });
  server.setRequestHandler(CallToolRequestSchema, (request) => ({ content: [{ type: 'text', text: `called ${request.params.name}` }] }));
  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: [
      { uri: 'file:///public/a.txt', name: 'a' },
      { uri: 'file:///secret/b.txt', name: 'b' },
    ],
  }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [
      { uriTemplate: 'file:///public/{name}', name: 'public' },
      { uriTemplate: 'file:///secret/{name}', name: 'secret' },
    ],
  }));
  server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: [{ name: 'greet' }, { name: 'leak' }] }));
  return server;
}

/** Starts the MCP server: `json` answers with JSON bodies, `sse` with event streams. */
export async function startMcpUpstream(mode: 'json' | 'sse'): Promise<McpUpstream> {
  const messages: Record<string, unknown>[] = [];
  const app = express();
  app.use(express.json());
  app.post('/mcp', async (req, res) => {
    const body = req.body as Record<string, unknown> | Record<string, unknown>[];
    messages.push(...(Array.isArray(body) ? body : [body]));
    const server = mcpServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: mode === 'json' });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  app.get('/mcp', (_req, res) => {
    res.status(405).set('allow', 'POST').end();
  });
  const running = track(await listen(app));
  return {
    ...running,
    messages,
    called: () => messages.filter((message) => message.method === 'tools/call').map((message) => (message.params as { name: string }).name),
  };
}

/** A gateway with a policy in front of an MCP upstream. */
export interface PolicyGateway extends Running {
  readonly upstream: McpUpstream;
  readonly events: AuditEvent[];
  readonly waitForEvents: (count: number) => Promise<AuditEvent[]>;
  readonly metrics: Registry;
  readonly unhandled: unknown[];
}

/** Starts the gateway; the user is named by the `x-test-user` header (default alice). */
export async function startPolicyGateway(
  mode: 'json' | 'sse',
  options: Partial<PropagateIdentityOptions> = {},
  upstream?: McpUpstream,
): Promise<PolicyGateway> {
  const mcp = upstream ?? (await startMcpUpstream(mode));
  const log = eventLog<AuditEvent>();
  const metrics = new Registry();
  const unhandled: unknown[] = [];
  const app = express();
  app.use((req, _res, next) => {
    const name = req.headers['x-test-user'];
    req.userContext = users[typeof name === 'string' ? name : 'alice'];
    next();
  });
  app.use(
    '/mcp',
    propagateIdentity({
      ...identityOptions,
      target: `${mcp.url}/mcp`,
      audit: log.sink,
      metrics,
      policy: basePolicy,
      ...options,
    }),
  );
  app.use(recordingErrorHandler(unhandled));
  const running = track(await listen(app));
  return { ...running, upstream: mcp, events: log.events, waitForEvents: log.waitFor, metrics, unhandled };
}
