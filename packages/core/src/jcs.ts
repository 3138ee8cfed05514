import { unchangedBytes } from './json-bytes.js';
import type { SourcedString } from './json-bytes.js';
import { derivedFromUser, isNormalizedUser } from './user-context.js';
import type { UserContext } from './user-context.js';

/** Objects with up to this many members have their keys sorted in place, without the allocations of `Array.prototype.sort`. */
const INSERTION_SORT_MAX = 16;

/** An object's own keys in UTF-16 code unit order (what JCS sorts by, and what `<` compares). */
function sortedKeys(record: object): string[] {
  const keys = Object.keys(record);
  if (keys.length > INSERTION_SORT_MAX) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    for (; j >= 0 && (keys[j] as string) > key; j--) keys[j + 1] = keys[j] as string;
    keys[j + 1] = key;
  }
  return keys;
}

/** Member names as JSON strings, kept: a JSON-RPC body repeats a few dozen names. Bounded; only short names. */
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS_MAX = 1024;
const QUOTED_KEY_LENGTH = 64;

/** A member name as canonical JSON text (a name with a lone surrogate has none and throws). */
function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted !== undefined) return quoted;
  if (!key.isWellFormed()) throw new TypeError('a key holds a lone surrogate');
  quoted = JSON.stringify(key);
  if (key.length <= QUOTED_KEY_LENGTH) {
    if (quotedKeys.size >= QUOTED_KEYS_MAX) quotedKeys.clear();
    quotedKeys.set(key, quoted);
  }
  return quoted;
}

/**
 * RFC 8785 (JCS) canonical JSON of values that came from `JSON.parse` (or are built of plain
 * objects, arrays, strings, finite numbers, booleans and null): object members sorted by
 * UTF-16 code units, no whitespace, strings and numbers as ECMAScript's JSON.stringify
 * writes them. Lone surrogates and non-finite numbers have no canonical form and throw.
 *
 * The `canonicalize` package is the reference (the tests compare both); this version handles
 * only what a JSON-RPC body can hold, without the bookkeeping for `toJSON` and cycles, so
 * the per-request digest costs a fraction of it.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw new TypeError('a string holds a lone surrogate');
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('a number is not finite');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          const entry: unknown = value[i];
          out += entry === undefined || typeof entry === 'function' || typeof entry === 'symbol' ? 'null' : canonicalJson(entry);
        }
        return `${out}]`;
      }
      const record = value as Record<string, unknown>;
      const keys = sortedKeys(record);
      let out = '{';
      let first = true;
      for (const key of keys) {
        const entry = record[key];
        if (entry === undefined || typeof entry === 'function' || typeof entry === 'symbol') continue;
        out += `${first ? '' : ','}${quotedKey(key)}:${canonicalJson(entry)}`;
        first = false;
      }
      return `${out}}`;
    }
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
      throw new TypeError(`a ${typeof value} has no JSON form`);
  }
}

/** Strings at least this long are hashed where they lie rather than copied into the canonical text. */
const LONG_STRING = 4096;
/** What JSON.stringify escapes in a well-formed string: the quote, the backslash, C0 controls. */
// eslint-disable-next-line no-control-regex -- the C0 controls are exactly what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;
/** Canonical text is handed to the hash in pieces of about this size. */
const FLUSH_AT = 64 * 1024;

/** Where {@link writeCanonical} puts the canonical form: a pending piece of text and the hash it is flushed into. */
interface CanonicalSink {
  out: string;
  readonly update: (data: string | Uint8Array) => void;
  /** Strings parsed from their own bytes, by holder (json-bytes.ts): those bytes are hashed, not the string. */
  readonly sources: ReadonlyMap<object, ReadonlyMap<string | number, SourcedString>> | undefined;
}

/** The client's bytes of `holder[key]`, when it is a string parsed from them and still there. */
function sourcedBytes(held: ReadonlyMap<string | number, SourcedString> | undefined, key: string | number): Uint8Array | undefined {
  const source = held?.get(key);
  return source === undefined ? undefined : unchangedBytes(source);
}

/** Writes a string from its bytes: they need no escaping (json-bytes.ts checked), so they go to the hash as they are. */
function writeBytes(bytes: Uint8Array, sink: CanonicalSink): void {
  sink.update(`${sink.out}"`);
  sink.update(bytes);
  sink.out = '"';
}

function writeString(value: string, sink: CanonicalSink): void {
  if (!value.isWellFormed()) throw new TypeError('a string holds a lone surrogate');
  if (value.length >= LONG_STRING && !NEEDS_ESCAPE.test(value)) {
    // JSON.stringify would copy it between quotes unchanged: the string itself goes to the hash.
    sink.update(`${sink.out}"`);
    sink.update(value);
    sink.out = '"';
    return;
  }
  sink.out += JSON.stringify(value);
  if (sink.out.length >= FLUSH_AT) {
    sink.update(sink.out);
    sink.out = '';
  }
}

const canonicalUsers = new WeakMap<UserContext, string>();

function writeCanonical(value: unknown, sink: CanonicalSink): void {
  switch (typeof value) {
    case 'string':
      writeString(value, sink);
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('a number is not finite');
      sink.out += JSON.stringify(value);
      return;
    case 'boolean':
      sink.out += value ? 'true' : 'false';
      return;
    case 'object': {
      if (value === null) {
        sink.out += 'null';
        return;
      }
      if (isNormalizedUser(value)) {
        // The same user in every request's `_meta`: its canonical text is kept with it.
        sink.out += derivedFromUser(canonicalUsers, value, canonicalJson);
        return;
      }
      const held = sink.sources?.get(value);
      if (Array.isArray(value)) {
        sink.out += '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) sink.out += ',';
          const bytes = sourcedBytes(held, i);
          if (bytes !== undefined) {
            writeBytes(bytes, sink);
            continue;
          }
          const entry: unknown = value[i];
          if (entry === undefined || typeof entry === 'function' || typeof entry === 'symbol') sink.out += 'null';
          else writeCanonical(entry, sink);
        }
        sink.out += ']';
        return;
      }
      const record = value as Record<string, unknown>;
      const keys = sortedKeys(record);
      sink.out += '{';
      let first = true;
      for (const key of keys) {
        const bytes = sourcedBytes(held, key);
        if (bytes !== undefined) {
          // A key may still hold a lone surrogate written as an escape (`"\ud800"`): no canonical form.
          sink.out += `${first ? '' : ','}${quotedKey(key)}:`;
          first = false;
          writeBytes(bytes, sink);
          continue;
        }
        const entry = record[key];
        if (entry === undefined || typeof entry === 'function' || typeof entry === 'symbol') continue;
        sink.out += `${first ? '' : ','}${quotedKey(key)}:`;
        first = false;
        writeCanonical(entry, sink);
      }
      sink.out += '}';
      return;
    }
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
      throw new TypeError(`a ${typeof value} has no JSON form`);
  }
}

/**
 * Feeds the canonical JSON of `value` (exactly the text {@link canonicalJson} returns) to
 * `update` in pieces, without building it whole: long strings that need no escaping are
 * handed over as they are, so a large body costs no copy of itself. With `sources` (from
 * `sourcedHolders`), a string parsed from the client's bytes and still in place is handed
 * over as those bytes (its UTF-8 canonical form), never decoded or encoded again.
 * @throws TypeError where {@link canonicalJson} throws.
 */
export function streamCanonicalJson(
  value: unknown,
  update: (data: string | Uint8Array) => void,
  sources?: ReadonlyMap<object, ReadonlyMap<string | number, SourcedString>>,
): void {
  const sink: CanonicalSink = { out: '', update, sources };
  writeCanonical(value, sink);
  if (sink.out.length > 0) update(sink.out);
}
