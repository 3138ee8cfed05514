import { createPublicKey, createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import {
  createAssertionSigner,
  importSecret,
  importSigningKeys,
  importVerificationPublicKeys,
  importVerificationSecrets,
  isValidKid,
  jwkThumbprint,
  publicJwkOf,
  weakSecretReason,
} from '../src/internal.js';
import type { SigningKey } from '../src/internal.js';
import { AUDIENCE, ISSUER, ed25519, messageOf, p256, strongSecret, thrownBy } from './fixtures.js';

const pemPrivate = (key: KeyObject): string => key.export({ format: 'pem', type: 'pkcs8' }).toString();
const pemPublic = (key: KeyObject): string => key.export({ format: 'pem', type: 'spki' }).toString();
const jwkOf = (key: KeyObject): JsonWebKey => key.export({ format: 'jwk' });

describe('weak HS256 secrets', () => {
  // 31 bytes with 31 distinct characters: refused for its length alone.
  const thirtyOne = 'Zq8#vL2!pW9@xR4$kT7%mN1^bY6&cJ3';
  const weak: [label: string, secret: string, reason: RegExp][] = [
    ['empty', '', /empty/],
    ['31 bytes', thirtyOne, /too short.*32 bytes.*got 31/],
    ['a placeholder word', 'changeme-changeme-changeme-changeme!', /placeholder/],
    ['"your-secret-here" spelt with separators', 'Your_Secret-Here: 9f8e7d6c5b4a3210', /placeholder/],
    ['"example" in mixed case', 'An-EXAMPLE-value-for-the-gateway-1234', /placeholder/],
    ['"replace me"', 'Please REPLACE ME before deploying 42!', /placeholder/],
    ['7 distinct characters', 'abcdefg'.repeat(5), /distinct/],
    ['one repeated character', 'a'.repeat(64), /distinct/],
  ];

  it.each(weak)('refuses a secret that is %s, naming the option and never the secret', (_label, secret, reason) => {
    const error = thrownBy(() => importSigningKeys({ secret }, 'signing'));
    expect(error).toBeInstanceOf(TypeError);
    const { message } = error as TypeError;
    expect(message).toMatch(/^signing\.secret /);
    expect(message).toMatch(reason);
    for (const fragment of [secret, secret.slice(0, 8)].filter((part) => part.length > 0)) {
      expect(message.toLowerCase()).not.toContain(fragment.toLowerCase());
    }
  });

  it.each(weak)('refuses a receiver secret that is %s, naming the option', (_label, secret) => {
    expect(() => importVerificationSecrets([{ secret: strongSecret() }, { secret }])).toThrow(/^secrets\[1\]\.secret /);
  });

  it.each([
    ['exactly 32 random bytes', randomBytes(32)],
    ['8 distinct characters over 32 bytes', Buffer.from('abcdefgh'.repeat(4))],
    ['a 64-character hex string', Buffer.from(randomBytes(32).toString('hex'))],
  ])('accepts %s', (_label, secret) => {
    expect(weakSecretReason(secret)).toBeUndefined();
    expect(importSecret(secret, 'secret').symmetricKeySize).toBe(secret.length);
  });

  it('refuses 31 random bytes given as a Uint8Array', () => {
    expect(() => importSecret(new Uint8Array(randomBytes(31)), 'signing.secret')).toThrow(/signing\.secret.*too short/);
  });

  it('counts a string secret in UTF-8 bytes', () => {
    // 16 two-byte characters: 16 characters, 32 bytes.
    const secret = 'ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏ';
    expect(secret).toHaveLength(16);
    expect(importSecret(secret, 's').symmetricKeySize).toBe(32);
  });

  it('accepts a secret KeyObject and checks it like bytes', () => {
    expect(importSecret(createSecretKey(randomBytes(32)), 's').type).toBe('secret');
    expect(() => importSecret(createSecretKey(Buffer.from('a'.repeat(40))), 'signing.secret')).toThrow(/signing\.secret.*distinct/);
  });

  it.each<[string, unknown]>([
    ['a private KeyObject', ed25519().privateKey],
    ['a number', 12345],
    ['null', null],
    ['an object', { secret: 'x' }],
  ])('refuses %s as a secret, naming the option', (_label, secret) => {
    expect(() => importSecret(secret as string, 'signing.secret')).toThrow(/^signing\.secret /);
  });
});

describe('asymmetric key import', () => {
  const ed = ed25519();
  const ec = p256();

  it.each([
    ['PEM', pemPrivate(ed.privateKey)],
    ['a JWK', jwkOf(ed.privateKey)],
    ['a KeyObject', ed.privateKey],
  ])('imports an Ed25519 private key from %s and publishes its public JWK', async (_label, privateKey) => {
    const { active } = importSigningKeys({ alg: 'EdDSA', privateKey });
    const expectedX = jwkOf(ed.publicKey).x;
    expect(active.alg).toBe('EdDSA');
    expect(active.key.type).toBe('private');
    expect(active.publicJwk).toStrictEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: expectedX,
      kid: await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: expectedX! }),
      alg: 'EdDSA',
      use: 'sig',
    });
    expect(active.kid).toBe(active.publicJwk!.kid);
  });

  it.each([
    ['PEM', pemPrivate(ec.privateKey)],
    ['a JWK', jwkOf(ec.privateKey)],
    ['a KeyObject', ec.privateKey],
  ])('imports a P-256 private key from %s and publishes its public JWK', async (_label, privateKey) => {
    const { active } = importSigningKeys({ alg: 'ES256', privateKey, kid: 'ec-1' });
    const { x, y } = jwkOf(ec.publicKey);
    expect(active.publicJwk).toStrictEqual({ kty: 'EC', crv: 'P-256', x, y, kid: 'ec-1', alg: 'ES256', use: 'sig' });
    expect(active.kid).toBe('ec-1');
    expect(await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: x!, y: y! })).toBe(jwkThumbprint(active.publicJwk!));
  });

  it.each([
    ['PEM', pemPublic(ed.publicKey)],
    ['a JWK', jwkOf(ed.publicKey)],
    ['a public KeyObject', ed.publicKey],
    ['a private KeyObject (its public half is used)', ed.privateKey],
  ])('imports an Ed25519 verification key from %s with the thumbprint as kid', async (_label, publicKey) => {
    const [key] = importVerificationPublicKeys([{ alg: 'EdDSA', publicKey }]);
    expect(key!.key.type).toBe('public');
    expect(key!.key.equals(ed.publicKey)).toBe(true);
    expect(key!.kid).toBe(await calculateJwkThumbprint(jwkOf(ed.publicKey) as Parameters<typeof calculateJwkThumbprint>[0]));
  });

  it.each([
    ['PEM', pemPublic(ec.publicKey)],
    ['a JWK', jwkOf(ec.publicKey)],
    ['a public KeyObject', ec.publicKey],
  ])('imports a P-256 verification key from %s', (_label, publicKey) => {
    const [key] = importVerificationPublicKeys([{ alg: 'ES256', publicKey, kid: 'given' }]);
    expect(key!.key.equals(ec.publicKey)).toBe(true);
    expect(key!.kid).toBe('given');
  });

  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  const ed448 = generateKeyPairSync('ed448');
  const x25519 = generateKeyPairSync('x25519');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

  it.each<[string, SigningKey, RegExp]>([
    ['a P-256 key for EdDSA', { alg: 'EdDSA', privateKey: ec.privateKey }, /Ed25519/],
    ['an Ed448 key for EdDSA', { alg: 'EdDSA', privateKey: ed448.privateKey }, /Ed25519/],
    ['an X25519 key for EdDSA', { alg: 'EdDSA', privateKey: x25519.privateKey }, /Ed25519/],
    ['an RSA key for EdDSA', { alg: 'EdDSA', privateKey: pemPrivate(rsa.privateKey) }, /Ed25519/],
    ['an Ed25519 key for ES256', { alg: 'ES256', privateKey: ed.privateKey }, /P-256/],
    ['a P-384 key for ES256', { alg: 'ES256', privateKey: p384.privateKey }, /P-256/],
    ['a secp256k1 key for ES256', { alg: 'ES256', privateKey: jwkOf(secp256k1.privateKey) }, /P-256/],
    ['a public key as the private key', { alg: 'EdDSA', privateKey: ed.publicKey }, /not a valid private key/],
    ['a public PEM as the private key', { alg: 'EdDSA', privateKey: pemPublic(ed.publicKey) }, /not a valid private key/],
    ['a secret KeyObject as the private key', { alg: 'ES256', privateKey: createSecretKey(randomBytes(32)) }, /not a valid private key/],
    [
      'an oct JWK as the private key',
      { alg: 'EdDSA', privateKey: { kty: 'oct', k: randomBytes(32).toString('base64url') } },
      /not a valid/,
    ],
    ['garbage PEM text', { alg: 'EdDSA', privateKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' }, /not a valid/],
    ['a JWK without kty', { alg: 'EdDSA', privateKey: { crv: 'Ed25519', x: 'AA' } }, /PEM text, a JWK object or a KeyObject/],
    ['a number', { alg: 'EdDSA', privateKey: 42 as never }, /PEM text, a JWK object or a KeyObject/],
  ])('refuses %s, naming the option', (_label, spec, reason) => {
    const error = thrownBy(() => importSigningKeys(spec));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^signing\.privateKey /);
    expect((error as Error).message).toMatch(reason);
  });

  it('never puts PEM text in the message', () => {
    const pem = pemPublic(ed.publicKey);
    expect(messageOf(() => importSigningKeys({ alg: 'EdDSA', privateKey: pem }))).not.toContain(pem.split('\n')[1]!);
  });

  it.each<[string, unknown, RegExp]>([
    ['an HS256 entry', { alg: 'HS256', publicKey: ed.publicKey }, /publicKeys\[0\]\.alg/],
    ['no alg', { publicKey: ed.publicKey }, /publicKeys\[0\]\.alg/],
    ['a lower-case alg', { alg: 'eddsa', publicKey: ed.publicKey }, /publicKeys\[0\]\.alg/],
    ['no publicKey', { alg: 'EdDSA' }, /publicKeys\[0\]\.publicKey is required/],
    ['a P-256 key for EdDSA', { alg: 'EdDSA', publicKey: ec.publicKey }, /publicKeys\[0\]\.publicKey .*Ed25519/],
    ['an RSA key for ES256', { alg: 'ES256', publicKey: rsa.publicKey }, /publicKeys\[0\]\.publicKey .*P-256/],
    ['a bad kid', { alg: 'EdDSA', publicKey: ed.publicKey, kid: 'a/b' }, /publicKeys\[0\]\.kid/],
    ['null', null, /publicKeys\[0\] must be an object/],
  ])('refuses a verification key with %s', (_label, entry, reason) => {
    expect(() => importVerificationPublicKeys([entry as never])).toThrow(reason);
  });

  it('refuses a publicKeys option that is not an array', () => {
    expect(() => importVerificationPublicKeys({ alg: 'EdDSA', publicKey: ed.publicKey } as never)).toThrow(/^publicKeys must be an array/);
  });
});

describe('jwkThumbprint', () => {
  it('matches the RFC 8037 appendix A.3 example', () => {
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' } as const;
    expect(jwkThumbprint(jwk)).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });

  it.each([
    ['Ed25519', () => publicJwkOf(ed25519().privateKey, 'EdDSA')],
    ['P-256', () => publicJwkOf(p256().publicKey, 'ES256')],
  ])('equals jose calculateJwkThumbprint for random %s keys', async (_label, make) => {
    for (let i = 0; i < 5; i++) {
      const jwk = make();
      expect(jwkThumbprint(jwk)).toBe(await calculateJwkThumbprint(jwk as Parameters<typeof calculateJwkThumbprint>[0]));
    }
  });

  it('ignores members outside the RFC 7638 required set', () => {
    const jwk = publicJwkOf(ed25519().publicKey, 'EdDSA', 'custom-kid');
    expect(jwkThumbprint(jwk)).toBe(jwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }));
  });
});

describe('importSigningKeys', () => {
  const ed = ed25519();
  const ec = p256();

  it('takes a single key as the active one without an active flag', () => {
    const secret = strongSecret();
    const { active, all } = importSigningKeys({ secret });
    expect(active.alg).toBe('HS256');
    expect(active.kid).toBeUndefined();
    expect(active.publicJwk).toBeUndefined();
    expect(active.key.export().equals(secret)).toBe(true);
    expect(all).toEqual([active]);
  });

  it('picks the key marked active among several', () => {
    const { active, all } = importSigningKeys([
      { alg: 'EdDSA', privateKey: ed.privateKey, kid: 'old' },
      { alg: 'ES256', privateKey: ec.privateKey, kid: 'new', active: true },
      { secret: strongSecret(), kid: 'shared' },
    ]);
    expect(active.kid).toBe('new');
    expect(all.map((key) => key.kid)).toEqual(['old', 'new', 'shared']);
  });

  it.each<[string, () => readonly SigningKey[], RegExp]>([
    ['no key', () => [], /at least one key/],
    [
      'several keys none active',
      () => [
        { secret: strongSecret(), kid: 'a' },
        { secret: strongSecret(), kid: 'b' },
      ],
      /active: true/,
    ],
    [
      'two active keys',
      () => [
        { secret: strongSecret(), kid: 'a', active: true },
        { secret: strongSecret(), kid: 'b', active: true },
      ],
      /only one key may be marked active/,
    ],
    [
      'two keys with the same kid',
      () => [
        { secret: strongSecret(), kid: 'same', active: true },
        { alg: 'EdDSA', privateKey: ed.privateKey, kid: 'same' },
      ],
      /same kid/,
    ],
    [
      'the same asymmetric key twice (equal thumbprints)',
      () => [
        { alg: 'EdDSA', privateKey: ed.privateKey, active: true },
        { alg: 'EdDSA', privateKey: pemPrivate(ed.privateKey) },
      ],
      /same kid/,
    ],
    [
      'several keys with a secret lacking a kid',
      () => [
        { secret: strongSecret(), active: true },
        { alg: 'EdDSA', privateKey: ed.privateKey },
      ],
      /every secret needs a kid/,
    ],
  ])('refuses %s', (_label, make, reason) => {
    expect(() => importSigningKeys(make())).toThrow(reason);
  });

  it.each<[string, unknown, RegExp]>([
    ['null', null, /^signing must be an object/],
    ['a string', 'secret', /^signing must be an object/],
    ['an unknown alg', { alg: 'RS256', privateKey: 'x' }, /^signing\.alg must be "HS256", "EdDSA" or "ES256" \(got "RS256"\)/],
    ['alg none', { alg: 'none', secret: strongSecret() }, /^signing\.alg .*"none"/],
    ['a numeric alg', { alg: 256, secret: strongSecret() }, /^signing\.alg .*got number/],
    ['a lower-case alg', { alg: 'hs256', secret: strongSecret() }, /^signing\.alg/],
    ['HS256 with a privateKey', { alg: 'HS256', privateKey: 'x', secret: strongSecret() }, /takes a secret, not a privateKey/],
    ['EdDSA with a secret', { alg: 'EdDSA', privateKey: 'x', secret: strongSecret() }, /takes a privateKey, not a secret/],
    ['no secret', { kid: 'k' }, /^signing\.secret is required/],
    ['an explicitly undefined secret', { secret: undefined }, /^signing\.secret is required/],
    ['no privateKey', { alg: 'ES256' }, /^signing\.privateKey is required/],
    ['active as a string', { secret: strongSecret(), active: 'yes' }, /^signing\.active must be a boolean/],
    ['a kid with a slash', { secret: strongSecret(), kid: 'keys/1' }, /^signing\.kid/],
    ['a kid with ..', { secret: strongSecret(), kid: 'a..b' }, /^signing\.kid/],
    ['an empty kid', { secret: strongSecret(), kid: '' }, /^signing\.kid/],
    ['a numeric kid', { secret: strongSecret(), kid: 1 }, /^signing\.kid/],
  ])('refuses an entry with %s, naming the option', (_label, entry, reason) => {
    expect(() => importSigningKeys(entry as SigningKey)).toThrow(reason);
  });

  it('names the index of a bad entry in a list', () => {
    expect(() =>
      importSigningKeys([
        { secret: strongSecret(), kid: 'a', active: true },
        { secret: 'short', kid: 'b' },
      ]),
    ).toThrow(/^signing\[1\]\.secret /);
  });

  it('uses the option name it is given', () => {
    expect(() => importSigningKeys({ secret: '' }, 'upstreams[0].signing')).toThrow(/^upstreams\[0\]\.signing\.secret is empty/);
  });
});

describe('published keys', () => {
  it('publishes every asymmetric key and never a secret or private member', () => {
    const secret = strongSecret();
    const ed = ed25519();
    const ec = p256();
    const signer = createAssertionSigner({
      issuer: ISSUER,
      audience: AUDIENCE,
      signing: [
        { secret, kid: 'hs' },
        { alg: 'EdDSA', privateKey: ed.privateKey, active: true },
        { alg: 'ES256', privateKey: jwkOf(ec.privateKey), kid: 'ec' },
      ],
    });
    expect(signer.publicJwks.map((jwk) => jwk.alg)).toEqual(['EdDSA', 'ES256']);
    for (const jwk of signer.publicJwks) {
      expect(jwk).not.toHaveProperty('d');
      expect(jwk).not.toHaveProperty('k');
      expect(jwk.use).toBe('sig');
    }
    const published = JSON.stringify(signer.publicJwks);
    expect(published).not.toContain(secret.toString('base64url'));
    expect(published).not.toContain(jwkOf(ed.privateKey).d);
    expect(published).not.toContain(jwkOf(ec.privateKey).d);
    expect(signer.publicJwks[0]!.x).toBe(jwkOf(createPublicKey(ed.privateKey)).x);
  });

  it('publishes nothing for a secret-only signer', () => {
    expect(createAssertionSigner({ issuer: ISSUER, audience: AUDIENCE, signing: { secret: strongSecret() } }).publicJwks).toEqual([]);
  });
});

describe('importVerificationSecrets', () => {
  it('imports each secret as an HS256 key with its kid', () => {
    const secret = strongSecret();
    const [key] = importVerificationSecrets([{ secret, kid: 'k1' }]);
    expect(key!.alg).toBe('HS256');
    expect(key!.kid).toBe('k1');
    expect(key!.key.export().equals(secret)).toBe(true);
  });

  it.each<[string, unknown, RegExp]>([
    ['a single object', { secret: 'x' }, /^secrets must be an array/],
    ['a null entry', [null], /^secrets\[0\] must be an object/],
    ['an entry without secret', [{ kid: 'a' }], /^secrets\[0\]\.secret is required/],
    ['a bad kid', [{ secret: strongSecret(), kid: '../etc' }], /^secrets\[0\]\.kid/],
  ])('refuses %s', (_label, value, reason) => {
    expect(() => importVerificationSecrets(value as never)).toThrow(reason);
  });
});

describe('isValidKid', () => {
  it.each(['a', 'key-1', 'key_1.v2', '2024-01-01:rot', 'k'.repeat(128), 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'])(
    'accepts %j',
    (kid) => {
      expect(isValidKid(kid)).toBe(true);
    },
  );

  it.each(['', 'k'.repeat(129), 'a/b', '../keys', 'a..b', '.hidden', 'a b', 'a\\b', 'ключ', 'a%2Fb', 'a\n'])('refuses %j', (kid) => {
    expect(isValidKid(kid)).toBe(false);
  });
});
