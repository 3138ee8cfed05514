/**
 * A receiver that knows only the gateway's JWKS URL and issuer. The JWKS is served by the
 * gateway's own `jwks()` handler on loopback, behind a counter: every hostile token must be
 * refused without a single request to it (or to any URL a token names).
 */
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { createAssertionSigner, publicJwkOf } from '@mcp-identity/core/internal';
import type { AssertionSigner } from '@mcp-identity/core/internal';
// The gateway's own handler serves the set, so this proves the two packages agree on the wire.
import { jwks } from '@mcp-identity/gateway';
import type { SigningKey } from '@mcp-identity/core/internal';
import { closedPortUrl, countingServer } from '../../../test/counting-server.js';
import type { CountingServer } from '../../../test/counting-server.js';
import {
  ASSERTION_HEADER,
  AUDIENCE,
  claimsFor,
  createTestApp,
  ed25519,
  ed25519PublicPem,
  expectRefusal,
  hmacToken,
  identityHeaders,
  ISSUER,
  p256,
  signFor,
  T0,
  TTL_SECONDS,
  toolCall,
  USER,
} from './helpers.js';
import type { TestApp } from './helpers.js';

const COOLDOWN = 30_000;
const MAX_AGE = 120_000;
const body = toolCall();
const signing: SigningKey[] = [
  { alg: 'EdDSA', privateKey: ed25519.privateKey, active: true },
  { alg: 'ES256', privateKey: p256.privateKey },
];
const edKid = publicJwkOf(ed25519.privateKey, 'EdDSA').kid;
const ecKid = publicJwkOf(p256.privateKey, 'ES256').kid;
const p256PublicPem = p256.publicKey.export({ format: 'pem', type: 'spki' }).toString();
const attacker = generateKeyPairSync('ed25519');

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact JWS signed with an Ed25519 key, whatever the header says. */
function edToken(header: Record<string, unknown>, payload: unknown, key: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${cryptoSign(null, Buffer.from(input), key).toString('base64url')}`;
}

const servers: CountingServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** The gateway's JWKS at `/jwks`; every other path answers 404. All requests are counted. */
async function startJwks(): Promise<CountingServer> {
  const app = express();
  app.get('/jwks', jwks(signing));
  const server = await countingServer(app);
  servers.push(server);
  return server;
}

/** Warnings the receiver logged; `warned(n)` resolves once n have arrived. */
function recordingLogger() {
  const warnings: string[] = [];
  const waiters: (() => void)[] = [];
  return {
    warnings,
    warn(message: string) {
      warnings.push(message);
      for (const wake of waiters.splice(0)) wake();
    },
    async warned(count: number): Promise<void> {
      while (warnings.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

interface Receiver extends TestApp {
  readonly logger: ReturnType<typeof recordingLogger>;
  /** Moves the receiver's (and the signers') clock to `T0 + ms`. */
  at(ms: number): void;
  readonly edSigner: AssertionSigner;
  readonly ecSigner: AssertionSigner;
}

/** A receiver configured with `jwksUrl`, `issuer` and `audience` only (plus a clock and a logger for the test). */
function receiverFor(jwksUrl: string): Receiver {
  let now = T0;
  const clock = (): number => now;
  const logger = recordingLogger();
  const testApp = createTestApp({
    receiver: { secrets: undefined, jwksUrl, jwks: { cooldownMs: COOLDOWN, maxAgeMs: MAX_AGE }, logger, clock },
  });
  const signer = (key: SigningKey): AssertionSigner =>
    createAssertionSigner({ signing: key, issuer: ISSUER, audience: AUDIENCE, ttlSeconds: TTL_SECONDS, clock });
  return {
    ...testApp,
    logger,
    at(ms) {
      now = T0 + ms;
    },
    edSigner: signer(signing[0]!),
    ecSigner: signer(signing[1]!),
  };
}

const post = (receiver: TestApp, token: string) => request(receiver.app).post('/mcp').set(ASSERTION_HEADER, token).send(body);

/** Key material and tokens that must never reach a log line. */
function secretsIn(tokens: readonly string[]): string[] {
  const material = [
    String(ed25519.privateKey.export({ format: 'jwk' }).d),
    String(p256.privateKey.export({ format: 'jwk' }).d),
    String(ed25519.publicKey.export({ format: 'jwk' }).x),
    String(p256.publicKey.export({ format: 'jwk' }).x),
    ed25519PublicPem.split('\n')[1]!,
  ];
  return [...material, ...tokens, ...tokens.map((token) => token.split('.')[2]!)].map((value) => value.slice(0, 16));
}

describe('verifyIdentity with only jwksUrl, issuer and audience', () => {
  it('fetches nothing before the first request', async () => {
    const jwksServer = await startJwks();
    receiverFor(`${jwksServer.url}/jwks`);

    expect(jwksServer.requests).toEqual([]);
  });

  it('verifies EdDSA and ES256 identities from the gateway JWKS, fetched once', async () => {
    const jwksServer = await startJwks();
    const receiver = receiverFor(`${jwksServer.url}/jwks`);

    const fromEd = await request(receiver.app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body }, { signer: receiver.edSigner })))
      .send(body);
    const fromEc = await request(receiver.app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body }, { signer: receiver.ecSigner })))
      .send(body);

    expect([fromEd.status, fromEc.status]).toEqual([200, 200]);
    expect(receiver.calls.map((call) => call.user)).toEqual([USER, USER]);
    expect(jwksServer.requests).toEqual(['/jwks']);
    expect(receiver.logger.warnings).toEqual([]);
  });

  it('accepts a hand-crafted EdDSA token signed with the gateway key (the control for the refusals below)', async () => {
    const jwksServer = await startJwks();
    const receiver = receiverFor(`${jwksServer.url}/jwks`);

    const res = await post(
      receiver,
      edToken({ alg: 'EdDSA', kid: edKid, typ: 'user-context+jwt' }, claimsFor({ body }), ed25519.privateKey),
    );

    expect(res.status).toBe(200);
  });

  describe('refusals that cause no request to the JWKS endpoint', () => {
    const claims = claimsFor({ body });
    const typ = 'user-context+jwt';
    const hostile: [
      label: string,
      status: number,
      code: 'identity_invalid' | 'identity_issuer' | 'identity_audience',
      token: (evil: string) => string,
    ][] = [
      [
        'an HS256 token MACed with the EdDSA public key PEM, with its kid',
        401,
        'identity_invalid',
        () => hmacToken({ alg: 'HS256', kid: edKid, typ }, claims, ed25519PublicPem),
      ],
      [
        'an HS256 token MACed with the EdDSA public key PEM, without kid',
        401,
        'identity_invalid',
        () => hmacToken({ alg: 'HS256', typ }, claims, ed25519PublicPem),
      ],
      [
        'an HS256 token MACed with the P-256 public key PEM, with its kid',
        401,
        'identity_invalid',
        () => hmacToken({ alg: 'HS256', kid: ecKid, typ }, claims, p256PublicPem),
      ],
      ['alg none without a signature', 401, 'identity_invalid', () => `${b64({ alg: 'none', typ })}.${b64(claims)}.`],
      [
        'alg none with a kid and a signature',
        401,
        'identity_invalid',
        () => `${b64({ alg: 'none', kid: edKid, typ })}.${b64(claims)}.AAAA`,
      ],
      [
        'an embedded jwk, signed by that key',
        401,
        'identity_invalid',
        () => edToken({ alg: 'EdDSA', typ, jwk: attacker.publicKey.export({ format: 'jwk' }) }, claims, attacker.privateKey),
      ],
      [
        'a jku naming a JWKS, signed by its key',
        401,
        'identity_invalid',
        (evil) => edToken({ alg: 'EdDSA', typ, jku: evil }, claims, attacker.privateKey),
      ],
      [
        'a jku next to the real kid and signature',
        401,
        'identity_invalid',
        (evil) => edToken({ alg: 'EdDSA', kid: edKid, typ, jku: evil }, claims, ed25519.privateKey),
      ],
      ['an x5u', 401, 'identity_invalid', (evil) => edToken({ alg: 'EdDSA', typ, x5u: evil }, claims, attacker.privateKey)],
      [
        'an x5c chain',
        401,
        'identity_invalid',
        () => edToken({ alg: 'EdDSA', typ, x5c: ['MIIBLjCB4aADAgECAhQ'] }, claims, attacker.privateKey),
      ],
      ['a kid ../../x', 401, 'identity_invalid', () => edToken({ alg: 'EdDSA', kid: '../../x', typ }, claims, ed25519.privateKey)],
      ['a kid a/b', 401, 'identity_invalid', () => edToken({ alg: 'EdDSA', kid: 'a/b', typ }, claims, ed25519.privateKey)],
      ['a kid that is a URL', 401, 'identity_invalid', (evil) => edToken({ alg: 'EdDSA', kid: evil, typ }, claims, ed25519.privateKey)],
      [
        'a wrong issuer, signed with the gateway key',
        401,
        'identity_issuer',
        () => edToken({ alg: 'EdDSA', kid: 'someone-else', typ }, { ...claims, iss: 'https://evil.test' }, ed25519.privateKey),
      ],
      [
        'a wrong audience, signed with the gateway key',
        401,
        'identity_audience',
        () => edToken({ alg: 'EdDSA', kid: 'someone-else', typ }, { ...claims, aud: 'urn:mcp:other' }, ed25519.privateKey),
      ],
    ];

    describe.each([
      ['a receiver that has fetched nothing yet', false],
      ['a receiver whose keys are cached and whose cool-down is over', true],
    ])('for %s', (_label, warm) => {
      it.each(hostile)('refuses %s with %i %s', async (_case, status, code, token) => {
        const jwksServer = await startJwks();
        const receiver = receiverFor(`${jwksServer.url}/jwks`);
        if (warm) {
          expect((await post(receiver, signFor({ body }, { signer: receiver.edSigner }))).status).toBe(200);
          receiver.calls.splice(0);
          receiver.at(COOLDOWN);
        }

        const res = await post(receiver, token(`${jwksServer.url}/evil`));

        expectRefusal(res, status, code, receiver.calls);
        expect(jwksServer.requests).toEqual(warm ? ['/jwks'] : []);
        expect(receiver.logger.warnings).toEqual([]);
      });
    });

    it('responds 401 identity_invalid for tampered kids inside the cool-down, without fetching again', async () => {
      const jwksServer = await startJwks();
      const receiver = receiverFor(`${jwksServer.url}/jwks`);
      expect((await post(receiver, signFor({ body }, { signer: receiver.edSigner }))).status).toBe(200);
      receiver.calls.splice(0);

      for (let i = 0; i < 10; i++) {
        receiver.at(COOLDOWN - 1 - i);
        const [, payload, signature] = signFor({ body }, { signer: receiver.edSigner }).split('.');
        const tampered = `${b64({ alg: 'EdDSA', kid: `gateway-key-${i}`, typ })}.${payload}.${signature}`;
        expectRefusal(await post(receiver, tampered), 401, 'identity_invalid', receiver.calls);
      }

      expect(jwksServer.requests).toEqual(['/jwks']);
    });
  });

  describe('when the JWKS endpoint is down', () => {
    it.each([
      ['nothing listens', async () => closedPortUrl('/jwks')],
      ['it answers 404', async () => `${(await startJwks()).url}/not-the-jwks`],
    ])('responds 503 keys_unavailable before any fetch succeeded (%s), and logs why', async (_label, url) => {
      const receiver = receiverFor(await url());
      const token = signFor({ body }, { signer: receiver.edSigner });

      const res = await request(receiver.app).post('/mcp').set(identityHeaders(token)).send(body);

      expectRefusal(res, 503, 'keys_unavailable', receiver.calls);
      expect(receiver.logger.warnings).toHaveLength(1);
      expect(receiver.logger.warnings[0]).toMatch(/^mcp-identity: JWKS fetch failed.*(ECONNREFUSED|answered 404)/);
      for (const fragment of secretsIn([token])) {
        expect(receiver.logger.warnings[0]).not.toContain(fragment);
        expect(res.text).not.toContain(fragment);
      }
    });

    it('keeps answering 200 from the cached keys after a first fetch, and logs the failed refresh', async () => {
      const jwksServer = await startJwks();
      const receiver = receiverFor(`${jwksServer.url}/jwks`);
      const tokens: string[] = [];
      const send = async (signer: AssertionSigner): Promise<number> => {
        const token = signFor({ body }, { signer });
        tokens.push(token);
        return (await request(receiver.app).post('/mcp').set(identityHeaders(token)).send(body)).status;
      };
      expect(await send(receiver.edSigner)).toBe(200);
      await jwksServer.close();

      receiver.at(MAX_AGE); // stale: this request starts a background refresh, which fails
      const statuses = [await send(receiver.edSigner)];
      await receiver.logger.warned(1);
      receiver.at(MAX_AGE + 1000);
      statuses.push(await send(receiver.ecSigner), await send(receiver.edSigner));

      expect(statuses).toEqual([200, 200, 200]);
      expect(receiver.logger.warnings).toEqual([
        'mcp-identity: JWKS fetch failed (keys fetched earlier, if any, stay in use): the JWKS endpoint could not be reached: ECONNREFUSED',
      ]);
      for (const fragment of secretsIn(tokens)) expect(receiver.logger.warnings[0]).not.toContain(fragment);
    });
  });
});
