/**
 * Session-binding store exhaustion (issue 11, finding 1): one user's flood of `initialize`
 * evicts that user's own oldest bindings and never anyone else's; bindings are released when
 * the upstream forgets a session (404) or the client deletes it; a store that cannot take a
 * binding is answered 503 and logged, never a session id that answers 404.
 */
import { randomBytes } from 'node:crypto';
import { MemoryStore, RedisStore } from '@mcp-identity/core/internal';
import { describeRedis, startRedis } from '../../../test/redis.js';
import type { RedisServer } from '../../../test/redis.js';
import { closeAll, startUpstream } from './propagate-kit.js';
import { expectRefused, initialize, send, startSessionGateway } from './sessions-kit.js';

afterEach(closeAll);

/** A logger that keeps its warnings. */
function warnings(): { warn(message: string): void; messages: string[] } {
  const messages: string[] = [];
  return { messages, warn: (message) => messages.push(message) };
}

describe('propagateIdentity session bounds', () => {
  it("evicts the flooding user's own oldest bindings and never another user's", async () => {
    const store = new MemoryStore({ maxEntries: 10 });
    const gateway = await startSessionGateway({ sessionStore: store, maxSessionsPerUser: 3 });
    const aliceSession = await initialize(gateway, 'alice');

    const bobSessions: string[] = [];
    for (let i = 0; i < 20; i++) bobSessions.push(await initialize(gateway, 'bob'));
    const forwardedBefore = gateway.upstream.received.length;

    expect((await send(gateway, { user: 'alice', sessionId: aliceSession })).status).toBe(200);
    for (const sessionId of bobSessions.slice(-3)) expect((await send(gateway, { user: 'bob', sessionId })).status).toBe(200);
    const evicted = await send(gateway, { user: 'bob', sessionId: bobSessions[0]! });
    expectRefused(evicted, 404, 'session_not_found', gateway, forwardedBefore + 4);
    // A new user still gets a working session: the store was never filled.
    const aliceSecond = await initialize(gateway, 'alice');
    expect((await send(gateway, { user: 'alice', sessionId: aliceSecond })).status).toBe(200);
    expect(store.size).toBeLessThanOrEqual(1 + 3 + 1);
  });

  it('keeps 100 sessions per user by default', async () => {
    const gateway = await startSessionGateway();
    const sessions: string[] = [];
    for (let i = 0; i < 101; i++) sessions.push(await initialize(gateway, 'bob'));

    expect((await send(gateway, { user: 'bob', sessionId: sessions[1]! })).status).toBe(200);
    expect((await send(gateway, { user: 'bob', sessionId: sessions[0]! })).status).toBe(404);
  });

  it('releases a binding when the upstream answers 404 for the session', async () => {
    const store = new MemoryStore();
    const upstream = await startUpstream((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.headers['mcp-session-id'] === undefined) res.setHeader('mcp-session-id', `forgotten-${randomBytes(4).toString('hex')}`);
      else res.statusCode = 404;
      res.end('{}');
    });
    const gateway = await startSessionGateway({ sessionStore: store }, upstream);
    const sessionId = await initialize(gateway, 'alice');
    expect(store.size).toBe(1);

    const gone = await send(gateway, { user: 'alice', sessionId });

    expect(gone.status).toBe(404);
    expect(store.size).toBe(0);
    expectRefused(await send(gateway, { user: 'alice', sessionId }), 404, 'session_not_found', gateway, 2);
  });

  it('releases a binding on a successful DELETE, freeing its place under the per-user cap', async () => {
    const store = new MemoryStore();
    const gateway = await startSessionGateway({ sessionStore: store, maxSessionsPerUser: 2 });
    const first = await initialize(gateway, 'alice');
    const second = await initialize(gateway, 'alice');

    expect((await send(gateway, { user: 'alice', sessionId: second, method: 'DELETE' })).status).toBe(200);
    const third = await initialize(gateway, 'alice');

    expect(store.size).toBe(2);
    expect((await send(gateway, { user: 'alice', sessionId: first })).status).toBe(200);
    expect((await send(gateway, { user: 'alice', sessionId: third })).status).toBe(200);
  });

  it('responds 503 store_unavailable to an initialize whose binding a full store refuses, naming no backend, and logs it', async () => {
    const logger = warnings();
    const gateway = await startSessionGateway({ sessionStore: new MemoryStore({ maxEntries: 1 }), logger });
    await initialize(gateway, 'alice');

    const res = await send(gateway, { user: 'bob' });

    expect(res.status).toBe(503);
    expect(res.json.error.data.code).toBe('store_unavailable');
    expect(res.headers['mcp-session-id']).toBeUndefined();
    expect(res.text).not.toMatch(/redis|memory|GET|SET/i);
    expect(logger.messages).toHaveLength(1);
    expect(logger.messages[0]).toContain('session store failed');
  });

  it.each([0, -1, 1.5, '3'])('refuses maxSessionsPerUser %p at construction, naming the option', async (value) => {
    await expect(startSessionGateway({ maxSessionsPerUser: value as number })).rejects.toThrow(/maxSessionsPerUser/);
  });
});

describeRedis('propagateIdentity session bounds with a RedisStore', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  it("evicts the flooding user's own oldest bindings from Redis and leaves another user's session working", async () => {
    const prefix = `bounds-${randomBytes(6).toString('hex')}:`;
    const gateway = await startSessionGateway({ sessionStore: new RedisStore(redis.client(), { prefix }), maxSessionsPerUser: 2 });
    const aliceSession = await initialize(gateway, 'alice');
    const bobSessions: string[] = [];
    for (let i = 0; i < 6; i++) bobSessions.push(await initialize(gateway, 'bob'));
    const raw = redis.client();
    const keys = async (): Promise<number> => (await raw.keys(`${prefix}*`)).length;
    while ((await keys()) > 3) await new Promise((resolve) => setTimeout(resolve, 5));

    expect(await keys()).toBe(3);
    expect((await send(gateway, { user: 'alice', sessionId: aliceSession })).status).toBe(200);
    expect((await send(gateway, { user: 'bob', sessionId: bobSessions[5]! })).status).toBe(200);
    expect((await send(gateway, { user: 'bob', sessionId: bobSessions[0]! })).status).toBe(404);
  });

  it('logs a Redis that is down, and answers later requests 503 store_unavailable without naming Redis', async () => {
    const down = await startRedis();
    const logger = warnings();
    const client = down.client({ maxRetriesPerRequest: 0 });
    const gateway = await startSessionGateway({ sessionStore: new RedisStore(client, { timeoutMs: 200 }), logger });
    const sessionId = await initialize(gateway, 'alice');
    await down.kill();

    const res = await send(gateway, { user: 'alice', sessionId });
    await down.stop();

    expectRefused(res, 503, 'store_unavailable', gateway, 1);
    expect(res.text).not.toMatch(/redis|GET|SET/i);
  });
});
