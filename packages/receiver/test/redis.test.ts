/**
 * verifyIdentity with a RedisStore shared by several instances, against a real
 * `redis-server`: a replay at another instance is refused, sessions are isolated across
 * instances, and a Redis that is down makes every instance refuse rather than accept.
 */
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { normalizeUserContext, RedisStore } from '@mcp-identity/core/internal';
import type { UserContext } from '@mcp-identity/core/internal';
import { describeRedis, freePort, startRedis } from '../../../test/redis.js';
import type { RedisServer } from '../../../test/redis.js';
import type { VerifyIdentityOptions } from '../src/index.js';
import { AUDIENCE, createTestApp, expectRefusal, identityHeaders, signFor, toolCall, USER } from './helpers.js';
import type { TestApp } from './helpers.js';

const body = toolCall();
const BOB: UserContext = normalizeUserContext({ id: 'bob', authMethod: 'basic' });
const quiet = { warn: () => undefined };

function post(app: TestApp['app'], token: string, user: UserContext = USER, sessionId?: string): request.Test {
  const req = request(app).post('/mcp').set(identityHeaders(token, user));
  return (sessionId === undefined ? req : req.set('Mcp-Session-Id', sessionId)).send(body);
}

describeRedis('verifyIdentity instances sharing a RedisStore', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  /** One receiver instance: its own Redis connection, the deployment's shared prefix. */
  function instance(prefix: string, extra: Partial<VerifyIdentityOptions> = {}): TestApp {
    return createTestApp({
      receiver: { replayStore: new RedisStore(redis.client(), { prefix }), logger: quiet, ...extra },
      respond: (req, res) => {
        if (req.headers['mcp-session-id'] === undefined) res.setHeader('mcp-session-id', randomBytes(8).toString('hex'));
        res.json({ ok: true });
      },
    });
  }

  async function untilStored(key: string): Promise<void> {
    const raw = redis.client();
    while ((await raw.exists(key)) === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  const deploymentPrefix = (): string => `deployment-${randomBytes(6).toString('hex')}:`;

  it('responds 401 identity_replayed when a request accepted by one instance is replayed to another', async () => {
    const prefix = deploymentPrefix();
    const first = instance(prefix);
    const second = instance(prefix);
    const token = signFor({ body });

    expect((await post(first.app, token)).status).toBe(200);
    const replayed = await post(second.app, token);

    expectRefusal(replayed, 401, 'identity_replayed', second.calls);
    expect(first.calls).toHaveLength(1);
  });

  it('accepts fresh requests at every instance', async () => {
    const prefix = deploymentPrefix();
    const first = instance(prefix);
    const second = instance(prefix);

    expect((await post(first.app, signFor({ body }))).status).toBe(200);
    expect((await post(second.app, signFor({ body }))).status).toBe(200);
  });

  it('isolates a session created at one instance when another user presents it at another', async () => {
    const prefix = deploymentPrefix();
    const sessions = (): VerifyIdentityOptions['sessions'] => ({ store: new RedisStore(redis.client(), { prefix }) });
    const first = instance(prefix, { sessions: sessions() });
    const second = instance(prefix, { sessions: sessions() });
    const created = await post(first.app, signFor({ body }));
    const sessionId = created.headers['mcp-session-id'] as string;
    // The binding is written as the response head goes out; across instances, wait until Redis has it.
    await untilStored(`${prefix}session:${AUDIENCE}:${sessionId}`);

    const owner = await post(second.app, signFor({ body }), USER, sessionId);
    const other = await post(second.app, signFor({ body }, { user: BOB }), BOB, sessionId);

    expect(owner.status).toBe(200);
    expectRefusal(other, 404, 'session_not_found', second.calls.slice(1));
    expect(second.calls).toHaveLength(1);
  });
});

describeRedis('verifyIdentity when Redis is down', () => {
  it('responds 503 store_unavailable, and never accepts, once the server has stopped', async () => {
    const redis = await startRedis();
    try {
      const store = new RedisStore(redis.client({ maxRetriesPerRequest: null }), { timeoutMs: 100 });
      const { app, calls } = createTestApp({ receiver: { replayStore: store, logger: quiet } });
      expect((await post(app, signFor({ body }))).status).toBe(200);
      calls.length = 0;

      await redis.kill();

      expectRefusal(await post(app, signFor({ body })), 503, 'store_unavailable', calls);
    } finally {
      await redis.stop();
    }
  });

  it('responds with storeErrorStatus when Redis cannot be reached at all', async () => {
    const redis = await startRedis();
    try {
      const unreachable = redis.client({ port: await freePort(), maxRetriesPerRequest: null });
      const { app, calls } = createTestApp({
        receiver: { replayStore: new RedisStore(unreachable, { timeoutMs: 50 }), storeErrorStatus: 500, logger: quiet },
      });

      expectRefusal(await post(app, signFor({ body })), 500, 'store_unavailable', calls);
    } finally {
      await redis.stop();
    }
  });
});
