import {
  createSessionBinder,
  IdentityError,
  isSessionId,
  MemoryStore,
  readSessionId,
  sessionSubject,
  storeUnavailable,
} from '../src/internal.js';
import type { IdentityStore } from '../src/internal.js';
import { thrownBy } from './fixtures.js';

const alice = { id: 'alice', issuer: 'https://idp.example' };

describe('readSessionId', () => {
  it.each<[string, string[], string | undefined]>([
    ['no session header', ['Host', 'x', 'Accept', '*/*'], undefined],
    ['Mcp-Session-Id', ['Mcp-Session-Id', 'abc-123'], 'abc-123'],
    ['an upper-case name', ['MCP-SESSION-ID', 'abc-123'], 'abc-123'],
    ['visible ASCII punctuation', ['mcp-session-id', '!~:/=+.'], '!~:/=+.'],
  ])('reads %s', (_case, raw, expected) => {
    expect(readSessionId(raw)).toBe(expected);
  });

  it.each<[string, string[]]>([
    ['an underscore spelling', ['mcp_session_id', 'abc']],
    ['an underscore spelling beside the real header', ['Mcp-Session-Id', 'abc', 'Mcp_Session_Id', 'abc']],
    ['a repeated header', ['Mcp-Session-Id', 'abc', 'mcp-session-id', 'abc']],
    ['a space inside the value', ['Mcp-Session-Id', 'abc def']],
    ['a comma-joined pair', ['Mcp-Session-Id', 'abc, def']],
    ['an empty value', ['Mcp-Session-Id', '']],
    ['a non-ASCII value', ['Mcp-Session-Id', 'abcé']],
    ['a value over 1024 characters', ['Mcp-Session-Id', 'a'.repeat(1025)]],
  ])('refuses %s with session_not_found (404)', (_case, raw) => {
    expect(thrownBy(() => readSessionId(raw))).toMatchObject({ code: 'session_not_found', status: 404 });
  });

  it('accepts a value of exactly 1024 characters', () => {
    expect(isSessionId('a'.repeat(1024))).toBe(true);
  });
});

describe('sessionSubject', () => {
  it('is the JSON of [issuer, id], with an empty issuer when there is none', () => {
    expect(sessionSubject(alice)).toBe('["https://idp.example","alice"]');
    expect(sessionSubject({ id: 'alice' })).toBe('["","alice"]');
  });

  it('cannot be forged by ids that contain the separator', () => {
    expect(sessionSubject({ id: 'b', issuer: 'a","' })).not.toBe(sessionSubject({ id: '","b', issuer: 'a' }));
  });
});

describe('createSessionBinder', () => {
  const binder = (store: IdentityStore = new MemoryStore()) => createSessionBinder({ store, audience: 'urn:mcp:files', ttlMs: 60_000 });

  it('lets the bound user through and refuses others with session_not_found', async () => {
    const sessions = binder();
    sessions.bind('s1', alice);

    await expect(sessions.check('s1', alice)).resolves.toBeUndefined();
    await expect(sessions.check('s1', { id: 'bob', issuer: alice.issuer })).rejects.toMatchObject({ code: 'session_not_found' });
    await expect(sessions.check('s2', alice)).rejects.toMatchObject({ code: 'session_not_found' });
  });

  it('never rebinds a session to a second user', async () => {
    const sessions = binder();
    sessions.bind('s1', alice);
    sessions.bind('s1', { id: 'bob' });

    await expect(sessions.check('s1', alice)).resolves.toBeUndefined();
    await expect(sessions.check('s1', { id: 'bob' })).rejects.toMatchObject({ code: 'session_not_found' });
  });

  it('forgets a session that ended', async () => {
    const sessions = binder();
    sessions.bind('s1', alice);
    sessions.end('s1');

    await expect(sessions.check('s1', alice)).rejects.toMatchObject({ code: 'session_not_found' });
  });

  it('maps a failing store to store_unavailable with the configured status, keeping the cause', async () => {
    const cause = new Error('down');
    const store: IdentityStore = { setIfAbsent: () => true, get: () => Promise.reject(cause), delete: () => undefined };
    const sessions = createSessionBinder({ store, audience: 'a', ttlMs: 1000, storeErrorStatus: 500 });

    await expect(sessions.check('s1', alice)).rejects.toMatchObject({ code: 'store_unavailable', status: 500, cause });
  });

  it('reports write failures to onError, throws store_unavailable from bind for a synchronous store, and never throws from end', () => {
    const errors: unknown[] = [];
    const store: IdentityStore = {
      setIfAbsent: () => {
        throw new Error('full');
      },
      get: () => undefined,
      delete: () => {
        throw new Error('gone');
      },
    };
    const sessions = createSessionBinder({ store, audience: 'a', ttlMs: 1000, onError: (error) => errors.push(error) });

    expect(() => sessions.bind('s1', alice)).toThrow(expect.objectContaining({ code: 'store_unavailable', status: 503 }));
    sessions.end('s1');

    expect(errors).toEqual([new Error('full'), new Error('gone')]);
  });

  it("ends the user's own oldest binding at maxPerUser and never another user's", () => {
    const store = new MemoryStore();
    const sessions = createSessionBinder({ store, audience: 'a', ttlMs: 60_000, maxPerUser: 2 });
    const bob = { id: 'bob', issuer: 'https://idp.example' };

    sessions.bind('alice-1', alice);
    for (let i = 1; i <= 5; i++) sessions.bind(`bob-${i}`, bob);

    expect(store.get('session:a:alice-1')).toBeDefined();
    expect(['bob-1', 'bob-2', 'bob-3', 'bob-4', 'bob-5'].map((id) => store.get(`session:a:${id}`) !== undefined)).toEqual([
      false,
      false,
      false,
      true,
      true,
    ]);
    expect(store.size).toBe(3);
  });

  it('counts only live bindings against maxPerUser: expired ones free their place', () => {
    let now = 0;
    const store = new MemoryStore({ clock: () => now });
    const sessions = createSessionBinder({ store, audience: 'a', ttlMs: 10_000, maxPerUser: 1, clock: () => now });

    sessions.bind('old', alice);
    now += 60_000;
    sessions.bind('new', alice);

    expect(store.get('session:a:new')).toBeDefined();
  });

  it.each([0, -1, 1.5, Number.NaN])('throws a TypeError naming maxPerUser for %p', (maxPerUser) => {
    expect(() => createSessionBinder({ store: new MemoryStore(), audience: 'a', ttlMs: 1000, maxPerUser })).toThrow(/maxPerUser/);
  });
});

describe('storeUnavailable', () => {
  it('keeps the message of a store_unavailable error and replaces the status', () => {
    const full = new IdentityError('store_unavailable', 'the identity store is full');

    expect(storeUnavailable(full, 'fallback', 504)).toMatchObject({ message: 'the identity store is full', status: 504, cause: full });
    expect(storeUnavailable(new Error('x'), 'the replay store is unavailable')).toMatchObject({
      code: 'store_unavailable',
      message: 'the replay store is unavailable',
      status: 503,
    });
  });

  it.each([200, 399, 600, 503.5])('refuses a status of %p in IdentityError', (status) => {
    expect(() => new IdentityError('store_unavailable', 'x', { status })).toThrow(TypeError);
  });
});
