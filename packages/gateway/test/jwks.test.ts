/**
 * `jwks(keys)`: the gateway's public key set, served from the same key objects as `signing`.
 * What matters most: every asymmetric key is published, and nothing private or symmetric ever is.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import express from 'express';
import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import { createAssertionSigner, EMPTY_BODY_SHA256, normalizeUserContext } from '@mcp-identity/core/internal';
import { jwks } from '../src/index.js';
import type { JwksOptions, SigningKey } from '../src/index.js';

const JWKS_PATH = '/.well-known/mcp-identity/jwks.json';
const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const nextEd = generateKeyPairSync('ed25519');
const secret = randomBytes(32);

const jwkOf = (key: KeyObject): JsonWebKey => key.export({ format: 'jwk' });
const pemOf = (key: KeyObject): string => key.export({ format: 'pem', type: 'pkcs8' }).toString();
const thumbprint = (key: KeyObject): Promise<string> => calculateJwkThumbprint(jwkOf(key));

function app(keys: SigningKey | readonly SigningKey[], options?: JwksOptions): express.Express {
  const server = express();
  server.get(JWKS_PATH, jwks(keys, options));
  return server;
}

interface Served {
  readonly status: number;
  readonly text: string;
  readonly headers: Record<string, string>;
  readonly keys: Record<string, unknown>[];
}

async function fetchJwks(keys: SigningKey | readonly SigningKey[], options?: JwksOptions): Promise<Served> {
  const res = await request(app(keys, options)).get(JWKS_PATH);
  const body = JSON.parse(res.text) as { keys: Record<string, unknown>[] };
  return { status: res.status, text: res.text, headers: res.headers, keys: body.keys };
}

describe('jwks', () => {
  describe('what it publishes', () => {
    it('serves every asymmetric key, active and inactive, each with its RFC 7638 thumbprint as kid', async () => {
      const served = await fetchJwks([
        { alg: 'EdDSA', privateKey: ed.privateKey, active: true },
        { alg: 'ES256', privateKey: ec.privateKey },
        { alg: 'EdDSA', privateKey: nextEd.privateKey },
      ]);

      expect(served.status).toBe(200);
      expect(served.headers['content-type']).toBe('application/jwk-set+json; charset=utf-8');
      expect(served.keys).toStrictEqual([
        { kty: 'OKP', crv: 'Ed25519', x: jwkOf(ed.publicKey).x, kid: await thumbprint(ed.publicKey), alg: 'EdDSA', use: 'sig' },
        {
          kty: 'EC',
          crv: 'P-256',
          x: jwkOf(ec.publicKey).x,
          y: jwkOf(ec.publicKey).y,
          kid: await thumbprint(ec.publicKey),
          alg: 'ES256',
          use: 'sig',
        },
        { kty: 'OKP', crv: 'Ed25519', x: jwkOf(nextEd.publicKey).x, kid: await thumbprint(nextEd.publicKey), alg: 'EdDSA', use: 'sig' },
      ]);
    });

    it('keeps a kid given in the key', async () => {
      const served = await fetchJwks({ alg: 'ES256', privateKey: ec.privateKey, kid: 'gateway-2030-01' });

      expect(served.keys.map((key) => key.kid)).toEqual(['gateway-2030-01']);
    });

    it.each<[string, SigningKey['alg'], () => SigningKey]>([
      ['PEM', 'EdDSA', () => ({ alg: 'EdDSA', privateKey: pemOf(ed.privateKey) })],
      ['a JWK', 'EdDSA', () => ({ alg: 'EdDSA', privateKey: jwkOf(ed.privateKey) })],
      ['a KeyObject', 'EdDSA', () => ({ alg: 'EdDSA', privateKey: ed.privateKey })],
      ['PEM', 'ES256', () => ({ alg: 'ES256', privateKey: pemOf(ec.privateKey) })],
      ['a JWK', 'ES256', () => ({ alg: 'ES256', privateKey: jwkOf(ec.privateKey) })],
      ['a KeyObject', 'ES256', () => ({ alg: 'ES256', privateKey: ec.privateKey })],
    ])('publishes the same public JWK for a private key given as %s (%s)', async (_form, alg, key) => {
      const served = await fetchJwks(key());
      const publicKey = alg === 'EdDSA' ? ed.publicKey : ec.publicKey;

      expect(served.keys).toHaveLength(1);
      expect(served.keys[0]).toMatchObject({ ...jwkOf(publicKey), kid: await thumbprint(publicKey) });
    });

    it('publishes the kid the gateway puts in the assertions it signs, and the key verifies them', async () => {
      const signing: SigningKey[] = [
        { alg: 'ES256', privateKey: ec.privateKey },
        { alg: 'EdDSA', privateKey: ed.privateKey, active: true },
      ];
      const signer = createAssertionSigner({ signing, issuer: 'https://gateway.test', audience: 'urn:mcp:files' });
      const { token } = signer.sign(normalizeUserContext({ id: 'ada', authMethod: 'jwt' }), {
        method: 'POST',
        path: '/mcp',
        bodySha256: EMPTY_BODY_SHA256,
      });
      const served = await fetchJwks(signing);

      const { protectedHeader, payload } = await jwtVerify(token, createLocalJWKSet({ keys: served.keys }), {
        issuer: 'https://gateway.test',
        audience: 'urn:mcp:files',
        algorithms: ['EdDSA'],
      });

      expect(protectedHeader.kid).toBe(signer.kid);
      expect(served.keys.map((key) => key.kid)).toContain(signer.kid);
      expect(payload.sub).toBe('ada');
    });

    it('publishes only the EdDSA key of an array mixing HS256 and EdDSA', async () => {
      const served = await fetchJwks([
        { secret, kid: 'hs-old' },
        { alg: 'HS256', secret: randomBytes(32), kid: 'hs-new' },
        { alg: 'EdDSA', privateKey: ed.privateKey, active: true },
      ]);

      expect(served.keys).toHaveLength(1);
      expect(served.keys[0]).toMatchObject({ kty: 'OKP', alg: 'EdDSA', kid: await thumbprint(ed.publicKey) });
      expect(served.text).not.toContain('hs-old');
      expect(served.text).not.toContain('hs-new');
    });
  });

  describe('never publishes a private or symmetric key', () => {
    const hsSecret = 'a gateway HS256 secret, 32 bytes or more: 7Gq2Lp9Xw4';
    const keys: SigningKey[] = [
      { secret: hsSecret, kid: 'hs' },
      { alg: 'HS256', secret, kid: 'hs-bytes' },
      { alg: 'EdDSA', privateKey: jwkOf(ed.privateKey), active: true },
      { alg: 'ES256', privateKey: pemOf(ec.privateKey) },
    ];
    const forbidden = [
      ['the Ed25519 d', String(jwkOf(ed.privateKey).d)],
      ['the P-256 d', String(jwkOf(ec.privateKey).d)],
      ['the string secret', hsSecret],
      ['the secret bytes in base64url', secret.toString('base64url')],
      ['the secret bytes in base64', secret.toString('base64')],
      ['the secret bytes in hex', secret.toString('hex')],
      ['the Ed25519 PEM body', pemOf(ed.privateKey).split('\n')[1]!],
      ['a PEM header', 'PRIVATE KEY'],
    ] as const;

    it('serves entries with public members only', async () => {
      const served = await fetchJwks(keys);

      expect(served.keys.map((key) => Object.keys(key).sort())).toEqual([
        ['alg', 'crv', 'kid', 'kty', 'use', 'x'],
        ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'],
      ]);
    });

    it.each(forbidden)('never has %s anywhere in the raw body', async (_label, material) => {
      const served = await fetchJwks(keys);

      expect(served.text).not.toContain(material.slice(0, 16));
      expect(served.text).not.toMatch(/"(d|k|p|q|dp|dq|qi|oth)"\s*:/);
    });
  });

  describe('HTTP caching', () => {
    const key: SigningKey = { alg: 'EdDSA', privateKey: ed.privateKey };

    it('sends Cache-Control public, max-age=300 by default', async () => {
      expect((await fetchJwks(key)).headers['cache-control']).toBe('public, max-age=300');
    });

    it('sends the max-age of maxAgeSeconds', async () => {
      expect((await fetchJwks(key, { maxAgeSeconds: 60 })).headers['cache-control']).toBe('public, max-age=60');
    });

    it('sends an ETag that stays the same for the same keys and changes with them', async () => {
      const first = (await fetchJwks([key, { alg: 'ES256', privateKey: ec.privateKey }])).headers.etag;
      const again = (
        await fetchJwks([
          { alg: 'EdDSA', privateKey: pemOf(ed.privateKey) },
          { alg: 'ES256', privateKey: ec.privateKey },
        ])
      ).headers.etag;
      const rotated = (await fetchJwks([key, { alg: 'EdDSA', privateKey: nextEd.privateKey }])).headers.etag;

      expect(first).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
      expect(again).toBe(first);
      expect(rotated).not.toBe(first);
    });

    it.each([
      ['the ETag', (etag: string) => etag],
      ['the weak form of the ETag', (etag: string) => `W/${etag}`],
      ['a list holding the ETag', (etag: string) => `"other", ${etag}`],
      ['*', () => '*'],
    ])('answers 304 without a body to If-None-Match with %s, keeping the caching headers', async (_label, ifNoneMatch) => {
      const server = app(key);
      const { etag } = (await request(server).get(JWKS_PATH)).headers as Record<string, string>;

      const res = await request(server).get(JWKS_PATH).set('If-None-Match', ifNoneMatch(etag!));

      expect(res.status).toBe(304);
      expect(res.text).toBe('');
      expect(res.headers.etag).toBe(etag);
      expect(res.headers['cache-control']).toBe('public, max-age=300');
    });

    it('answers 200 with the set to an If-None-Match of another ETag', async () => {
      const res = await request(app(key)).get(JWKS_PATH).set('If-None-Match', '"an-older-key-set"');

      expect(res.status).toBe(200);
      expect((JSON.parse(res.text) as { keys: unknown[] }).keys).toHaveLength(1);
    });
  });

  describe('construction', () => {
    it.each<[string, unknown]>([
      ['one HS256 key', { secret }],
      [
        'HS256 keys only',
        [
          { secret, kid: 'a' },
          { alg: 'HS256', secret: randomBytes(32), kid: 'b' },
        ],
      ],
      ['an empty array', []],
    ])('refuses %s: there is nothing to publish', (_label, keys) => {
      expect(() => jwks(keys as SigningKey)).toThrow(/^keys has no EdDSA or ES256 key to publish \(secrets are never published\)$/);
    });

    it.each<[string, unknown, RegExp]>([
      ['an unknown alg', { alg: 'RS256', privateKey: ed.privateKey }, /^keys\.alg must be "HS256", "EdDSA" or "ES256"/],
      ['text that is no key', [{ alg: 'EdDSA', privateKey: 'not a key' }], /^keys\[0\]\.privateKey is not a valid private key/],
      ['a public key as the private key', { alg: 'EdDSA', privateKey: ed.publicKey }, /^keys\.privateKey is not a valid private key/],
      ['a P-256 key for EdDSA', [{ alg: 'EdDSA', privateKey: ec.privateKey }], /^keys\[0\]\.privateKey must be an Ed25519 key/],
      ['a missing privateKey', [{ alg: 'ES256' }], /^keys\[0\]\.privateKey is required/],
      ['a secret on an EdDSA key', { alg: 'EdDSA', secret }, /^keys: alg "EdDSA" takes a privateKey, not a secret/],
      ['a kid with a path', [{ alg: 'EdDSA', privateKey: ed.privateKey, kid: '../keys' }], /^keys\[0\]\.kid must be/],
      [
        'a short HS256 secret next to a key',
        [
          { secret: 'too-short', kid: 'hs' },
          { alg: 'EdDSA', privateKey: ed.privateKey },
        ],
        /^keys\[0\]\.secret is too short/,
      ],
      [
        'two keys with the same kid',
        [
          { alg: 'EdDSA', privateKey: ed.privateKey, kid: 'same' },
          { alg: 'ES256', privateKey: ec.privateKey, kid: 'same' },
        ],
        /^keys: two keys share the same kid$/,
      ],
      [
        'the same key twice',
        [
          { alg: 'EdDSA', privateKey: ed.privateKey },
          { alg: 'EdDSA', privateKey: pemOf(ed.privateKey) },
        ],
        /^keys: two keys share the same kid$/,
      ],
      ['null', null, /^keys must be an object$/],
    ])('refuses %s, naming the option', (_label, keys, message) => {
      expect(() => jwks(keys as SigningKey)).toThrow(message);
    });

    it.each([0, -1, 1.5, '300', Number.NaN])('refuses maxAgeSeconds %p, naming the option', (maxAgeSeconds) => {
      expect(() => jwks({ alg: 'EdDSA', privateKey: ed.privateKey }, { maxAgeSeconds: maxAgeSeconds as number })).toThrow(
        /^maxAgeSeconds /,
      );
    });

    it('never puts a secret in a construction error', () => {
      const weak = 'changeme-changeme-changeme-changeme';
      expect(() =>
        jwks([
          { secret: weak, kid: 'hs' },
          { alg: 'EdDSA', privateKey: ed.privateKey },
        ]),
      ).toThrow(/^keys\[0\]\.secret /);
      expect(() =>
        jwks([
          { secret: weak, kid: 'hs' },
          { alg: 'EdDSA', privateKey: ed.privateKey },
        ]),
      ).not.toThrow(/changeme/);
    });
  });
});
