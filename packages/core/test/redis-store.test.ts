/**
 * RedisStore: the IdentityStore contract against a real `redis-server`, sharing between
 * instances, failing closed when Redis is down; and, with a fake client, the exact
 * commands and the time bound.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describeRedis, freePort, startRedis } from '../../../test/redis.js';
import type { RedisServer } from '../../../test/redis.js';
import { IdentityError, isIdentityError, MemoryStore, RedisStore } from '../src/internal.js';
import type { RedisClientLike } from '../src/internal.js';
import { storeContract } from './store-contract.js';

/** Lets `ms` pass for every key under `prefix`, by shortening its TTL in Redis. */
async function elapseInRedis(redis: Redis, prefix: string, ms: number): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  for (const key of keys) {
    const left = await redis.pttl(key);
    if (left > ms) await redis.pexpire(key, left - ms);
    else await redis.del(key);
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('IdentityStore contract: MemoryStore', () => {
  storeContract(() => {
    let now = 1_750_000_000_000;
    const store = new MemoryStore({ clock: () => now });
    return Promise.resolve({
      store,
      elapse: (ms: number) => {
        now += ms;
        return Promise.resolve();
      },
    });
  });
});

describeRedis('RedisStore against redis-server', () => {
  let redis: RedisServer;
  let raw: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    raw = redis.client();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  const uniquePrefix = (): string => `test:${randomBytes(6).toString('hex')}:`;

  describe('IdentityStore contract', () => {
    storeContract(() => {
      const prefix = uniquePrefix();
      return Promise.resolve({ store: new RedisStore(redis.client(), { prefix }), elapse: (ms: number) => elapseInRedis(raw, prefix, ms) });
    });
  });

  it('writes prefix + key with SET PX: the TTL Redis holds is the one asked for, at most', async () => {
    const prefix = uniquePrefix();
    const store = new RedisStore(redis.client(), { prefix });

    await store.setIfAbsent('jti:abc', 'v', 60_000);

    expect(await raw.get(`${prefix}jti:abc`)).toBe('v');
    const ttl = await raw.pttl(`${prefix}jti:abc`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('uses "mcp-identity:" as the default prefix', async () => {
    const store = new RedisStore(redis.client());
    const key = `jti:${randomBytes(6).toString('hex')}`;

    await store.setIfAbsent(key, 'v', 60_000);

    expect(store.prefix).toBe('mcp-identity:');
    expect(await raw.get(`mcp-identity:${key}`)).toBe('v');
  });

  it('keeps stores with different prefixes apart on one Redis', async () => {
    const a = new RedisStore(redis.client(), { prefix: uniquePrefix() });
    const b = new RedisStore(redis.client(), { prefix: uniquePrefix() });

    expect(await a.setIfAbsent('k', 'from-a', 60_000)).toBe(true);
    expect(await b.setIfAbsent('k', 'from-b', 60_000)).toBe(true);
    await a.delete('k');

    expect(await a.get('k')).toBeUndefined();
    expect(await b.get('k')).toBe('from-b');
  });

  it('lets exactly one of two instances win a key, however the calls interleave', async () => {
    const prefix = uniquePrefix();
    const first = new RedisStore(redis.client(), { prefix });
    const second = new RedisStore(redis.client(), { prefix });

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? first : second).setIfAbsent('jti:shared', String(i), 60_000)),
    );

    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('fails with store_unavailable when nothing listens on the port, and does not wait for it', async () => {
    const client = redis.client({ port: await freePort(), maxRetriesPerRequest: null });
    const store = new RedisStore(client, { timeoutMs: 50 });

    const error = await rejection(store.setIfAbsent('jti:x', '', 60_000));

    expect(isIdentityError(error) && error.code).toBe('store_unavailable');
  });

  it('fails with store_unavailable at once when the client refuses to queue commands while disconnected', async () => {
    const client = redis.client({ port: await freePort(), enableOfflineQueue: false, lazyConnect: true });
    const store = new RedisStore(client, { timeoutMs: 60_000 });

    const error = await rejection(store.get('k'));

    expect(isIdentityError(error) && error.code).toBe('store_unavailable');
  });
});

describeRedis('RedisStore when Redis goes down', () => {
  it('fails every command with store_unavailable instead of hanging or answering', async () => {
    const redis = await startRedis();
    try {
      const store = new RedisStore(redis.client({ maxRetriesPerRequest: null }), { prefix: 'down:', timeoutMs: 100 });
      expect(await store.setIfAbsent('jti:before', '', 60_000)).toBe(true);

      await redis.kill();

      for (const call of [store.setIfAbsent('jti:after', '', 60_000), store.get('jti:before'), store.delete('jti:before')]) {
        const error = await rejection(call);
        expect(isIdentityError(error) && error.code).toBe('store_unavailable');
      }
    } finally {
      await redis.stop();
    }
  });
});

/** A fake ioredis client: records commands, answers with `answer`. */
function fakeClient(answer: (command: string, args: unknown[]) => Promise<unknown>): RedisClientLike & { commands: unknown[][] } {
  const commands: unknown[][] = [];
  const run = (command: string, args: unknown[]): Promise<any> => {
    commands.push([command, ...args]);
    return answer(command, args);
  };
  return {
    commands,
    set: (...args) => run('set', args),
    get: (...args) => run('get', args),
    del: (...args) => run('del', args),
  };
}

describe('RedisStore commands (fake client)', () => {
  it.each([
    [60_000, 60_000],
    [1_000, 1_000],
    [1_000.2, 1_001],
    [999, 1_000],
    [1, 1_000],
    [0, 1_000],
    [-5_000, 1_000],
  ])('sends SET <prefix><key> <value> PX <ms> NX for a TTL of %d ms as PX %d', async (ttl, px) => {
    const client = fakeClient(() => Promise.resolve('OK'));
    const store = new RedisStore(client, { prefix: 'p:' });

    expect(await store.setIfAbsent('jti:1', 'v', ttl)).toBe(true);

    expect(client.commands).toEqual([['set', 'p:jti:1', 'v', 'PX', px, 'NX']]);
  });

  it('reads a null answer to SET NX as "already there", and a null GET as absent', async () => {
    const client = fakeClient(() => Promise.resolve(null));
    const store = new RedisStore(client);

    expect(await store.setIfAbsent('k', '', 1_000)).toBe(false);
    expect(await store.get('k')).toBeUndefined();
    await store.delete('k');
    expect(client.commands).toEqual([
      ['set', 'mcp-identity:k', '', 'PX', 1_000, 'NX'],
      ['get', 'mcp-identity:k'],
      ['del', 'mcp-identity:k'],
    ]);
  });

  it.each<[string, (command: string) => Promise<unknown>]>([
    ['never answers', () => new Promise(() => undefined)],
    ['rejects', () => Promise.reject(new Error('ECONNREFUSED 10.0.0.7:6379'))],
    [
      'throws',
      () => {
        throw new Error('Connection is closed.');
      },
    ],
    ['answers SET and GET with something unexpected', () => Promise.resolve(42)],
  ])('fails with store_unavailable when the client %s', async (_case, answer) => {
    const store = new RedisStore(fakeClient(answer), { timeoutMs: 20 });

    for (const call of [store.setIfAbsent('k', '', 1_000), store.get('k')]) {
      const error = await rejection(call);
      expect(error).toBeInstanceOf(IdentityError);
      expect(error).toMatchObject({ code: 'store_unavailable', status: 503 });
      expect((error as Error).message).not.toContain('10.0.0.7');
    }
  });

  it('refuses a TTL that is not a finite number', async () => {
    const store = new RedisStore(fakeClient(() => Promise.resolve('OK')));
    for (const ttl of [Number.NaN, Infinity, '1000']) {
      await expect(store.setIfAbsent('k', '', ttl as number)).rejects.toThrow(TypeError);
    }
  });

  it.each<[string, unknown, unknown, RegExp]>([
    ['no client', undefined, {}, /client/],
    ['a client without del', { set: () => undefined, get: () => undefined }, {}, /client/],
    ['a prefix that is not a string', fakeClient(() => Promise.resolve('OK')), { prefix: 7 }, /prefix/],
    ['a zero timeoutMs', fakeClient(() => Promise.resolve('OK')), { timeoutMs: 0 }, /timeoutMs/],
    ['a fractional timeoutMs', fakeClient(() => Promise.resolve('OK')), { timeoutMs: 1.5 }, /timeoutMs/],
    ['options that are not an object', fakeClient(() => Promise.resolve('OK')), null, /options/],
  ])('refuses %s at construction with a TypeError', (_case, client, options, reason) => {
    expect(() => new RedisStore(client as never, options as never)).toThrow(TypeError);
    expect(() => new RedisStore(client as never, options as never)).toThrow(reason);
  });

  it('accepts explicit undefined options and an empty prefix', () => {
    const client = fakeClient(() => Promise.resolve('OK'));
    expect(new RedisStore(client, { prefix: undefined, timeoutMs: undefined }).prefix).toBe('mcp-identity:');
    expect(new RedisStore(client, { prefix: '' }).prefix).toBe('');
  });
});
