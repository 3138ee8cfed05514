import { randomBytes } from 'node:crypto';
import { createAssertionVerifier, IdentityError, importVerificationSecrets, normalizeUserContext, userToClaims } from '../src/internal.js';
import type { RequestBinding, UserContext } from '../src/internal.js';
import { createUserCache } from '../src/verify.js';
import { AUDIENCE, ISSUER, NOW_S, clock, hs256Pair } from './fixtures.js';

const binding: RequestBinding = { method: 'POST', path: '/mcp', bodySha256: 'x'.repeat(43) };
const ada = normalizeUserContext({ id: 'ada', email: 'ada@example.com', groups: ['eng'], roles: ['reader'], authMethod: 'sso' });
const bob = normalizeUserContext({ id: 'bob', email: 'bob@example.com', groups: ['eng'], roles: ['reader'], authMethod: 'sso' });

function claimsOf(user: UserContext, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const jti = randomBytes(16).toString('base64url');
  return { iss: ISSUER, aud: AUDIENCE, iat: NOW_S, exp: NOW_S + 60, jti, v: 1, req: { method: 'POST' }, ...userToClaims(user), ...extra };
}

describe('the verifier user cache', () => {
  const { secret, signer, verifier } = hs256Pair();

  it('hands back the same frozen user for two assertions of the same user (different jti, same claims)', async () => {
    const first = await verifier.verify(signer.sign(ada, binding).token);
    const second = await verifier.verify(signer.sign(ada, binding).token);
    expect(first.jti).not.toBe(second.jti);
    expect(second.user).toBe(first.user);
    expect(Object.isFrozen(second.user)).toBe(true);
    expect(Object.isFrozen(second.user.groups)).toBe(true);
    expect(second.user).toEqual(ada);
  });

  it('never hands back another user: interleaved assertions of two users each read back their own', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await verifier.verify(signer.sign(ada, binding).token)).user).toEqual(ada);
      expect((await verifier.verify(signer.sign(bob, binding).token)).user).toEqual(bob);
    }
    const withGroup = normalizeUserContext({ ...ada, groups: ['eng', 'admins'] });
    expect((await verifier.verify(signer.sign(withGroup, binding).token)).user.groups).toEqual(['eng', 'admins']);
    expect((await verifier.verify(signer.sign(ada, binding).token)).user.groups).toEqual(['eng']);
  });

  it('answers synchronously through verifyNow when the keys are configured, with the same result as verify', async () => {
    const token = signer.sign(bob, binding).token;
    const now = verifier.verifyNow?.(token);
    expect(now).toBeDefined();
    expect(now instanceof Promise).toBe(false);
    expect((now as { user: UserContext }).user).toEqual(bob);
    await expect(verifier.verify(token)).resolves.toMatchObject({ user: bob, jti: (now as { jti: string }).jti });
  });

  it('still waits for a key source that answers with a promise', async () => {
    const keys = importVerificationSecrets([{ secret }]);
    const slow = createAssertionVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { keysFor: () => Promise.resolve(keys) }, clock });
    const now = slow.verifyNow?.(signer.sign(ada, binding).token);
    expect(now instanceof Promise).toBe(true);
    await expect(now).resolves.toMatchObject({ user: ada });
  });
});

describe('createUserCache', () => {
  it('reads back claims nested thousands deep without overflowing the stack, and does not keep them', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 4000; i++) deep = [deep];
    const claims = { sub: 'ada', auth_method: 'sso', extra: deep };
    const cache = createUserCache();
    const first = cache(claims);
    expect(first).toMatchObject({ id: 'ada', authMethod: 'sso' });
    // Not kept: each call reads the claims back (a new object), never throws.
    expect(cache(claims)).not.toBe(first);
    expect(cache(claims)).toEqual(first);
  });

  it('keeps claims of up to 2,048 values and 32 levels, not more', () => {
    const cache = createUserCache();
    const wide = { sub: 'ada', auth_method: 'sso', extra: Array.from({ length: 3000 }, () => 0) };
    expect(cache(wide)).not.toBe(cache(wide));
    const shallow = { sub: 'bob', auth_method: 'sso', extra: [[['x']]] };
    expect(cache(shallow)).toBe(cache(shallow));
  });

  it('refuses invalid claims every time (a refusal is never cached)', () => {
    const userOf = createUserCache(4);
    const bad = claimsOf(ada, { admin: 'yes' });
    for (let i = 0; i < 2; i++) expect(() => userOf(bad)).toThrow(IdentityError);
  });

  it('keeps at most its number of entries, dropping the oldest first', () => {
    const userOf = createUserCache(2);
    const carol = normalizeUserContext({ id: 'carol', authMethod: 'jwt' });
    const a = userOf(claimsOf(ada));
    const b = userOf(claimsOf(bob));
    expect(userOf(claimsOf(ada))).toBe(a);
    userOf(claimsOf(carol)); // evicts ada, the oldest
    expect(userOf(claimsOf(bob))).toBe(b);
    const again = userOf(claimsOf(ada));
    expect(again).not.toBe(a);
    expect(again).toEqual(ada);
  });

  it('hits on every claim but the per-request ones, so an unknown or changed claim is a different entry', () => {
    const userOf = createUserCache(16);
    const base = claimsOf(ada);
    const first = userOf(base);
    expect(userOf({ ...base, jti: 'another-jti-value-1234', iat: 1, exp: 2, nbf: 0, request_id: 'r', req: {}, dtk: 'x', v: 2 })).toBe(
      first,
    );
    expect(userOf({ ...base, future_claim: 1 })).not.toBe(first);
    const admin = userOf({ ...base, admin: true });
    expect(admin).not.toBe(first);
    expect(admin.isAdmin).toBe(true);
    expect(userOf({ ...base, groups: ['eng', 'ops'] }).groups).toEqual(['eng', 'ops']);
    // A value that would read the same as text is still another entry: "a,b" in one group vs two groups.
    expect(userOf({ ...base, groups: ['a,b'] }).groups).toEqual(['a,b']);
    expect(userOf({ ...base, groups: ['a', 'b'] }).groups).toEqual(['a', 'b']);
    // The same claims in another order are another entry (claimsToUser may read them in order).
    const { sub, ...rest } = base;
    expect(userOf({ ...rest, sub })).not.toBe(first);
    expect(userOf({ ...rest, sub })).toEqual(ada);
  });

  it('never lets a cached user stand for claims whose numbers differ only in ways JSON text hides (-0 and 0)', () => {
    const userOf = createUserCache(4);
    const base = claimsOf(ada);
    const zero = userOf({ ...base, extra: [0] });
    expect(userOf({ ...base, extra: [-0] })).not.toBe(zero);
    expect(userOf({ ...base, extra: [0] })).toBe(zero);
    // null is read back (no email); the same claims with 1e400 are refused, cached or not.
    expect(userOf({ ...base, email: null }).email).toBeUndefined();
    expect(() => userOf({ ...base, email: Infinity })).toThrow();
  });

  it('compares a parsed "__proto__" claim like any other claim', () => {
    const userOf = createUserCache(4);
    const plain = JSON.parse('{"sub":"ada","auth_method":"sso"}') as Record<string, unknown>;
    const withProto = JSON.parse('{"sub":"ada","auth_method":"sso","__proto__":{"admin":true}}') as Record<string, unknown>;
    const first = userOf(plain);
    expect(userOf(withProto)).not.toBe(first);
    expect(userOf(JSON.parse('{"sub":"ada","auth_method":"sso"}') as Record<string, unknown>)).toBe(first);
  });

  it('keeps its entry as read: claims changed by their holder afterwards neither change it nor hit it', () => {
    const userOf = createUserCache(4);
    // As parsed from a token: plain, mutable arrays.
    const claims = JSON.parse(JSON.stringify(claimsOf(ada))) as Record<string, unknown>;
    const first = userOf(claims);
    (claims.groups as string[]).push('admins');
    expect(userOf(claims).groups).toEqual(['eng', 'admins']);
    expect(userOf(claimsOf(ada))).toBe(first);
  });

  it('keeps several users of one subject (other groups or scopes), each found again, within its number of entries', () => {
    const userOf = createUserCache(3);
    const variants = [['eng'], ['ops'], ['eng', 'ops']].map((groups) => normalizeUserContext({ ...ada, groups }));
    const users = variants.map((variant) => userOf(claimsOf(variant)));
    variants.forEach((variant, i) => expect(userOf(claimsOf(variant))).toBe(users[i]));
    // A fourth user: the cache holds three, so the oldest of the subject goes.
    const fourth = normalizeUserContext({ ...ada, groups: ['hr'] });
    userOf(claimsOf(fourth));
    expect(userOf(claimsOf(variants[0]!))).not.toBe(users[0]);
    expect(userOf(claimsOf(variants[0]!))).toEqual(variants[0]);
  });

  it('reads back a user whose claims are too large to cache, every time, correctly', () => {
    const userOf = createUserCache(4);
    const big = normalizeUserContext({ ...ada, groups: Array.from({ length: 256 }, (_, i) => `group-${i}-${'x'.repeat(30)}`) });
    const first = userOf(claimsOf(big));
    const second = userOf(claimsOf(big));
    expect(second).toEqual(big);
    expect(second).not.toBe(first);
  });
});
