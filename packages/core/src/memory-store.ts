import { IdentityError } from './errors.js';
import { clockOption, positiveInteger } from './options.js';
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
export class MemoryStore implements IdentityStore {
  readonly #expiries = new Map<string, number>();
  readonly #values = new Map<string, string>();
  readonly #maxEntries: number;
  readonly #clock: () => number;
  readonly #epoch: number;

  /**
   * Creates an empty store.
   * @param options - `maxEntries` (default 500 000) and `clock`.
   */
  constructor(options: MemoryStoreOptions = {}) {
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
  // sweeping a few from the front keeps the map near its live size at O(1) per call.
  #sweepFront(now: number, budget: number): void {
    for (const [key, expiry] of this.#expiries) {
      if (budget-- === 0 || expiry > now) return;
      this.#expiries.delete(key);
      this.#values.delete(key);
    }
  }

  #sweepAll(now: number): void {
    for (const [key, expiry] of this.#expiries) {
      if (expiry <= now) {
        this.#expiries.delete(key);
        this.#values.delete(key);
      }
    }
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
    this.#expiries.set(key, now + Math.max(1, Math.ceil(ttlMs / 1000)) + 1);
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
