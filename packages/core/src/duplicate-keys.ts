/**
 * Finds a duplicate member name in the parts of a JSON-RPC body where identity lives: the
 * envelope of each message, its `params` or `result`, and their `_meta`. `JSON.parse`
 * silently keeps the last of two equal keys while other parsers keep the first; refusing
 * duplicates there leaves no room for the two to disagree about who the user is.
 *
 * This is a scanner, not a validator: malformed text is left for `JSON.parse` to reject.
 */

/** Index of the quote closing the string that opens at `start`, or -1. No allocation. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const quote = text.indexOf('"', i);
    if (quote === -1) return -1;
    // The quote is escaped when an odd number of backslashes precede it.
    let backslashes = 0;
    for (let j = quote - 1; text.charCodeAt(j) === 0x5c; j--) backslashes++;
    if (backslashes % 2 === 0) return quote;
    i = quote + 1;
  }
}

type Role = 'envelope' | 'params' | 'result' | 'meta' | 'other';

interface Frame {
  readonly object: boolean;
  readonly role: Role;
  readonly keys: Set<string> | undefined;
  expectKey: boolean;
  lastKey: string | undefined;
}

function roleOf(parent: Frame | undefined, rootIsBatch: boolean, depth: number): Role {
  if (parent === undefined) return 'envelope';
  if (!parent.object) return rootIsBatch && depth === 1 ? 'envelope' : 'other';
  if (parent.role === 'envelope') return parent.lastKey === 'params' ? 'params' : parent.lastKey === 'result' ? 'result' : 'other';
  if ((parent.role === 'params' || parent.role === 'result') && parent.lastKey === '_meta') return 'meta';
  return 'other';
}

/** Returns the first duplicated key found in an envelope, `params`, `result` or `_meta`, or `undefined`. */
export function findDuplicateKey(text: string): string | undefined {
  const stack: Frame[] = [];
  let rootIsBatch = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      if (end === -1) return undefined;
      const top = stack[stack.length - 1];
      if (top !== undefined && top.object && top.expectKey) {
        let key: string;
        try {
          const raw = text.slice(i + 1, end);
          key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        } catch {
          return undefined;
        }
        if (top.keys !== undefined) {
          if (top.keys.has(key)) return key;
          top.keys.add(key);
        }
        top.lastKey = key;
        top.expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const object = c === 0x7b;
      if (stack.length === 0 && !object) rootIsBatch = true;
      const parent = stack[stack.length - 1];
      const role: Role = object ? roleOf(parent, rootIsBatch, stack.length) : 'other';
      stack.push({ object, role, keys: object && role !== 'other' ? new Set() : undefined, expectKey: object, lastKey: undefined });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top !== undefined && top.object) top.expectKey = true;
    }
  }
  return undefined;
}
