/**
 * Micro-benchmarks: sign and verify one assertion per algorithm with mcp-identity, beside
 * jose's generic `SignJWT`/`jwtVerify` on the same claims, and the raw HMAC primitive.
 */
import { createHmac, createPrivateKey, createPublicKey, createSecretKey } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import {
  createAssertionSigner,
  createAssertionVerifier,
  EMPTY_BODY_SHA256,
  importVerificationPublicKeys,
  normalizeUserContext,
  staticKeySource,
  importVerificationSecrets,
} from '@mcp-identity/core/internal';
import type { SigningKey } from '@mcp-identity/core/internal';
import type { JsonWebKey } from 'node:crypto';
import { AUDIENCE, benchUser, ISSUER, SECRET } from './fixtures.js';

export interface MicroResult {
  readonly name: string;
  readonly opsPerSecond: number;
  readonly microsPerOp: number;
}

async function measure(name: string, op: () => unknown, minMs = 400): Promise<MicroResult> {
  for (let i = 0; i < 500; i++) await op(); // warm-up
  let count = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 200; i++) await op();
    count += 200;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return { name, opsPerSecond: Math.round((count / elapsed) * 1000), microsPerOp: Math.round(((elapsed * 1000) / count) * 100) / 100 };
}

export async function microBenchmarks(eddsaPem: string): Promise<MicroResult[]> {
  const user = normalizeUserContext(benchUser());
  const binding = { method: 'POST', path: '/mcp', bodySha256: EMPTY_BODY_SHA256 };
  const es256 = createPrivateKey({ key: createPrivateKeyJwk(), format: 'jwk' });
  const keys: Record<'HS256' | 'EdDSA' | 'ES256', SigningKey> = {
    HS256: { secret: SECRET },
    EdDSA: { alg: 'EdDSA', privateKey: eddsaPem },
    ES256: { alg: 'ES256', privateKey: es256 },
  };
  const results: MicroResult[] = [];
  for (const [alg, signing] of Object.entries(keys) as ['HS256' | 'EdDSA' | 'ES256', SigningKey][]) {
    const signer = createAssertionSigner({ signing, issuer: ISSUER, audience: AUDIENCE });
    const verifyKeys =
      alg === 'HS256'
        ? importVerificationSecrets([{ secret: SECRET }])
        : importVerificationPublicKeys([{ alg, publicKey: createPublicKey(alg === 'EdDSA' ? createPrivateKey(eddsaPem) : es256) }]);
    const verifier = createAssertionVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: staticKeySource(verifyKeys) });
    const token = signer.sign(user, binding).token;
    results.push(await measure(`${alg} sign (mcp-identity)`, () => signer.sign(user, binding)));
    results.push(await measure(`${alg} verify (mcp-identity)`, () => verifier.verify(token)));

    const joseKey = alg === 'HS256' ? createSecretKey(Buffer.from(SECRET)) : alg === 'EdDSA' ? createPrivateKey(eddsaPem) : es256;
    const josePublic = alg === 'HS256' ? joseKey : createPublicKey(joseKey);
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    const joseSign = (): Promise<string> => new SignJWT(payload).setProtectedHeader({ alg, typ: 'user-context+jwt' }).sign(joseKey);
    const joseToken = await joseSign();
    results.push(await measure(`${alg} sign (jose SignJWT)`, joseSign));
    results.push(
      await measure(`${alg} verify (jose jwtVerify)`, () =>
        jwtVerify(joseToken, josePublic, { issuer: ISSUER, audience: AUDIENCE, typ: 'user-context+jwt' }),
      ),
    );
  }
  const hmacKey = createSecretKey(Buffer.from(SECRET));
  const input = Buffer.from(signerInput());
  results.push(await measure('HMAC-SHA256 of the same bytes (node:crypto)', () => createHmac('sha256', hmacKey).update(input).digest()));
  return results;

  function signerInput(): string {
    const signer = createAssertionSigner({ signing: keys.HS256, issuer: ISSUER, audience: AUDIENCE });
    const token = signer.sign(user, binding).token;
    return token.slice(0, token.lastIndexOf('.'));
  }
}

function createPrivateKeyJwk(): JsonWebKey {
  // A fixed P-256 key keeps runs comparable.
  return {
    kty: 'EC',
    crv: 'P-256',
    x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
    y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
    d: 'jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI',
  };
}
