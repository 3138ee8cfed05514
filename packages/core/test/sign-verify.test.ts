import { createHash, createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, jwtVerify } from 'jose';
import {
  ASSERTION_TYP,
  MAX_TOKEN_LENGTH,
  IdentityError,
  createAssertionSigner,
  createAssertionVerifier,
  importVerificationPublicKeys,
  importVerificationSecrets,
  normalizeUserContext,
  parseJws,
  staticKeySource,
  verifyJwsSignature,
} from '../src/internal.js';
import type { Algorithm, AssertionVerifierOptions, KeySource, RequestBinding, SigningKey } from '../src/internal.js';
import { AUDIENCE, ISSUER, NOW_MS, NOW_S, b64url, clock, ed25519, hmacToken, p256, strongSecret } from './fixtures.js';
import { hmacSha256 } from '../src/jws.js';

const bodyDigest = createHash('sha256').update('{"jsonrpc":"2.0","id":1,"method":"tools/list"}').digest('base64url');
const binding: RequestBinding = { method: 'POST', path: '/mcp?session=1', bodySha256: bodyDigest };
const user = normalizeUserContext({
  id: 'user-42',
  email: 'ada@example.com',
  groups: ['eng,ops', 'équipe-🚀'],
  roles: ['reader'],
  isAdmin: true,
  authMethod: 'sso',
  delegationChain: ['agent-1', 'agent-2'],
});

interface Setup {
  readonly signing: SigningKey;
  readonly keys: KeySource;
  readonly joseSign: KeyObject | Uint8Array;
  readonly joseVerify: KeyObject | Uint8Array;
  readonly publicJwk?: Record<string, unknown>;
}

function setup(alg: Algorithm): Setup {
  if (alg === 'HS256') {
    const secret = strongSecret();
    return { signing: { secret }, keys: staticKeySource(importVerificationSecrets([{ secret }])), joseSign: secret, joseVerify: secret };
  }
  const pair = alg === 'EdDSA' ? ed25519() : p256();
  return {
    signing: { alg, privateKey: pair.privateKey },
    keys: staticKeySource(importVerificationPublicKeys([{ alg, publicKey: pair.publicKey }])),
    joseSign: pair.privateKey,
    joseVerify: pair.publicKey,
    publicJwk: pair.publicKey.export({ format: 'jwk' }),
  };
}

const algorithms: Algorithm[] = ['HS256', 'EdDSA', 'ES256'];

function verifier(keys: KeySource, options: Partial<AssertionVerifierOptions> = {}) {
  return createAssertionVerifier({ issuer: ISSUER, audience: AUDIENCE, keys, clock, ...options });
}

function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

/** A counting key source: proves which refusals happen before any key lookup. */
function counting(inner: KeySource): KeySource & { calls: number } {
  const source = {
    calls: 0,
    keysFor(header: Parameters<KeySource['keysFor']>[0]) {
      source.calls++;
      return inner.keysFor(header);
    },
  };
  return source;
}

describe('createAssertionSigner / createAssertionVerifier', () => {
  describe.each(algorithms)('with %s', (alg) => {
    const keys = setup(alg);
    const signer = createAssertionSigner({ signing: keys.signing, issuer: ISSUER, audience: AUDIENCE, clock });

    it('round-trips user, binding, jti and times', async () => {
      const signed = signer.sign(user, binding);
      const verified = await verifier(keys.keys).verify(signed.token);
      expect(verified.user).toEqual(user);
      expect(verified.binding).toEqual(binding);
      expect(verified.issuer).toBe(ISSUER);
      expect(verified.jti).toBe(signed.jti);
      expect(verified.iat).toBe(NOW_S);
      expect(verified.exp).toBe(NOW_S + 60);
      expect(verified.token).toBe(signed.token);
      expect(verified.header.alg).toBe(alg);
      expect(verified.header.typ).toBe(ASSERTION_TYP);
    });

    it('issues a token that jose jwtVerify accepts with typ, issuer and audience', async () => {
      const signed = signer.sign(user, binding);
      const { payload, protectedHeader } = await jwtVerify(signed.token, keys.joseVerify, {
        issuer: ISSUER,
        audience: AUDIENCE,
        typ: 'user-context+jwt',
        algorithms: [alg],
        currentDate: new Date(NOW_MS),
        requiredClaims: ['iat', 'exp', 'jti', 'sub'],
      });
      expect(protectedHeader.alg).toBe(alg);
      expect(protectedHeader.typ).toBe('user-context+jwt');
      expect(payload).toStrictEqual({
        v: 1,
        iss: ISSUER,
        aud: AUDIENCE,
        iat: NOW_S,
        exp: NOW_S + 60,
        jti: signed.jti,
        sub: 'user-42',
        email: 'ada@example.com',
        groups: ['eng,ops', 'équipe-🚀'],
        roles: ['reader'],
        admin: true,
        auth_method: 'sso',
        act: { sub: 'agent-2', act: { sub: 'agent-1' } },
        req: { method: 'POST', path: '/mcp?session=1', body_sha256: bodyDigest },
      });
    });

    it.each([
      ['without a kid', false],
      ['with the thumbprint kid', true],
    ])('verifies a jose SignJWT token with the same claims, %s', async (_label, withKid) => {
      const kid = withKid && keys.publicJwk !== undefined ? await calculateJwkThumbprint(keys.publicJwk) : undefined;
      const jti = randomBytes(16).toString('base64url');
      const token = await new SignJWT({
        v: 1,
        auth_method: 'sso',
        groups: ['eng,ops'],
        act: { sub: 'agent-2', act: { sub: 'agent-1' } },
        req: { method: 'POST', path: '/mcp', body_sha256: bodyDigest },
      })
        .setProtectedHeader(kid === undefined ? { alg, typ: 'user-context+jwt' } : { alg, typ: 'user-context+jwt', kid })
        .setSubject('user-42')
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(NOW_S)
        .setExpirationTime(NOW_S + 60)
        .setJti(jti)
        .sign(keys.joseSign);
      const verified = await verifier(keys.keys).verify(token);
      expect(verified.user).toEqual(
        normalizeUserContext({ id: 'user-42', groups: ['eng,ops'], authMethod: 'sso', delegationChain: ['agent-1', 'agent-2'] }),
      );
      expect(verified.jti).toBe(jti);
      expect(verified.binding).toEqual({ method: 'POST', path: '/mcp', bodySha256: bodyDigest });
    });

    it('refuses a token whose payload was changed', async () => {
      const [header, , signature] = signer.sign(user, binding).token.split('.');
      const forged = `${header}.${b64url({ ...decodePayload(signer.sign(user, binding).token), sub: 'admin' })}.${signature}`;
      await expect(verifier(keys.keys).verify(forged)).rejects.toMatchObject({
        code: 'identity_invalid',
        message: expect.stringMatching(/signature/),
      });
    });

    it('refuses a token whose signature was changed', async () => {
      const token = signer.sign(user, binding).token;
      const [header, payload, signature] = token.split('.');
      const bytes = Buffer.from(signature!, 'base64url');
      bytes[0] = bytes[0]! ^ 0x01;
      await expect(verifier(keys.keys).verify(`${header}.${payload}.${bytes.toString('base64url')}`)).rejects.toMatchObject({
        code: 'identity_invalid',
        message: expect.stringMatching(/signature/),
      });
    });

    it('refuses a non-canonical spelling of the right signature', async () => {
      const token = signer.sign(user, binding).token;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = token.at(-1)!;
      // Flipping the lowest bit of the last character only changes the unused padding bits.
      const respelt = token.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1]!;
      expect(Buffer.from(respelt.split('.')[2]!, 'base64url')).toEqual(Buffer.from(token.split('.')[2]!, 'base64url'));
      await expect(verifier(keys.keys).verify(token)).resolves.toBeDefined();
      await expect(verifier(keys.keys).verify(respelt)).rejects.toMatchObject({
        code: 'identity_invalid',
        message: expect.stringMatching(/canonical/),
      });
      await expect(verifier(keys.keys).verify(`${token}=`)).rejects.toMatchObject({ code: 'identity_invalid' });
    });

    it('is refused by a verifier that holds only other keys', async () => {
      const token = signer.sign(user, binding).token;
      const others = algorithms.filter((other) => other !== alg).map((other) => setup(other).keys);
      for (const keys of [...others, setup(alg).keys]) {
        await expect(verifier(keys).verify(token)).rejects.toMatchObject({ code: 'identity_invalid' });
      }
    });
  });

  describe('the signer', () => {
    it('sets iat to the clock second, exp to iat + ttlSeconds', () => {
      const signer = createAssertionSigner({
        signing: { secret: strongSecret() },
        issuer: ISSUER,
        audience: AUDIENCE,
        ttlSeconds: 30,
        clock: () => 1_700_000_000_999,
      });
      const signed = signer.sign(user, binding);
      expect(signed.iat).toBe(1_700_000_000);
      expect(signed.exp).toBe(1_700_000_030);
      expect(decodePayload(signed.token)).toMatchObject({ iat: 1_700_000_000, exp: 1_700_000_030, jti: signed.jti });
    });

    it('gives every assertion a fresh 128-bit jti', () => {
      const signer = createAssertionSigner({ signing: { secret: strongSecret() }, issuer: ISSUER, audience: AUDIENCE, clock });
      const jtis = Array.from({ length: 600 }, () => signer.sign(user, binding).jti);
      expect(new Set(jtis).size).toBe(jtis.length);
      for (const jti of jtis) expect(Buffer.from(jti, 'base64url')).toHaveLength(16);
      for (const jti of jtis) expect(jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    });

    it('puts the kid of the active key in the header', () => {
      const ed = ed25519();
      const ec = p256();
      const signer = createAssertionSigner({
        signing: [
          { alg: 'EdDSA', privateKey: ed.privateKey, kid: 'old' },
          { alg: 'ES256', privateKey: ec.privateKey, kid: 'new', active: true },
        ],
        issuer: ISSUER,
        audience: AUDIENCE,
        clock,
      });
      expect(signer.alg).toBe('ES256');
      expect(signer.kid).toBe('new');
      expect(parseJws(signer.sign(user, binding).token).header).toStrictEqual({ alg: 'ES256', kid: 'new', typ: ASSERTION_TYP });
    });

    it('signs with a secret without a kid by default', () => {
      const signer = createAssertionSigner({ signing: { secret: strongSecret() }, issuer: ISSUER, audience: AUDIENCE, clock });
      const headerJson = Buffer.from(signer.sign(user, binding).token.split('.')[0]!, 'base64url').toString();
      expect(JSON.parse(headerJson)).toStrictEqual({ alg: 'HS256', typ: 'user-context+jwt' });
    });

    it('is verified by a receiver that imported its published keys', async () => {
      const signer = createAssertionSigner({
        signing: [
          { alg: 'EdDSA', privateKey: ed25519().privateKey },
          { alg: 'ES256', privateKey: p256().privateKey, active: true },
        ],
        issuer: ISSUER,
        audience: AUDIENCE,
        clock,
      });
      const keys = staticKeySource(importVerificationPublicKeys(signer.publicJwks.map((jwk) => ({ alg: jwk.alg, publicKey: { ...jwk } }))));
      await expect(verifier(keys).verify(signer.sign(user, binding).token)).resolves.toMatchObject({ user });
    });

    it('escapes an issuer and binding that need JSON escaping', async () => {
      const secret = strongSecret();
      const issuer = 'https://gw.example/"quoted"\\path\u2028';
      const odd: RequestBinding = { method: 'POST', path: '/mcp?q="x"&y=\\', bodySha256: bodyDigest };
      const token = createAssertionSigner({ signing: { secret }, issuer, audience: AUDIENCE, clock }).sign(user, odd).token;
      const { payload } = await jwtVerify(token, secret, { issuer, audience: AUDIENCE, currentDate: new Date(NOW_MS) });
      expect(payload.req).toEqual({ method: 'POST', path: '/mcp?q="x"&y=\\', body_sha256: bodyDigest });
    });

    it.each<[string, Record<string, unknown>, RegExp]>([
      ['no issuer', { issuer: undefined }, /^issuer is required/],
      ['an empty issuer', { issuer: '' }, /^issuer is required/],
      ['a blank issuer', { issuer: '   ' }, /^issuer is required/],
      ['a numeric issuer', { issuer: 42 }, /^issuer is required/],
      ['an issuer over 1024 characters', { issuer: 'i'.repeat(1025) }, /^issuer must be at most 1024/],
      ['an issuer with a lone surrogate', { issuer: 'gw\uD800' }, /^issuer must be .*well-formed/],
      ['no audience', { audience: undefined }, /^audience is required/],
      ['an empty audience', { audience: '' }, /^audience is required/],
      ['a zero ttlSeconds', { ttlSeconds: 0 }, /^ttlSeconds must be a positive integer/],
      ['a negative ttlSeconds', { ttlSeconds: -60 }, /^ttlSeconds/],
      ['a fractional ttlSeconds', { ttlSeconds: 1.5 }, /^ttlSeconds/],
      ['an infinite ttlSeconds', { ttlSeconds: Infinity }, /^ttlSeconds/],
      ['a NaN ttlSeconds', { ttlSeconds: NaN }, /^ttlSeconds/],
      ['a string ttlSeconds', { ttlSeconds: '60' }, /^ttlSeconds/],
      ['a clock that is a number', { clock: NOW_MS }, /^clock must be a function/],
      ['no signing key', { signing: undefined }, /^signing/],
      ['a weak secret', { signing: { secret: 'changeme' } }, /^signing\.secret/],
    ])('refuses %s at construction', (_label, override, reason) => {
      const options = { signing: { secret: strongSecret() }, issuer: ISSUER, audience: AUDIENCE, ...override };
      expect(() => createAssertionSigner(options as never)).toThrow(reason);
    });
  });

  describe('the verifier options', () => {
    const keys = setup('HS256').keys;

    it.each<[string, Record<string, unknown>, RegExp]>([
      ['no issuer', { issuer: undefined }, /^issuer is required/],
      ['a blank issuer', { issuer: ' ' }, /^issuer is required/],
      ['no audience', { audience: undefined }, /^audience is required/],
      ['an array audience', { audience: [AUDIENCE] }, /^audience is required/],
      ['a negative clockToleranceSeconds', { clockToleranceSeconds: -1 }, /^clockToleranceSeconds/],
      ['a fractional clockToleranceSeconds', { clockToleranceSeconds: 0.5 }, /^clockToleranceSeconds/],
      ['a string clockToleranceSeconds', { clockToleranceSeconds: '5' }, /^clockToleranceSeconds/],
      ['a zero maxLifetimeSeconds', { maxLifetimeSeconds: 0 }, /^maxLifetimeSeconds/],
      ['a null maxLifetimeSeconds', { maxLifetimeSeconds: null }, /^maxLifetimeSeconds/],
      ['a clock that is a Date', { clock: new Date(NOW_MS) }, /^clock must be a function/],
      ['no keys', { keys: undefined }, /^keys must be a KeySource/],
      ['keys as an array of imported keys', { keys: importVerificationSecrets([{ secret: strongSecret() }]) }, /^keys must be a KeySource/],
    ])('refuses %s at construction', (_label, override, reason) => {
      expect(() => createAssertionVerifier({ issuer: ISSUER, audience: AUDIENCE, keys, ...override })).toThrow(reason);
    });

    it('accepts a zero clock tolerance and explicit undefined options', () => {
      expect(() =>
        createAssertionVerifier({ issuer: ISSUER, audience: AUDIENCE, keys, clockToleranceSeconds: 0, clock: undefined }),
      ).not.toThrow();
    });
  });
});

describe('verification refusals', () => {
  const secret = strongSecret();
  const keys = staticKeySource(importVerificationSecrets([{ secret }]));
  const header = { alg: 'HS256', typ: 'user-context+jwt' };
  const JTI = 'Q2hlY2tKdGlWYWx1ZTEy';
  const claims = (override: Record<string, unknown> = {}): Record<string, unknown> => ({
    v: 1,
    iss: ISSUER,
    aud: AUDIENCE,
    iat: NOW_S,
    exp: NOW_S + 60,
    jti: JTI,
    sub: 'user-42',
    auth_method: 'jwt',
    req: { method: 'POST', path: '/mcp', body_sha256: bodyDigest },
    ...override,
  });
  const token = (override: Record<string, unknown> = {}, headerOverride: Record<string, unknown> = {}): string =>
    hmacToken({ ...header, ...headerOverride }, claims(override), secret);
  const refusal = (code: string, message: RegExp) => ({ code, message: expect.stringMatching(message) });

  it('accepts the hand-built baseline token (so each refusal below is about its one change)', async () => {
    const verified = await verifier(keys).verify(token());
    expect(verified.user.id).toBe('user-42');
    expect(verified.claims).toEqual(claims());
  });

  it('returns an IdentityError', async () => {
    await expect(verifier(keys).verify('')).rejects.toBeInstanceOf(IdentityError);
  });

  describe('the token shape', () => {
    it.each([
      ['an empty token', '', /empty/],
      ['one segment', 'abc', /compact JWS/],
      ['two segments', 'abc.def', /compact JWS/],
      ['four segments', 'a.b.c.d', /compact JWS/],
      ['an empty header', '.b.c', /compact JWS/],
      ['an empty payload', 'a..c', /compact JWS/],
      ['an empty signature', `${b64url(header)}.${b64url(claims())}.`, /compact JWS/],
      ['a header that is not base64url', `${b64url(header)}*.${b64url(claims())}.AAAA`, /header is not base64url/],
      ['a header of impossible length', `abcde.${b64url(claims())}.AAAA`, /header is not base64url/],
      ['a header that is not JSON', `${b64url('{"alg":')}.${b64url(claims())}.AAAA`, /header is not JSON/],
      ['a header that is an array', `${b64url(['HS256'])}.${b64url(claims())}.AAAA`, /header is not an object/],
      ['a header that is null', `${b64url('null')}.${b64url(claims())}.AAAA`, /header is not an object/],
      ['a payload that is not JSON', `${b64url(header)}.${b64url('sub=admin')}.AAAA`, /payload is not JSON/],
      ['a payload that is an array', `${b64url(header)}.${b64url([claims()])}.AAAA`, /payload is not an object/],
      ['a payload with padding', `${b64url(header)}.${b64url(claims())}=.AAAA`, /payload is not base64url/],
      ['a token over MAX_TOKEN_LENGTH', 'a'.repeat(MAX_TOKEN_LENGTH + 1), /too long/],
    ])('refuses %s', async (_label, bad, message) => {
      await expect(verifier(keys).verify(bad)).rejects.toMatchObject(refusal('identity_invalid', message));
    });

    it('refuses a correctly signed token one character over MAX_TOKEN_LENGTH and accepts one at it', async () => {
      const atLength = (length: number): string => {
        // Grow a padding claim until the token has exactly `length` characters; try a few
        // header sizes because base64url cannot produce every length.
        for (const kid of [undefined, 'k', 'kk', 'kkk']) {
          for (let pad = 0; pad < MAX_TOKEN_LENGTH; pad++) {
            const candidate = hmacToken(kid === undefined ? header : { ...header, kid }, claims({ pad: 'p'.repeat(pad) }), secret);
            if (candidate.length === length) return candidate;
            if (candidate.length > length) break;
          }
        }
        throw new Error(`no token of length ${length}`);
      };
      const withKids = staticKeySource(
        importVerificationSecrets(['k', 'kk', 'kkk'].map((kid) => ({ secret, kid })).concat([{ secret, kid: undefined as never }])),
      );
      await expect(verifier(withKids).verify(atLength(MAX_TOKEN_LENGTH))).resolves.toBeDefined();
      await expect(verifier(withKids).verify(atLength(MAX_TOKEN_LENGTH + 1))).rejects.toMatchObject(
        refusal('identity_invalid', /too long/),
      );
    });
  });

  describe('the header', () => {
    it.each([
      ['none with a signature', { alg: 'none' }, 'AAAA'],
      ['none with no signature', { alg: 'none' }, ''],
      ['HS512', { alg: 'HS512' }, 'AAAA'],
      ['RS256', { alg: 'RS256' }, 'AAAA'],
      ['ES256K', { alg: 'ES256K' }, 'AAAA'],
      ['hs256 in lower case', { alg: 'hs256' }, 'AAAA'],
      ['a missing alg', { alg: undefined }, 'AAAA'],
      ['a numeric alg', { alg: 256 }, 'AAAA'],
    ])('refuses alg %s', async (_label, headerOverride, signature) => {
      const bad = `${b64url({ ...header, ...headerOverride })}.${b64url(claims())}.${signature}`;
      await expect(verifier(keys).verify(bad)).rejects.toMatchObject({ code: 'identity_invalid' });
    });

    it('refuses alg none explicitly, whatever the signature segment', async () => {
      const bad = `${b64url({ alg: 'none', typ: 'user-context+jwt' })}.${b64url(claims())}.${createHmac('sha256', secret).update('x').digest('base64url')}`;
      await expect(verifier(keys).verify(bad)).rejects.toMatchObject(refusal('identity_invalid', /algorithm is not allowed/));
    });

    it.each([
      ['jku', 'https://attacker.example/jwks.json'],
      ['jwk', { kty: 'oct', k: 'AAAA' }],
      ['x5u', 'https://attacker.example/cert.pem'],
      ['x5c', ['MIIB']],
      ['x5t', 'abc'],
      ['crit', ['exp']],
      ['b64', false],
      ['cty', 'JWT'],
      ['zip', 'DEF'],
      ['Kid', 'k'],
      ['__proto__', { alg: 'none' }],
    ])('refuses a %s header parameter, even with a valid signature', async (name, value) => {
      await expect(verifier(keys).verify(token({}, { [name]: value }))).rejects.toMatchObject(refusal('identity_invalid', /forbidden/));
    });

    it.each([
      ['a slash', 'keys/1'],
      ['a path traversal', '../../etc/passwd'],
      ['two dots', 'a..b'],
      ['a leading dot', '.k'],
      ['an empty string', ''],
      ['a number', 1],
      ['null', null],
      ['129 characters', 'k'.repeat(129)],
    ])('refuses a kid with %s', async (_label, kid) => {
      await expect(verifier(keys).verify(token({}, { kid }))).rejects.toMatchObject(refusal('identity_invalid', /kid/));
    });

    it.each([['user-context+jwt'], ['application/user-context+jwt'], ['User-Context+JWT'], ['APPLICATION/USER-CONTEXT+JWT']])(
      'accepts typ %j',
      async (typ) => {
        await expect(verifier(keys).verify(token({}, { typ }))).resolves.toMatchObject({ header: { typ: ASSERTION_TYP } });
      },
    );

    it.each([['JWT'], ['at+jwt'], ['user-context+jwt '], ['xapplication/user-context+jwt'], ['application/jwt'], [42], [undefined]])(
      'refuses typ %j',
      async (typ) => {
        await expect(verifier(keys).verify(token({}, { typ }))).rejects.toMatchObject(refusal('identity_invalid', /typ/));
      },
    );

    it('accepts any kid with a secret configured without a kid (the signature still decides)', async () => {
      await expect(verifier(keys).verify(token({}, { kid: 'unknown' }))).resolves.toMatchObject({ header: { kid: 'unknown' } });
    });

    it('refuses a token whose kid matches no key when every key has a kid', async () => {
      const withKid = staticKeySource(importVerificationSecrets([{ secret, kid: 'k1' }]));
      await expect(verifier(withKid).verify(token({}, { kid: 'unknown' }))).rejects.toMatchObject(
        refusal('identity_invalid', /no configured key/),
      );
    });
  });

  describe('the HMAC', () => {
    it.each([32, 63, 64, 65, 200])('computes HMAC-SHA256 as node:crypto does for a %i-byte secret, short and long inputs', (size) => {
      const secret = importVerificationSecrets([{ secret: randomBytes(size) }])[0]!.key;
      for (const input of [
        '',
        'a',
        'x'.repeat(55),
        'y'.repeat(64),
        'eyJ.'.repeat(300),
        'z'.repeat(5000),
        'w'.repeat(40_000),
        'short again',
      ]) {
        expect(hmacSha256(secret, input).equals(createHmac('sha256', secret).update(input, 'latin1').digest())).toBe(true);
      }
    });

    it('refuses a key that is not a secret, and keeps neither key material nor the MAC in the shared buffer pool', () => {
      const { privateKey } = generateKeyPairSync('ed25519');
      expect(() => hmacSha256(privateKey, 'a.b')).toThrow(/secret KeyObject/);
      const mac = hmacSha256(importVerificationSecrets([{ secret: randomBytes(32) }])[0]!.key, 'a.b');
      expect(mac.buffer.byteLength).toBe(32);
    });

    it('verifies a jose HS256 token signed with a secret longer than the hash block, and refuses it under another secret', async () => {
      const secret = randomBytes(100);
      const token = await new SignJWT({ v: 1, auth_method: 'sso', req: { method: 'POST', path: '/mcp', body_sha256: bodyDigest } })
        .setProtectedHeader({ alg: 'HS256', typ: 'user-context+jwt' })
        .setSubject('user-42')
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(NOW_S)
        .setExpirationTime(NOW_S + 60)
        .setJti(randomBytes(16).toString('base64url'))
        .sign(secret);
      const verify = (key: Uint8Array): Promise<unknown> =>
        createAssertionVerifier({
          issuer: ISSUER,
          audience: AUDIENCE,
          clock,
          keys: staticKeySource(importVerificationSecrets([{ secret: key }])),
        }).verify(token);
      await expect(verify(secret)).resolves.toMatchObject({ user: { id: 'user-42' } });
      const other = Buffer.from(secret);
      other[99] = (other[99] ?? 0) ^ 1;
      await expect(verify(other)).rejects.toMatchObject({ code: 'identity_invalid', message: expect.stringMatching(/signature/) });
    });
  });

  describe('algorithm confusion', () => {
    const ed = ed25519();
    const [imported] = importVerificationPublicKeys([{ alg: 'EdDSA', publicKey: ed.publicKey }]);
    const publicKeys = staticKeySource([imported!]);
    const pem = ed.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const der = ed.publicKey.export({ format: 'der', type: 'spki' });

    it.each([
      ['the PEM text, no kid', pem, undefined],
      ['the PEM text, with the key kid', pem, imported!.kid],
      ['the DER bytes, with the key kid', der, imported!.kid],
    ])('refuses an HS256 token MACed with the EdDSA public key as secret: %s', async (_label, macKey, kid) => {
      const forged = hmacToken({ alg: 'HS256', typ: 'user-context+jwt', ...(kid === undefined ? {} : { kid }) }, claims(), macKey);
      await expect(verifier(publicKeys).verify(forged)).rejects.toMatchObject({ code: 'identity_invalid' });
    });

    it('never verifies an HS256 signature with an EdDSA key object', () => {
      const forged = hmacToken({ alg: 'HS256', typ: 'user-context+jwt' }, claims(), pem);
      expect(verifyJwsSignature(parseJws(forged), imported!)).toBe(false);
    });
  });

  describe('issuer and audience', () => {
    it.each([
      ['another issuer', { iss: 'https://attacker.example' }],
      ['the issuer with a trailing slash', { iss: `${ISSUER}/` }],
      ['the issuer in upper case', { iss: ISSUER.toUpperCase() }],
      ['the issuer in an array', { iss: [ISSUER] }],
      ['no issuer', { iss: undefined }],
    ])('refuses %s with identity_issuer before asking for keys', async (_label, override) => {
      const source = counting(keys);
      await expect(verifier(source).verify(token(override))).rejects.toMatchObject({ code: 'identity_issuer' });
      expect(source.calls).toBe(0);
    });

    it('refuses a wrong issuer before looking at the signature', async () => {
      const source = counting(keys);
      const forged = `${token({ iss: 'https://attacker.example' }).slice(0, -4)}AAAA`;
      await expect(verifier(source).verify(forged)).rejects.toMatchObject({ code: 'identity_issuer' });
      expect(source.calls).toBe(0);
    });

    it.each([
      ['another audience', { aud: 'urn:mcp:other' }],
      ['an array without this audience', { aud: ['urn:mcp:other'] }],
      ['an empty array', { aud: [] }],
      ['no audience', { aud: undefined }],
      ['the audience in upper case', { aud: AUDIENCE.toUpperCase() }],
    ])('refuses %s with identity_audience before asking for keys', async (_label, override) => {
      const source = counting(keys);
      await expect(verifier(source).verify(token(override))).rejects.toMatchObject({ code: 'identity_audience' });
      expect(source.calls).toBe(0);
    });

    it.each([
      ['an array holding only this audience', [AUDIENCE]],
      ['an array that contains this audience', ['urn:mcp:other', AUDIENCE]],
    ])('refuses an audience given as %s, before any key lookup (spec: aud is one string)', async (_case, aud) => {
      const source = counting(keys);
      await expect(verifier(source).verify(token({ aud }))).rejects.toMatchObject(refusal('identity_audience', /upstream/));
      expect(source.calls).toBe(0);
    });
  });

  describe('time', () => {
    const exp = NOW_S + 60;
    it.each([
      ['accepts a token checked just inside the default 5 s tolerance after exp', undefined, (exp + 5) * 1000 - 1, true],
      ['refuses a token checked at exp plus the default tolerance', undefined, (exp + 5) * 1000, false],
      ['accepts a token checked just before exp with no tolerance', 0, exp * 1000 - 1, true],
      ['refuses a token checked at exp with no tolerance', 0, exp * 1000, false],
      ['accepts a token checked just inside a 30 s tolerance after exp', 30, (exp + 30) * 1000 - 1, true],
      ['refuses a token checked at exp plus a 30 s tolerance', 30, (exp + 30) * 1000, false],
      ['refuses a token checked an hour after exp', 5, (exp + 3600) * 1000, false],
    ])('%s', async (_label, clockToleranceSeconds, now, valid) => {
      const result = verifier(keys, { clockToleranceSeconds, clock: () => now }).verify(token());
      if (valid) await expect(result).resolves.toMatchObject({ exp });
      else await expect(result).rejects.toMatchObject(refusal('identity_expired', /expired/));
    });

    it.each([
      ['accepts a token checked at iat minus the default tolerance', undefined, (NOW_S - 5) * 1000, true],
      ['refuses a token checked just before iat minus the default tolerance', undefined, (NOW_S - 5) * 1000 - 1, false],
      ['accepts a token checked at iat with no tolerance', 0, NOW_S * 1000, true],
      ['refuses a token checked just before iat with no tolerance', 0, NOW_S * 1000 - 1, false],
    ])('%s', async (_label, clockToleranceSeconds, now, valid) => {
      const result = verifier(keys, { clockToleranceSeconds, clock: () => now }).verify(token());
      if (valid) await expect(result).resolves.toMatchObject({ iat: NOW_S });
      else await expect(result).rejects.toMatchObject(refusal('identity_invalid', /future/));
    });

    it.each([
      ['accepts a lifetime of exactly the default 600 s', undefined, 600, true],
      ['refuses a lifetime one second over the default', undefined, 601, false],
      ['accepts a lifetime of exactly a configured 30 s', 30, 30, true],
      ['refuses a lifetime one second over a configured 30 s', 30, 31, false],
      ['refuses a zero lifetime (exp equal to iat)', undefined, 0, false],
      ['refuses a negative lifetime (exp before iat)', undefined, -1, false],
    ])('%s', async (_label, maxLifetimeSeconds, lifetime, valid) => {
      const result = verifier(keys, { maxLifetimeSeconds }).verify(token({ iat: NOW_S - 1, exp: NOW_S - 1 + lifetime }));
      if (valid) await expect(result).resolves.toBeDefined();
      else await expect(result).rejects.toMatchObject(refusal('identity_invalid', /lifetime/));
    });

    it.each([
      ['no iat', { iat: undefined }],
      ['no exp', { exp: undefined }],
      ['a string iat', { iat: String(NOW_S) }],
      ['a fractional exp', { exp: NOW_S + 60.5 }],
      ['an exp beyond safe integers', { exp: 2 ** 53 }],
      ['a null iat', { iat: null }],
    ])('refuses %s', async (_label, override) => {
      await expect(verifier(keys).verify(token(override))).rejects.toMatchObject(refusal('identity_invalid', /iat or exp/));
    });

    it('checks the signature before the lifetime: a forged expired token is identity_invalid', async () => {
      const forged = hmacToken(header, claims({ exp: NOW_S - 3600, iat: NOW_S - 3660 }), strongSecret());
      await expect(verifier(keys).verify(forged)).rejects.toMatchObject(refusal('identity_invalid', /signature/));
    });
  });

  describe('jti', () => {
    it.each([
      ['16 characters', 'a'.repeat(16)],
      ['128 characters', 'a'.repeat(128)],
      ['base64url punctuation', 'abc-def_ghi-jkl_mno'],
    ])('accepts a jti of %s', async (_label, jti) => {
      await expect(verifier(keys).verify(token({ jti }))).resolves.toMatchObject({ jti });
    });

    it.each([
      ['a missing jti', undefined],
      ['an empty jti', ''],
      ['15 characters', 'a'.repeat(15)],
      ['129 characters', 'a'.repeat(129)],
      ['a dot', 'abcdefgh.ijklmnop'],
      ['a plus sign', 'abcdefgh+ijklmnop'],
      ['a numeric jti', 1234567890123456],
      ['an array', ['a'.repeat(16)]],
    ])('refuses %s', async (_label, jti) => {
      await expect(verifier(keys).verify(token({ jti }))).rejects.toMatchObject(refusal('identity_invalid', /jti/));
    });
  });

  describe('binding and user', () => {
    it.each([
      ['no req', { req: undefined }],
      ['req as a string', { req: 'POST /mcp' }],
      ['req as null', { req: null }],
      ['a numeric method', { req: { method: 1, path: '/mcp', body_sha256: bodyDigest } }],
      ['no path', { req: { method: 'POST', body_sha256: bodyDigest } }],
      ['no body digest', { req: { method: 'POST', path: '/mcp' } }],
      ['the digest under its UserContext name', { req: { method: 'POST', path: '/mcp', bodySha256: bodyDigest } }],
    ])('refuses %s', async (_label, override) => {
      await expect(verifier(keys).verify(token(override))).rejects.toMatchObject(refusal('identity_invalid', /request binding/));
    });

    it.each([
      ['no sub', { sub: undefined }],
      ['no auth_method', { auth_method: undefined }],
      ['a malformed act', { act: { sub: 7 } }],
      ['admin as a string', { admin: 'true' }],
    ])('refuses claims that describe no valid user: %s', async (_label, override) => {
      await expect(verifier(keys).verify(token(override))).rejects.toMatchObject({ code: 'identity_invalid' });
    });
  });

  describe('key rotation at the receiver', () => {
    it('tries every secret when the token has no kid', async () => {
      const rotated = staticKeySource(importVerificationSecrets([{ secret: strongSecret() }, { secret }]));
      await expect(verifier(rotated).verify(token())).resolves.toBeDefined();
    });

    it('uses only the key with the token kid when there is one', async () => {
      const rotated = staticKeySource(
        importVerificationSecrets([
          { secret, kid: 'old' },
          { secret: strongSecret(), kid: 'new' },
        ]),
      );
      await expect(verifier(rotated).verify(token({}, { kid: 'old' }))).resolves.toBeDefined();
      await expect(verifier(rotated).verify(token({}, { kid: 'new' }))).rejects.toMatchObject(refusal('identity_invalid', /signature/));
    });
  });
});

describe('parseJws', () => {
  it('splits a token without verifying it', () => {
    const secret = strongSecret();
    const t = hmacToken({ alg: 'HS256', kid: 'k1', typ: 'user-context+jwt' }, { sub: 'x' }, secret);
    const parsed = parseJws(t);
    expect(parsed.header).toStrictEqual({ alg: 'HS256', kid: 'k1', typ: 'user-context+jwt' });
    expect(Object.isFrozen(parsed.header)).toBe(true);
    expect(parsed.payload).toStrictEqual({ sub: 'x' });
    expect(parsed.signingInput).toBe(t.slice(0, t.lastIndexOf('.')));
    expect(parsed.signature.equals(createHmac('sha256', secret).update(parsed.signingInput).digest())).toBe(true);
  });

  it('normalizes an application/ typ to the short form', () => {
    const t = hmacToken({ alg: 'HS256', typ: 'Application/User-Context+JWT' }, {}, strongSecret());
    expect(parseJws(t).header.typ).toBe(ASSERTION_TYP);
  });

  it('parses the same header segment the same way twice', () => {
    const t = hmacToken({ alg: 'HS256', typ: 'user-context+jwt' }, { a: 1 }, strongSecret());
    expect(parseJws(t).header).toBe(parseJws(t).header);
    expect(() => parseJws(`${t.split('.')[0]!}.${b64url('[]')}.AAAA`)).toThrow(/payload is not an object/);
  });
});

describe('verifyJwsSignature', () => {
  it('is false for a signature of the wrong length', () => {
    const secret = strongSecret();
    const [key] = importVerificationSecrets([{ secret }]);
    const t = hmacToken({ alg: 'HS256', typ: 'user-context+jwt' }, {}, secret);
    const parsed = parseJws(t);
    expect(verifyJwsSignature(parsed, key!)).toBe(true);
    expect(verifyJwsSignature({ ...parsed, signature: parsed.signature.subarray(0, 31) }, key!)).toBe(false);
    expect(verifyJwsSignature({ ...parsed, signature: Buffer.concat([parsed.signature, Buffer.alloc(1)]) }, key!)).toBe(false);
  });

  it('is false for a key of another algorithm', () => {
    const secret = strongSecret();
    const t = hmacToken({ alg: 'HS256', typ: 'user-context+jwt' }, {}, secret);
    const [edKey] = importVerificationPublicKeys([{ alg: 'EdDSA', publicKey: ed25519().publicKey }]);
    expect(verifyJwsSignature(parseJws(t), edKey!)).toBe(false);
  });
});
