import { randomBytes } from 'node:crypto';
import {
  createAssertionSigner,
  createAssertionVerifier,
  IdentityError,
  importVerificationSecrets,
  normalizeUserContext,
  staticKeySource,
  userToClaims,
} from '../src/internal.js';
import type { RequestBinding, UserContext } from '../src/internal.js';
import { createUserCache, userCacheKey } from '../src/verify.js';
import { AUDIENCE, ISSUER, NOW_S, clock, strongSecret } from './fixtures.js';

const binding: RequestBinding = { method: 'POST', path: '/mcp', bodySha256: 'x'.repeat(43) };
const ada = normalizeUserContext({ id: 'ada', email: 'ada@example.com', groups: ['eng'], roles: ['reader'], authMethod: 'sso' });
const bob = normalizeUserContext({ id: 'bob', email: 'bob@example.com', groups: ['eng'], roles: ['reader'], authMethod: 'sso' });

function claimsOf(user: UserContext, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const jti = randomBytes(16).toString('base64url');
  return { iss: ISSUER, aud: AUDIENCE, iat: NOW_S, exp: NOW_S + 60, jti, v: 1, req: { method: 'POST' }, ...userToClaims(user), ...extra };
}

describe('the verifier user cache', () => {
  const secret = strongSecret();
  const signer = createAssertionSigner({ signing: { secret }, issuer: ISSUER, audience: AUDIENCE, clock });
  const verifier = createAssertionVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: staticKeySource(importVerificationSecrets([{ secret }])),
    clock,
  });

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

  it('keys on every claim but the per-request ones, so an unknown or changed claim is a different entry', () => {
    const base = claimsOf(ada);
    expect(userCacheKey(base)).toBe(userCacheKey({ ...base, jti: 'another-jti-value-1234', iat: 1, exp: 2, request_id: 'r', req: {} }));
    expect(userCacheKey(base)).not.toBe(userCacheKey({ ...base, future_claim: 1 }));
    expect(userCacheKey(base)).not.toBe(userCacheKey({ ...base, admin: true }));
    expect(userCacheKey(base)).not.toBe(userCacheKey({ ...base, groups: ['eng', 'ops'] }));
    // A value that would read the same as text is still another key: "a,b" in one group vs two groups.
    expect(userCacheKey({ ...base, groups: ['a,b'] })).not.toBe(userCacheKey({ ...base, groups: ['a', 'b'] }));
  });

  it('never lets a cached user stand for claims whose numbers JSON text cannot tell apart (1e400 and null, -0 and 0)', () => {
    const userOf = createUserCache(4);
    const base = claimsOf(ada);
    expect(userCacheKey({ ...base, email: Infinity })).toBeUndefined();
    expect(userCacheKey({ ...base, groups: [-0] })).toBeUndefined();
    // null is read back (no email); the same claims with 1e400 are refused, cached or not.
    expect(userOf({ ...base, email: null }).email).toBeUndefined();
    expect(() => userOf({ ...base, email: Infinity })).toThrow();
  });

  it('keys a parsed "__proto__" claim like any other claim', () => {
    const plain = JSON.parse('{"sub":"ada","auth_method":"sso"}') as Record<string, unknown>;
    const withProto = JSON.parse('{"sub":"ada","auth_method":"sso","__proto__":{"admin":true}}') as Record<string, unknown>;
    expect(userCacheKey(withProto)).not.toBe(userCacheKey(plain));
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
