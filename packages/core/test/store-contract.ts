/**
 * The IdentityStore contract, as behaviour tests any implementation must pass: MemoryStore
 * and RedisStore run the same ones. `elapse` moves the store's time forward.
 */
import type { IdentityStore } from '../src/internal.js';

/** A store under test and a way to let time pass for it. */
export interface StoreHarness {
  readonly store: IdentityStore;
  readonly elapse: (ms: number) => Promise<void>;
}

/** Declares the contract tests; `make` is called once per test. */
export function storeContract(make: () => Promise<StoreHarness>): void {
  it('stores a key once: setIfAbsent is true, then false', async () => {
    const { store } = await make();
    expect(await store.setIfAbsent('jti-1', '', 60_000)).toBe(true);
    expect(await store.setIfAbsent('jti-1', '', 60_000)).toBe(false);
    expect(await store.setIfAbsent('jti-2', '', 60_000)).toBe(true);
  });

  it('keeps the first value when a second set is refused', async () => {
    const { store } = await make();
    await store.setIfAbsent('session', 'user-a', 60_000);
    await store.setIfAbsent('session', 'user-b', 60_000);
    expect(await store.get('session')).toBe('user-a');
  });

  it('returns the value of a live key, an empty string for an empty value, undefined for an absent key', async () => {
    const { store } = await make();
    await store.setIfAbsent('with-value', 'v', 60_000);
    await store.setIfAbsent('empty', '', 60_000);
    expect(await store.get('with-value')).toBe('v');
    expect(await store.get('empty')).toBe('');
    expect(await store.get('absent')).toBeUndefined();
  });

  it('does not confuse keys with object prototype names', async () => {
    const { store } = await make();
    expect(await store.get('__proto__')).toBeUndefined();
    expect(await store.get('constructor')).toBeUndefined();
    expect(await store.setIfAbsent('__proto__', 'x', 1000)).toBe(true);
    expect(await store.get('__proto__')).toBe('x');
  });

  it('deletes a key, and deleting an absent key is no error', async () => {
    const { store } = await make();
    await store.setIfAbsent('k', 'v', 60_000);
    await store.delete('k');
    expect(await store.get('k')).toBeUndefined();
    expect(await store.setIfAbsent('k', 'w', 60_000)).toBe(true);
    expect(await store.get('k')).toBe('w');
    await expect(Promise.resolve(store.delete('never-set'))).resolves.toBeUndefined();
  });

  it('keeps a key for its TTL, then forgets it', async () => {
    const { store, elapse } = await make();
    await store.setIfAbsent('k', 'v', 60_000);
    await elapse(59_000);
    expect(await store.get('k')).toBe('v');
    expect(await store.setIfAbsent('k', 'other', 60_000)).toBe(false);
    await elapse(3_000);
    expect(await store.get('k')).toBeUndefined();
  });

  it('lets an expired key be set again', async () => {
    const { store, elapse } = await make();
    expect(await store.setIfAbsent('jti', '', 1_000)).toBe(true);
    await elapse(5_000);
    expect(await store.setIfAbsent('jti', 'again', 1_000)).toBe(true);
    expect(await store.get('jti')).toBe('again');
  });

  it('treats a zero or negative TTL as at least a second', async () => {
    const { store, elapse } = await make();
    await store.setIfAbsent('zero', '', 0);
    await store.setIfAbsent('negative', '', -5_000);
    await elapse(500);
    expect(await store.get('zero')).toBe('');
    expect(await store.get('negative')).toBe('');
  });
}
