import fc from 'fast-check';
import { decodeHeaderList, decodeHeaderValue, encodeHeaderList, encodeHeaderValue } from '../../src/internal.js';
import { runs } from './settings.js';

const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
const anyText = fc.string({ unit: fc.constantFrom('%', ',', 'A', 'z', ' ', '\r', '\n', 'é', '2', 'F', 'f', '\u0000'), maxLength: 24 });

describe('header codec (fuzz)', () => {
  it('round-trips any well-formed text through one header value of printable ASCII', () => {
    fc.assert(
      fc.property(text, (value) => {
        const encoded = encodeHeaderValue(value);
        expect(encoded).toMatch(/^[\x21-\x7e]+$/);
        expect(encoded).not.toContain(',');
        expect(decodeHeaderValue(encoded)).toBe(value);
      }),
      runs(1000),
    );
  });

  it('round-trips any list, commas inside elements included', () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 8 }), (values) => {
        expect(decodeHeaderList(encodeHeaderList(values))).toEqual(values);
      }),
      runs(500),
    );
  });

  it('encodes a list exactly as its elements encoded one by one and joined (the joined fast path included)', () => {
    const element = fc.oneof(text, fc.string({ unit: fc.constantFrom('%', ',', 'a', 'Z', '-', '~', 'é', ' '), maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(element, { minLength: 1, maxLength: 8 }), (values) => {
        expect(encodeHeaderList(values)).toBe(values.map(encodeHeaderValue).join(','));
      }),
      runs(1000),
    );
  });

  it('decodes only canonical spellings: whatever it accepts re-encodes to the same string', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.string({ maxLength: 24 })), (encoded) => {
        const decoded = decodeHeaderValue(encoded);
        if (decoded !== undefined) expect(encodeHeaderValue(decoded)).toBe(encoded);
      }),
      runs(2000),
    );
  });

  it('refuses every mutation of an encoded value that changes the decoded text', () => {
    fc.assert(
      fc.property(text, fc.nat(), fc.constantFrom('%', '%2', '%2c', ',', ' ', '\r\n', 'é', '%C3'), (value, at, insert) => {
        const encoded = encodeHeaderValue(value);
        const i = at % (encoded.length + 1);
        const mutated = encoded.slice(0, i) + insert + encoded.slice(i);
        const decoded = decodeHeaderValue(mutated);
        if (decoded !== undefined) expect(encodeHeaderValue(decoded)).toBe(mutated);
      }),
      runs(1000),
    );
  });
});
