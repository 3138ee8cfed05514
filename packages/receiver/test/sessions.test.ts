/**
 * verifyIdentity's own session isolation (`sessions` option), for deployments without the
 * gateway's: a session is bound to the verified user whose request created it.
 */
import type { Request, Response } from 'express';
import request from 'supertest';
import { MemoryStore, normalizeUserContext } from '@mcp-identity/core/internal';
import type { IdentityStore, UserContext } from '@mcp-identity/core/internal';
import type { VerifyIdentityOptions } from '../src/index.js';
import { createTestApp, expectRefusal, identityHeaders, rawRequest, receiverOptions, signFor, T0, toolCall, USER } from './helpers.js';
import type { HandlerCall, TestApp } from './helpers.js';
import { verifyIdentity } from '../src/index.js';

const body = toolCall();
const BOB: UserContext = normalizeUserContext({ id: 'bob', authMethod: 'basic', issuer: 'https://idp.test' });
/** Same id as USER, another identity provider: another person. */
const IMPOSTOR: UserContext = normalizeUserContext({ ...USER, issuer: 'https://other-idp.test' });

let nextSession = 0;

/** An MCP-like handler: a request without a session gets a new one in the response. */
function sessionServer(options: { sessionId?: () => string; status?: number } = {}): (req: Request, res: Response) => void {
  return (req, res) => {
    if (req.headers['mcp-session-id'] === undefined) res.setHeader('mcp-session-id', options.sessionId?.() ?? `session-${++nextSession}`);
    res.status(options.status ?? 200).json({ ok: true });
  };
}

function app(sessions: VerifyIdentityOptions['sessions'] = { store: new MemoryStore() }, extra: Partial<VerifyIdentityOptions> = {}) {
  return createTestApp({ receiver: { sessions, ...extra }, respond: sessionServer() });
}

function post(target: TestApp['app'], user: UserContext, sessionId?: string): request.Test {
  const req = request(target)
    .post('/mcp')
    .set(identityHeaders(signFor({ body }, { user }), user));
  return (sessionId === undefined ? req : req.set('Mcp-Session-Id', sessionId)).send(body);
}

async function initialize(target: TestApp['app'], user: UserContext = USER): Promise<string> {
  const res = await post(target, user);
  expect(res.status).toBe(200);
  const sessionId = res.headers['mcp-session-id'];
  expect(typeof sessionId).toBe('string');
  return sessionId as string;
}

/** A store that records writes and lets every call through to a MemoryStore. */
function recordingStore(): IdentityStore & { writes: [string, string, number][] } {
  const inner = new MemoryStore();
  const writes: [string, string, number][] = [];
  return {
    writes,
    setIfAbsent(key, value, ttlMs) {
      writes.push([key, value, ttlMs]);
      return inner.setIfAbsent(key, value, ttlMs);
    },
    get: (key) => inner.get(key),
    delete: (key) => inner.delete(key),
  };
}

describe('verifyIdentity sessions', () => {
  it('lets the user who created a session use it', async () => {
    const { app: target, calls } = app();
    const sessionId = await initialize(target);

    const res = await post(target, USER, sessionId);

    expect(res.status).toBe(200);
    expect(calls).toHaveLength(2);
  });

  it('responds 404 session_not_found when another user sends the session id, and the handler never runs', async () => {
    const { app: target, calls } = app();
    const sessionId = await initialize(target);
    calls.length = 0;

    expectRefusal(await post(target, BOB, sessionId), 404, 'session_not_found', calls);
  });

  it('binds to the identity provider too: the same id from another issuer gets 404', async () => {
    const { app: target, calls } = app();
    const sessionId = await initialize(target);
    calls.length = 0;

    expectRefusal(await post(target, IMPOSTOR, sessionId), 404, 'session_not_found', calls);
  });

  it('responds 404 session_not_found to a session id it never bound', async () => {
    const { app: target, calls } = app();

    expectRefusal(await post(target, USER, 'never-issued'), 404, 'session_not_found', calls);
  });

  it('responds 401 identity_missing, before any session check, to a request without identity', async () => {
    const { app: target, calls } = app();
    const sessionId = await initialize(target);
    calls.length = 0;

    const res = await request(target).post('/mcp').set('Mcp-Session-Id', sessionId).send(body);

    expectRefusal(res, 401, 'identity_missing', calls);
  });

  it('ends the binding when a DELETE succeeds', async () => {
    const { app: target, calls } = app();
    const sessionId = await initialize(target);
    const token = signFor({ method: 'DELETE' });

    const deleted = await request(target).delete('/mcp').set(identityHeaders(token)).set('Mcp-Session-Id', sessionId);
    expect(deleted.status).toBe(200);
    calls.length = 0;

    expectRefusal(await post(target, USER, sessionId), 404, 'session_not_found', calls);
  });

  it('keeps the binding when the server refuses the DELETE', async () => {
    const { app: target, calls } = createTestApp({
      receiver: { sessions: { store: new MemoryStore() } },
      respond: (req, res) => {
        if (req.method === 'DELETE') res.status(405).json({});
        else sessionServer()(req, res);
      },
    });
    const sessionId = await initialize(target);

    await request(target)
      .delete('/mcp')
      .set(identityHeaders(signFor({ method: 'DELETE' })))
      .set('Mcp-Session-Id', sessionId);
    const res = await post(target, USER, sessionId);

    expect(res.status).toBe(200);
    expect(calls).toHaveLength(3);
  });

  it('refuses another user’s DELETE with 404, and the session stays usable by its owner', async () => {
    const { app: target, calls } = app();
    const sessionId = await initialize(target);
    calls.length = 0;

    const res = await request(target)
      .delete('/mcp')
      .set(identityHeaders(signFor({ method: 'DELETE' }, { user: BOB }), BOB))
      .set('Mcp-Session-Id', sessionId);

    expectRefusal(res, 404, 'session_not_found', calls);
    expect((await post(target, USER, sessionId)).status).toBe(200);
  });

  it.each<[string, (res: Response, id: string) => void]>([
    ['writeHead(200, { "Mcp-Session-Id": id })', (res, id) => res.writeHead(200, { 'Mcp-Session-Id': id }).end('{}')],
    ['writeHead(200, "OK", { "mcp-session-id": id })', (res, id) => res.writeHead(200, 'OK', { 'mcp-session-id': id }).end('{}')],
    [
      'writeHead(200, [name, value, ...])',
      (res, id) => res.writeHead(200, ['content-type', 'application/json', 'MCP-SESSION-ID', id]).end('{}'),
    ],
    [
      'setHeader then write and end',
      (res, id) => {
        res.setHeader('mcp-session-id', id);
        res.write('{');
        res.end('}');
      },
    ],
  ])('binds a session id the server sets with %s', async (_case, send) => {
    const id = `session-${++nextSession}`;
    const { app: target, calls } = createTestApp({
      receiver: { sessions: { store: new MemoryStore() } },
      respond: (req, res) => {
        if (req.headers['mcp-session-id'] === undefined) send(res, id);
        else res.json({ ok: true });
      },
    });

    expect((await post(target, USER)).headers['mcp-session-id']).toBe(id);
    expect((await post(target, USER, id)).status).toBe(200);
    calls.length = 0;
    expectRefusal(await post(target, BOB, id), 404, 'session_not_found', calls);
  });

  it('binds nothing when the response that carries a session id is an error', async () => {
    const { app: target, calls } = createTestApp({
      receiver: { sessions: { store: new MemoryStore() } },
      respond: sessionServer({ sessionId: () => 'error-session', status: 400 }),
    });
    await post(target, USER);
    calls.length = 0;

    expectRefusal(await post(target, USER, 'error-session'), 404, 'session_not_found', calls);
  });

  it('records session:<audience>:<id> → [issuer, user id] for sessions.ttlSeconds', async () => {
    const store = recordingStore();
    const { app: target } = app({ store, ttlSeconds: 600 });

    const sessionId = await initialize(target);

    expect(store.writes).toEqual([[`session:urn:mcp:files:${sessionId}`, JSON.stringify(['https://idp.test', 'user-42']), 600_000]]);
  });

  it('forgets a binding after its TTL: the session then answers 404', async () => {
    let now = T0;
    const { app: target, calls } = app({ store: new MemoryStore({ clock: () => now }), ttlSeconds: 60 });
    const sessionId = await initialize(target);

    now += 59_000;
    expect((await post(target, USER, sessionId)).status).toBe(200);
    now += 3_000;
    calls.length = 0;

    expectRefusal(await post(target, USER, sessionId), 404, 'session_not_found', calls);
  });

  it('waits for a binding still being written by an asynchronous store instead of refusing a fast client', async () => {
    const inner = new MemoryStore();
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const slow: IdentityStore = {
      setIfAbsent: async (key, value, ttlMs) => {
        await released;
        return inner.setIfAbsent(key, value, ttlMs);
      },
      get: (key) => Promise.resolve(inner.get(key)),
      delete: (key) => Promise.resolve(inner.delete(key)),
    };
    const { app: target } = app({ store: slow });
    const sessionId = await initialize(target);

    const pending = post(target, USER, sessionId).then((res) => res.status);
    release();

    expect(await pending).toBe(200);
  });

  describe('hostile spellings of Mcp-Session-Id', () => {
    async function setUp(): Promise<{ target: TestApp['app']; calls: HandlerCall[]; sessionId: string }> {
      const { app: target, calls } = app();
      const sessionId = await initialize(target);
      calls.length = 0;
      return { target, calls, sessionId };
    }

    const headersFor = (user: UserContext): [string, string][] => Object.entries(identityHeaders(signFor({ body }, { user }), user));

    it.each<[string, (id: string) => [string, string][]]>([
      ['spelled with underscores', (id) => [['mcp_session_id', id]]],
      [
        'spelled with underscores beside the real one',
        (id) => [
          ['Mcp-Session-Id', id],
          ['Mcp_Session_Id', id],
        ],
      ],
      [
        'sent twice with the same value',
        (id) => [
          ['Mcp-Session-Id', id],
          ['mcp-session-id', id],
        ],
      ],
      ['with whitespace inside the value', (id) => [['Mcp-Session-Id', `${id} x`]]],
      ['with an empty value', () => [['Mcp-Session-Id', '']]],
    ])('responds 404 session_not_found to a session id %s, even from its owner', async (_case, variant) => {
      const { target, calls, sessionId } = await setUp();

      const res = await rawRequest(target, { headers: [...headersFor(USER), ...variant(sessionId)], body });

      expectRefusal(res, 404, 'session_not_found', calls);
    });

    it('accepts the header in any letter case, with surrounding whitespace', async () => {
      const { target, calls, sessionId } = await setUp();

      const res = await rawRequest(target, { headers: [...headersFor(USER), ['MCP-SESSION-ID', `  ${sessionId}  `]], body });

      expect(res.status).toBe(200);
      expect(calls).toHaveLength(1);
    });
  });

  describe('when the session store fails', () => {
    const failing: IdentityStore = {
      setIfAbsent: () => Promise.reject(new Error('ECONNREFUSED')),
      get: () => Promise.reject(new Error('ECONNREFUSED')),
      delete: () => Promise.reject(new Error('ECONNREFUSED')),
    };

    it('responds 503 store_unavailable to a request carrying a session id', async () => {
      const { app: target, calls } = app({ store: failing }, { logger: { warn: () => undefined } });

      expectRefusal(await post(target, USER, 'any-session'), 503, 'store_unavailable', calls);
    });

    it('responds with storeErrorStatus when set', async () => {
      const { app: target, calls } = app({ store: failing }, { storeErrorStatus: 500 });

      expectRefusal(await post(target, USER, 'any-session'), 500, 'store_unavailable', calls);
    });

    it('tells the logger when a new session could not be bound', async () => {
      const warnings: string[] = [];
      const { app: target } = app({ store: failing }, { logger: { warn: (message) => warnings.push(message) } });

      await initialize(target);
      await new Promise((resolve) => setImmediate(resolve));

      expect(warnings).toEqual([expect.stringMatching(/session binding could not be written/)]);
    });
  });

  describe('options', () => {
    it.each<[string, unknown, RegExp]>([
      ['sessions that is not an object', 'memory', /sessions/],
      ['sessions without a store', {}, /sessions\.store/],
      ['a store without get and delete', { store: { setIfAbsent: () => true } }, /sessions\.store/],
      ['a zero ttlSeconds', { store: new MemoryStore(), ttlSeconds: 0 }, /sessions\.ttlSeconds/],
      ['a string ttlSeconds', { store: new MemoryStore(), ttlSeconds: '60' }, /sessions\.ttlSeconds/],
      ['a zero maxPerUser', { store: new MemoryStore(), maxPerUser: 0 }, /sessions\.maxPerUser/],
      ['a fractional maxPerUser', { store: new MemoryStore(), maxPerUser: 2.5 }, /sessions\.maxPerUser/],
    ])('throws a TypeError for %s', (_case, sessions, reason) => {
      expect(() => verifyIdentity(receiverOptions({ sessions: sessions as never }))).toThrow(TypeError);
      expect(() => verifyIdentity(receiverOptions({ sessions: sessions as never }))).toThrow(reason);
    });

    it('leaves sessions alone when the option is absent: another user’s session id reaches the handler', async () => {
      const { app: target, calls } = createTestApp({ respond: sessionServer() });
      const sessionId = await initialize(target);

      expect((await post(target, BOB, sessionId)).status).toBe(200);
      expect(calls).toHaveLength(2);
    });
  });
});
