import { IdentityError } from './errors.js';
import { onlyKnownKeys, optionKeys, positiveInteger } from './options.js';
import type { IdentityStore } from './store.js';

/**
 * The commands {@link RedisStore} uses, as an `ioredis` client (`Redis` or `Cluster`) has
 * them. Typed here so that core never loads `ioredis` itself.
 */
export interface RedisClientLike {
  set(key: string, value: string, px: 'PX', milliseconds: number, nx: 'NX'): Promise<unknown>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<unknown>;
}

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** Put before every key, so several deployments (or apps) can share one Redis. Default `"mcp-identity:"`. */
  readonly prefix?: string;
  /**
   * Longest wait for one command, in milliseconds; then the command fails and the caller
   * fails closed (the receiver answers 503). `ioredis` queues commands while it reconnects,
   * so without this a request would wait for Redis to come back. Default 1000.
   */
  readonly timeoutMs?: number;
}

/**
 * The {@link IdentityStore} shared by several instances: receivers sharing one replay
 * cache, gateways sharing session bindings. `setIfAbsent` is `SET key value PX ttl NX`, so
 * exactly one instance wins a `jti`. A command that fails or takes longer than `timeoutMs`
 * throws a `store_unavailable` {@link IdentityError}.
 * @example
 * import { Redis } from 'ioredis';
 * const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * redis.on('error', (error: Error) => process.stderr.write(`redis: ${error.message}\n`)); // ioredis logs unhandled errors
 * const replayStore = new RedisStore(redis, { prefix: 'mcp-identity:files:' });
 */
export class RedisStore implements IdentityStore {
  readonly #client: RedisClientLike;
  readonly #prefix: string;
  readonly #timeoutMs: number;

  /**
   * Wraps an ioredis client; a misconfiguration throws a `TypeError` naming the option.
   * @param client - An ioredis client (or anything with `set`, `get` and `del` of the same shape).
   * @param options - Key `prefix` and per-command `timeoutMs`.
   */
  constructor(client: RedisClientLike, options: RedisStoreOptions = {}) {
    if (
      typeof client !== 'object' ||
      client === null ||
      typeof client.set !== 'function' ||
      typeof client.get !== 'function' ||
      typeof client.del !== 'function'
    ) {
      throw new TypeError('client must be an ioredis client (with set, get and del)');
    }
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    // A misspelt `keyPrefix` would leave deployments sharing a Redis in one namespace.
    onlyKnownKeys(options, 'RedisStore', optionKeys<RedisStoreOptions>()(['prefix', 'timeoutMs']));
    const prefix = options.prefix ?? 'mcp-identity:';
    if (typeof prefix !== 'string') throw new TypeError('prefix must be a string');
    this.#client = client;
    this.#prefix = prefix;
    this.#timeoutMs = positiveInteger(options.timeoutMs, 'timeoutMs', 1000);
  }

  /** The prefix put before every key. */
  get prefix(): string {
    return this.#prefix;
  }

  // Every command is bounded: a Redis that is down must fail a request, never hold it.
  #run<T>(name: string, command: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // The client-facing message names no backend and no command; the cause (for logs) does.
      const fail = (cause: unknown): void =>
        reject(new IdentityError('store_unavailable', 'the store is unavailable', { cause: new Error(`Redis ${name} failed`, { cause }) }));
      const timer = setTimeout(() => fail(new Error(`Redis ${name} took longer than ${this.#timeoutMs} ms`)), this.#timeoutMs);
      let pending: Promise<T>;
      try {
        pending = Promise.resolve(command());
      } catch (cause) {
        clearTimeout(timer);
        fail(cause);
        return;
      }
      pending.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (cause: unknown) => {
          clearTimeout(timer);
          fail(cause);
        },
      );
    });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs)) throw new TypeError('ttlMs must be a finite number');
    // At least a second, like MemoryStore: an entry may outlive its TTL, never the reverse.
    const ms = Math.max(1000, Math.ceil(ttlMs));
    const answer = await this.#run('SET', () => this.#client.set(this.#prefix + key, value, 'PX', ms, 'NX'));
    if (answer === 'OK') return true;
    if (answer === null) return false;
    throw new IdentityError('store_unavailable', 'the store is unavailable', { cause: new Error('Redis SET gave an unexpected answer') });
  }

  async get(key: string): Promise<string | undefined> {
    const value = await this.#run('GET', () => this.#client.get(this.#prefix + key));
    if (value === null) return undefined;
    if (typeof value !== 'string')
      throw new IdentityError('store_unavailable', 'the store is unavailable', { cause: new Error('Redis GET gave an unexpected answer') });
    return value;
  }

  async delete(key: string): Promise<void> {
    await this.#run('DEL', () => this.#client.del(this.#prefix + key));
  }
}
