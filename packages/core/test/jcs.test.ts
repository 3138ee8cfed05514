import canonicalize from 'canonicalize';
import { canonicalJson, jsonBodyDigest, sha256Base64url } from '../src/internal.js';
import { streamCanonicalJson } from '../src/jcs.js';

// A small seeded generator, so a failure reproduces.
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const alphabet = ['a', 'B', 'é', 'ö', '€', '😀', '\u0000', '\n', '"', '\\', '\u2028', 'ﬀ', '1', '_', 'Z', ' '];

function randomString(next: () => number): string {
  let out = '';
  const length = Math.floor(next() * 6);
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(next() * alphabet.length)] ?? '';
  return out;
}

function randomValue(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 4 : 6));
  switch (pick) {
    case 0:
      return randomString(next);
    case 1:
      return [0, -0, 1, -1.5, 1e21, 1e-7, 0.1, 123456789012, 2 ** 53, 5e-324][Math.floor(next() * 10)];
    case 2:
      return next() < 0.5;
    case 3:
      return null;
    case 4:
      return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 5); i > 0; i--) object[randomString(next)] = randomValue(next, depth + 1);
      return object;
    }
  }
}

describe('canonicalJson', () => {
  it('writes exactly what the canonicalize package writes, for 2,000 random JSON values', () => {
    const next = prng(20261126);
    for (let i = 0; i < 2000; i++) {
      const value = JSON.parse(JSON.stringify(randomValue(next, 0))) as unknown;
      expect(canonicalJson(value)).toBe(canonicalize(value));
    }
  });

  it('sorts members by UTF-16 code units, not by code points or locale', () => {
    // U+1F600 is a surrogate pair starting 0xD83D, which sorts before U+FF21 (0xFF21).
    expect(canonicalJson({ Ａ: 1, '😀': 2, b: 3, B: 4, '10': 5, '9': 6 })).toBe('{"10":5,"9":6,"B":4,"b":3,"😀":2,"Ａ":1}');
  });

  it('sorts objects of 1 to 40 members as the canonicalize package does (small ones are sorted in place)', () => {
    const next = prng(20261201);
    for (let size = 1; size <= 40; size++) {
      for (let round = 0; round < 20; round++) {
        const object: Record<string, number> = {};
        while (Object.keys(object).length < size) object[randomString(next) + String(Math.floor(next() * 100))] = size;
        expect(canonicalJson(object)).toBe(canonicalize(object));
      }
    }
  });

  it('writes member names right past the bound of its name cache, and still refuses a lone surrogate in one', () => {
    for (let i = 0; i < 3000; i++) {
      const name = i % 7 === 0 ? `${'n'.repeat(70)}${i}` : `name-${i}-"é"`;
      expect(canonicalJson({ [name]: i, a: [name] })).toBe(canonicalize({ [name]: i, a: [name] }));
    }
    expect(() => canonicalJson({ '\ud800': 1 })).toThrow(TypeError);
    expect(() => jsonBodyDigest(JSON.parse('{"\\ud800":1}'))).toThrow(TypeError);
  });

  it('writes numbers as ECMAScript does (RFC 8785 section 3.2.2.3)', () => {
    expect(canonicalJson([-0, 1e21, 1e-7, 0.1, 100, 1.5e300])).toBe('[0,1e+21,1e-7,0.1,100,1.5e+300]');
  });

  it('skips undefined members and writes undefined array entries as null, like JSON.stringify', () => {
    expect(canonicalJson({ a: undefined, b: [undefined, 1] })).toBe('{"b":[null,1]}');
  });

  it.each([
    ['a lone surrogate in a string', { a: '\ud800' }],
    ['a lone surrogate in a key', { '\udc00': 1 }],
    ['a non-finite number', { a: Infinity }],
    ['NaN', [Number.NaN]],
    ['a bigint', { a: 1n }],
  ])('throws for %s, which has no canonical form', (_case, value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });
});

/** The pieces streamCanonicalJson hands over, and their concatenation. */
function streamed(value: unknown): { text: string; pieces: string[] } {
  const pieces: string[] = [];
  streamCanonicalJson(value, (piece) => pieces.push(typeof piece === 'string' ? piece : Buffer.from(piece).toString('utf8')));
  return { text: pieces.join(''), pieces };
}

describe('streamCanonicalJson', () => {
  it('hands over exactly the text canonicalJson writes, for 2,000 random values with long strings among them', () => {
    const next = prng(20261201);
    for (let i = 0; i < 2000; i++) {
      // Long strings (past the size handed over whole), with and without characters to escape.
      const long = randomString(next).repeat(1000) + 'x'.repeat(5000);
      const value = JSON.parse(JSON.stringify({ v: randomValue(next, 0), long, list: [long, randomValue(next, 1)] })) as unknown;
      expect(streamed(value).text).toBe(canonicalJson(value));
    }
  });

  it('hands a long string that needs no escaping over as it is, not inside a larger copy', () => {
    const content = 'x'.repeat(100_000);
    const { pieces } = streamed({ params: { arguments: { content } }, id: 1 });
    expect(pieces).toContain(content);
    expect(Math.max(...pieces.filter((p) => p !== content).map((p) => p.length))).toBeLessThan(100);
  });

  it('digests a large body to the SHA-256 of canonicalJson', () => {
    const value = {
      jsonrpc: '2.0',
      id: 8,
      method: 'tools/call',
      params: { arguments: { a: 'é"\\n'.repeat(30_000), b: 'y'.repeat(300_000) } },
    };
    expect(jsonBodyDigest(value)).toBe(sha256Base64url(canonicalJson(value)));
  });

  it.each([
    ['a lone surrogate in a long string', { a: `${'x'.repeat(10_000)}\ud800` }],
    ['a lone surrogate in a short string', { a: '\ud800' }],
    ['a non-finite number', { a: [Infinity] }],
  ])('throws for %s, like canonicalJson', (_case, value) => {
    expect(() => streamed(value)).toThrow(TypeError);
  });
});
