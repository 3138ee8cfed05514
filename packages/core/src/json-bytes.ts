/**
 * `JSON.parse` of UTF-8 bytes without decoding the whole text first. A large JSON-RPC body is
 * mostly a few long string values (file contents, base64); decoding the body into one string
 * and letting `JSON.parse` copy each long string out of it costs two fresh copies of the body.
 * Here each long string value with no escape is cut out of the text before parsing (a short
 * placeholder takes its place), decoded once from its own bytes, and put back where the
 * placeholder landed. The result is exactly `JSON.parse(bytes.toString('utf8'))`: the same
 * value on valid JSON, a `SyntaxError` on invalid JSON (the tests compare both by property).
 *
 * The strings taken this way are remembered with their bytes (a view of the client's bytes),
 * so the body digest hashes those bytes instead of encoding the string again
 * ({@link sourcedStringsOf}).
 */
import { randomBytes } from 'node:crypto';

/** String values at least this many bytes long (between the quotes) are cut out of the text. */
export const LONG_STRING_BYTES = 1024;

/** A string value taken from its own bytes: who holds it, and those bytes. */
export interface SourcedString {
  readonly holder: Record<string, unknown> | unknown[];
  readonly key: string | number;
  /** The decoded value (eager mode), or the getter that decodes it on first read (lazy mode). */
  readonly value: string | undefined;
  readonly get: (() => string) | undefined;
  /**
   * The bytes between the quotes (a view of the client's bytes): no quote, backslash or
   * control character, so they are also the string's canonical (JCS) form without quotes.
   */
  readonly bytes: Uint8Array;
}

/** Options of {@link parseJsonBytes}. */
export interface ParseJsonBytesOptions {
  /** String values at least this many bytes long are taken from their own bytes. Default {@link LONG_STRING_BYTES}. */
  readonly minLength?: number;
  /**
   * Decode those strings only when first read: the property is an enumerable accessor (a
   * getter that decodes once, a setter that makes it a plain data property again). For values
   * only the gateway reads (it forwards and digests the client's bytes), a long string is then
   * never decoded at all. Default false: plain data properties.
   */
  readonly lazy?: boolean;
}

/** The text of a body parsed from bytes, and what was cut out of it. */
export interface ParsedJsonBytes {
  readonly value: unknown;
  /**
   * The text that was parsed: the whole body decoded, or, when long strings were cut out,
   * the body with placeholders in their place (the same keys and structure, other offsets).
   */
  readonly text: string;
  /** True when `text` is the whole body. */
  readonly whole: boolean;
}

/**
 * The bytes of a sourced string, when its holder still has it (the property was not
 * assigned since the parse); otherwise undefined, and the value must be read.
 */
export function unchangedBytes(source: SourcedString): Uint8Array | undefined {
  const { holder, key } = source;
  if (source.get !== undefined) return Object.getOwnPropertyDescriptor(holder, key)?.get === source.get ? source.bytes : undefined;
  return (holder as Record<string | number, unknown>)[key] === source.value ? source.bytes : undefined;
}

/**
 * The sourced strings under the given top-level values (a body's root and its messages), by
 * holder; undefined when there are none.
 */
export function sourcedHolders(tops: readonly unknown[]): Map<object, Map<string | number, SourcedString>> | undefined {
  let holders: Map<object, Map<string | number, SourcedString>> | undefined;
  for (const top of tops) {
    if (typeof top !== 'object' || top === null) continue;
    const list = sourced.get(top);
    if (list === undefined) continue;
    holders ??= new Map();
    for (const source of list) {
      const held = holders.get(source.holder);
      if (held === undefined) holders.set(source.holder, new Map([[source.key, source]]));
      else held.set(source.key, source);
    }
  }
  return holders;
}

/** Sourced strings per top-level value: a message object, or a batch array for strings directly in it. */
const sourced = new WeakMap<object, SourcedString[]>();

/**
 * Forgets the strings of a parsed body (its root and, for a batch, each message) that were
 * decoded from their own bytes, so the client's bytes are no longer held through the parsed
 * value. Digests computed afterwards encode those strings again (same result, more work).
 */
export function forgetSourcedStrings(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  sourced.delete(value);
  if (Array.isArray(value)) {
    for (const entry of value as unknown[]) if (typeof entry === 'object' && entry !== null) sourced.delete(entry);
  }
}

/** The strings of `container` (a parsed message, or a batch) that were decoded from their own bytes. */
export function sourcedStringsOf(container: object): readonly SourcedString[] | undefined {
  return sourced.get(container);
}

// A placeholder no client can predict. Even so, any string value starting with the prefix that is not
// exactly one unseen placeholder sends the body down the whole-text path (restore walks every value).
const PREFIX = `\u0000mcp-identity:${randomBytes(8).toString('hex')}:`;
/** This process's placeholder prefix, for tests that send it back. */
export const PLACEHOLDER_PREFIX_FOR_TESTS = PREFIX;
const PREFIX_JSON = JSON.stringify(PREFIX).slice(0, -1);

/** Whether bytes [from, to) hold a C0 control (< 0x20), byte by byte. */
function controlByteIn(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if ((bytes[i] as number) < 0x20) return true;
  return false;
}

/**
 * Whether bytes [start, end) hold a C0 control (< 0x20): the bytes before the first aligned
 * word and after the last whole step byte by byte, the rest four words (16 bytes) per step.
 * `(x - 0x20202020) & ~x & 0x80808080` is non-zero exactly when some byte of x is below 0x20
 * (exact for any bound up to 0x80), so the words of a step are tested together.
 *
 * Shaped for V8: the head and the tail share one byte loop, and the word loop has no branch
 * that a usual call leaves unexecuted. With a loop of its own for each, a tail first reached
 * by optimized code deoptimized it ("insufficient type feedback") again and again under load,
 * and the scan of a 64 KiB string ran interpreted: 20 times slower.
 */
export function hasControlByte(bytes: Uint8Array, start: number, end: number): boolean {
  const aligned = Math.min(end, start + ((4 - ((bytes.byteOffset + start) & 3)) & 3));
  if (controlByteIn(bytes, start, aligned)) return true;
  const steps = (end - aligned) >> 4;
  if (steps > 0) {
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset + aligned, steps * 4);
    for (let w = 0; w < view.length; w += 4) {
      const a = view[w] as number;
      const b = view[w + 1] as number;
      const c = view[w + 2] as number;
      const d = view[w + 3] as number;
      const low = ((a - 0x20202020) & ~a) | ((b - 0x20202020) & ~b) | ((c - 0x20202020) & ~c) | ((d - 0x20202020) & ~d);
      if ((low & 0x80808080) !== 0) return true;
    }
  }
  return controlByteIn(bytes, aligned + steps * 16, end);
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

interface Cut {
  /** Index of the opening quote. */
  readonly open: number;
  /** Index of the closing quote. */
  readonly close: number;
}

/** Long string values without escapes, found by jumping from quote to quote (a bounded number of jumps). */
function findLongStrings(bytes: Buffer, minLength: number): Cut[] {
  const cuts: Cut[] = [];
  // Jumps are native searches; a body made of many short strings stops early (and is parsed whole).
  let budget = 64 + (bytes.length >> 6);
  let backslash = bytes.indexOf(0x5c);
  let at = 0;
  while (budget-- > 0) {
    const open = bytes.indexOf(0x22, at);
    if (open === -1) break;
    let close = open;
    let escaped = false;
    for (;;) {
      close = bytes.indexOf(0x22, close + 1);
      if (close === -1) return cuts;
      let backslashes = 0;
      for (let j = close - 1; bytes[j] === 0x5c; j--) backslashes++;
      if (backslashes > 0) escaped = true;
      if (backslashes % 2 === 0) break;
    }
    at = close + 1;
    if (close - open - 1 < minLength || escaped) continue;
    if (backslash !== -1 && backslash < open) backslash = bytes.indexOf(0x5c, open);
    if (backslash !== -1 && backslash < close) continue;
    // A key (followed by `:`) stays: only values are cut.
    let next = at;
    while (isSpace(bytes[next])) next++;
    if (bytes[next] === 0x3a) continue;
    cuts.push({ open, close });
  }
  return cuts;
}

function skeletonOf(bytes: Buffer, cuts: readonly Cut[]): string {
  let text = '';
  let at = 0;
  cuts.forEach((cut, index) => {
    text += `${bytes.toString('utf8', at, cut.open)}${PREFIX_JSON}${index}"`;
    at = cut.close + 1;
  });
  return text + bytes.toString('utf8', at, bytes.length);
}

const PLACEHOLDER_INDEX = /^(?:0|[1-9][0-9]{0,8})$/;

/**
 * Puts the long strings back; false when a placeholder is missing or seen twice, or any other
 * string starts with the placeholder prefix (then the caller parses whole). Every value is
 * visited, so a client's string equal to a placeholder can never take its place.
 */
function restore(root: unknown, bytes: Buffer, cuts: readonly Cut[], lazy: boolean): boolean {
  const seen = new Uint8Array(cuts.length);
  let found = 0;
  const lists = new Map<object, SourcedString[]>();
  const stack: { container: Record<string, unknown> | unknown[]; top: object }[] = [];
  const visit = (holder: Record<string, unknown> | unknown[], key: string | number, value: string, top: object): boolean => {
    if (!value.startsWith(PREFIX)) return true;
    const suffix = value.slice(PREFIX.length);
    if (!PLACEHOLDER_INDEX.test(suffix)) return false;
    const index = Number(suffix);
    const cut = cuts[index];
    if (cut === undefined || seen[index] === 1) return false;
    seen[index] = 1;
    found++;
    // JSON.parse refuses a raw control character in a string: so does this path.
    if (hasControlByte(bytes, cut.open + 1, cut.close)) throw new SyntaxError('a control character in a string');
    const slice = bytes.subarray(cut.open + 1, cut.close);
    let source: SourcedString;
    if (lazy) {
      let decoded: string | undefined;
      const get = (): string => (decoded ??= slice.toString('utf8'));
      // On the object assigned to (the holder, or one its descriptors were copied to).
      const set = function (this: object, next: unknown): void {
        Object.defineProperty(this, key, { value: next, writable: true, enumerable: true, configurable: true });
      };
      Object.defineProperty(holder, key, { get, set, enumerable: true, configurable: true });
      source = { holder, key, value: undefined, get, bytes: slice };
    } else {
      const decoded = slice.toString('utf8');
      (holder as Record<string | number, unknown>)[key] = decoded;
      source = { holder, key, value: decoded, get: undefined, bytes: slice };
    }
    const list = lists.get(top);
    if (list === undefined) lists.set(top, [source]);
    else list.push(source);
    return true;
  };
  if (typeof root === 'object' && root !== null) {
    if (Array.isArray(root)) {
      for (let i = 0; i < root.length; i++) {
        const entry: unknown = root[i];
        if (typeof entry === 'string') {
          if (!visit(root, i, entry, root)) return false;
        } else if (typeof entry === 'object' && entry !== null) stack.push({ container: entry as Record<string, unknown>, top: entry });
      }
    } else stack.push({ container: root as Record<string, unknown>, top: root });
  }
  while (stack.length > 0) {
    const { container, top } = stack.pop() as { container: Record<string, unknown> | unknown[]; top: object };
    if (Array.isArray(container)) {
      for (let i = 0; i < container.length; i++) {
        const entry: unknown = container[i];
        if (typeof entry === 'string') {
          if (entry.length >= PREFIX.length && !visit(container, i, entry, top)) return false;
        } else if (typeof entry === 'object' && entry !== null) stack.push({ container: entry as Record<string, unknown>, top });
      }
    } else {
      for (const key of Object.keys(container)) {
        const entry = container[key];
        if (typeof entry === 'string') {
          if (entry.length >= PREFIX.length && !visit(container, key, entry, top)) return false;
        } else if (typeof entry === 'object' && entry !== null) stack.push({ container: entry as Record<string, unknown>, top });
      }
    }
  }
  if (found !== cuts.length) return false;
  for (const [top, list] of lists) sourced.set(top, list);
  return true;
}

/**
 * Parses UTF-8 bytes (already checked to be UTF-8) as `JSON.parse` would, cutting long string
 * values out of the text first (see the module comment).
 * @throws SyntaxError when the bytes are not JSON.
 */
export function parseJsonBytes(bytes: Uint8Array, options: ParseJsonBytesOptions = {}): ParsedJsonBytes {
  const { minLength = LONG_STRING_BYTES, lazy = false } = options;
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const cuts = bytes.length >= minLength ? findLongStrings(buffer, minLength) : [];
  if (cuts.length > 0) {
    const text = skeletonOf(buffer, cuts);
    let value: unknown;
    let parsed = true;
    try {
      value = JSON.parse(text);
    } catch {
      // Invalid JSON: the whole-text parse below throws JSON.parse's own error, which never shows the placeholder.
      parsed = false;
    }
    if (parsed && restore(value, buffer, cuts, lazy)) return { value, text, whole: false };
  }
  const text = buffer.toString('utf8');
  return { value: JSON.parse(text) as unknown, text, whole: true };
}
