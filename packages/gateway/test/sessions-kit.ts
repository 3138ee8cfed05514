/**
 * The session tests' kit: a gateway whose user is chosen per request (`X-Test-User`), in
 * front of an upstream that behaves like a stateful MCP server as far as session ids go.
 */
import type http from 'node:http';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { MemoryStore } from '@mcp-identity/core/internal';
import type { IdentityStore } from '@mcp-identity/core/internal';
import { listen } from '../../../test/kit.js';
import type { Received, RecordingUpstream } from '../../../test/kit.js';
import { identityPlugin, propagateIdentity } from '../src/index.js';
import type { PropagateIdentityOptions, UserContext } from '../src/index.js';
import { alice, identityOptions, rawRequest, recordingErrorHandler, refusal, startUpstream, track } from './propagate-kit.js';
import type { RawResponse } from './propagate-kit.js';

export const bob: UserContext = Object.freeze({
  id: 'bob',
  groups: [],
  teams: [],
  roles: [],
  isAdmin: false,
  authMethod: 'basic',
  issuer: 'https://idp.example',
});
/** Alice's id at another identity provider: another person. */
export const impostor: UserContext = Object.freeze({ ...alice, issuer: 'https://other-idp.example' });
export const users: Readonly<Record<string, UserContext>> = { alice, bob, impostor };

let counter = 0;

/**
 * An upstream that hands out a new `Mcp-Session-Id` to each request without one (an
 * `initialize`), answers `status` (default 200) and, to a `DELETE`, `deleteStatus` (default 200).
 */
export function startSessionUpstream(options: { status?: number; deleteStatus?: number } = {}): Promise<RecordingUpstream> {
  return startUpstream((req: Received, res: http.ServerResponse) => {
    if (req.headers['mcp-session-id'] === undefined) res.setHeader('mcp-session-id', `upstream-session-${++counter}`);
    res.statusCode = req.method === 'DELETE' ? (options.deleteStatus ?? 200) : (options.status ?? 200);
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
}

/** A gateway under test for sessions. */
export interface SessionGateway {
  readonly url: string;
  readonly upstream: RecordingUpstream;
  readonly unhandled: unknown[];
}

function chooseUser(req: express.Request, _res: express.Response, next: express.NextFunction): void {
  const name = req.headers['x-test-user'];
  const user = typeof name === 'string' ? users[name] : undefined;
  if (user !== undefined) req.userContext = user;
  next();
}

/** `propagateIdentity` in front of `upstream` (default: a fresh session upstream). */
export async function startSessionGateway(
  options: Partial<PropagateIdentityOptions> = {},
  upstream?: RecordingUpstream,
): Promise<SessionGateway> {
  const target = upstream ?? (await startSessionUpstream());
  const unhandled: unknown[] = [];
  const app = express();
  app.use(chooseUser);
  // Events are not what these tests look at: dropped, not printed (a test passes its own `audit` to see them).
  app.use(propagateIdentity({ target: target.url, ...identityOptions, audit: () => undefined, ...options }));
  app.use(recordingErrorHandler(unhandled));
  const server = track(await listen(app));
  return { url: server.url, upstream: target, unhandled };
}

/** `identityPlugin` in an app's own `createProxyMiddleware`, after `express.json()`. */
export async function startSessionPluginApp(sessionStore?: IdentityStore): Promise<SessionGateway> {
  const upstream = await startSessionUpstream();
  const unhandled: unknown[] = [];
  const app = express();
  app.use(chooseUser, express.json());
  app.use(
    createProxyMiddleware({
      target: upstream.url,
      on: { error: () => undefined },
      plugins: [identityPlugin({ ...identityOptions, sessionStore: sessionStore ?? new MemoryStore() })],
    }),
  );
  app.use(recordingErrorHandler(unhandled));
  const server = track(await listen(app));
  return { url: server.url, upstream, unhandled };
}

/** What a test sends: the user (by name, or none), the session id, the method. */
export interface SessionCall {
  readonly user?: keyof typeof users | undefined;
  readonly sessionId?: string;
  readonly method?: string;
  /** Extra raw header lines, names as spelled. */
  readonly headers?: readonly string[];
}

export const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } },
});
export const TOOLS_CALL = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami', arguments: {} } });

/** Sends one request with the header list exactly as spelled (a POST carries a JSON-RPC body). */
export function send(gateway: SessionGateway, call: SessionCall): Promise<RawResponse> {
  const method = call.method ?? 'POST';
  const headers = [
    ...(call.user === undefined ? [] : ['X-Test-User', call.user]),
    ...(call.sessionId === undefined ? [] : ['Mcp-Session-Id', call.sessionId]),
    ...(call.headers ?? []),
  ];
  const body = method === 'POST' ? (call.sessionId === undefined ? INITIALIZE : TOOLS_CALL) : undefined;
  return rawRequest(gateway.url, {
    method,
    path: '/mcp',
    headers: body === undefined ? headers : ['Content-Type', 'application/json', ...headers],
    chunks: body === undefined ? [] : [body],
  });
}

/** Initializes as `user` and returns the session id the upstream handed out. */
export async function initialize(gateway: SessionGateway, user: keyof typeof users = 'alice'): Promise<string> {
  const res = await send(gateway, { user });
  expect(res.status).toBe(200);
  const sessionId = res.headers['mcp-session-id'];
  expect(typeof sessionId).toBe('string');
  return sessionId as string;
}

/** Checks a refusal: status, error code, and that the upstream received nothing more than `forwarded` requests. */
export function expectRefused(res: RawResponse, status: number, code: string, gateway: SessionGateway, forwarded: number): void {
  expect({ status: res.status, code: refusal(res.json).code }).toEqual({ status, code });
  expect(gateway.upstream.received).toHaveLength(forwarded);
  expect(gateway.unhandled).toEqual([]);
}
