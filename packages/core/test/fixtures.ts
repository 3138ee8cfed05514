/**
 * Shared fixtures of the core unit tests: a fixed clock, keys, an independent HS256 token
 * builder (node:crypto only, none of our signing code) and helpers that capture a throw.
 */
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createAssertionSigner, createAssertionVerifier, importVerificationSecrets, staticKeySource } from '../src/internal.js';
import type { AssertionSigner, AssertionVerifier } from '../src/internal.js';

export const ISSUER = 'https://gateway.example';
export const AUDIENCE = 'urn:mcp:files';
/** A fixed "now" in milliseconds, deliberately not on a second boundary. */
export const NOW_MS = 1_750_000_000_250;
export const NOW_S = Math.floor(NOW_MS / 1000);
export const clock = (): number => NOW_MS;

/** 32 random bytes: a secret every check accepts. */
export function strongSecret(): Buffer {
  return randomBytes(32);
}

/** An HS256 signer and the verifier that accepts it, over a fresh strong secret (returned too), on the fixed clock. */
export function hs256Pair(): { readonly secret: Buffer; readonly signer: AssertionSigner; readonly verifier: AssertionVerifier } {
  const secret = strongSecret();
  return {
    secret,
    signer: createAssertionSigner({ signing: { secret }, issuer: ISSUER, audience: AUDIENCE, clock }),
    verifier: createAssertionVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: staticKeySource(importVerificationSecrets([{ secret }])),
      clock,
    }),
  };
}

export function ed25519(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

export function p256(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** Builds an HS256 compact JWS by hand, whatever the header says. */
export function hmacToken(header: Record<string, unknown>, payload: Record<string, unknown>, secret: Uint8Array | string): string {
  const signingInput = `${b64url(header)}.${b64url(payload)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

/** Returns what `fn` throws; fails the test when it returns normally. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw, but it returned');
}

/** The message of what `fn` throws. */
export function messageOf(fn: () => unknown): string {
  const error = thrownBy(fn);
  if (!(error instanceof Error)) throw new Error(`expected an Error, got ${String(error)}`);
  return error.message;
}
