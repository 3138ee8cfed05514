import { createHash } from 'node:crypto';
import { EMPTY_BODY_SHA256, isJsonContentType, jsonBodyDigest, rawBodyDigest, sha256Base64url } from '../src/internal.js';

const sha256 = (text: string | Uint8Array): string => createHash('sha256').update(text).digest('base64url');

// A message with what RFC 8785 cares about: key order (by UTF-16 code unit, so "\r" < "a" <
// "€"), number forms (1.50, 1e21, -0, 1E-7), string escapes (é raw, U+000F as \u000f).
const message = String.raw`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"z":1.50,"a":"\u00e9\u000f","big":1e21,"€":1,"\r":2,"neg":-0,"tiny":1E-7},"_meta":{"progressToken":"p1","mcp-identity/assertion":"tok.en.sig"}}}`;
// Written by hand from RFC 8785, without the assertion member.
const canonical = String.raw`{"id":7,"jsonrpc":"2.0","method":"tools/call","params":{"_meta":{"progressToken":"p1"},"arguments":{"\r":2,"a":"é\u000f","big":1e+21,"neg":0,"tiny":1e-7,"z":1.5,"€":1},"name":"echo"}}`;

describe('jsonBodyDigest', () => {
  it('is the SHA-256 (base64url) of the RFC 8785 canonical JSON, assertion excluded', () => {
    expect(jsonBodyDigest(JSON.parse(message))).toBe(sha256(Buffer.from(canonical, 'utf8')));
  });

  it('does not depend on key order, whitespace or number spelling', () => {
    const reordered = JSON.parse(message);
    const pretty = JSON.stringify({ params: reordered.params, method: reordered.method, id: 7.0, jsonrpc: '2.0' }, null, 2);
    expect(jsonBodyDigest(JSON.parse(pretty))).toBe(jsonBodyDigest(JSON.parse(message)));
  });

  it('is the same whatever the assertion value, and with no assertion', () => {
    const withOther = JSON.parse(message);
    withOther.params._meta['mcp-identity/assertion'] = 'another.token.value';
    const without = JSON.parse(message);
    delete without.params._meta['mcp-identity/assertion'];
    expect(jsonBodyDigest(withOther)).toBe(jsonBodyDigest(JSON.parse(message)));
    expect(jsonBodyDigest(without)).toBe(jsonBodyDigest(JSON.parse(message)));
  });

  it('covers every other member, identity ones included', () => {
    const base = jsonBodyDigest(JSON.parse(message));
    const changes: ((m: any) => void)[] = [
      (m) => (m.params._meta.progressToken = 'p2'),
      (m) => (m.params._meta['mcp-identity/user'] = { id: 'u' }),
      (m) => (m.params._meta['mcp-identity/Assertion'] = 'x'),
      (m) => (m.params.arguments.z = 1.51),
      (m) => (m.id = '7'),
      (m) => (m._meta = { 'mcp-identity/assertion': 'x' }),
      (m) => (m.params['mcp-identity/assertion'] = 'x'),
    ];
    for (const change of changes) {
      const changed = JSON.parse(message);
      change(changed);
      expect(jsonBodyDigest(changed)).not.toBe(base);
    }
  });

  it('drops a _meta that only held the assertion, and puts it back afterwards', () => {
    const onlyAssertion = { jsonrpc: '2.0', id: 1, method: 'a', params: { _meta: { 'mcp-identity/assertion': 'x' } } };
    expect(jsonBodyDigest(onlyAssertion)).toBe(sha256('{"id":1,"jsonrpc":"2.0","method":"a","params":{}}'));
    expect(onlyAssertion.params._meta).toEqual({ 'mcp-identity/assertion': 'x' });
  });

  it('puts the assertion back afterwards, leaving the message as it was', () => {
    const parsed = JSON.parse(message);
    jsonBodyDigest(parsed);
    expect(parsed).toEqual(JSON.parse(message));
    expect(parsed.params._meta['mcp-identity/assertion']).toBe('tok.en.sig');
  });

  it('excludes the assertion of every message in a batch and puts each back', () => {
    const batch = [
      { jsonrpc: '2.0', id: 1, method: 'a', params: { _meta: { 'mcp-identity/assertion': 'one', progressToken: 1 } } },
      { jsonrpc: '2.0', method: 'notifications/b', params: { x: true, _meta: { 'mcp-identity/assertion': 'two' } } },
      { jsonrpc: '2.0', id: 3, result: {} },
    ];
    const expected = sha256(
      '[{"id":1,"jsonrpc":"2.0","method":"a","params":{"_meta":{"progressToken":1}}},' +
        '{"jsonrpc":"2.0","method":"notifications/b","params":{"x":true}},' +
        '{"id":3,"jsonrpc":"2.0","result":{}}]',
    );
    expect(jsonBodyDigest(batch)).toBe(expected);
    expect(batch[0]!.params!._meta['mcp-identity/assertion']).toBe('one');
    expect(batch[1]!.params!._meta['mcp-identity/assertion']).toBe('two');
  });

  it('ignores odd shapes where no params._meta object exists', () => {
    for (const value of [
      null,
      42,
      'text',
      [],
      [null, 1],
      { params: null },
      { params: [] },
      { params: { _meta: [] } },
      { params: { _meta: null } },
    ]) {
      expect(jsonBodyDigest(value)).toBe(sha256(JSON.stringify(value)));
    }
  });

  it('digests a null-prototype _meta', () => {
    const meta = Object.assign(Object.create(null) as Record<string, unknown>, { 'mcp-identity/assertion': 'x', a: 1 });
    expect(jsonBodyDigest({ params: { _meta: meta } })).toBe(sha256('{"params":{"_meta":{"a":1}}}'));
    expect(meta['mcp-identity/assertion']).toBe('x');
  });

  it.each([
    ['a lone surrogate', { params: { text: 'a\uD800' } }],
    ['NaN', { params: { n: NaN } }],
    ['Infinity', { params: { n: Infinity } }],
  ])('throws for a value with no canonical form (%s) and still puts the assertion back', (_label, value) => {
    const withAssertion: any = { ...value, params: { ...value.params, _meta: { 'mcp-identity/assertion': 'kept' } } };
    expect(() => jsonBodyDigest(withAssertion)).toThrow();
    expect(withAssertion.params._meta['mcp-identity/assertion']).toBe('kept');
  });
});

describe('rawBodyDigest / sha256Base64url', () => {
  it('digests the empty body as SHA-256 of nothing', () => {
    const emptyHex = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'; // FIPS 180-2 test value
    expect(EMPTY_BODY_SHA256).toBe(Buffer.from(emptyHex, 'hex').toString('base64url'));
    expect(rawBodyDigest(new Uint8Array(0))).toBe(EMPTY_BODY_SHA256);
  });

  it('digests "abc" as the FIPS 180-2 test vector', () => {
    const abcHex = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(sha256Base64url('abc')).toBe(Buffer.from(abcHex, 'hex').toString('base64url'));
    expect(rawBodyDigest(Buffer.from('abc'))).toBe(Buffer.from(abcHex, 'hex').toString('base64url'));
  });

  it('digests raw bytes exactly, without any JSON processing', () => {
    const bytes = Buffer.from('{"b":1,  "a":2}\n');
    expect(rawBodyDigest(bytes)).toBe(sha256(bytes));
    expect(rawBodyDigest(bytes)).not.toBe(rawBodyDigest(Buffer.from('{"a":2,"b":1}')));
  });

  it('writes base64url without padding', () => {
    expect(sha256Base64url('x')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('isJsonContentType', () => {
  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON',
    'APPLICATION/JSON;CHARSET=UTF-8',
    '  application/json  ; charset="utf-8"',
    'application/json;',
  ])('accepts %j', (value) => {
    expect(isJsonContentType(value)).toBe(true);
  });

  it.each([
    undefined,
    '',
    'text/json',
    'text/plain',
    'application/jsonx',
    'application/json-patch+json',
    'application/vnd.api+json',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=application/json',
    'application /json',
  ])('refuses %j', (value) => {
    expect(isJsonContentType(value)).toBe(false);
  });
});
