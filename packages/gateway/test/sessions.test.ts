/**
 * Session isolation at the gateway: the MCP session an `initialize` creates is bound to
 * its user, and nobody else's request carrying its id reaches the upstream.
 */
import { MemoryStore } from '@mcp-identity/core/internal';
import type { IdentityStore } from '@mcp-identity/core/internal';
import { propagateIdentity } from '../src/index.js';
import { closeAll, identityOptions, AUDIENCE } from './propagate-kit.js';
import { expectRefused, initialize, send, startSessionGateway, startSessionPluginApp, startSessionUpstream } from './sessions-kit.js';

afterEach(closeAll);

/** A store that records writes and lets every call through to a MemoryStore. */
function recordingStore(inner: IdentityStore = new MemoryStore()): IdentityStore & { writes: unknown[][] } {
  const writes: unknown[][] = [];
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

/** An asynchronous store whose writes wait until `release()`. */
function slowStore(): IdentityStore & { release: () => void } {
  const inner = new MemoryStore();
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    release: () => release(),
    setIfAbsent: async (key, value, ttlMs) => {
      await released;
      return inner.setIfAbsent(key, value, ttlMs);
    },
    get: (key) => Promise.resolve(inner.get(key)),
    delete: (key) => Promise.resolve(inner.delete(key)),
  };
}

const failingStore: IdentityStore = {
  setIfAbsent: () => Promise.reject(new Error('ECONNREFUSED 10.0.0.9:6379')),
  get: () => Promise.reject(new Error('ECONNREFUSED 10.0.0.9:6379')),
  delete: () => Promise.reject(new Error('ECONNREFUSED 10.0.0.9:6379')),
};

describe('propagateIdentity sessions (on by default)', () => {
  it('forwards the requests of the user who created the session', async () => {
    const gateway = await startSessionGateway();
    const sessionId = await initialize(gateway);

    const res = await send(gateway, { user: 'alice', sessionId });

    expect(res.status).toBe(200);
    expect(gateway.upstream.received.map((r) => r.headers['mcp-session-id'])).toEqual([undefined, sessionId]);
  });

  it('responds 404 session_not_found to another user carrying the session id, and forwards nothing', async () => {
    const gateway = await startSessionGateway();
    const sessionId = await initialize(gateway);

    expectRefused(await send(gateway, { user: 'bob', sessionId }), 404, 'session_not_found', gateway, 1);
  });

  it('binds to the identity provider too: the same user id from another issuer gets 404', async () => {
    const gateway = await startSessionGateway();
    const sessionId = await initialize(gateway);

    expectRefused(await send(gateway, { user: 'impostor', sessionId }), 404, 'session_not_found', gateway, 1);
  });

  it('responds 404 session_not_found to a session id it never saw created', async () => {
    const gateway = await startSessionGateway();

    expectRefused(await send(gateway, { user: 'alice', sessionId: 'made-up' }), 404, 'session_not_found', gateway, 0);
  });

  it('responds 401 unauthenticated, before any session check, to a request without a user', async () => {
    const gateway = await startSessionGateway();
    const sessionId = await initialize(gateway);

    expectRefused(await send(gateway, { sessionId }), 401, 'unauthenticated', gateway, 1);
  });

  it.each(['GET', 'DELETE'])('checks a %s carrying a session id like a POST', async (method) => {
    const gateway = await startSessionGateway();
    const sessionId = await initialize(gateway);

    expectRefused(await send(gateway, { user: 'bob', sessionId, method }), 404, 'session_not_found', gateway, 1);
    expect((await send(gateway, { user: 'alice', sessionId, method })).status).toBe(200);
  });

  it('ends the binding when the upstream accepts a DELETE: the session then answers 404', async () => {
    const gateway = await startSessionGateway();
    const sessionId = await initialize(gateway);

    expect((await send(gateway, { user: 'alice', sessionId, method: 'DELETE' })).status).toBe(200);

    expectRefused(await send(gateway, { user: 'alice', sessionId }), 404, 'session_not_found', gateway, 2);
  });

  it('keeps the binding when the upstream refuses the DELETE', async () => {
    const gateway = await startSessionGateway({}, await startSessionUpstream({ deleteStatus: 405 }));
    const sessionId = await initialize(gateway);

    expect((await send(gateway, { user: 'alice', sessionId, method: 'DELETE' })).status).toBe(405);

    expect((await send(gateway, { user: 'alice', sessionId })).status).toBe(200);
  });

  it('binds nothing when the response carrying a session id is an error', async () => {
    const gateway = await startSessionGateway({}, await startSessionUpstream({ status: 500 }));
    const res = await send(gateway, { user: 'alice' });
    const sessionId = res.headers['mcp-session-id'] as string;

    expectRefused(await send(gateway, { user: 'alice', sessionId }), 404, 'session_not_found', gateway, 1);
  });

  it('records session:<audience>:<id> → [issuer, user id] for sessionTtlSeconds', async () => {
    const store = recordingStore();
    const gateway = await startSessionGateway({ sessionStore: store, sessionTtlSeconds: 3600 });

    const sessionId = await initialize(gateway);

    expect(store.writes).toEqual([[`session:${AUDIENCE}:${sessionId}`, JSON.stringify(['https://idp.example', 'alice@corp']), 3_600_000]]);
  });

  it('binds a session for 8 hours by default, on the clock option: then it answers 404', async () => {
    let now = Date.UTC(2030, 0, 1);
    const gateway = await startSessionGateway({ clock: () => now });
    const sessionId = await initialize(gateway);

    now += 28_799_000;
    expect((await send(gateway, { user: 'alice', sessionId })).status).toBe(200);
    now += 3_000;

    expectRefused(await send(gateway, { user: 'alice', sessionId }), 404, 'session_not_found', gateway, 2);
  });

  it('keeps the sessions of each upstream apart', async () => {
    const store = new MemoryStore();
    const upstream = await startSessionUpstream();
    const files = await startSessionGateway({ sessionStore: store }, upstream);
    const other = await startSessionGateway({ sessionStore: store, audience: 'urn:mcp:other' }, upstream);
    const sessionId = await initialize(files);

    expectRefused(await send(other, { user: 'alice', sessionId }), 404, 'session_not_found', other, 1);
  });

  it('waits for a binding an asynchronous store is still writing, instead of refusing a fast client', async () => {
    const store = slowStore();
    const gateway = await startSessionGateway({ sessionStore: store });
    const sessionId = await initialize(gateway);

    const pending = send(gateway, { user: 'alice', sessionId });
    store.release();

    expect((await pending).status).toBe(200);
  });

  it('responds 503 store_unavailable when the session store fails, forwards nothing and names nothing internal', async () => {
    const gateway = await startSessionGateway({ sessionStore: failingStore });

    const res = await send(gateway, { user: 'alice', sessionId: 'some-session' });

    expectRefused(res, 503, 'store_unavailable', gateway, 0);
    expect(res.text).not.toContain('10.0.0.9');
  });

  describe('hostile spellings of Mcp-Session-Id', () => {
    it.each<[string, (id: string) => string[]]>([
      ['spelled with underscores', (id) => ['mcp_session_id', id]],
      ['spelled with underscores beside the real one', (id) => ['Mcp-Session-Id', id, 'Mcp_Session_Id', 'other']],
      ['sent twice with the same value', (id) => ['Mcp-Session-Id', id, 'mcp-session-id', id]],
      ['sent twice, the second one another session', (id) => ['Mcp-Session-Id', id, 'mcp-session-id', 'upstream-session-1']],
      ['with whitespace inside the value', (id) => ['Mcp-Session-Id', `${id} x`]],
      ['with a tab inside the value', (id) => ['Mcp-Session-Id', `${id}\tx`]],
      ['with an empty value', () => ['Mcp-Session-Id', '']],
    ])('responds 404 session_not_found to a session id %s, even from its owner, and forwards nothing', async (_case, variant) => {
      const gateway = await startSessionGateway();
      const sessionId = await initialize(gateway);

      const res = await send(gateway, { user: 'alice', headers: ['Content-Type', 'application/json', ...variant(sessionId)] });

      expectRefused(res, 404, 'session_not_found', gateway, 1);
    });

    it('accepts the header in any letter case with surrounding whitespace, and forwards it once, as checked', async () => {
      const gateway = await startSessionGateway();
      const sessionId = await initialize(gateway);

      const res = await send(gateway, { user: 'alice', headers: ['MCP-SESSION-ID', `  ${sessionId}  `] });

      expect(res.status).toBe(200);
      const forwarded = gateway.upstream.received[1]!;
      const sessionHeaders = forwarded.rawHeaders.filter(
        (_, i) => i % 2 === 0 && forwarded.rawHeaders[i]!.toLowerCase().replaceAll('_', '-') === 'mcp-session-id',
      );
      expect(sessionHeaders).toHaveLength(1);
      expect(forwarded.headers['mcp-session-id']).toBe(sessionId);
    });
  });

  describe('sessionStore: false', () => {
    it('forwards another user’s session id: the upstream is on its own', async () => {
      const gateway = await startSessionGateway({ sessionStore: false });
      const sessionId = await initialize(gateway);

      expect((await send(gateway, { user: 'bob', sessionId })).status).toBe(200);
    });

    it('still strips an underscore spelling of Mcp-Session-Id, so the upstream reads no other value', async () => {
      const gateway = await startSessionGateway({ sessionStore: false });

      await send(gateway, { user: 'alice', headers: ['Content-Type', 'application/json', 'Mcp_Session_Id', 'smuggled'] });

      const forwarded = gateway.upstream.received[0]!;
      expect(forwarded.rawHeaders.map((name) => name.toLowerCase())).not.toContain('mcp_session_id');
      expect(forwarded.headers['mcp-session-id']).toBeUndefined();
    });
  });

  describe('options', () => {
    it.each<[string, Record<string, unknown>, RegExp]>([
      ['a sessionStore without get and delete', { sessionStore: { setIfAbsent: () => true } }, /sessionStore/],
      ['sessionStore: true', { sessionStore: true }, /sessionStore/],
      ['sessionStore: null', { sessionStore: null }, /sessionStore/],
      ['a zero sessionTtlSeconds', { sessionTtlSeconds: 0 }, /sessionTtlSeconds/],
      ['a string sessionTtlSeconds', { sessionTtlSeconds: '3600' }, /sessionTtlSeconds/],
    ])('throws a TypeError for %s', (_case, options, reason) => {
      const create = (): unknown => propagateIdentity({ target: 'http://127.0.0.1:1', ...identityOptions, ...options });
      expect(create).toThrow(TypeError);
      expect(create).toThrow(reason);
    });
  });
});

describe('identityPlugin sessions', () => {
  it('forwards the owner’s requests and responds 404 session_not_found to anyone else’s, forwarding nothing', async () => {
    const app = await startSessionPluginApp();
    const sessionId = await initialize(app);

    expect((await send(app, { user: 'alice', sessionId })).status).toBe(200);
    expectRefused(await send(app, { user: 'bob', sessionId }), 404, 'session_not_found', app, 2);
  });

  it('holds the upstream request until an asynchronous store answers', async () => {
    const store = slowStore();
    const app = await startSessionPluginApp(store);
    const sessionId = await initialize(app);

    const owner = send(app, { user: 'alice', sessionId });
    store.release();

    expect((await owner).status).toBe(200);
    expectRefused(await send(app, { user: 'bob', sessionId }), 404, 'session_not_found', app, 2);
  });

  it('responds 503 store_unavailable when the session store fails, forwarding nothing', async () => {
    const app = await startSessionPluginApp(failingStore);

    expectRefused(await send(app, { user: 'alice', sessionId: 'some-session' }), 503, 'store_unavailable', app, 0);
  });

  it('responds 401 unauthenticated to a request without a user', async () => {
    const app = await startSessionPluginApp();
    const sessionId = await initialize(app);

    expectRefused(await send(app, { sessionId }), 401, 'unauthenticated', app, 1);
  });
});
