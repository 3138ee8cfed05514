/**
 * Lossless forwarding of JSON-RPC bodies: the gateway changes only the identity members of
 * `params._meta` and `result._meta`, so it serializes a body by splicing those changes into
 * the client's text instead of `JSON.stringify` of the parsed value. Every byte outside a
 * changed `_meta` (number lexemes such as `12345678901234567890123` or `1.0`, key order,
 * whitespace, escapes) reaches the upstream as the client sent it.
 *
 * Only three levels are ever looked into: each message's envelope, its `params` and
 * `result`, and their `_meta`. A changed `_meta` is rebuilt from the raw text of every
 * non-identity member the parsed value still holds, then the identity members the parsed
 * value holds, written by `JSON.stringify`. Client text under an identity key is never
 * copied. The result parses to exactly the parsed value (the tests check this by property).
 *
 * The text must be JSON that `JSON.parse` accepted, without duplicate keys at these levels
 * (what {@link parseJsonRpcBody} guarantees); the scanner is iterative, so deep nesting
 * costs no stack.
 */
import { isIdentityMetaKey } from './meta-keys.js';
import { derivedFromUser, isNormalizedUser, isRecord } from './user-context.js';
import type { UserContext } from './user-context.js';
import type { JsonRpcBody } from './json-rpc.js';

/** Where an object and its members are in the text. */
interface ObjectSpan {
  /** Index of `{`. */
  readonly open: number;
  /** Index of the matching `}`. */
  readonly close: number;
  readonly members: readonly MemberSpan[];
}

interface MemberSpan {
  /** The decoded key. */
  readonly key: string;
  /** Index of the key's opening quote. */
  readonly start: number;
  /** Index of the value's first character. */
  readonly valueStart: number;
  /** Index just after the value. */
  readonly end: number;
  /** The value's layout, when it is an object on a level looked into. */
  readonly object: ObjectSpan | undefined;
}

type Level = 'envelope' | 'container' | 'meta';

/** Members looked into, per level. */
function childLevel(level: Level, key: string): Level | undefined {
  if (level === 'envelope') return key === 'params' || key === 'result' ? 'container' : undefined;
  if (level === 'container') return key === '_meta' ? 'meta' : undefined;
  return undefined;
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

function byteAt(src: Buffer, i: number): number {
  return src[i] ?? -1;
}

function skipSpace(src: Buffer, i: number): number {
  while (i < src.length && isSpace(byteAt(src, i))) i++;
  return i;
}

/** Index of the quote closing the string that opens at `start`. */
function stringEnd(src: Buffer, start: number): number {
  let i = start + 1;
  for (;;) {
    const quote = src.indexOf(0x22, i);
    if (quote === -1) throw new SyntaxError('unterminated string');
    let backslashes = 0;
    for (let j = quote - 1; byteAt(src, j) === 0x5c; j--) backslashes++;
    if (backslashes % 2 === 0) return quote;
    i = quote + 1;
  }
}

/** Index just after the value that starts at `i`; iterative, whatever the nesting. */
function skipValue(src: Buffer, i: number): number {
  const c = byteAt(src, i);
  if (c === 0x22) return stringEnd(src, i) + 1;
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; j < src.length; j++) {
      const d = byteAt(src, j);
      if (d === 0x22) j = stringEnd(src, j);
      else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new SyntaxError('unterminated value');
  }
  // A number or a literal: up to the next delimiter.
  let j = i;
  while (j < src.length) {
    const d = byteAt(src, j);
    if (d === 0x2c || d === 0x7d || d === 0x5d || isSpace(d)) break;
    j++;
  }
  return j;
}

function readObject(src: Buffer, open: number, level: Level): ObjectSpan {
  const members: MemberSpan[] = [];
  let i = skipSpace(src, open + 1);
  if (byteAt(src, i) === 0x7d) return { open, close: i, members };
  for (;;) {
    const start = i;
    const keyEnd = stringEnd(src, start);
    const raw = src.toString('utf8', start + 1, keyEnd);
    const key = raw.includes('\\') ? (JSON.parse(src.toString('utf8', start, keyEnd + 1)) as string) : raw;
    i = skipSpace(src, keyEnd + 1); // at ':'
    const valueStart = skipSpace(src, i + 1);
    const next = childLevel(level, key);
    let object: ObjectSpan | undefined;
    let end: number;
    if (next !== undefined && byteAt(src, valueStart) === 0x7b) {
      object = readObject(src, valueStart, next);
      end = object.close + 1;
    } else {
      end = skipValue(src, valueStart);
    }
    members.push({ key, start, valueStart, end, object });
    i = skipSpace(src, end);
    if (byteAt(src, i) === 0x7d) return { open, close: i, members };
    i = skipSpace(src, i + 1); // after ','
  }
}

/** The layout of each message of a body, in order. */
function layoutMessages(src: Buffer): ObjectSpan[] {
  const i = skipSpace(src, 0);
  if (byteAt(src, i) === 0x7b) return [readObject(src, i, 'envelope')];
  const spans: ObjectSpan[] = [];
  let j = skipSpace(src, i + 1);
  if (byteAt(src, j) === 0x5d) return spans;
  for (;;) {
    let end: number;
    if (byteAt(src, j) === 0x7b) {
      const span = readObject(src, j, 'envelope');
      spans.push(span);
      end = span.close + 1;
    } else {
      end = skipValue(src, j);
    }
    j = skipSpace(src, end);
    if (byteAt(src, j) !== 0x2c) return spans;
    j = skipSpace(src, j + 1);
  }
}

const userJson = new WeakMap<UserContext, string>();
const stringify = (value: unknown): string => JSON.stringify(value);

function member(key: string, value: unknown): string {
  // The gateway's user (the same object for each request of that user): its JSON is kept with it.
  const json = isNormalizedUser(value) ? derivedFromUser(userJson, value, stringify) : JSON.stringify(value);
  return `${JSON.stringify(key)}:${json}`;
}

/** A `_meta` rebuilt when its identity members differ from the text, else undefined. */
function renderMeta(src: Buffer, value: Record<string, unknown>, span: ObjectSpan): string | undefined {
  const inText = new Set(span.members.map((m) => m.key));
  const changed =
    span.members.some((m) => isIdentityMetaKey(m.key) || !Object.hasOwn(value, m.key)) ||
    Object.keys(value).some((key) => isIdentityMetaKey(key) || !inText.has(key));
  if (!changed) return undefined;
  const parts: string[] = [];
  for (const m of span.members) {
    if (!isIdentityMetaKey(m.key) && Object.hasOwn(value, m.key)) parts.push(src.toString('utf8', m.start, m.end));
  }
  for (const key of Object.keys(value)) {
    if (isIdentityMetaKey(key) || !inText.has(key)) parts.push(member(key, value[key]));
  }
  return `{${parts.join(',')}}`;
}

/** An envelope or a `params`/`result` with its changes spliced in, else undefined when unchanged. */
/** A piece of the output: new text, or a stretch [start, end) of the client's text kept as it is. */
type Piece = string | { readonly start: number; readonly end: number };

function piecesText(src: Buffer, pieces: readonly Piece[]): string {
  let out = '';
  for (const piece of pieces) out += typeof piece === 'string' ? piece : src.toString('utf8', piece.start, piece.end);
  return out;
}

function renderObject(src: Buffer, value: Record<string, unknown>, span: ObjectSpan, level: Level): Piece[] | undefined {
  if (level === 'meta') {
    const meta = renderMeta(src, value, span);
    return meta === undefined ? undefined : [meta];
  }
  const inText = new Set(span.members.map((m) => m.key));
  const added = Object.keys(value).filter((key) => !inText.has(key));
  const removed = span.members.some((m) => !Object.hasOwn(value, m.key));
  // Each member's new value, for the members looked into that changed.
  const replaced = new Map<MemberSpan, Piece[]>();
  for (const m of span.members) {
    const next = childLevel(level, m.key);
    const child = value[m.key];
    if (next === undefined || !Object.hasOwn(value, m.key) || !isRecord(child)) continue;
    const rendered = m.object === undefined ? [JSON.stringify(child)] : renderObject(src, child, m.object, next);
    if (rendered !== undefined) replaced.set(m, rendered);
  }
  if (added.length === 0 && !removed && replaced.size === 0) return undefined;
  // A `params` or `_meta` created here holds only what the gateway put in it.
  const addedText = added.map((key) => member(key, value[key]));
  if (removed) {
    // Rare (the gateway only adds and replaces): rebuilt from the raw members kept.
    const parts = span.members
      .filter((m) => Object.hasOwn(value, m.key))
      .map((m) => {
        const rendered = replaced.get(m);
        return rendered === undefined
          ? src.toString('utf8', m.start, m.end)
          : src.toString('utf8', m.start, m.valueStart) + piecesText(src, rendered);
      });
    return [`{${[...parts, ...addedText].join(',')}}`];
  }
  // Splice: changed values in place, new members after the last one; all other text kept as stretches.
  const out: Piece[] = ['{'];
  let at = span.open + 1;
  for (const [m, rendered] of replaced) {
    out.push({ start: at, end: m.valueStart }, ...rendered);
    at = m.end;
  }
  if (addedText.length > 0) {
    const last = span.members.at(-1);
    const insertAt = last === undefined ? span.open + 1 : last.end;
    out.push({ start: at, end: insertAt }, (last === undefined ? '' : ',') + addedText.join(','));
    at = insertAt;
  }
  out.push({ start: at, end: span.close + 1 });
  return out;
}

/**
 * The bytes to forward for a parsed (and possibly rewritten) body: the client's text with
 * only the changed `_meta` objects (and any `params`/`_meta` created to hold them) spliced
 * in. A body that came without its text (parsed by `express.json()`) is written by
 * `JSON.stringify`, which keeps values but not number spellings.
 */
export function serializeJsonRpcBody(body: JsonRpcBody): Buffer {
  const parts = serializeJsonRpcBodyParts(body);
  return parts.length === 1 && Buffer.isBuffer(parts[0]) ? parts[0] : Buffer.concat(parts);
}

/**
 * {@link serializeJsonRpcBody} as the pieces to write one after the other: stretches of the
 * client's bytes (views, not copies) and the rendered replacements between them, so a large
 * body is forwarded without being joined, copied or encoded again.
 */
export function serializeJsonRpcBodyParts(body: JsonRpcBody): Uint8Array[] {
  const { text, bytes } = body;
  if (bytes === undefined && text === undefined) return [Buffer.from(JSON.stringify(body.value))];
  // The layout is read from the client's bytes (offsets are byte offsets): a body parsed with
  // its long strings cut out of the text has no whole text to read.
  const src =
    bytes === undefined
      ? Buffer.from(text as string, 'utf8')
      : Buffer.isBuffer(bytes)
        ? bytes
        : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const spans = layoutMessages(src);
  if (spans.length !== body.messages.length) throw new Error('the body text does not match its parsed messages');
  const pieces: Piece[] = [];
  let at = 0;
  body.messages.forEach((message, index) => {
    const span = spans[index] as ObjectSpan;
    const rendered = renderObject(src, message, span, 'envelope');
    if (rendered === undefined) return;
    pieces.push({ start: at, end: span.open }, ...rendered);
    at = span.close + 1;
  });
  pieces.push({ start: at, end: src.length });
  // Kept stretches are views of the client's bytes: a large body is neither joined into a new
  // string nor encoded again.
  const parts: Uint8Array[] = [];
  let pending = '';
  for (const piece of pieces) {
    if (typeof piece === 'string') {
      pending += piece;
      continue;
    }
    if (piece.end <= piece.start) continue;
    if (pending.length > 0) {
      parts.push(Buffer.from(pending, 'utf8'));
      pending = '';
    }
    parts.push(src.subarray(piece.start, piece.end));
  }
  if (pending.length > 0) parts.push(Buffer.from(pending, 'utf8'));
  return parts;
}
