import {
  parseJsonRpcBody,
  serializeJsonRpcBody,
  serializeJsonRpcBodyParts,
  setIdentityMeta,
  stripIdentityMeta,
  META_ASSERTION,
  META_USER,
} from '../src/internal.js';

/** What the gateway does to a body: strip client identity, add its own to each request. */
function forward(text: string, members: Record<string, unknown> = { [META_USER]: { id: 'alice' }, [META_ASSERTION]: 'token' }): string {
  const rpc = parseJsonRpcBody(Buffer.from(text, 'utf8'));
  for (const message of rpc.messages) {
    stripIdentityMeta(message);
    if (Object.hasOwn(message, 'method')) setIdentityMeta(message, members);
  }
  const out = serializeJsonRpcBody(rpc).toString('utf8');
  // Whatever the splice wrote parses to exactly the rewritten value.
  expect(JSON.parse(out)).toEqual(rpc.value);
  return out;
}

describe('serializeJsonRpcBody', () => {
  it('copies unchanged stretches from the client bytes at the right byte offsets when the text is not ASCII', () => {
    const text =
      '[{"jsonrpc":"2.0","id":"é😀","method":"tools/call","params":{"name":"ünï","_meta":{"k":"€"}}},' +
      '{"jsonrpc":"2.0","id":2,"result":{"s":"ﬀ"}},' +
      '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"arguments":{"s":"😀😀"},"_meta":{}}}]';
    const viaBytes = forward(text);
    // The same rewrite without the client's bytes, where the whole text is encoded again.
    const rpc = parseJsonRpcBody(Buffer.from(text, 'utf8'));
    for (const message of rpc.messages) {
      stripIdentityMeta(message);
      if (Object.hasOwn(message, 'method')) setIdentityMeta(message, { [META_USER]: { id: 'alice' }, [META_ASSERTION]: 'token' });
    }
    expect(viaBytes).toBe(serializeJsonRpcBody({ value: rpc.value, messages: rpc.messages, text: rpc.text! }).toString('utf8'));
    expect(viaBytes).toContain('"name":"ünï","_meta":{"k":"€","mcp-identity/user"');
    expect(viaBytes).toContain('{"jsonrpc":"2.0","id":2,"result":{"s":"ﬀ"}}');
  });

  it('keeps number lexemes, key order and whitespace outside the changed _meta', () => {
    const text =
      '{ "id" : 12345678901234567890123,\n  "method": "tools/call", "jsonrpc": "2.0",\n' +
      '  "params": {"arguments": {"big": 12345678901234567890123, "one": 1.0, "exp": 1e2, "neg": -0.0, "s": "\\u00e9"},\n' +
      '    "_meta": {"progressToken": 98765432109876543210 }}}';
    const out = forward(text);
    const cut = text.indexOf('{"progressToken"');
    expect(out.slice(0, cut)).toBe(text.slice(0, cut));
    expect(out.endsWith('}}')).toBe(true);
    expect(out).toContain('"progressToken": 98765432109876543210,"mcp-identity/user":{"id":"alice"},"mcp-identity/assertion":"token"}');
  });

  it('removes every client identity key, also escaped or upper-case spellings, and never copies their text', () => {
    const text =
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"\\u005fmeta":{"mcp-identity\\u002fuser":{"id":"mallory"},' +
      '"MCP-Identity/assertion":"forged","user":{"email":"m"},"keep":1.50}}}';
    const out = forward(text);
    expect(out).not.toContain('mallory');
    expect(out).not.toContain('forged');
    expect(out).not.toContain('"m"');
    expect(out).toContain('"keep":1.50');
  });

  it('creates params and _meta when the client sent none, appending them after the last member', () => {
    expect(forward('{"jsonrpc":"2.0","id":7,"method":"ping"}')).toBe(
      '{"jsonrpc":"2.0","id":7,"method":"ping","params":{"_meta":{"mcp-identity/user":{"id":"alice"},"mcp-identity/assertion":"token"}}}',
    );
    expect(forward('{"jsonrpc":"2.0","id":7,"method":"ping","params":{}}')).toBe(
      '{"jsonrpc":"2.0","id":7,"method":"ping","params":{"_meta":{"mcp-identity/user":{"id":"alice"},"mcp-identity/assertion":"token"}}}',
    );
  });

  it('strips result._meta of a response in a batch and leaves the other messages byte for byte', () => {
    const text =
      '[ {"jsonrpc":"2.0","id":1,"result":{"_meta":{"mcp-identity/user":{"id":"x"},"k":2.50}, "n": 1E400}} ,\n{"jsonrpc":"2.0","id":2,"result":3.0} ]';
    const rpc = parseJsonRpcBody(Buffer.from(text));
    for (const message of rpc.messages) stripIdentityMeta(message);
    expect(serializeJsonRpcBody(rpc).toString()).toBe(
      '[ {"jsonrpc":"2.0","id":1,"result":{"_meta":{"k":2.50}, "n": 1E400}} ,\n{"jsonrpc":"2.0","id":2,"result":3.0} ]',
    );
  });

  it('returns the text unchanged when nothing was rewritten', () => {
    const text = '{"jsonrpc":"2.0", "id":1.0, "method":"x", "params":{"_meta":{"a":1e2}}}';
    expect(serializeJsonRpcBody(parseJsonRpcBody(Buffer.from(text))).toString()).toBe(text);
  });

  it('handles 100,000 levels of nesting in an argument without exhausting the stack', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const text = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"d":${deep}}}}`;
    const rpc = parseJsonRpcBody(Buffer.from(text));
    setIdentityMeta(rpc.messages[0]!, { [META_ASSERTION]: 'token' });
    expect(serializeJsonRpcBody(rpc).toString()).toBe(`${text.slice(0, -2)},"_meta":{"mcp-identity/assertion":"token"}}}`);
  });

  it('writes a body parsed elsewhere (no text) with JSON.stringify', () => {
    expect(serializeJsonRpcBody({ value: { id: 1 }, messages: [{ id: 1 }] }).toString()).toBe('{"id":1}');
  });

  it('forwards a body whose long strings were never decoded as views of the client bytes, with only _meta spliced', () => {
    const content = `${'ü'.repeat(2000)}${'x'.repeat(100_000)}`;
    const text = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"up","arguments":{"content":"${content}"},"_meta":{"k":"${content}"}}}`;
    const bytes = Buffer.from(text, 'utf8');
    const rpc = parseJsonRpcBody(bytes);
    expect(rpc.text).toBeUndefined();
    for (const message of rpc.messages) setIdentityMeta(message, { [META_USER]: { id: 'alice' } });
    const parts = serializeJsonRpcBodyParts(rpc);
    // The arguments stretch is the client's memory, not a copy.
    expect(parts.some((part) => part.buffer === bytes.buffer && part.length > 100_000)).toBe(true);
    const out = Buffer.concat(parts).toString('utf8');
    expect(JSON.parse(out)).toEqual(rpc.value);
    expect(out.startsWith(text.slice(0, text.indexOf('"_meta"')))).toBe(true);
  });
});
