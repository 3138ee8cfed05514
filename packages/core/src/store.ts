/**
 * The store interface shared by the replay cache (`jti`s) and the session bindings.
 * {@link MemoryStore} is the in-process default; `RedisStore` shares state between instances.
 */
import { IdentityError, isIdentityError } from './errors.js';

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

/**
 * The refusal for a store that failed: `store_unavailable`, keeping the failure as `cause`
 * (never sent to clients). A `store_unavailable` error (a full `MemoryStore`) keeps its message.
 * `status` replaces the default 503 (the receiver's `storeErrorStatus`).
 */
export function storeUnavailable(cause: unknown, message: string, status?: number): IdentityError {
  const own = isIdentityError(cause) && cause.code === 'store_unavailable' ? cause.message : message;
  return new IdentityError('store_unavailable', own, { cause, ...(status === undefined ? {} : { status }) });
}
