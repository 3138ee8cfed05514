import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { canonicalJson } from '../../src/internal.js';
import { runs } from './settings.js';

describe('canonical JSON (fuzz)', () => {
  it('agrees with the canonicalize oracle on every JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // Through JSON text, as a body arrives: -0 becomes 0 and keys are plain own properties.
        const parsed = JSON.parse(JSON.stringify(value)) as unknown;
        expect(canonicalJson(parsed)).toBe(canonicalize(parsed));
      }),
      runs(1000),
    );
  });

  it('agrees with the oracle on doubles of every magnitude, large integers included', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.bigInt().map((n) => Number(n)),
        ),
        (n) => {
          if (!Number.isFinite(n)) return;
          expect(canonicalJson({ n, list: [n] })).toBe(canonicalize({ n, list: [n] }));
        },
      ),
      runs(1000),
    );
  });

  it('is a fixed point: parsing the canonical form and canonicalizing again changes nothing', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const once = canonicalJson(JSON.parse(JSON.stringify(value)));
        expect(canonicalJson(JSON.parse(once))).toBe(once);
      }),
      runs(500),
    );
  });

  it('throws only TypeError for text without a canonical form (lone surrogates)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 12 }), (s) => {
        try {
          expect(canonicalJson({ [s]: s })).toBe(canonicalize({ [s]: s }));
        } catch (error) {
          expect(error).toBeInstanceOf(TypeError);
          expect(s.isWellFormed()).toBe(false);
        }
      }),
      runs(1000),
    );
  });
});
