/**
 * Key handling: every key is parsed and imported once, at construction, into a
 * `KeyObject`. Configuration mistakes throw a `TypeError` naming the option; no
 * message ever contains key material.
 */
import { createHash, createPrivateKey, createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import { booleanOption, objectOption, onlyKnownKeys } from './options.js';

/** The JWS algorithms mcp-identity signs and verifies with. */
export type Algorithm = 'HS256' | 'EdDSA' | 'ES256';

/** A shared HMAC secret: at least 32 bytes, not a placeholder. */
export type SecretInput = string | Uint8Array | KeyObject;
/** A key as PEM text, a JWK object or a `KeyObject`. */
export type KeyInput = string | JsonWebKey | KeyObject;

/** A gateway signing key with a shared secret (HS256). */
export interface SecretSigningKey {
  /** Default `"HS256"`. */
  readonly alg?: 'HS256';
  readonly secret: SecretInput;
  /** Key id put in the JWS header; none by default for secrets. */
  readonly kid?: string;
  /** With several keys, the one that signs. */
  readonly active?: boolean;
}

/** A gateway signing key with a private key (EdDSA with Ed25519, or ES256 with P-256). */
export interface PrivateSigningKey {
  readonly alg: 'EdDSA' | 'ES256';
  readonly privateKey: KeyInput;
  /** Key id; defaults to the RFC 7638 JWK thumbprint of the public key. */
  readonly kid?: string;
  /** With several keys, the one that signs; the others are only published. */
  readonly active?: boolean;
}

/** Any gateway signing key. */
export type SigningKey = SecretSigningKey | PrivateSigningKey;

/** A receiver secret for HS256. */
export interface VerificationSecret {
  readonly secret: SecretInput;
  readonly kid?: string;
}

/** A receiver public key for EdDSA or ES256. */
export interface VerificationPublicKey {
  readonly alg: 'EdDSA' | 'ES256';
  readonly publicKey: KeyInput;
  /** Defaults to the RFC 7638 JWK thumbprint. */
  readonly kid?: string;
}

/** A public JWK as published in the JWKS. */
export interface PublicJwk {
  readonly kty: 'OKP' | 'EC';
  readonly crv: 'Ed25519' | 'P-256';
  readonly x: string;
  readonly y?: string;
  readonly kid: string;
  readonly alg: 'EdDSA' | 'ES256';
  readonly use: 'sig';
}

/** A key ready for signing or verifying. */
export interface ImportedKey {
  readonly alg: Algorithm;
  readonly kid: string | undefined;
  readonly key: KeyObject;
}

/** A signing key with what the gateway publishes for it. */
export interface ImportedSigningKey extends ImportedKey {
  readonly active: boolean;
  /** Undefined for secrets: those are never published. */
  readonly publicJwk: PublicJwk | undefined;
}

/** The gateway's signing keys, imported: the one that signs, and all of them (for publishing). */
export interface ImportedSigningKeys {
  readonly active: ImportedSigningKey;
  readonly all: readonly ImportedSigningKey[];
}

const KID = /^[A-Za-z0-9_-][A-Za-z0-9_.:-]{0,127}$/;
const PLACEHOLDERS = ['changeme', 'changethis', 'replaceme', 'placeholder', 'yoursecret', 'secrethere', 'insertsecret', 'example'];

/** Tells whether a `kid` is acceptable: 1-128 characters of A-Z a-z 0-9 _ - . :, no `..`, no slash. */
export function isValidKid(kid: string): boolean {
  return KID.test(kid) && !kid.includes('..');
}

/**
 * Why a secret is too weak for HS256, or `undefined` when it is acceptable. The reason
 * names a length or a pattern, never the secret.
 */
export function weakSecretReason(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return 'is empty';
  if (bytes.length < 32) return `is too short: HS256 needs at least 32 bytes (got ${bytes.length})`;
  if (new Set(bytes).size < 8) return 'looks like a placeholder: it uses fewer than 8 distinct characters';
  const letters = Buffer.from(bytes)
    .toString('latin1')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
  if (PLACEHOLDERS.some((word) => letters.includes(word))) return 'looks like a placeholder value';
  return undefined;
}

function secretBytes(secret: SecretInput, option: string): Buffer {
  if (typeof secret === 'string') return Buffer.from(secret, 'utf8');
  if (secret instanceof KeyObject) {
    if (secret.type !== 'secret') throw new TypeError(`${option} must be a secret KeyObject, not a ${secret.type} key`);
    return secret.export();
  }
  if (secret instanceof Uint8Array) return Buffer.from(secret);
  throw new TypeError(`${option} must be a string, a Uint8Array or a secret KeyObject`);
}

/** Imports an HS256 secret, refusing empty, short and placeholder secrets. */
export function importSecret(secret: SecretInput, option: string): KeyObject {
  const bytes = secretBytes(secret, option);
  const weak = weakSecretReason(bytes);
  if (weak !== undefined) throw new TypeError(`${option} ${weak}`);
  return createSecretKey(bytes);
}

function checkKid(kid: unknown, option: string): string | undefined {
  if (kid === undefined) return undefined;
  if (typeof kid !== 'string' || !isValidKid(kid)) {
    throw new TypeError(`${option} must be 1-128 characters of A-Z a-z 0-9 _ - . : (no "..")`);
  }
  return kid;
}

function checkAsymmetric(key: KeyObject, alg: 'EdDSA' | 'ES256', option: string): void {
  if (alg === 'EdDSA' && key.asymmetricKeyType !== 'ed25519') {
    throw new TypeError(`${option} must be an Ed25519 key for alg "EdDSA" (got ${key.asymmetricKeyType ?? 'unknown'})`);
  }
  if (alg === 'ES256' && (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')) {
    throw new TypeError(`${option} must be a P-256 EC key for alg "ES256"`);
  }
}

function importAsymmetric(input: KeyInput, kind: 'private' | 'public', option: string): KeyObject {
  try {
    if (input instanceof KeyObject) {
      if (input.type === 'secret') throw new TypeError('secret');
      if (kind === 'private' && input.type !== 'private') throw new TypeError('public');
      return kind === 'public' && input.type === 'private' ? createPublicKey(input) : input;
    }
    if (typeof input === 'string') return kind === 'private' ? createPrivateKey(input) : createPublicKey(input);
    if (typeof input === 'object' && input !== null && typeof input.kty === 'string') {
      if (input.kty === 'oct') throw new TypeError('oct');
      const source = { key: input, format: 'jwk' as const };
      return kind === 'private' ? createPrivateKey(source) : createPublicKey(source);
    }
  } catch (cause) {
    throw new TypeError(`${option} is not a valid ${kind} key (PEM, JWK or KeyObject)`, { cause });
  }
  throw new TypeError(`${option} must be PEM text, a JWK object or a KeyObject`);
}

/** The RFC 7638 JWK thumbprint (SHA-256, base64url) of an OKP or EC public key. */
export function jwkThumbprint(jwk: Pick<PublicJwk, 'kty' | 'crv' | 'x' | 'y'>): string {
  // Required members only, in lexicographic order, no whitespace (RFC 7638 section 3).
  const canonical =
    jwk.kty === 'EC'
      ? JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
      : JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** Exports the public JWK of an Ed25519 or P-256 key (private or public). */
export function publicJwkOf(key: KeyObject, alg: 'EdDSA' | 'ES256', kid?: string): PublicJwk {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = publicKey.export({ format: 'jwk' });
  const base =
    alg === 'EdDSA'
      ? { kty: 'OKP' as const, crv: 'Ed25519' as const, x: String(jwk.x) }
      : { kty: 'EC' as const, crv: 'P-256' as const, x: String(jwk.x), y: String(jwk.y) };
  return Object.freeze({ ...base, kid: kid ?? jwkThumbprint(base), alg, use: 'sig' as const });
}

/**
 * Imports the gateway's `signing` option: one key or an array. With several keys exactly
 * one is marked `active: true` (or there is only one); every asymmetric key is published.
 */
export function importSigningKeys(input: SigningKey | readonly SigningKey[], option = 'signing'): ImportedSigningKeys {
  const list: readonly unknown[] = Array.isArray(input) ? input : [input];
  if (list.length === 0) throw new TypeError(`${option} must contain at least one key`);
  const all = list.map((entry, index) => importSigningKey(entry, Array.isArray(input) ? `${option}[${index}]` : option));
  const kids = all.map((key) => key.kid).filter((kid): kid is string => kid !== undefined);
  if (new Set(kids).size !== kids.length) throw new TypeError(`${option}: two keys share the same kid`);
  const marked = all.filter((key) => key.active);
  if (marked.length > 1) throw new TypeError(`${option}: only one key may be marked active`);
  const active = marked[0] ?? (all.length === 1 ? all[0] : undefined);
  if (active === undefined) throw new TypeError(`${option}: mark the key that signs with active: true`);
  if (all.length > 1 && all.some((key) => key.kid === undefined)) {
    throw new TypeError(`${option}: with several keys every secret needs a kid`);
  }
  return Object.freeze({ active, all: Object.freeze(all) });
}

function importSigningKey(entry: unknown, option: string): ImportedSigningKey {
  const spec = objectOption(entry, option);
  const alg = spec.alg ?? 'HS256';
  // `actve: true` would otherwise leave the key inactive without a word.
  onlyKnownKeys(spec, option, ['alg', 'secret', 'privateKey', 'kid', 'active'], { prefix: `${option}.` });
  const kid = checkKid(spec.kid, `${option}.kid`);
  const active = booleanOption(spec.active, `${option}.active`, false);
  if (alg === 'HS256') {
    if (spec.privateKey !== undefined) throw new TypeError(`${option}: alg "HS256" takes a secret, not a privateKey`);
    if (spec.secret === undefined) throw new TypeError(`${option}.secret is required for alg "HS256"`);
    const key = importSecret(spec.secret as SecretInput, `${option}.secret`);
    return Object.freeze({ alg, kid, key, active, publicJwk: undefined });
  }
  if (alg === 'EdDSA' || alg === 'ES256') {
    if (spec.secret !== undefined) throw new TypeError(`${option}: alg "${alg}" takes a privateKey, not a secret`);
    if (spec.privateKey === undefined) throw new TypeError(`${option}.privateKey is required for alg "${alg}"`);
    const key = importAsymmetric(spec.privateKey as KeyInput, 'private', `${option}.privateKey`);
    checkAsymmetric(key, alg, `${option}.privateKey`);
    const publicJwk = publicJwkOf(key, alg, kid);
    return Object.freeze({ alg, kid: publicJwk.kid, key, active, publicJwk });
  }
  throw new TypeError(
    `${option}.alg must be "HS256", "EdDSA" or "ES256" (got ${typeof alg === 'string' ? JSON.stringify(alg).slice(0, 40) : typeof alg})`,
  );
}

/**
 * The public JWKs of signing keys, for publishing: every asymmetric key, active or not;
 * secrets are never published.
 * @param input - One signing key or the list of them (as given to the gateway's `signing`).
 * @param option - The option's name, used in error messages. Default `"keys"`.
 * @returns The public JWKs, each with `kid`, `alg` and `use: "sig"`.
 * @example
 * const keys = publicJwksOf([{ alg: 'EdDSA', privateKey: process.env.GATEWAY_PRIVATE_KEY!, active: true }]);
 */
export function publicJwksOf(input: SigningKey | readonly SigningKey[], option = 'keys'): PublicJwk[] {
  const list: readonly unknown[] = Array.isArray(input) ? input : [input];
  const jwks = list.flatMap((entry, index) => {
    const key = importSigningKey(entry, Array.isArray(input) ? `${option}[${index}]` : option);
    return key.publicJwk === undefined ? [] : [key.publicJwk];
  });
  if (jwks.length === 0) throw new TypeError(`${option} has no EdDSA or ES256 key to publish (secrets are never published)`);
  if (new Set(jwks.map((jwk) => jwk.kid)).size !== jwks.length) throw new TypeError(`${option}: two keys share the same kid`);
  return jwks;
}

/**
 * Imports the receiver's `secrets`.
 * @param secrets - The `{ secret, kid? }` entries; a weak or short secret throws a `TypeError`.
 * @param option - The option's name, used in error messages. Default `"secrets"`.
 * @returns The imported HS256 keys.
 * @example
 * const keys = staticKeySource(importVerificationSecrets([{ secret: process.env.MCP_IDENTITY_SECRET! }]));
 */
export function importVerificationSecrets(secrets: readonly VerificationSecret[], option = 'secrets'): ImportedKey[] {
  if (!Array.isArray(secrets)) throw new TypeError(`${option} must be an array of { secret, kid? }`);
  return secrets.map((entry: unknown, index) => {
    const at = `${option}[${index}]`;
    const spec = objectOption(entry, at);
    onlyKnownKeys(spec, at, ['secret', 'kid'], { prefix: `${at}.` });
    if (spec.secret === undefined) throw new TypeError(`${at}.secret is required`);
    return Object.freeze({
      alg: 'HS256' as const,
      kid: checkKid(spec.kid, `${at}.kid`),
      key: importSecret(spec.secret as SecretInput, `${at}.secret`),
    });
  });
}

/**
 * Imports the receiver's `publicKeys`.
 * @param keys - The `{ alg, publicKey, kid? }` entries (PEM, JWK or `KeyObject`).
 * @param option - The option's name, used in error messages. Default `"publicKeys"`.
 * @returns The imported EdDSA and ES256 public keys.
 * @example
 * const keys = staticKeySource(importVerificationPublicKeys([{ alg: 'EdDSA', publicKey: process.env.GATEWAY_PUBLIC_KEY! }]));
 */
export function importVerificationPublicKeys(keys: readonly VerificationPublicKey[], option = 'publicKeys'): ImportedKey[] {
  if (!Array.isArray(keys)) throw new TypeError(`${option} must be an array of { alg, publicKey, kid? }`);
  return keys.map((entry: unknown, index) => {
    const at = `${option}[${index}]`;
    const spec = objectOption(entry, at);
    onlyKnownKeys(spec, at, ['alg', 'publicKey', 'kid'], { prefix: `${at}.` });
    if (spec.alg !== 'EdDSA' && spec.alg !== 'ES256') throw new TypeError(`${at}.alg must be "EdDSA" or "ES256"`);
    if (spec.publicKey === undefined) throw new TypeError(`${at}.publicKey is required`);
    const key = importAsymmetric(spec.publicKey as KeyInput, 'public', `${at}.publicKey`);
    checkAsymmetric(key, spec.alg, `${at}.publicKey`);
    const kid = checkKid(spec.kid, `${at}.kid`) ?? publicJwkOf(key, spec.alg).kid;
    return Object.freeze({ alg: spec.alg, kid, key });
  });
}
