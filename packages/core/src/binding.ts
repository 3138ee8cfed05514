/**
 * Request binding: an assertion is valid for one HTTP method, one path and query, and
 * one body. The body digest is SHA-256, base64url, of:
 *
 * - for a JSON body (media type `application/json`): the RFC 8785 (JCS) canonical JSON of
 *   the message, with every `params._meta["mcp-identity/assertion"]` member removed (and a
 *   `_meta` left empty by that removed too), so the
 *   assertion can travel inside the body it signs and a hop that re-serializes JSON does
 *   not break verification;
 * - for any other body: the raw bytes; for no body: the empty string. A JSON body that is
 *   not UTF-8, not JSON, or has no canonical form (a lone surrogate, a number beyond the
 *   binary64 range) is digested as its raw bytes too (docs/spec/wire-format-v1.md).
 */
import { isUtf8 } from 'node:buffer';
import { createHash, hash as oneShotHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { streamCanonicalJson } from './jcs.js';
import { parseJsonBytes, sourcedHolders } from './json-bytes.js';
import { META_ASSERTION } from './meta-keys.js';

/** What an assertion is bound to. */
export interface RequestBinding {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Path and query exactly as on the request line at the upstream. */
  readonly path: string;
  /** SHA-256 of the body as defined above, base64url without padding. */
  readonly bodySha256: string;
}

/** SHA-256, base64url without padding. */
export function sha256Base64url(data: string | Uint8Array): string {
  return oneShotHash('sha256', data, 'base64url');
}

/** Digest of no body. */
export const EMPTY_BODY_SHA256 = sha256Base64url('');

/** Tells whether a `Content-Type` value is JSON (`application/json`, any case, any parameters). */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semicolon = contentType.indexOf(';');
  const type = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return type === 'application/json';
}

/** Digest of raw body bytes. */
export function rawBodyDigest(body: Uint8Array): string {
  return body.length === 0 ? EMPTY_BODY_SHA256 : sha256Base64url(body);
}

function metaOf(message: unknown): Record<string, unknown> | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const params = (message as { params?: unknown }).params;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return undefined;
  const meta = (params as { _meta?: unknown })._meta;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return undefined;
  return meta as Record<string, unknown>;
}

/**
 * Digest of a parsed JSON message (or batch) by the JCS rule above. The assertion members
 * (and any `_meta` they leave empty) are taken out for the computation and put back.
 * @throws Error when the value has no canonical form (a lone surrogate, a non-finite number).
 */
export function jsonBodyDigest(message: unknown): string {
  const messages = Array.isArray(message) ? message : [message];
  const removed: { params: Record<string, unknown>; meta: Record<string, unknown>; value: unknown; emptied: boolean }[] = [];
  for (const entry of messages) {
    const meta = metaOf(entry);
    if (meta !== undefined && Object.hasOwn(meta, META_ASSERTION)) {
      const params = (entry as { params: Record<string, unknown> }).params;
      const value = meta[META_ASSERTION];
      Reflect.deleteProperty(meta, META_ASSERTION);
      const emptied = Object.keys(meta).length === 0;
      if (emptied) Reflect.deleteProperty(params, '_meta');
      removed.push({ params, meta, value, emptied });
    }
  }
  try {
    // Hashed in pieces: the canonical text of a large body is never built whole. A small body
    // comes in one piece, hashed in one call (a hash object costs more than hashing a small text).
    let first: string | Uint8Array | undefined;
    let hash: Hash | undefined;
    const update = (data: string | Uint8Array): void => {
      if (hash !== undefined) hash.update(data);
      else if (first === undefined) first = data;
      else hash = createHash('sha256').update(first).update(data);
    };
    // Long strings parsed from the client's bytes are hashed from those bytes (json-bytes.ts).
    const sources = sourcedHolders(Array.isArray(message) ? [message, ...(message as unknown[])] : [message]);
    streamCanonicalJson(message, update, sources);
    return hash === undefined ? oneShotHash('sha256', first ?? '', 'base64url') : hash.digest('base64url');
  } finally {
    for (const { params, meta, value, emptied } of removed) {
      meta[META_ASSERTION] = value;
      if (emptied) params._meta = meta;
    }
  }
}

/**
 * The body digest of the wire format for one request body, from its media type and its
 * (decoded) bytes: JCS of the parsed JSON for `application/json` when that has a canonical
 * form, otherwise the raw bytes. What a receiver in any language must compute.
 * @param contentType - The request's `Content-Type` header, if any.
 * @param body - The request body after content decoding.
 * @returns The base64url SHA-256 digest, the `body_sha256` of the request binding.
 */
export function requestBodyDigest(contentType: string | undefined, body: Uint8Array): string {
  if (body.length === 0) return EMPTY_BODY_SHA256;
  if (isJsonContentType(contentType) && isUtf8(body)) {
    let value: unknown;
    try {
      // Long strings are never decoded: they are digested from their bytes.
      value = parseJsonBytes(body, { lazy: true }).value;
    } catch {
      return rawBodyDigest(body);
    }
    try {
      return jsonBodyDigest(value);
    } catch {
      return rawBodyDigest(body);
    }
  }
  return rawBodyDigest(body);
}
