import { IdentityError } from './errors.js';
import { clockOption, objectOption, onlyKnownKeys, optionKeys, positiveInteger } from './options.js';
import type { IdentityStore } from './store.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Most live entries kept; when full, new entries are refused (never are live ones evicted). Default 500 000. */
  readonly maxEntries?: number;
  /** Current time in milliseconds. Default `Date.now`. */
  readonly clock?: () => number;
}

/**
 * The in-process {@link IdentityStore}: the default replay store and session store.
 * A single process only: with several instances use `RedisStore`.
 *
 * Memory: expiries are kept as small integers (seconds since the store was created), so
 * an entry with an empty value costs its key plus a Map slot, about 100 bytes for a `jti`.
 * @example
 * const replayStore = new MemoryStore({ maxEntries: 100_000 });
 */
let queueLength: (store: MemoryStore) => number;

/** How many entries a store's expiry queue holds (tests: the queue stays bounded with deletes). */
export function expiryQueueLengthOf(store: MemoryStore): number {
  return queueLength(store);
}

export class MemoryStore implements IdentityStore {
  static {
    queueLength = (store) => store.#queueKeys.length - store.#head;
  }

  readonly #expiries = new Map<string, number>();
  readonly #values = new Map<string, string>();
  // Keys in insertion order with the expiry they were set with, from #head on (see #sweepFront).
  #queueKeys: string[] = [];
  #queueExpiries: number[] = [];
  #head = 0;
  readonly #maxEntries: number;
  readonly #clock: () => number;
  readonly #epoch: number;

  /**
   * Creates an empty store.
   * @param options - `maxEntries` (default 500 000) and `clock`.
   */
  constructor(options: MemoryStoreOptions = {}) {
    // `maxEntrys` would otherwise leave the default bound (500,000) in place without a word.
    onlyKnownKeys(objectOption(options, 'MemoryStore options'), 'MemoryStore', optionKeys<MemoryStoreOptions>()(['maxEntries', 'clock']));
    this.#maxEntries = positiveInteger(options.maxEntries, 'maxEntries', 500_000);
    this.#clock = clockOption(options.clock);
    this.#epoch = this.#clock();
  }

  /** Number of entries held, live or not yet swept. */
  get size(): number {
    return this.#expiries.size;
  }

  #now(): number {
    return Math.floor((this.#clock() - this.#epoch) / 1000);
  }

  #isLive(key: string, now: number): boolean {
    const expiry = this.#expiries.get(key);
    if (expiry === undefined) return false;
    if (expiry > now) return true;
    this.#expiries.delete(key);
    this.#values.delete(key);
    return false;
  }

  // Entries are mostly added with the same TTL, so the oldest insertions expire first:
  // sweeping a few from the front keeps the map near its live size at O(1) per call. The front
  // is a queue of its own: a Map iterated from its start walks over every entry deleted since
  // its last rehash, which made each call cost in proportion to the store's size.
  #sweepFront(now: number, budget: number): void {
    const keys = this.#queueKeys;
    const expiries = this.#queueExpiries;
    let head = this.#head;
    while (budget-- > 0 && head < keys.length) {
      const expiry = expiries[head] as number;
      if (expiry > now) break;
      const key = keys[head] as string;
      // A key deleted, or set again with another expiry, since: its newer entry decides.
      if (this.#expiries.get(key) === expiry) {
        this.#expiries.delete(key);
        this.#values.delete(key);
      }
      head++;
    }
    this.#head = head;
    // Drop the consumed front now and then: amortized O(1), and the queue stays near the live size.
    if (head >= 1024 && head * 2 >= keys.length) {
      keys.splice(0, head);
      expiries.splice(0, head);
      this.#head = 0;
    }
  }

  #sweepAll(now: number): void {
    for (const [key, expiry] of this.#expiries) {
      if (expiry <= now) {
        this.#expiries.delete(key);
        this.#values.delete(key);
      }
    }
    this.#rebuildQueue();
  }

  /** The queue again, from the live entries, in insertion order. */
  #rebuildQueue(): void {
    this.#queueKeys = [...this.#expiries.keys()];
    this.#queueExpiries = [...this.#expiries.values()];
    this.#head = 0;
  }

  setIfAbsent(key: string, value: string, ttlMs: number): boolean {
    const now = this.#now();
    if (this.#isLive(key, now)) return false;
    this.#sweepFront(now, 4);
    if (this.#expiries.size >= this.#maxEntries) {
      this.#sweepAll(now);
      if (this.#expiries.size >= this.#maxEntries) {
        throw new IdentityError('store_unavailable', 'the identity store is full');
      }
    }
    // Round up: an entry may outlive its TTL by under a second, never the reverse.
    const expiry = now + Math.max(1, Math.ceil(ttlMs / 1000)) + 1;
    this.#expiries.set(key, expiry);
    this.#queueKeys.push(key);
    this.#queueExpiries.push(expiry);
    // Deleted keys (a session binding evicted, say) leave their queue entries behind until they
    // expire: with deletes, the queue could outgrow the live entries by rate × TTL. Rebuilt when it
    // holds over twice the live entries (plus slack): amortized O(1), memory bounded by maxEntries.
    if (this.#queueKeys.length - this.#head > 2 * this.#expiries.size + 1024) this.#rebuildQueue();
    if (value !== '') this.#values.set(key, value);
    return true;
  }

  get(key: string): string | undefined {
    return this.#isLive(key, this.#now()) ? (this.#values.get(key) ?? '') : undefined;
  }

  delete(key: string): void {
    this.#expiries.delete(key);
    this.#values.delete(key);
  }
}
