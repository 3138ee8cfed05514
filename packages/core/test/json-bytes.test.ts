/**
 * Long strings parsed from their own bytes (json-bytes.ts): the cases where that path must give
 * exactly what `JSON.parse` gives and the digest the spec defines, whatever the client sends.
 */
import { createHash } from 'node:crypto';
import { canonicalJson, jsonBodyDigest, parseJsonBytes, parseJsonRpcBody, requestBodyDigest } from '../src/internal.js';
import { PLACEHOLDER_PREFIX_FOR_TESTS } from '../src/json-bytes.js';

const LONG = 'x'.repeat(1100);
const b64url = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('base64url');

describe('parseJsonBytes and the body digest', () => {
  it('refuses a key holding an escaped lone surrogate even when its value is a long string (no canonical form)', () => {
    const text = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"\\ud800":"${LONG}"}}}`;
    const bytes = Buffer.from(text);
    expect(() => canonicalJson(JSON.parse(text))).toThrow(TypeError);
    // The gateway's path: parsed from bytes, then digested; it must refuse as for a short value.
    expect(() => jsonBodyDigest(parseJsonRpcBody(bytes).value)).toThrow(TypeError);
    // The receiver's path: a body with no canonical form is bound by its raw bytes (spec rule 3).
    expect(requestBodyDigest('application/json', bytes)).toBe(b64url(bytes));
  });

  it.each([
    ['the first placeholder exactly', (prefix: string) => `${prefix}0`],
    ['a placeholder with a loose index', (prefix: string) => `${prefix}0.0`],
    ['the bare prefix', (prefix: string) => prefix],
  ])('parses a client string equal to %s as JSON.parse does, never as a cut string', (_case, make) => {
    const planted = make(PLACEHOLDER_PREFIX_FOR_TESTS);
    const text = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: planted, arguments: { x: LONG } } });
    for (const lazy of [false, true]) {
      const { value } = parseJsonBytes(Buffer.from(text), { lazy });
      expect(JSON.parse(JSON.stringify(value))).toEqual(JSON.parse(text));
      expect((value as { params: { name: string } }).params.name).toBe(planted);
    }
  });

  it('gives the same digest as the whole-text parse when a planted placeholder comes after the real one', () => {
    const planted = `${PLACEHOLDER_PREFIX_FOR_TESTS}0`;
    const text = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { arguments: { x: LONG }, name: planted } });
    expect(jsonBodyDigest(parseJsonRpcBody(Buffer.from(text)).value)).toBe(jsonBodyDigest(JSON.parse(text)));
  });
});
