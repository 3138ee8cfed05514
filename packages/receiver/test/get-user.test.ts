import express from 'express';
import type { Request, Response } from 'express';
import request from 'supertest';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { META_ASSERTION } from '@mcp-identity/core/internal';
import { getUser, verifyIdentity } from '../src/index.js';
import type { ReceivedUser, UserSource } from '../src/index.js';
import { createTestApp, identityHeaders, receiverOptions, signFor, signIntoMeta, toolCall, USER } from './helpers.js';

const body = toolCall();

/** Runs one verified request whose handler calls `inspect`, and waits until its response has closed. */
/** Runs `inspect` inside a verified request whose assertion travels in both carriers, as the gateway sends it. */
async function duringRequest<T>(inspect: (req: Request, res: Response) => T, carriers: 'both' | 'headers' = 'both'): Promise<T> {
  let result: T | undefined;
  let closed: Promise<void> | undefined;
  const { app } = createTestApp({
    respond: (req, res) => {
      result = inspect(req, res);
      closed = new Promise((resolve) => res.once('close', resolve));
      res.json({});
    },
  });
  const signed = carriers === 'both' ? signIntoMeta(body) : { token: signFor({ body }), body };
  const res = await request(app).post('/mcp').set(identityHeaders(signed.token)).send(signed.body);
  expect(res.status).toBe(200);
  await closed;
  return result as T;
}

describe('getUser', () => {
  it('returns the user from extra.authInfo built by the receiver', async () => {
    const { user, fromAuthInfo } = await duringRequest((req) => ({ user: req.user, fromAuthInfo: getUser({ authInfo: req.auth }) }));

    expect(fromAuthInfo).toBe(user);
    expect(fromAuthInfo).toEqual(USER);
  });

  it('keeps returning the user from the receiver-built authInfo after the response closed', async () => {
    const { app, calls } = createTestApp();

    await request(app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body })))
      .send(body);

    expect(getUser({ authInfo: calls[0]?.auth })).toEqual(USER);
  });

  it.each<[string, (auth: NonNullable<Request['auth']>) => unknown]>([
    [
      'a look-alike object',
      () => ({ token: 'x', clientId: 'https://gateway.test', scopes: [], extra: { user: { ...USER, isAdmin: true } } }),
    ],
    ['a spread copy of the real one', (auth) => ({ ...auth })],
    ['a structured clone of the real one', (auth) => structuredClone(auth)],
    ['an object inheriting from the real one', (auth) => Object.create(auth) as unknown],
  ])('returns undefined for %s as authInfo', async (_case, forge) => {
    const { forged } = await duringRequest((req) => ({ forged: getUser({ authInfo: forge(req.auth!) }) }));

    expect(forged).toBeUndefined();
  });

  it('returns the user of the assertion in extra._meta while that request is in flight, and undefined after it closed', async () => {
    let after: ReceivedUser | undefined | 'unset' = 'unset';
    const during = await duringRequest((req, res) => {
      const extra: UserSource = { _meta: { [META_ASSERTION]: req.auth!.token } };
      // Registered after the receiver's own 'close' listener, so it runs once the entry is gone.
      res.once('close', () => (after = getUser(extra)));
      return getUser(extra);
    });

    expect(during).toEqual(USER);
    expect(after).toBeUndefined();
  });

  it('does not recognise in extra._meta an assertion that travelled only in the header', async () => {
    const found = await duringRequest((req) => getUser({ _meta: { [META_ASSERTION]: req.auth!.token } }), 'headers');

    expect(found).toBeUndefined();
  });

  it('prefers the verified _meta assertion over a look-alike authInfo', async () => {
    const found = await duringRequest((req) =>
      getUser({ authInfo: { token: 'x', extra: { user: { id: 'mallory' } } }, _meta: { [META_ASSERTION]: req.auth!.token } }),
    );

    expect(found).toEqual(USER);
  });

  it.each<[string, (token: string) => unknown]>([
    ['a correctly signed assertion that was never verified', () => signFor({ body })],
    ['a tampered copy of the in-flight assertion', (token) => `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`],
    ['a garbage string', () => 'not.an.assertion'],
    ['a non-string', (token) => ({ token })],
  ])('returns undefined for %s in extra._meta', async (_case, assertionFor) => {
    const found = await duringRequest((req) => getUser({ _meta: { [META_ASSERTION]: assertionFor(req.auth!.token) } }));

    expect(found).toBeUndefined();
  });

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['an empty object', {}],
    ['a null-prototype object', Object.create(null)],
    ['a string authInfo', { authInfo: 'token' }],
    ['a null _meta', { _meta: null }],
    ['an array _meta', { _meta: [] }],
  ])('returns undefined for %s', (_case, extra) => {
    expect(getUser(extra as UserSource)).toBeUndefined();
  });

  describe('inside an MCP SDK tool handler', () => {
    function mcpApp(seen: ReturnType<typeof getUser>[][]): express.Express {
      const app = express();
      app.post('/mcp', verifyIdentity(receiverOptions()), async (req, res) => {
        const server = new McpServer({ name: 'files', version: '1.0.0' });
        server.registerTool('whoami', { description: 'Who am I?' }, (extra) => {
          seen.push([getUser(extra), getUser({ authInfo: extra.authInfo }), getUser({ _meta: extra._meta })]);
          return { content: [{ type: 'text', text: getUser(extra)?.id ?? 'anonymous' }] };
        });
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
        res.on('close', () => {
          void transport.close();
          void server.close();
        });
        await server.connect(transport);
        await transport.handleRequest(req, res, req.body);
      });
      return app;
    }

    it('finds the user through extra.authInfo and extra._meta with the assertion in _meta', async () => {
      const seen: ReturnType<typeof getUser>[][] = [];
      const { body: sent } = signIntoMeta({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } });

      const res = await request(mcpApp(seen)).post('/mcp').set('accept', 'application/json, text/event-stream').send(sent);

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: 1, result: { content: [{ type: 'text', text: 'user-42' }] } });
      expect(seen).toEqual([[USER, USER, USER]]);
    });

    it('finds the user through extra.authInfo with the assertion in the header', async () => {
      const seen: ReturnType<typeof getUser>[][] = [];
      const rpc = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } };

      const res = await request(mcpApp(seen))
        .post('/mcp')
        .set('accept', 'application/json, text/event-stream')
        .set(identityHeaders(signFor({ body: rpc })))
        .send(rpc);

      expect(res.status).toBe(200);
      expect(seen).toEqual([[USER, USER, undefined]]);
    });
  });
});
