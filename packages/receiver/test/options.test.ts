import { MemoryStore } from '@mcp-identity/core/internal';
import { verifyIdentity } from '../src/index.js';
import type { VerifyIdentityOptions } from '../src/index.js';
import { ed25519, p256, receiverOptions } from './helpers.js';

/** The error `fn` throws; fails the test when it throws nothing. */
function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw, got none');
}

const create = (overrides: Record<string, unknown>): unknown => verifyIdentity({ ...receiverOptions(), ...overrides });

describe('verifyIdentity options', () => {
  it('builds a middleware from valid options without mutating them', () => {
    const options = Object.freeze(receiverOptions({ replayStore: new MemoryStore(), headerPrefix: 'X-Identity', bodyLimit: 1024 }));

    const middleware = verifyIdentity(options);

    expect(middleware).toEqual(expect.any(Function));
    expect(middleware.name).toBe('verifyIdentityMiddleware');
  });

  it.each([
    ['no secrets or publicKeys', { secrets: undefined }],
    ['an empty secrets list', { secrets: [] }],
    ['empty secrets and publicKeys lists', { secrets: [], publicKeys: [] }],
  ])('throws a TypeError naming secrets and publicKeys for %s', (_case, overrides) => {
    const error = thrownBy(() => create(overrides));

    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/secrets/);
    expect(error.message).toMatch(/publicKeys/);
  });

  it.each([
    ['too short', 'short-but-secret'],
    ['a placeholder', 'changeme-changeme-changeme-changeme-0123456789'],
    ['repetitive', 'abababababababababababababababababababab'],
    ['empty', ''],
  ])('throws a TypeError naming secrets[0].secret for a secret that is %s, without echoing it', (_case, secret) => {
    const error = thrownBy(() => create({ secrets: [{ secret }] }));

    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/secrets\[0\]\.secret/);
    if (secret !== '') expect(error.message).not.toContain(secret);
  });

  it.each([
    ['an empty list', [], /^carriers must be a non-empty array/],
    ['an unknown carrier', ['headers', 'cookie'], /^carriers must be a non-empty array/],
    ['not an array', 'headers', /^carriers must be a non-empty array/],
    ['meta alone', ['meta'], /^carriers must include "headers"/],
  ])('throws a TypeError naming carriers for %s', (_case, carriers, message) => {
    const error = thrownBy(() => create({ carriers }));

    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(message);
  });

  it('names the weak secret by its index during a rotation', () => {
    expect(() =>
      create({
        secrets: [
          { secret: 'vX4q9Lr2Tz7Wm1Ny8Kp3Hs6Bd0Fg5JcRe', kid: 'a' },
          { secret: 'weak', kid: 'b' },
        ],
      }),
    ).toThrow(/secrets\[1\]\.secret/);
  });

  it.each([
    ['a string', 'not-a-list'],
    ['an object', { secret: 'vX4q9Lr2Tz7Wm1Ny8Kp3Hs6Bd0Fg5JcRe' }],
  ])('throws a TypeError naming secrets when it is %s', (_case, secrets) => {
    expect(() => create({ secrets })).toThrow(/secrets/);
  });

  it.each([
    ['a missing secret', [{ kid: 'a' }], /secrets\[0\]\.secret/],
    ['a null entry', [null], /secrets\[0\]/],
    ['a malformed kid', [{ secret: 'vX4q9Lr2Tz7Wm1Ny8Kp3Hs6Bd0Fg5JcRe', kid: '../etc' }], /secrets\[0\]\.kid/],
  ])('throws a TypeError for secrets with %s', (_case, secrets, message) => {
    expect(() => create({ secrets })).toThrow(message);
  });

  it.each([
    ['an unsupported alg', [{ alg: 'RS256', publicKey: ed25519.publicKey }], /publicKeys\[0\]\.alg/],
    ['a missing publicKey', [{ alg: 'EdDSA' }], /publicKeys\[0\]\.publicKey/],
    ['a P-256 key for EdDSA', [{ alg: 'EdDSA', publicKey: p256.publicKey }], /publicKeys\[0\]\.publicKey/],
    ['an Ed25519 key for ES256', [{ alg: 'ES256', publicKey: ed25519.publicKey }], /publicKeys\[0\]\.publicKey/],
    [
      'PEM garbage',
      [{ alg: 'EdDSA', publicKey: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' }],
      /publicKeys\[0\]\.publicKey/,
    ],
    ['a symmetric JWK', [{ alg: 'EdDSA', publicKey: { kty: 'oct', k: 'AAAA' } }], /publicKeys\[0\]\.publicKey/],
  ])('throws a TypeError for publicKeys with %s', (_case, publicKeys, message) => {
    expect(() => create({ secrets: undefined, publicKeys })).toThrow(message);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['blank', '   '],
    ['not a string', 42],
    ['too long', 'a'.repeat(1025)],
  ])('throws a TypeError naming audience when it is %s', (_case, audience) => {
    const error = thrownBy(() => create({ audience }));

    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/audience/);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['not a string', ['https://gateway.test']],
  ])('throws a TypeError naming issuer when it is %s', (_case, issuer) => {
    const error = thrownBy(() => create({ issuer }));

    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/issuer/);
  });

  it.each([
    ['an empty object', {}],
    ['a non-function setIfAbsent', { setIfAbsent: true }],
    ['a string', 'redis://localhost'],
    ['null (not silently a per-process store)', null],
  ])('throws a TypeError naming replayStore for %s', (_case, replayStore) => {
    const error = thrownBy(() => create({ replayStore }));

    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/replayStore/);
  });

  it.each([
    ['empty', ''],
    ['with a space', 'X Forwarded User'],
    ['with a colon', 'X-Forwarded-User:'],
    ['with a newline', 'X-User\r\nX-Admin'],
    ['not a string', 42],
    ['only dashes', '---'],
    ['only underscores', '__'],
  ])('throws a TypeError naming headerPrefix when it is %s', (_case, headerPrefix) => {
    const error = thrownBy(() => create({ headerPrefix }));

    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/headerPrefix/);
  });

  it.each([
    ['bindRequest', 'yes', /bindRequest/],
    ['bodyLimit', 0, /bodyLimit/],
    ['bodyLimit', 1.5, /bodyLimit/],
    ['clockToleranceSeconds', -1, /clockToleranceSeconds/],
    ['clockToleranceSeconds', '5', /clockToleranceSeconds/],
    ['maxLifetimeSeconds', 0, /maxLifetimeSeconds/],
    ['clock', 12345, /clock/],
  ])('throws a TypeError naming %s for %p', (option, value, message) => {
    const error = thrownBy(() => create({ [option]: value }));

    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(message);
  });

  it.each([
    ['null', null],
    ['a string', 'options'],
  ])('throws a TypeError naming options when they are %s', (_case, options) => {
    expect(() => verifyIdentity(options as unknown as VerifyIdentityOptions)).toThrow(/options/);
  });
});
