/**
 * The gateway's memo of `normalizeUserContext`: the same frozen user for an input whose fields
 * are the same values, a fresh normalization for anything else, and never a stale user.
 */
import fc from 'fast-check';
import { createUserMemo, normalizeUserContext } from '../src/internal.js';
import { runs } from './fuzz/settings.js';

const base = () => ({
  id: 'alice',
  email: 'alice@example.com',
  name: 'Alice',
  groups: ['eng', 'ops'],
  teams: ['core'],
  roles: ['reader'],
  isAdmin: false,
  authMethod: 'jwt',
  attributes: { region: 'eu', dept: 'r&d' },
});

/** Normalizes `input` twice: a user is kept from its second request on. */
function kept(memo: ReturnType<typeof createUserMemo>, input: object) {
  memo.normalize(input);
  return memo.normalize(input);
}

describe('createUserMemo', () => {
  it('returns the same frozen user for a new input object with the same fields, from the second request on', () => {
    const memo = createUserMemo();
    const first = memo.normalize(base());
    const second = memo.normalize(base());
    expect(second).not.toBe(first);
    const third = memo.normalize(base());
    expect(third).toBe(second);
    expect(Object.isFrozen(third)).toBe(true);
    expect(third).toEqual(normalizeUserContext(base()));
  });

  it('keeps nothing for users who do not come back before maxUsers others came', () => {
    const memo = createUserMemo({ maxUsers: 2 });
    const first = memo.normalize({ ...base(), id: 'a' });
    memo.normalize({ ...base(), id: 'b' });
    memo.normalize({ ...base(), id: 'c' });
    // 'a' was forgotten as seen once: this is its first sighting again, and the next one is kept.
    const again = memo.normalize({ ...base(), id: 'a' });
    expect(again).not.toBe(first);
    expect(memo.normalize({ ...base(), id: 'a' })).toBe(memo.normalize({ ...base(), id: 'a' }));
  });

  it.each([
    ['a group is added', { groups: ['eng', 'ops', 'admins'] }],
    ['a group is renamed', { groups: ['eng', 'sre'] }],
    ['the groups are reordered', { groups: ['ops', 'eng'] }],
    ['isAdmin changes', { isAdmin: true }],
    ['the email changes', { email: 'alice@elsewhere.example' }],
    ['authMethod changes', { authMethod: 'api_key' }],
    ['an attribute changes', { attributes: { region: 'us', dept: 'r&d' } }],
    ['the attributes are reordered', { attributes: { dept: 'r&d', region: 'eu' } }],
    ['a field is added', { issuer: 'https://idp.example' }],
    ['a field is removed', { name: undefined }],
    ['a list is emptied', { roles: [] }],
    ['a delegation is added', { serviceAccount: 'bot' }],
  ])('normalizes again for the same id when %s', (_what, change) => {
    const memo = createUserMemo();
    const before = kept(memo, base());
    expect(memo.normalize(base())).toBe(before);
    const input = { ...base(), ...change };
    const after = memo.normalize(input);
    expect(after).not.toBe(before);
    expect(after).toEqual(normalizeUserContext(input));
  });

  it('sees a list changed in place in the object it was given before', () => {
    const memo = createUserMemo();
    const input = base();
    kept(memo, input);
    input.groups.push('admins');
    expect(memo.normalize(input).groups).toEqual(['eng', 'ops', 'admins']);
  });

  it('ignores inherited and non-enumerable fields, as normalizeUserContext does', () => {
    const memo = createUserMemo();
    const user = kept(memo, base());
    const polluted = Object.assign(Object.create({ isAdmin: true, groups: ['root'] }) as object, { ...base() });
    expect(memo.normalize(polluted)).toBe(user);
    const hidden = Object.defineProperty(base(), 'isAdmin', { value: true, enumerable: false });
    const seen = memo.normalize(hidden);
    expect(seen.isAdmin).toBe(false);
    expect(seen).toEqual(normalizeUserContext(hidden));
  });

  it('remembers the values it normalized, even from a getter that answers differently on each read', () => {
    const memo = createUserMemo();
    let reads = 0;
    const flip = () => Object.defineProperty({ id: 'bob' }, 'isAdmin', { enumerable: true, get: () => reads++ % 2 === 0 });
    for (let i = 0; i < 3; i++) {
      const user = memo.normalize(flip());
      expect(user).toEqual(normalizeUserContext({ id: 'bob', isAdmin: user.isAdmin }));
    }
    // A plain non-admin input never gets an admin user back.
    expect(memo.normalize({ id: 'bob', isAdmin: false }).isAdmin).toBe(false);
    expect(memo.normalize({ id: 'bob', isAdmin: false }).isAdmin).toBe(false);
  });

  it('refuses an array as normalizeUserContext does, even one with an id of a remembered user', () => {
    const memo = createUserMemo();
    kept(memo, { id: 'alice', groups: ['eng'] });
    const array = Object.assign([], { id: 'alice', groups: ['eng'] });
    expect(() => memo.normalize(array)).toThrow(expect.objectContaining({ code: 'user_context_invalid' }));
  });

  it('throws for an invalid input every time instead of remembering it', () => {
    const memo = createUserMemo();
    kept(memo, base());
    const bad = { ...base(), groups: ['eng', 42] };
    for (let i = 0; i < 2; i++) expect(() => memo.normalize(bad)).toThrow(expect.objectContaining({ code: 'user_context_invalid' }));
    const long = { ...base(), groups: Array.from({ length: 257 }, (_, j) => `g${j}`) };
    expect(() => memo.normalize(long)).toThrow(expect.objectContaining({ code: 'claims_limit_exceeded' }));
  });

  it('keeps one user per id and at most maxUsers, dropping the oldest', () => {
    const memo = createUserMemo({ maxUsers: 2 });
    const a = kept(memo, { ...base(), id: 'a' });
    const b = kept(memo, { ...base(), id: 'b' });
    expect(memo.normalize({ ...base(), id: 'a' })).toBe(a);
    kept(memo, { ...base(), id: 'c' });
    // 'a' was kept first and is gone; 'b' stays.
    expect(memo.normalize({ ...base(), id: 'b' })).toBe(b);
    expect(memo.normalize({ ...base(), id: 'a' })).not.toBe(a);
  });

  it('does not keep a user larger than maxChars, nor any with maxUsers 0', () => {
    const large = createUserMemo({ maxChars: 10 });
    kept(large, base());
    expect(large.normalize(base())).not.toBe(large.normalize(base()));
    const none = createUserMemo({ maxUsers: 0 });
    kept(none, base());
    expect(none.normalize(base())).not.toBe(none.normalize(base()));
  });

  it('rejects bad bounds naming the option', () => {
    expect(() => createUserMemo({ maxUsers: -1 })).toThrow(/maxUsers/);
    expect(() => createUserMemo({ maxChars: 1.5 })).toThrow(/maxChars/);
  });

  it('returns a normalized user as it is', () => {
    const memo = createUserMemo();
    const user = normalizeUserContext(base());
    expect(memo.normalize(user)).toBe(user);
  });

  it('always agrees with normalizeUserContext over any sequence of inputs', () => {
    const text = fc.constantFrom('a', 'b', 'é', '', 'x'.repeat(3));
    const input = fc.record(
      {
        id: fc.constantFrom('u1', 'u2', 'u3'),
        email: fc.option(text, { nil: undefined }),
        groups: fc.oneof(fc.array(text, { maxLength: 3 }), fc.constant(null), fc.constant(undefined)),
        roles: fc.array(fc.oneof(text, fc.constant(1)), { maxLength: 2 }),
        isAdmin: fc.oneof(fc.boolean(), fc.constant(undefined), fc.constant('yes')),
        attributes: fc.option(fc.dictionary(fc.constantFrom('k', 'l'), text), { nil: undefined }),
        serviceAccount: fc.option(text, { nil: undefined }),
      },
      { requiredKeys: ['id'] },
    );
    fc.assert(
      fc.property(fc.array(input, { minLength: 1, maxLength: 12 }), (inputs) => {
        const memo = createUserMemo({ maxUsers: 2 });
        for (const value of inputs) {
          let expected: unknown;
          let expectedError: unknown;
          try {
            expected = normalizeUserContext(value);
          } catch (error) {
            expectedError = error;
          }
          if (expectedError === undefined) expect(memo.normalize(value)).toEqual(expected);
          else expect(() => memo.normalize(value)).toThrow((expectedError as Error).message);
        }
      }),
      runs(200),
    );
  });
});
