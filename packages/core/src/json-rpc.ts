/**
 * JSON-RPC bodies as the gateway and receiver see them: parsing with the checks that keep
 * identity unambiguous, and the `_meta` identity carrier.
 */
import { isUtf8 } from 'node:buffer';
import { findDuplicateKey } from './duplicate-keys.js';
import { parseJsonBytes } from './json-bytes.js';
import type { ParseJsonBytesOptions } from './json-bytes.js';
import { IdentityError } from './errors.js';
import { isIdentityMetaKey, META_ASSERTION, META_CONTEXTFORGE_USER, META_USER } from './meta-keys.js';
import { isRecord } from './user-context.js';

/** One JSON-RPC message as parsed: a request or notification (has `method`) or a response. */
export type JsonRpcMessage = Record<string, unknown>;

/** A parsed body: one message, or a batch. */
export interface JsonRpcBody {
  /** The parsed JSON value, to serialize again. */
  readonly value: JsonRpcMessage | JsonRpcMessage[];
  readonly messages: readonly JsonRpcMessage[];
  /**
   * The text it was parsed from, when it was decoded whole (`parseJsonRpcBody` leaves it out
   * when long strings were decoded from their own bytes): without `bytes`, `serializeJsonRpcBody`
   * splices changes into it.
   */
  readonly text?: string;
  /** The UTF-8 bytes the body was parsed from, when known: `serializeJsonRpcBody` splices changes into them. */
  readonly bytes?: Uint8Array;
}

const FORBIDDEN_KEYS = ['__proto__', 'constructor'] as const;

function hasForbiddenKey(value: Record<string, unknown>): boolean {
  return FORBIDDEN_KEYS.some((key) => Object.hasOwn(value, key));
}

/** Tells whether a message is a request or notification (it has a `method`). */
export function hasMethod(message: JsonRpcMessage): boolean {
  return Object.hasOwn(message, 'method');
}

/**
 * Checks the shape of an already parsed body (from the bytes, or from `express.json()`).
 * @throws IdentityError `invalid_request` (-32600) or `invalid_params` (-32602).
 */
export function checkJsonRpcValue(value: unknown): JsonRpcBody {
  if (Array.isArray(value)) {
    if (value.length === 0) throw new IdentityError('invalid_request', 'an empty JSON-RPC batch is not a valid request');
    value.forEach(checkMessage);
    return { value: value as JsonRpcMessage[], messages: value as JsonRpcMessage[] };
  }
  checkMessage(value);
  return { value, messages: [value] };
}

function checkMessage(message: unknown): asserts message is JsonRpcMessage {
  if (!isRecord(message)) throw new IdentityError('invalid_request', 'a JSON-RPC message must be an object');
  if (hasForbiddenKey(message)) throw new IdentityError('invalid_request', 'the JSON-RPC message has a forbidden key');
  if (hasMethod(message) && typeof message.method !== 'string')
    throw new IdentityError('invalid_request', 'the JSON-RPC method must be a string');
  for (const member of ['params', 'result'] as const) {
    if (!Object.hasOwn(message, member) || (member === 'result' && !isRecord(message.result))) continue;
    const container = message[member];
    if (!isRecord(container)) throw new IdentityError('invalid_params', 'JSON-RPC params must be an object');
    if (hasForbiddenKey(container)) throw new IdentityError('invalid_params', `the JSON-RPC ${member} has a forbidden key`);
    if (Object.hasOwn(container, '_meta')) {
      const meta = container._meta;
      if (!isRecord(meta)) throw new IdentityError('invalid_params', `${member}._meta must be an object`);
      if (hasForbiddenKey(meta)) throw new IdentityError('invalid_params', `${member}._meta has a forbidden key`);
    }
  }
}

const LAZY: ParseJsonBytesOptions = { lazy: true };

/**
 * Parses JSON-RPC body bytes: UTF-8, no duplicate keys where identity lives, valid JSON, and
 * the shape checked by {@link checkJsonRpcValue}.
 * Long string values (1 KiB or more, no escapes) are decoded from their own bytes, and only
 * when first read (json-bytes.ts): the gateway forwards and digests the client's bytes, so
 * the bulk of a large body is never decoded. `options` are for tests.
 * @throws IdentityError `parse_error` (-32700), `invalid_request` (-32600), `invalid_params` (-32602).
 */
export function parseJsonRpcBody(bytes: Uint8Array, options: ParseJsonBytesOptions = LAZY): JsonRpcBody {
  // isUtf8 is a native check; a TextDecoder costs more per call than the parse of a small body.
  if (!isUtf8(bytes)) throw new IdentityError('parse_error', 'the request body is not UTF-8');
  let parsed;
  try {
    // Long string values are decoded from their own bytes, not copied out of a decoded whole (json-bytes.ts).
    parsed = parseJsonBytes(bytes, options);
  } catch {
    throw new IdentityError('parse_error', 'the request body is not valid JSON');
  }
  // The text parsed has the keys and structure of the body (long values may be placeholders).
  const duplicate = findDuplicateKey(parsed.text);
  if (duplicate !== undefined) throw new IdentityError('invalid_request', 'the JSON-RPC message repeats a key');
  const checked = checkJsonRpcValue(parsed.value);
  return parsed.whole ? { ...checked, text: parsed.text, bytes } : { ...checked, bytes };
}

function metaOf(container: unknown): Record<string, unknown> | undefined {
  return isRecord(container) && isRecord(container._meta) ? container._meta : undefined;
}

/**
 * Removes every identity key (`mcp-identity/*`, `user`) from a message's `params._meta` and
 * `result._meta`. Returns whether anything was removed.
 */
export function stripIdentityMeta(message: JsonRpcMessage): boolean {
  let removed = false;
  for (const meta of [metaOf(message.params), metaOf(message.result)]) {
    if (meta === undefined) continue;
    for (const key of Object.keys(meta)) {
      if (isIdentityMetaKey(key)) {
        Reflect.deleteProperty(meta, key);
        removed = true;
      }
    }
  }
  return removed;
}

/**
 * Sets identity members in a request's `params._meta`, creating `params` and `_meta` when
 * absent. Call {@link stripIdentityMeta} first.
 */
export function setIdentityMeta(message: JsonRpcMessage, members: Readonly<Record<string, unknown>>): void {
  if (!isRecord(message.params)) message.params = {};
  const params = message.params as Record<string, unknown>;
  if (!isRecord(params._meta)) params._meta = {};
  Object.assign(params._meta as Record<string, unknown>, members);
}

/** Identity found in a message's `_meta` by the receiver. */
export interface MetaIdentity {
  readonly assertion: unknown;
  readonly user: unknown;
  /** The ContextForge-compatible `_meta.user` object, when present. */
  readonly legacyUser: unknown;
  /** Identity keys other than the assertion and user objects (never expected). */
  readonly unknownKeys: readonly string[];
}

/** Reads the identity members of one message's `params._meta` and `result._meta`. */
export function readIdentityMeta(message: JsonRpcMessage): MetaIdentity | undefined {
  let found: { assertion: unknown; user: unknown; legacyUser: unknown; unknownKeys: string[] } | undefined;
  for (const meta of [metaOf(message.params), metaOf(message.result)]) {
    if (meta === undefined) continue;
    for (const key of Object.keys(meta)) {
      if (!isIdentityMetaKey(key)) continue;
      found ??= { assertion: undefined, user: undefined, legacyUser: undefined, unknownKeys: [] };
      if (key === META_ASSERTION && meta === metaOf(message.params)) found.assertion = meta[key];
      else if (key === META_USER && meta === metaOf(message.params)) found.user = meta[key];
      else if (key === META_CONTEXTFORGE_USER && meta === metaOf(message.params)) found.legacyUser = meta[key];
      else found.unknownKeys.push(key);
    }
  }
  return found;
}
