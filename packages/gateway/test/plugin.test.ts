/**
 * `identityPlugin` in an app's own `createProxyMiddleware`: identity in, client identity out,
 * and refusals when the body cannot be known.
 */
import http from 'node:http';
import express from 'express';
import { createProxyMiddleware, fixRequestBody } from 'http-proxy-middleware';
import type { RequestHandler } from 'express';
import type { Options as ProxyOptions } from 'http-proxy-middleware';
import request from 'supertest';
import { listen } from '../../../test/kit.js';
import type { RecordingUpstream } from '../../../test/kit.js';
import { identityPlugin } from '../src/index.js';
import type { IdentityOptions, UserContext } from '../src/index.js';
import {
  alice,
  closeAll,
  EMPTY_SHA256,
  expectBoundTo,
  identityOptions,
  jsonOf,
  only,
  rawRequest,
  recordingErrorHandler,
  refusal,
  startUpstream,
  toolsCall,
  track,
  verifyAssertion,
} from './propagate-kit.js';

afterEach(closeAll);

interface PluginApp {
  readonly url: string;
  readonly upstream: RecordingUpstream;
  /** Errors http-proxy-middleware handed to the app's `on.error`. */
  readonly proxyErrors: unknown[];
  readonly unhandled: unknown[];
}

interface PluginSetup {
  readonly user?: UserContext | null;
  /** Mount express.json() in front of the proxy. Default true. */
  readonly json?: boolean;
  readonly identity?: Partial<IdentityOptions>;
  readonly proxy?: Partial<ProxyOptions>;
  readonly target?: string;
}

async function startPluginApp(setup: PluginSetup = {}): Promise<PluginApp> {
  const upstream = await startUpstream();
  const proxyErrors: unknown[] = [];
  const unhandled: unknown[] = [];
  const user = setup.user === undefined ? alice : setup.user;
  const setUser: RequestHandler = (req, _res, next) => {
    if (user !== null) req.userContext = user;
    next();
  };
  const app = express();
  app.use(setUser);
  if (setup.json ?? true) app.use(express.json());
  app.use(
    '/mcp',
    createProxyMiddleware({
      target: setup.target ?? `${upstream.url}/mcp`,
      ...setup.proxy,
      on: { error: (error) => proxyErrors.push(error), ...setup.proxy?.on },
      plugins: [identityPlugin({ ...identityOptions, ...setup.identity })],
    }),
  );
  app.use(recordingErrorHandler(unhandled));
  const server = track(await listen(app));
  return { url: server.url, upstream, proxyErrors, unhandled };
}

describe('identityPlugin', () => {
  it('forwards a POST read by express.json() with a verifiable, bound assertion in headers and _meta', async () => {
    const app = await startPluginApp({ identity: { metaCreation: 'always' } });
    await request(app.url).post('/mcp').send(toolsCall()).expect(200);
    const received = only(app.upstream);
    const token = received.headers['x-forwarded-user-assertion'];
    const claims = await verifyAssertion(token);
    expect(claims).toMatchObject({ sub: 'alice@corp', email: 'alice@corp.example', auth_method: 'jwt' });
    expectBoundTo(claims, received);
    expect(received.headers['content-length']).toBe(String(received.body.length));
    expect(received.headers['x-forwarded-user-id']).toBe('alice@corp');
    const meta = jsonOf(received).params._meta;
    expect(meta['mcp-identity/assertion']).toBe(token);
    expect(meta['mcp-identity/user'].id).toBe('alice@corp');
    expect(app.proxyErrors).toEqual([]);
  });

  it('forwards a bodyless GET with identity headers bound to the empty body', async () => {
    const app = await startPluginApp();
    await request(app.url).get('/mcp?session=s1').set('Accept', 'text/event-stream').expect(200);
    const received = only(app.upstream);
    expect(received.body.length).toBe(0);
    const claims = await verifyAssertion(received.headers['x-forwarded-user-assertion']);
    expect(claims.req.body_sha256).toBe(EMPTY_SHA256);
    expect(claims.req.method).toBe('GET');
    expectBoundTo(claims, received);
  });

  it('strips forged identity headers, credentials and credential query parameters', async () => {
    const app = await startPluginApp();
    const res = await rawRequest(app.url, {
      path: '/mcp?access_token=t&x=1',
      headers: [
        'Content-Type',
        'application/json',
        'X_Forwarded_User_Admin',
        'true',
        'X-Forwarded-User-Superuser',
        'yes',
        'Authorization',
        'Bearer client',
        'X-Api-Key',
        'k',
        'X-Forwarded-Email',
        'mallory@evil.example',
      ],
      chunks: [JSON.stringify(toolsCall())],
    });
    expect(res.status).toBe(200);
    const received = only(app.upstream);
    expect(received.headers['x-forwarded-user-admin']).toBe('false');
    const names = received.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase().replaceAll('_', '-'));
    for (const name of ['x-forwarded-user-superuser', 'authorization', 'x-api-key', 'x-forwarded-email']) expect(names).not.toContain(name);
    expect(names.filter((name) => name === 'x-forwarded-user-admin')).toHaveLength(1);
    expect(received.url).toBe('/mcp/?x=1');
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  it('responds 415 unsupported_media_type to a text/plain POST that express.json() left unread, forwarding nothing', async () => {
    const app = await startPluginApp();
    const res = await request(app.url).post('/mcp').set('content-type', 'text/plain').send('hello');
    expect(res.status).toBe(415);
    expect(refusal(res.body)).toEqual({ code: 'unsupported_media_type', rpcCode: -32600, jsonrpc: '2.0' });
    expect(app.upstream.received).toHaveLength(0);
  });

  it('responds 500 body_unavailable to a POST whose body stream nobody read, forwarding nothing', async () => {
    const app = await startPluginApp({ json: false });
    const res = await request(app.url).post('/mcp').send(toolsCall());
    expect(res.status).toBe(500);
    expect(refusal(res.body)).toEqual({ code: 'body_unavailable', rpcCode: -32603, jsonrpc: '2.0' });
    expect(app.upstream.received.length).toBe(0);
    expect(app.unhandled).toEqual([]);
  });

  it('responds 401 unauthenticated without req.userContext, forwarding nothing', async () => {
    const app = await startPluginApp({ user: null });
    const res = await request(app.url).post('/mcp').send(toolsCall());
    expect(res.status).toBe(401);
    expect(refusal(res.body)).toEqual({ code: 'unauthenticated', rpcCode: -32001, jsonrpc: '2.0' });
    expect(app.upstream.received.length).toBe(0);
  });

  it('responds 400 invalid_params to params that are not an object, forwarding nothing', async () => {
    const app = await startPluginApp();
    const res = await request(app.url)
      .post('/mcp')
      .set('Content-Type', 'application/json')
      .send('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]}');
    expect(res.status).toBe(400);
    expect(refusal(res.body)).toEqual({ code: 'invalid_params', rpcCode: -32602, jsonrpc: '2.0' });
    expect(app.upstream.received.length).toBe(0);
  });

  it('responds 502 upstream_unavailable without naming the upstream when it refuses connections', async () => {
    const closed = await listen((_req, res) => res.end());
    await closed.close();
    const app = await startPluginApp({ target: `http://127.0.0.1:${closed.port}` });
    const res = await request(app.url).post('/mcp').send(toolsCall());
    expect(res.status).toBe(502);
    expect(refusal(res.body)).toEqual({ code: 'upstream_unavailable', rpcCode: -32603, jsonrpc: '2.0' });
    expect(res.text).not.toContain('127.0.0.1');
    expect(res.text).not.toContain(String(closed.port));
    expect(app.proxyErrors).toHaveLength(1);
  });

  it('sends nothing upstream when another proxyReq handler wrote the request before the identity was set', async () => {
    const app = await startPluginApp({ proxy: { agent: new http.Agent({ keepAlive: true }), on: { proxyReq: fixRequestBody } } });
    // A GET first, so that the POST reuses a connected keep-alive socket.
    await request(app.url).get('/mcp').expect(200);
    const res = await rawRequest(app.url, {
      path: '/mcp',
      headers: ['Content-Type', 'application/json', 'X-Forwarded-User-Admin', 'true'],
      chunks: [JSON.stringify(toolsCall())],
    });
    expect(res.status).toBe(500);
    expect(refusal(res.json)).toEqual({ code: 'body_unavailable', rpcCode: -32603, jsonrpc: '2.0' });
    expect(app.upstream.received.map((r) => r.method)).toEqual(['GET']);
  });
});
