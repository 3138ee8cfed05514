/**
 * Compact JWS for `user-context+jwt` assertions, on `node:crypto` directly.
 *
 * jose's generic `SignJWT`/`jwtVerify` cost tens of microseconds per call; the gateway signs
 * every proxied request, so this file does the few things our tokens need with the raw
 * primitives and keys imported once. The tests cross-check it against jose both ways.
 */
import { isUtf8 } from 'node:buffer';
import { hash, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { IdentityError } from './errors.js';
import { isValidKid } from './keys.js';
import type { Algorithm, ImportedKey } from './keys.js';

/** The `typ` header value of every assertion. */
export const ASSERTION_TYP = 'user-context+jwt';
/** Longest token accepted before any parsing, in characters. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

const SIGNATURE_LENGTH: Readonly<Record<Algorithm, number>> = { HS256: 32, EdDSA: 64, ES256: 64 };
const B64URL = /^[A-Za-z0-9_-]+$/;
const ALLOWED_HEADER = new Set(['alg', 'kid', 'typ']);

/** The protected header of an assertion. */
export interface JwsHeader {
  readonly alg: Algorithm;
  readonly kid?: string;
  readonly typ: typeof ASSERTION_TYP;
}

/** A parsed, not yet verified, compact JWS. */
export interface ParsedJws {
  readonly header: JwsHeader;
  readonly payload: Record<string, unknown>;
  readonly signingInput: string;
  readonly signature: Buffer;
}

/** Encodes the protected header once per key. */
export function encodeHeader(alg: Algorithm, kid: string | undefined): string {
  const header = kid === undefined ? { alg, typ: ASSERTION_TYP } : { alg, kid, typ: ASSERTION_TYP };
  return Buffer.from(JSON.stringify(header)).toString('base64url');
}

function rawSign(key: ImportedKey, data: string): Buffer {
  switch (key.alg) {
    case 'HS256':
      // The signing input is base64url and a dot (ASCII), as hmacSha256 requires.
      return hmacSha256(key.key, data);
    case 'EdDSA':
      return cryptoSign(null, Buffer.from(data), key.key);
    case 'ES256':
      return cryptoSign('sha256', Buffer.from(data), { key: key.key, dsaEncoding: 'ieee-p1363' });
  }
}

/**
 * Returns a function that signs a JSON payload string with `key` into a compact JWS.
 * The header segment is computed once.
 */
export function createJwsSigner(key: ImportedKey): (payloadJson: string) => string {
  const headerSegment = encodeHeader(key.alg, key.kid);
  return function signJws(payloadJson: string): string {
    const signingInput = `${headerSegment}.${Buffer.from(payloadJson).toString('base64url')}`;
    return `${signingInput}.${rawSign(key, signingInput).toString('base64url')}`;
  };
}

/** The SHA-256 block size: an HMAC key is padded (or first hashed) to it. */
const BLOCK = 64;
// The key blocks XORed with ipad and opad (RFC 2104), computed once per secret.
const hmacPads = new WeakMap<KeyObject, { readonly inner: Buffer; readonly outer: Buffer }>();
// Scratch space for the two hash inputs: `inner pad || message` and `outer pad || inner hash`.
// Used synchronously and filled in full before each use, so calls never see each other's bytes.
let innerInput = Buffer.alloc(BLOCK + 1024);
const outerInput = Buffer.alloc(BLOCK + 32);

function padsOf(key: KeyObject): { readonly inner: Buffer; readonly outer: Buffer } {
  let pads = hmacPads.get(key);
  if (pads === undefined) {
    if (key.type !== 'secret') throw new TypeError('an HS256 key must be a secret KeyObject');
    const secret = key.export();
    const block = Buffer.alloc(BLOCK);
    (secret.length > BLOCK ? hash('sha256', secret, 'buffer') : secret).copy(block);
    // Buffer.alloc, not Buffer.from: key material never sits in Node's shared small-buffer pool.
    const inner = Buffer.alloc(BLOCK);
    const outer = Buffer.alloc(BLOCK);
    for (let i = 0; i < BLOCK; i++) {
      inner[i] = (block[i] as number) ^ 0x36;
      outer[i] = (block[i] as number) ^ 0x5c;
    }
    secret.fill(0);
    block.fill(0);
    pads = { inner, outer };
    hmacPads.set(key, pads);
  }
  return pads;
}

/** Signing inputs up to this length use the shared scratch buffer; longer ones (rare) a buffer of their own. */
const SCRATCH_LIMIT = 16 * 1024;

/**
 * HMAC-SHA256 (RFC 2104) of an ASCII text: H(K ^ opad || H(K ^ ipad || text)), with two one-shot
 * hashes of the padded key blocks computed once per key. The same bytes as
 * `createHmac('sha256', key)` (the tests cross-check), without a keyed hash object per call,
 * which costs more than the hashing itself for a token.
 */
export function hmacSha256(key: KeyObject, ascii: string): Buffer {
  const pads = padsOf(key);
  if (innerInput.length < BLOCK + ascii.length && ascii.length <= SCRATCH_LIMIT) innerInput = Buffer.alloc(BLOCK + SCRATCH_LIMIT);
  const input = innerInput.length >= BLOCK + ascii.length ? innerInput : Buffer.alloc(BLOCK + ascii.length);
  pads.inner.copy(input);
  const length = BLOCK + input.write(ascii, BLOCK, 'latin1');
  pads.outer.copy(outerInput);
  // Binary strings (one character per byte) are the cheapest output of the one-shot hash.
  outerInput.write(hash('sha256', input.subarray(0, length), 'binary'), BLOCK, 'latin1');
  // Its own buffer (not the shared pool): on verify this is the valid signature for the input.
  return hash('sha256', outerInput, 'buffer');
}

/** Verifies the signature of a parsed JWS with one key; constant time for HMAC. */
export function verifyJwsSignature(jws: ParsedJws, key: ImportedKey): boolean {
  if (key.alg !== jws.header.alg || jws.signature.length !== SIGNATURE_LENGTH[key.alg]) return false;
  switch (key.alg) {
    case 'HS256':
      return timingSafeEqual(hmacSha256(key.key, jws.signingInput), jws.signature);
    case 'EdDSA':
      return cryptoVerify(null, Buffer.from(jws.signingInput), key.key, jws.signature);
    case 'ES256':
      return cryptoVerify('sha256', Buffer.from(jws.signingInput), { key: key.key, dsaEncoding: 'ieee-p1363' }, jws.signature);
  }
}

const invalid = (message: string): IdentityError => new IdentityError('identity_invalid', message);

// Gateways sign with one or two keys, so only a handful of header segments exist; parsing
// each once saves a JSON.parse per request. Only valid headers are cached, and the cache is bounded.
const headerCache = new Map<string, JwsHeader>();

function decodeSegment(segment: string, what: string): unknown {
  if (!B64URL.test(segment) || segment.length % 4 === 1) throw invalid(`the assertion ${what} is not base64url`);
  const bytes = Buffer.from(segment, 'base64url');
  // Decoded strictly: bytes that are not UTF-8 are refused, never read with replacement characters.
  if (!isUtf8(bytes)) throw invalid(`the assertion ${what} is not UTF-8`);
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw invalid(`the assertion ${what} is not JSON`);
  }
}

function parseHeader(segment: string): JwsHeader {
  const cached = headerCache.get(segment);
  if (cached !== undefined) return cached;
  const header = decodeSegment(segment, 'header');
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw invalid('the assertion header is not an object');
  for (const name of Object.keys(header)) {
    // jku, jwk, x5u, x5c, crit, b64, ...: nothing in a token may point at keys or change processing.
    if (!ALLOWED_HEADER.has(name)) throw invalid(`the assertion header carries a forbidden "${name.slice(0, 16)}" parameter`);
  }
  const { alg, kid, typ } = header as Record<string, unknown>;
  if (alg !== 'HS256' && alg !== 'EdDSA' && alg !== 'ES256') throw invalid('the assertion algorithm is not allowed');
  if (typeof typ !== 'string' || !/^(application\/)?user-context\+jwt$/i.test(typ))
    throw invalid('the assertion typ is not user-context+jwt');
  if (kid !== undefined && (typeof kid !== 'string' || !isValidKid(kid))) throw invalid('the assertion kid is malformed');
  const parsed: JwsHeader = Object.freeze(kid === undefined ? { alg, typ: ASSERTION_TYP } : { alg, kid, typ: ASSERTION_TYP });
  if (headerCache.size >= 64) headerCache.clear();
  headerCache.set(segment, parsed);
  return parsed;
}

/**
 * Parses a compact JWS without trusting anything in it yet.
 * @throws IdentityError `identity_invalid` for anything malformed.
 */
export function parseJws(token: string): ParsedJws {
  if (token.length === 0) throw invalid('the assertion is empty');
  if (token.length > MAX_TOKEN_LENGTH) throw invalid('the assertion is too long');
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first <= 0 || second <= first + 1 || token.indexOf('.', second + 1) !== -1 || second === token.length - 1) {
    throw invalid('the assertion is not a compact JWS');
  }
  const header = parseHeader(token.slice(0, first));
  const payload = decodeSegment(token.slice(first + 1, second), 'payload');
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw invalid('the assertion payload is not an object');
  const signatureSegment = token.slice(second + 1);
  const signature = Buffer.from(signatureSegment, 'base64url');
  // Re-encoding rejects non-canonical spellings (stray bits in the last character), so one
  // signature has exactly one token string.
  if (signature.toString('base64url') !== signatureSegment) throw invalid('the assertion signature is not canonical base64url');
  return { header, payload: payload as Record<string, unknown>, signingInput: token.slice(0, second), signature };
}
