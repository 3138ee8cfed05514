import { IdentityError, MemoryStore } from '../src/internal.js';
import { expiryQueueLengthOf } from '../src/memory-store.js';
import { thrownBy } from './fixtures.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_750_000_000_000) {
  let now = start;
  return {
    now: () => now,
    set: (ms: number) => {
      now = ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('MemoryStore', () => {
  it('stores a key once: setIfAbsent is true, then false', () => {
    const store = new MemoryStore();
    expect(store.setIfAbsent('jti-1', '', 60_000)).toBe(true);
    expect(store.setIfAbsent('jti-1', '', 60_000)).toBe(false);
    expect(store.setIfAbsent('jti-2', '', 60_000)).toBe(true);
  });

  it('keeps the first value when a second set is refused', () => {
    const store = new MemoryStore();
    store.setIfAbsent('session', 'user-a', 60_000);
    store.setIfAbsent('session', 'user-b', 60_000);
    expect(store.get('session')).toBe('user-a');
  });

  it('returns the value of a live key, an empty string for an empty value, undefined for an absent key', () => {
    const store = new MemoryStore();
    store.setIfAbsent('with-value', 'v', 60_000);
    store.setIfAbsent('empty', '', 60_000);
    expect(store.get('with-value')).toBe('v');
    expect(store.get('empty')).toBe('');
    expect(store.get('absent')).toBeUndefined();
  });

  it('does not confuse keys with object prototype names', () => {
    const store = new MemoryStore();
    expect(store.get('__proto__')).toBeUndefined();
    expect(store.get('constructor')).toBeUndefined();
    expect(store.setIfAbsent('__proto__', 'x', 1000)).toBe(true);
    expect(store.get('__proto__')).toBe('x');
  });

  it('deletes a key, and deleting an absent key is no error', () => {
    const store = new MemoryStore();
    store.setIfAbsent('k', 'v', 60_000);
    store.delete('k');
    expect(store.get('k')).toBeUndefined();
    expect(store.setIfAbsent('k', 'w', 60_000)).toBe(true);
    expect(store.get('k')).toBe('w');
    expect(() => store.delete('never-set')).not.toThrow();
  });

  describe('expiry', () => {
    // A key must live at least its TTL (never the reverse: a replayed jti must stay refused);
    // expiry works in whole seconds, so it is gone within two seconds after.
    it.each([
      [0, 1_000],
      [1, 1_000],
      [500, 1_000],
      [999, 1_000],
      [0, 1_500],
      [999, 60_000],
      [250, 1],
    ])('keeps a key set %i ms into a second for its full %i ms TTL', (offset, ttl) => {
      const clock = manualClock();
      const store = new MemoryStore({ clock: clock.now });
      const setAt = clock.now() + offset;
      clock.set(setAt);
      store.setIfAbsent('k', 'v', ttl);
      clock.set(setAt + ttl - 1);
      expect(store.get('k')).toBe('v');
      expect(store.setIfAbsent('k', 'other', ttl)).toBe(false);
      clock.set(setAt + Math.max(ttl, 1000) + 2000);
      expect(store.get('k')).toBeUndefined();
    });

    it('lets an expired key be set again', () => {
      const clock = manualClock();
      const store = new MemoryStore({ clock: clock.now });
      expect(store.setIfAbsent('jti', '', 1_000)).toBe(true);
      clock.advance(5_000);
      expect(store.setIfAbsent('jti', 'again', 1_000)).toBe(true);
      expect(store.get('jti')).toBe('again');
    });

    it('treats a zero or negative TTL as at least a second', () => {
      const clock = manualClock();
      const store = new MemoryStore({ clock: clock.now });
      store.setIfAbsent('zero', '', 0);
      store.setIfAbsent('negative', '', -5_000);
      clock.advance(999);
      expect(store.get('zero')).toBe('');
      expect(store.get('negative')).toBe('');
    });

    it('sweeps expired entries so the size shrinks', () => {
      const clock = manualClock();
      const store = new MemoryStore({ clock: clock.now });
      for (let i = 0; i < 10; i++) store.setIfAbsent(`old-${i}`, '', 1_000);
      clock.advance(10_000);
      for (let i = 0; i < 10; i++) store.setIfAbsent(`new-${i}`, '', 60_000);
      expect(store.size).toBeLessThan(20);
      expect(store.size).toBeGreaterThanOrEqual(10);
    });
    it('keeps sweeping at its live size over many times its capacity of expired entries', () => {
      const clock = manualClock();
      const store = new MemoryStore({ clock: clock.now, maxEntries: 5_000 });
      // 50 000 keys, one per 10 ms, each for 2 s: about 200 are live at any time.
      let accepted = 0;
      for (let i = 0; i < 50_000; i++) {
        if (store.setIfAbsent(`jti-${i}`, '', 2_000)) accepted++;
        clock.advance(10);
      }
      expect(accepted).toBe(50_000);
      expect(store.size).toBeLessThanOrEqual(500);
      expect(store.setIfAbsent('jti-49999', '', 2_000)).toBe(false);
      expect(store.get('jti-0')).toBeUndefined();
    });

    it('keeps its expiry queue bounded when keys are deleted before they expire (an evicting session binder)', () => {
      const clock = manualClock();
      const store = new MemoryStore({ clock: clock.now, maxEntries: 1_000 });
      // 200 000 bindings of 8 h, each deleted at once: none expires during the test.
      for (let i = 0; i < 200_000; i++) {
        expect(store.setIfAbsent(`session-${i}`, 'user', 8 * 3_600_000)).toBe(true);
        store.delete(`session-${i}`);
        clock.advance(1);
      }
      expect(store.size).toBe(0);
      expect(expiryQueueLengthOf(store)).toBeLessThanOrEqual(2 * 1_000 + 1_024 + 1);
    });

    it('does not sweep a key deleted and set again with a longer TTL when its first expiry passes', () => {
      const clock = manualClock();
      const store = new MemoryStore({ clock: clock.now });
      store.setIfAbsent('session', 'a', 1_000);
      store.delete('session');
      store.setIfAbsent('session', 'b', 600_000);
      clock.advance(10_000);
      // Each set sweeps the front: the first entry of "session" is due, its second is not.
      for (let i = 0; i < 8; i++) store.setIfAbsent(`jti-${i}`, '', 60_000);
      expect(store.get('session')).toBe('b');
    });
  });

  describe('when full', () => {
    it('refuses a new key with store_unavailable and never evicts a live one', () => {
      const store = new MemoryStore({ maxEntries: 2 });
      store.setIfAbsent('a', 'A', 60_000);
      store.setIfAbsent('b', 'B', 60_000);
      const error = thrownBy(() => store.setIfAbsent('c', 'C', 60_000));
      expect(error).toBeInstanceOf(IdentityError);
      expect(error).toMatchObject({ code: 'store_unavailable', status: 503 });
      expect(store.get('a')).toBe('A');
      expect(store.get('b')).toBe('B');
      expect(store.get('c')).toBeUndefined();
      expect(store.setIfAbsent('a', 'A2', 60_000)).toBe(false);
    });

    it('makes room from expired entries', () => {
      const clock = manualClock();
      const store = new MemoryStore({ maxEntries: 2, clock: clock.now });
      store.setIfAbsent('short', '', 1_000);
      store.setIfAbsent('long', 'L', 60_000);
      clock.advance(3_000);
      expect(store.setIfAbsent('new', 'N', 60_000)).toBe(true);
      expect(store.get('long')).toBe('L');
      expect(store.get('new')).toBe('N');
    });

    it('finds an expired entry behind a live one', () => {
      const clock = manualClock();
      const store = new MemoryStore({ maxEntries: 3, clock: clock.now });
      store.setIfAbsent('long-1', '', 60_000);
      store.setIfAbsent('long-2', '', 60_000);
      store.setIfAbsent('short', '', 1_000);
      clock.advance(3_000);
      expect(store.setIfAbsent('new', '', 60_000)).toBe(true);
      expect(store.get('long-1')).toBe('');
      expect(store.get('long-2')).toBe('');
    });

    it('makes room after a delete', () => {
      const store = new MemoryStore({ maxEntries: 1 });
      store.setIfAbsent('a', '', 60_000);
      store.delete('a');
      expect(store.setIfAbsent('b', '', 60_000)).toBe(true);
    });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a zero maxEntries', { maxEntries: 0 }, /maxEntries/],
    ['a negative maxEntries', { maxEntries: -1 }, /maxEntries/],
    ['a fractional maxEntries', { maxEntries: 1.5 }, /maxEntries/],
    ['a string maxEntries', { maxEntries: '100' }, /maxEntries/],
    ['an infinite maxEntries', { maxEntries: Infinity }, /maxEntries/],
    ['a clock that is a number', { clock: 0 }, /clock/],
  ])('refuses %s at construction', (_label, options, reason) => {
    expect(() => new MemoryStore(options as never)).toThrow(reason);
  });

  it('accepts explicit undefined options', () => {
    expect(() => new MemoryStore({ maxEntries: undefined, clock: undefined })).not.toThrow();
  });
});
