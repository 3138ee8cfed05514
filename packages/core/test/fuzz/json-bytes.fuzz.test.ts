import fc from 'fast-check';
import { canonicalJson, jsonBodyDigest, parseJsonBytes, requestBodyDigest, sha256Base64url } from '../../src/internal.js';
import { hasControlByte } from '../../src/json-bytes.js';
import { runs } from './settings.js';

/** Strings of every kind a body carries: ASCII, escapes, controls, non-ASCII up to astral, lone surrogates. */
const anyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('"', '\\', '\u0000', '\u001f', '\u2028', 'é', '😀', '\ud800', 'x'.repeat(70_000), 'é'.repeat(5000)),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    anyString,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(true, false, null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(anyString, tie('value'), { maxKeys: 5 }),
  ),
})).value;
const minLength = fc.constantFrom(0, 1, 3, 16, 1024);
const lazy = fc.boolean();

function digestOfText(text: string): string | undefined {
  try {
    return sha256Base64url(canonicalJson(JSON.parse(text)));
  } catch {
    return undefined; // no canonical form (a lone surrogate)
  }
}

describe('JSON parsed from bytes (fuzz)', () => {
  it('parses to exactly what JSON.parse of the decoded text gives, with long strings cut out or not', () => {
    fc.assert(
      fc.property(value, fc.constantFrom('', ' ', '\n\t'), minLength, lazy, (input, space, min, isLazy) => {
        const text = JSON.stringify(input, null, space);
        const parsed = parseJsonBytes(Buffer.from(text, 'utf8'), { minLength: min, lazy: isLazy });
        expect(parsed.value).toEqual(JSON.parse(text));
        expect(JSON.stringify(parsed.value)).toBe(JSON.stringify(JSON.parse(text)));
      }),
      runs(300),
    );
  });

  it('digests exactly as the canonical form of JSON.parse, strings hashed from their bytes or not', () => {
    fc.assert(
      fc.property(value, minLength, lazy, (input, min, isLazy) => {
        const text = JSON.stringify(input);
        const expected = digestOfText(text);
        fc.pre(expected !== undefined);
        const parsed = parseJsonBytes(Buffer.from(text, 'utf8'), { minLength: min, lazy: isLazy });
        expect(jsonBodyDigest(parsed.value)).toBe(expected);
      }),
      runs(300),
    );
  });

  it('digests the new value when a string parsed from bytes was replaced after the parse', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 30 }), anyString, lazy, (original, replacement, isLazy) => {
        const text = JSON.stringify({ jsonrpc: '2.0', method: 'x', params: { a: original, list: [original, 1] } });
        const parsed = parseJsonBytes(Buffer.from(text, 'utf8'), { minLength: 0, lazy: isLazy }).value as {
          params: { a: string; list: unknown[] };
        };
        parsed.params.a = replacement;
        parsed.params.list[0] = replacement;
        const expected = digestOfText(JSON.stringify(parsed));
        fc.pre(expected !== undefined);
        expect(jsonBodyDigest(parsed)).toBe(expected);
        expect(parsed.params.a).toBe(replacement);
      }),
      runs(200),
    );
  });

  it('refuses exactly what JSON.parse refuses, a raw control character in a long string included', () => {
    const mutated = fc
      .tuple(value, fc.nat(), fc.constantFrom('"', '\\', '\u0000', '\u001f', '\n', ':', ',', '}', 'x', '\u00e9'), fc.boolean())
      .map(([input, at, insert, replace]) => {
        const text = JSON.stringify(input);
        const i = text.length === 0 ? 0 : at % text.length;
        return text.slice(0, i) + insert + text.slice(replace ? i + 1 : i);
      });
    fc.assert(
      fc.property(mutated, minLength, lazy, (text, min, isLazy) => {
        // The bytes as they arrive (a surrogate half the mutation cut off is U+FFFD in UTF-8).
        const bytes = Buffer.from(text, 'utf8');
        let expected: unknown;
        let threw = false;
        try {
          expected = JSON.parse(bytes.toString('utf8'));
        } catch {
          threw = true;
        }
        if (threw) expect(() => parseJsonBytes(bytes, { minLength: min, lazy: isLazy })).toThrow(SyntaxError);
        else expect(parseJsonBytes(bytes, { minLength: min, lazy: isLazy }).value).toEqual(expected);
      }),
      runs(500),
    );
  });

  it('finds a control byte wherever it lies, whatever the alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), fc.nat(8), fc.nat(8), (array, head, tail) => {
        const bytes = Buffer.from(array);
        const start = Math.min(head, bytes.length);
        const end = Math.max(start, bytes.length - tail);
        const expected = bytes.subarray(start, end).some((byte) => byte < 0x20);
        expect(hasControlByte(bytes, start, end)).toBe(expected);
      }),
      runs(500),
    );
  });

  it('finds the one control byte in a long run of text bytes, wherever it lies, and none outside [start, end)', () => {
    // Random bytes almost always hold a control byte early; here the scan must cross whole
    // steps of words before it meets the only one in range (or none), with control bytes
    // planted just outside the range and backgrounds at the edges of the test (0x20, 0x7f, 0x80-0xff).
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.nat(3),
        fc.nat(40),
        fc.nat(40),
        fc.option(fc.nat(299)),
        fc.integer({ min: 0, max: 0x1f }),
        fc.constantFrom(0x20, 0x78, 0x7f, 0x80, 0xa0, 0xff),
        (length, offset, before, after, at, control, background) => {
          const bytes = Buffer.alloc(offset + before + length + after, background).subarray(offset);
          const start = before;
          const end = before + length;
          if (before > 0) bytes[start - 1] = control;
          if (after > 0) bytes[end] = control;
          const inRange = at !== null && at < length;
          if (inRange) bytes[start + at] = control;
          expect(hasControlByte(bytes, start, end)).toBe(inRange);
        },
      ),
      runs(500),
    );
  });

  it('gives the wire-format digest of a JSON body from its bytes (requestBodyDigest) as from its decoded text', () => {
    fc.assert(
      fc.property(value, (input) => {
        const text = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { arguments: input } });
        const expected = digestOfText(text);
        fc.pre(expected !== undefined);
        expect(requestBodyDigest('application/json', Buffer.from(text, 'utf8'))).toBe(expected);
      }),
      runs(200),
    );
  });
});
