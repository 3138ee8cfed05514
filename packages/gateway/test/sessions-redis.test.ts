/**
 * Several gateway instances sharing a RedisStore, against a real `redis-server`: a session
 * created through one instance is isolated on every other.
 */
import { randomBytes } from 'node:crypto';
import { RedisStore } from '@mcp-identity/core/internal';
import { describeRedis, startRedis } from '../../../test/redis.js';
import type { RedisServer } from '../../../test/redis.js';
import { AUDIENCE, closeAll } from './propagate-kit.js';
import { expectRefused, initialize, send, startSessionGateway, startSessionUpstream } from './sessions-kit.js';
import type { SessionGateway } from './sessions-kit.js';

afterEach(closeAll);

describeRedis('propagateIdentity instances sharing a RedisStore for sessions', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  /** Two gateway instances, each with its own Redis connection, in front of one upstream. */
  async function twoInstances(): Promise<[SessionGateway, SessionGateway, string]> {
    const prefix = `gateway-${randomBytes(6).toString('hex')}:`;
    const upstream = await startSessionUpstream();
    const instance = (): Promise<SessionGateway> =>
      startSessionGateway({ sessionStore: new RedisStore(redis.client(), { prefix }) }, upstream);
    return [await instance(), await instance(), prefix];
  }

  // A binding is written (or removed) as the response head goes out; another instance sees
  // the change once Redis has it.
  async function until(key: string, present: boolean): Promise<void> {
    const raw = redis.client();
    while ((await raw.exists(key)) !== (present ? 1 : 0)) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  it('responds 404 session_not_found at the second instance to another user with a session made through the first', async () => {
    const [first, second, prefix] = await twoInstances();
    const sessionId = await initialize(first);
    await until(`${prefix}session:${AUDIENCE}:${sessionId}`, true);

    expectRefused(await send(second, { user: 'bob', sessionId }), 404, 'session_not_found', second, 1);
  });

  it('forwards the owner’s requests at the second instance', async () => {
    const [first, second, prefix] = await twoInstances();
    const sessionId = await initialize(first);
    await until(`${prefix}session:${AUDIENCE}:${sessionId}`, true);

    expect((await send(second, { user: 'alice', sessionId })).status).toBe(200);
  });

  it('ends the binding everywhere when a DELETE through one instance succeeds', async () => {
    const [first, second, prefix] = await twoInstances();
    const sessionId = await initialize(first);

    expect((await send(first, { user: 'alice', sessionId, method: 'DELETE' })).status).toBe(200);
    await until(`${prefix}session:${AUDIENCE}:${sessionId}`, false);

    expectRefused(await send(second, { user: 'alice', sessionId }), 404, 'session_not_found', second, 2);
  });

  it('responds 503 store_unavailable, forwarding nothing, when Redis is down', async () => {
    const own = await startRedis();
    try {
      // The binding of the initialize response is written after the response: when Redis dies
      // before that write lands, the failure is reported to the logger (never to the client).
      const warnings: string[] = [];
      const gateway = await startSessionGateway({
        sessionStore: new RedisStore(own.client({ maxRetriesPerRequest: null }), { timeoutMs: 100 }),
        logger: { warn: (message: string) => warnings.push(message) },
      });
      const sessionId = await initialize(gateway);

      await own.kill();

      expectRefused(await send(gateway, { user: 'alice', sessionId }), 503, 'store_unavailable', gateway, 1);
      for (const warning of warnings) expect(warning).not.toMatch(/alice|token|secret/i);
    } finally {
      await own.stop();
    }
  });
});
