/**
 * The store interface shared by the replay cache (`jti`s) and the session bindings.
 * {@link MemoryStore} is the in-process default; `RedisStore` shares state between instances.
 */

/** A key-value store with per-entry expiry and an atomic "add if absent". */
export interface IdentityStore {
  /**
   * Stores `value` under `key` for `ttlMs` unless the key exists.
   * Resolves `true` when stored, `false` when the key was already there.
   * Throws (or rejects) when the store cannot answer; callers fail closed.
   */
  setIfAbsent(key: string, value: string, ttlMs: number): boolean | Promise<boolean>;
  /** The live value under `key`, or `undefined`. */
  get(key: string): string | undefined | Promise<string | undefined>;
  /** Removes `key`; no error when absent. */
  delete(key: string): void | Promise<void>;
}
