import { findDuplicateKey } from '../src/internal.js';

const raw = String.raw;

describe('findDuplicateKey', () => {
  it.each([
    ['the envelope', '{"method":"a","id":1,"method":"b"}', 'method'],
    ['the envelope, with whitespace', '{ "id" : 1 ,\n\t"id" : 2 }', 'id'],
    ['params', '{"method":"a","params":{"name":"x","name":"y"}}', 'name'],
    ['result', '{"id":1,"result":{"content":[],"content":{}}}', 'content'],
    ['params._meta', '{"params":{"_meta":{"mcp-identity/user":{},"mcp-identity/user":{}}}}', 'mcp-identity/user'],
    ['result._meta', '{"result":{"_meta":{"user":1,"user":2}}}', 'user'],
    ['the envelope, after a nested object', '{"params":{"a":{"b":1}},"params":{}}', 'params'],
    ['the envelope, after a nested array', '{"x":[{"a":1},[2]],"x":3}', 'x'],
    ['an escaped spelling of the same key', raw`{"params":{"_meta":{}},"params":{"\u005fmeta":{}}}`, 'params'],
    ['_meta spelt with an escape', raw`{"params":{"\u005fmeta":{"a":1},"_meta":{}}}`, '_meta'],
    ['inside a _meta reached through an escaped name', raw`{"\u0070arams":{"\u005fmeta":{"x":1,"x":2}}}`, 'x'],
    ['a key with an escaped quote', raw`{"a\"b":1,"a\"b":2}`, 'a"b'],
    ['a non-ASCII key, once escaped', raw`{"é":1,"\u00e9":2}`, 'é'],
    ['an empty key', '{"":1,"":2}', ''],
    ['the second message of a batch', '[{"id":1},{"id":1,"id":2}]', 'id'],
    ['params of a batch message', '[{"id":1,"params":{"a":1,"a":2}}]', 'a'],
  ])('finds a duplicate in %s', (_label, text, key) => {
    expect(findDuplicateKey(text)).toBe(key);
  });

  it.each([
    ['distinct keys', '{"jsonrpc":"2.0","id":1,"method":"a","params":{"_meta":{"a":1,"b":2}}}'],
    ['a repeat inside tool arguments', '{"params":{"arguments":{"a":1,"a":2}}}'],
    ['a repeat inside a _meta value', '{"params":{"_meta":{"user":{"id":1,"id":2}}}}'],
    ['a repeat inside an array in params', '{"params":{"list":[{"k":1,"k":2}]}}'],
    ['a repeat inside an object under an unrelated envelope key', '{"extra":{"a":1,"a":2}}'],
    ['the same key in sibling objects', '{"params":{"a":{"x":1},"b":{"x":1}}}'],
    ['the same key in two batch messages', '[{"id":1,"method":"a"},{"id":2,"method":"a"}]'],
    ['a nested batch', '[[{"id":1,"id":2}]]'],
    ['keys that differ only in case', '{"Method":"a","method":"b"}'],
    ['a repeat that lives inside a string value', '{"a":"{\\"b\\":1,\\"b\\":2}","c":"}{,\\"a\\":"}'],
    ['values equal to a key', '{"a":"a","b":"a"}'],
    ['params nested below the envelope', '{"x":{"params":{"a":1,"a":2}}}'],
    ['a scalar', '"text"'],
    ['an empty object', '{}'],
  ])('finds none with %s', (_label, text) => {
    expect(findDuplicateKey(text)).toBeUndefined();
  });

  it('returns the first duplicate in document order', () => {
    expect(findDuplicateKey('{"b":1,"a":1,"a":2,"b":2}')).toBe('a');
  });

  it('treats braces and commas inside strings as text', () => {
    expect(findDuplicateKey('{"a":"},{\\"a\\":1","b":"]","a":0}')).toBe('a');
  });
});
