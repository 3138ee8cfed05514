import {
  IdentityError,
  META_ASSERTION,
  META_CONTEXTFORGE_USER,
  META_USER,
  checkJsonRpcValue,
  hasMethod,
  isIdentityMetaKey,
  parseJsonRpcBody,
  readIdentityMeta,
  setIdentityMeta,
  stripIdentityMeta,
} from '../src/internal.js';
import type { JsonRpcMessage } from '../src/internal.js';
import { thrownBy } from './fixtures.js';

const parse = (text: string | Uint8Array) => parseJsonRpcBody(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
const codeOf = (text: string | Uint8Array): unknown => (thrownBy(() => parse(text)) as IdentityError).code;

describe('parseJsonRpcBody', () => {
  it('parses a request', () => {
    const body = parse('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"progressToken":"p"}}}');
    expect(body.value).toEqual({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', _meta: { progressToken: 'p' } } });
    expect(body.messages).toEqual([body.value]);
  });

  it('parses a batch into its messages', () => {
    const body = parse('[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b","params":{}}]');
    expect(body.messages).toHaveLength(2);
    expect(body.value).toBe(body.messages);
  });

  it('accepts a response whose result is not an object', () => {
    expect(parse('{"jsonrpc":"2.0","id":1,"result":42}').messages).toHaveLength(1);
    expect(parse('{"jsonrpc":"2.0","id":1,"result":null}').messages).toHaveLength(1);
  });

  it('raises IdentityErrors with JSON-RPC codes', () => {
    const error = thrownBy(() => parse('{'));
    expect(error).toBeInstanceOf(IdentityError);
    expect(error).toMatchObject({ code: 'parse_error', rpcCode: -32700, status: 400 });
  });

  describe('parse errors', () => {
    it.each<[string, string | Uint8Array]>([
      ['an invalid UTF-8 byte', Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])],
      ['a truncated UTF-8 sequence', Uint8Array.from([0x22, 0xc3, 0x22])],
      ['a UTF-8 encoded surrogate', Uint8Array.from([0x22, 0xed, 0xa0, 0x80, 0x22])],
      ['an overlong UTF-8 encoding', Uint8Array.from([0x22, 0xc0, 0xaf, 0x22])],
      ['latin-1 text', Buffer.from('{"name":"José"}', 'latin1')],
      ['empty input', ''],
      ['truncated JSON', '{"jsonrpc":"2.0","method":"a"'],
      ['a trailing comma', '{"method":"a",}'],
      ['single quotes', "{'method':'a'}"],
      ['two documents', '{"method":"a"}{"method":"b"}'],
      ['NaN', '{"method":"a","params":{"n":NaN}}'],
    ])('refuses %s with parse_error', (_label, input) => {
      expect(codeOf(input)).toBe('parse_error');
    });
  });

  describe('shapes', () => {
    it.each([
      ['a number', '42'],
      ['a string', '"tools/call"'],
      ['null', 'null'],
      ['true', 'true'],
      ['an empty batch', '[]'],
      ['a batch with a number', '[{"jsonrpc":"2.0","method":"a"},5]'],
      ['a batch with a nested batch', '[[{"jsonrpc":"2.0","method":"a"}]]'],
      ['a numeric method', '{"jsonrpc":"2.0","method":5}'],
      ['a null method', '{"jsonrpc":"2.0","method":null}'],
      ['an object method', '{"jsonrpc":"2.0","method":{"name":"a"}}'],
    ])('refuses %s with invalid_request', (_label, input) => {
      expect(codeOf(input)).toBe('invalid_request');
    });

    it.each([
      ['params as an array', '{"jsonrpc":"2.0","method":"a","params":[1,2]}'],
      ['params as a string', '{"jsonrpc":"2.0","method":"a","params":"x"}'],
      ['params as null', '{"jsonrpc":"2.0","method":"a","params":null}'],
      ['params as a number', '{"jsonrpc":"2.0","method":"a","params":3}'],
      ['params as a boolean', '{"jsonrpc":"2.0","method":"a","params":false}'],
      ['_meta as an array', '{"jsonrpc":"2.0","method":"a","params":{"_meta":[]}}'],
      ['_meta as null', '{"jsonrpc":"2.0","method":"a","params":{"_meta":null}}'],
      ['_meta as a string', '{"jsonrpc":"2.0","method":"a","params":{"_meta":"x"}}'],
      ['result._meta as a number', '{"jsonrpc":"2.0","id":1,"result":{"_meta":5}}'],
      ['params without method, as an array', '{"jsonrpc":"2.0","id":1,"params":[]}'],
      ['a bad message inside a batch', '[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b","params":[]}]'],
    ])('refuses %s with invalid_params', (_label, input) => {
      expect(codeOf(input)).toBe('invalid_params');
    });
  });

  describe('forbidden keys', () => {
    afterEach(() => {
      // Nothing here may ever reach the shared prototype.
      expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it.each([
      ['__proto__ in the envelope', '{"jsonrpc":"2.0","method":"a","__proto__":{"polluted":true}}', 'invalid_request'],
      ['constructor in the envelope', '{"jsonrpc":"2.0","method":"a","constructor":{"prototype":{"polluted":true}}}', 'invalid_request'],
      [
        'an escaped __proto__ in the envelope',
        String.raw`{"jsonrpc":"2.0","method":"a","\u005f_proto__":{"polluted":true}}`,
        'invalid_request',
      ],
      ['__proto__ in params', '{"jsonrpc":"2.0","method":"a","params":{"__proto__":{"polluted":true}}}', 'invalid_params'],
      ['constructor in params', '{"jsonrpc":"2.0","method":"a","params":{"constructor":{"polluted":true}}}', 'invalid_params'],
      ['__proto__ in _meta', '{"jsonrpc":"2.0","method":"a","params":{"_meta":{"__proto__":{"polluted":true}}}}', 'invalid_params'],
      ['constructor in _meta', '{"jsonrpc":"2.0","method":"a","params":{"_meta":{"constructor":1}}}', 'invalid_params'],
      ['__proto__ in result', '{"jsonrpc":"2.0","id":1,"result":{"__proto__":{"polluted":true}}}', 'invalid_params'],
      ['__proto__ in result._meta', '{"jsonrpc":"2.0","id":1,"result":{"_meta":{"__proto__":{"polluted":true}}}}', 'invalid_params'],
      [
        '__proto__ in the second message of a batch',
        '[{"jsonrpc":"2.0","method":"a"},{"__proto__":{"polluted":true},"method":"b"}]',
        'invalid_request',
      ],
    ])('refuses %s', (_label, input, code) => {
      expect(codeOf(input)).toBe(code);
    });

    it('allows __proto__ deeper, in tool arguments, without polluting anything', () => {
      const body = parse('{"jsonrpc":"2.0","method":"tools/call","params":{"arguments":{"__proto__":{"polluted":true}}}}');
      const args = (body.messages[0]!.params as { arguments: object }).arguments;
      expect(Object.hasOwn(args, '__proto__')).toBe(true);
    });

    it('refuses a forbidden key in a value parsed elsewhere', () => {
      const value = JSON.parse('{"jsonrpc":"2.0","method":"a","params":{"_meta":{"__proto__":{"polluted":true}}}}');
      expect(thrownBy(() => checkJsonRpcValue(value))).toMatchObject({ code: 'invalid_params' });
    });
  });

  describe('duplicate keys', () => {
    it.each([
      ['in the envelope', '{"jsonrpc":"2.0","method":"a","method":"b"}'],
      ['in params', '{"jsonrpc":"2.0","method":"a","params":{"name":"x","name":"y"}}'],
      ['of params itself', '{"jsonrpc":"2.0","method":"a","params":{"_meta":{"mcp-identity/assertion":"A"}},"params":{}}'],
      ['in _meta', '{"jsonrpc":"2.0","method":"a","params":{"_meta":{"mcp-identity/assertion":"A","mcp-identity/assertion":"B"}}}'],
      [
        'of _meta, one spelt with an escape',
        String.raw`{"jsonrpc":"2.0","method":"a","params":{"\u005fmeta":{"mcp-identity/user":{"id":"admin"}},"_meta":{}}}`,
      ],
      [
        'in _meta, one spelt with an escaped slash',
        String.raw`{"method":"a","params":{"_meta":{"mcp-identity\/assertion":"A","mcp-identity/assertion":"B"}}}`,
      ],
      ['in result._meta', '{"jsonrpc":"2.0","id":1,"result":{"_meta":{"user":1,"user":2}}}'],
      ['in the second message of a batch', '[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b","id":1,"id":2}]'],
      ['in params of a batch message', '[{"jsonrpc":"2.0","method":"a","params":{"_meta":{"x":1,"x":2}}}]'],
    ])('refuses a duplicate %s with invalid_request', (_label, input) => {
      expect(codeOf(input)).toBe('invalid_request');
    });

    it.each([
      ['inside tool arguments', '{"jsonrpc":"2.0","method":"tools/call","params":{"arguments":{"a":1,"a":2}}}'],
      ['inside a _meta value', '{"jsonrpc":"2.0","method":"a","params":{"_meta":{"mcp-identity/user":{"id":"a","id":"b"}}}}'],
      ['in objects inside an array in params', '{"jsonrpc":"2.0","method":"a","params":{"items":[{"k":1,"k":2}]}}'],
      ['the same key in two messages of a batch', '[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b"}]'],
    ])('allows a repeated key %s', (_label, input) => {
      expect(() => parse(input)).not.toThrow();
    });

    it('refuses a duplicate in params when the values are long strings taken from their own bytes', () => {
      const long = 'x'.repeat(4096);
      const input = `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"${long}","name":"${long}"}}`;
      expect(codeOf(Buffer.from(input))).toBe('invalid_request');
    });
  });

  describe('long string values', () => {
    const long = `${'é'.repeat(1000)}${'x'.repeat(3000)}`;
    const input = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"upload","arguments":{"content":"${long}"}}}`;

    it('decodes a long string value only when it is read, to the same value', () => {
      const rpc = parseJsonRpcBody(Buffer.from(input));
      const args = (rpc.messages[0]?.params as { arguments: Record<string, unknown> }).arguments;
      expect(typeof Object.getOwnPropertyDescriptor(args, 'content')?.get).toBe('function');
      expect(args.content).toBe(long);
      expect(Object.keys(args)).toEqual(['content']);
      expect(rpc.value).toEqual(JSON.parse(input));
      expect(rpc.text).toBeUndefined();
    });

    it('becomes a plain data property again when assigned', () => {
      const rpc = parseJsonRpcBody(Buffer.from(input));
      const args = (rpc.messages[0]?.params as { arguments: Record<string, unknown> }).arguments;
      args.content = 'replaced';
      expect(Object.getOwnPropertyDescriptor(args, 'content')).toEqual({
        value: 'replaced',
        writable: true,
        enumerable: true,
        configurable: true,
      });
    });

    it('refuses a raw control character in a long string with parse_error, as JSON.parse does', () => {
      const raw = Buffer.from(input);
      raw[raw.indexOf('xxxx') + 10] = 0x01;
      expect(() => JSON.parse(raw.toString('utf8'))).toThrow(SyntaxError);
      expect(codeOf(raw)).toBe('parse_error');
    });
  });
});

describe('checkJsonRpcValue', () => {
  it('checks a value parsed by another body parser', () => {
    expect(checkJsonRpcValue({ jsonrpc: '2.0', method: 'a' }).messages).toHaveLength(1);
    expect(thrownBy(() => checkJsonRpcValue({ method: 1 }))).toMatchObject({ code: 'invalid_request' });
    expect(thrownBy(() => checkJsonRpcValue(undefined))).toMatchObject({ code: 'invalid_request' });
  });

  it('accepts a null-prototype message', () => {
    const message = Object.assign(Object.create(null) as Record<string, unknown>, { jsonrpc: '2.0', method: 'a', params: {} });
    expect(checkJsonRpcValue(message).messages[0]).toBe(message);
  });
});

describe('hasMethod', () => {
  it('looks at own members only', () => {
    expect(hasMethod({ method: 'a' })).toBe(true);
    expect(hasMethod(Object.assign(Object.create(null) as JsonRpcMessage, { method: 'a' }))).toBe(true);
    expect(hasMethod(Object.create({ method: 'a' }) as JsonRpcMessage)).toBe(false);
    expect(hasMethod({ id: 1, result: {} })).toBe(false);
  });
});

describe('isIdentityMetaKey', () => {
  it.each(['mcp-identity/assertion', 'mcp-identity/user', 'mcp-identity/anything', 'MCP-Identity/User', 'user'])(
    'is true for %s',
    (key) => {
      expect(isIdentityMetaKey(key)).toBe(true);
    },
  );

  it.each(['progressToken', 'User', 'users', 'mcp-identity', 'x-mcp-identity/user', 'io.modelcontextprotocol/related'])(
    'is false for %s',
    (key) => {
      expect(isIdentityMetaKey(key)).toBe(false);
    },
  );

  it('names the documented keys', () => {
    expect([META_ASSERTION, META_USER, META_CONTEXTFORGE_USER]).toEqual(['mcp-identity/assertion', 'mcp-identity/user', 'user']);
  });
});

describe('stripIdentityMeta', () => {
  const identityMeta = () => ({
    progressToken: 'p-1',
    'mcp-identity/assertion': 'forged',
    'mcp-identity/user': { id: 'admin' },
    'MCP-IDENTITY/other': 1,
    user: { id: 'admin' },
  });

  it('removes identity keys from params._meta and keeps the others', () => {
    const message: JsonRpcMessage = { jsonrpc: '2.0', method: 'a', params: { name: 'x', _meta: identityMeta() } };
    expect(stripIdentityMeta(message)).toBe(true);
    expect(message).toEqual({ jsonrpc: '2.0', method: 'a', params: { name: 'x', _meta: { progressToken: 'p-1' } } });
  });

  it('removes identity keys from result._meta', () => {
    const message: JsonRpcMessage = { jsonrpc: '2.0', id: 1, result: { content: [], _meta: identityMeta() } };
    expect(stripIdentityMeta(message)).toBe(true);
    expect(message.result).toEqual({ content: [], _meta: { progressToken: 'p-1' } });
  });

  it('reports false and changes nothing when there is no identity', () => {
    const message: JsonRpcMessage = { jsonrpc: '2.0', method: 'a', params: { _meta: { progressToken: 1 }, user: 'not meta' } };
    expect(stripIdentityMeta(message)).toBe(false);
    expect(message).toEqual({ jsonrpc: '2.0', method: 'a', params: { _meta: { progressToken: 1 }, user: 'not meta' } });
  });

  it('creates nothing on a message without params', () => {
    const message: JsonRpcMessage = { jsonrpc: '2.0', method: 'a' };
    expect(stripIdentityMeta(message)).toBe(false);
    expect(message).toEqual({ jsonrpc: '2.0', method: 'a' });
  });

  it('leaves identity-looking keys outside _meta alone', () => {
    const message: JsonRpcMessage = { method: 'a', params: { 'mcp-identity/assertion': 'x', _meta: {} } };
    expect(stripIdentityMeta(message)).toBe(false);
    expect(message.params).toEqual({ 'mcp-identity/assertion': 'x', _meta: {} });
  });
});

describe('setIdentityMeta', () => {
  it('creates params and _meta when absent', () => {
    const message: JsonRpcMessage = { jsonrpc: '2.0', method: 'a' };
    setIdentityMeta(message, { [META_ASSERTION]: 'tok' });
    expect(message).toEqual({ jsonrpc: '2.0', method: 'a', params: { _meta: { 'mcp-identity/assertion': 'tok' } } });
  });

  it('creates _meta in existing params and keeps what is there', () => {
    const message: JsonRpcMessage = { method: 'a', params: { name: 'x' } };
    setIdentityMeta(message, { [META_USER]: { id: 'u' } });
    expect(message.params).toEqual({ name: 'x', _meta: { 'mcp-identity/user': { id: 'u' } } });
  });

  it('adds to an existing _meta', () => {
    const message: JsonRpcMessage = { method: 'a', params: { _meta: { progressToken: 7 } } };
    setIdentityMeta(message, { [META_ASSERTION]: 'tok', [META_USER]: { id: 'u' } });
    expect(message.params).toEqual({ _meta: { progressToken: 7, 'mcp-identity/assertion': 'tok', 'mcp-identity/user': { id: 'u' } } });
  });

  it('replaces a _meta that is not an object', () => {
    const message: JsonRpcMessage = { method: 'a', params: { _meta: null } };
    setIdentityMeta(message, { [META_ASSERTION]: 'tok' });
    expect(message.params).toEqual({ _meta: { 'mcp-identity/assertion': 'tok' } });
  });
});

describe('readIdentityMeta', () => {
  it('reads the assertion and user from params._meta', () => {
    const found = readIdentityMeta({
      method: 'a',
      params: { _meta: { progressToken: 1, [META_ASSERTION]: 'tok', [META_USER]: { id: 'u' } } },
    });
    expect(found).toEqual({ assertion: 'tok', user: { id: 'u' }, unknownKeys: [] });
  });

  it('is undefined when there is no identity', () => {
    expect(readIdentityMeta({ method: 'a', params: { _meta: { progressToken: 1 } } })).toBeUndefined();
    expect(readIdentityMeta({ method: 'a' })).toBeUndefined();
  });

  it('reports other identity keys, and identity in result._meta, as unknown; the legacy user apart', () => {
    const found = readIdentityMeta({
      id: 1,
      params: { _meta: { [META_ASSERTION]: 'tok', 'mcp-identity/extra': 1, user: { id: 'legacy' } } },
      result: { _meta: { [META_ASSERTION]: 'smuggled' } },
    });
    expect(found?.assertion).toBe('tok');
    expect(found?.user).toBeUndefined();
    expect(found?.legacyUser).toEqual({ id: 'legacy' });
    expect([...(found?.unknownKeys ?? [])].sort()).toEqual(['mcp-identity/assertion', 'mcp-identity/extra']);
  });

  it('does not take an assertion from result._meta', () => {
    const found = readIdentityMeta({ id: 1, result: { _meta: { [META_ASSERTION]: 'smuggled' } } });
    expect(found).toEqual({ assertion: undefined, user: undefined, legacyUser: undefined, unknownKeys: ['mcp-identity/assertion'] });
  });
});
