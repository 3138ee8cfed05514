import fc from 'fast-check';
import { isIdentityError, jsonBodyDigest, normalizeUserContext, parseJws } from '../../src/internal.js';
import type { RequestBinding } from '../../src/internal.js';
import { hs256Pair } from '../fixtures.js';
import { runs } from './settings.js';

const { signer, verifier } = hs256Pair();
const user = normalizeUserContext({ id: 'alice', authMethod: 'jwt', groups: ['eng'] });
const binding: RequestBinding = { method: 'POST', path: '/mcp', bodySha256: jsonBodyDigest({ jsonrpc: '2.0', id: 1, method: 'ping' }) };
const BASE64URL = Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');

describe('compact JWS (fuzz)', () => {
  it('parses any string without throwing anything but IdentityError', () => {
    const segment = fc.string({ unit: fc.constantFrom(...BASE64URL, '.', '=', '+', '/'), maxLength: 60 });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          segment,
          fc.tuple(segment, segment, segment).map((parts) => parts.join('.')),
        ),
        (token) => {
          try {
            parseJws(token);
          } catch (error) {
            expect(isIdentityError(error)).toBe(true);
          }
        },
      ),
      runs(2000),
    );
  });

  it('refuses every token that differs from a signed one by one character, insertion or deletion', async () => {
    const { token } = signer.sign(user, binding);
    await expect(verifier.verify(token)).resolves.toMatchObject({ binding });
    await fc.assert(
      fc.asyncProperty(fc.nat(token.length - 1), fc.constantFrom(...BASE64URL, '.', ''), fc.nat(1), async (at, char, remove) => {
        const mutated = token.slice(0, at) + char + token.slice(at + remove);
        fc.pre(mutated !== token);
        const outcome = await verifier.verify(mutated).then(
          () => 'accepted',
          (error: unknown) => (isIdentityError(error) ? error.code : 'crash'),
        );
        // Issuer and audience are checked before the signature, so a mutated payload may be refused for those.
        expect(['identity_invalid', 'identity_issuer', 'identity_audience']).toContain(outcome);
      }),
      runs(1000),
    );
  });
});

describe('request binding (fuzz)', () => {
  const message = fc.record({
    jsonrpc: fc.constant('2.0'),
    id: fc.integer(),
    method: fc.string({ minLength: 1, maxLength: 12 }),
    params: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  });

  it('binds a different digest to any body whose parsed value differs', () => {
    fc.assert(
      fc.property(message, message, (a, b) => {
        const ja = JSON.parse(JSON.stringify(a)) as unknown;
        const jb = JSON.parse(JSON.stringify(b)) as unknown;
        const same = jsonBodyDigest(ja) === jsonBodyDigest(jb);
        // Equal digests only for equal values (key order and number spelling aside).
        expect(same).toBe(canonicalEqual(ja, jb));
      }),
      runs(500),
    );
  });

  it('an assertion verifies for its own method, path and body and for no mutation of them', async () => {
    const request = fc.record({
      method: fc.constantFrom('POST', 'GET', 'DELETE'),
      path: fc.webPath().map((path) => `/mcp${path}`),
      body: message,
    });
    await fc.assert(
      fc.asyncProperty(request, request, async (signed, presented) => {
        const digestOf = (body: unknown): string => jsonBodyDigest(JSON.parse(JSON.stringify(body)));
        const bound: RequestBinding = { method: signed.method, path: signed.path, bodySha256: digestOf(signed.body) };
        const { binding: claimed } = await verifier.verify(signer.sign(user, bound).token);
        const matches =
          claimed.method === presented.method && claimed.path === presented.path && claimed.bodySha256 === digestOf(presented.body);
        const identical =
          signed.method === presented.method && signed.path === presented.path && canonicalEqual(signed.body, presented.body);
        expect(matches).toBe(identical);
      }),
      runs(300),
    );
  });
});

function canonicalEqual(a: unknown, b: unknown): boolean {
  const sort = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sort)
      : typeof value === 'object' && value !== null
        ? Object.fromEntries(
            Object.entries(value)
              .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
              .map(([k, v]) => [k, sort(v)]),
          )
        : value;
  return JSON.stringify(sort(JSON.parse(JSON.stringify(a)))) === JSON.stringify(sort(JSON.parse(JSON.stringify(b))));
}
