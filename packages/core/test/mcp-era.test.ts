import {
  checkModernRequest,
  classifyMcpRequest,
  decodeMcpHeaderValue,
  inspectMcpRequest,
  isModernProtocolVersion,
  readMcpHeaders,
} from '../src/internal.js';

const envelope = (version: unknown): Record<string, unknown> => ({ 'io.modelcontextprotocol/protocolVersion': version });
const call = (meta?: Record<string, unknown>, method = 'tools/call'): Record<string, unknown> => ({
  jsonrpc: '2.0',
  id: 1,
  method,
  params: { name: 'echo', arguments: {}, ...(meta === undefined ? {} : { _meta: meta }) },
});

function codeOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return (error as { code?: unknown }).code;
  }
  return 'no error';
}

describe('isModernProtocolVersion', () => {
  it.each([
    ['2026-07-28', true],
    ['2027-01-01', true],
    ['2025-11-25', false],
    ['2025-06-18', false],
    ['2026-07-27', false],
    ['2026-7-28', false],
    ['9999', false],
    [20260728, false],
    [undefined, false],
  ])('tells %p -> %p', (version, expected) => {
    expect(isModernProtocolVersion(version)).toBe(expected);
  });
});

describe('classifyMcpRequest', () => {
  it.each<[string, unknown, string | undefined, string]>([
    ['a request with a modern envelope', call(envelope('2026-07-28')), undefined, 'modern'],
    ['a request with a legacy envelope', call(envelope('2025-11-25')), undefined, 'legacy'],
    ['initialize', { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25' } }, undefined, 'legacy'],
    ['a request with other _meta keys only', call({ progressToken: 1 }), undefined, 'legacy'],
    ['a request without _meta and a legacy header', call(), '2025-06-18', 'legacy'],
    ['a notification with a modern header', { jsonrpc: '2.0', method: 'notifications/x' }, '2026-07-28', 'modern'],
    ['a response with a modern header', { jsonrpc: '2.0', id: 1, result: {} }, '2026-07-28', 'modern'],
    ['a batch with one modern element', [call(), call(envelope('2026-07-28'))], undefined, 'modern'],
    ['an all-legacy batch', [call(), call()], undefined, 'legacy'],
    ['no body', undefined, '2026-07-28', 'legacy'],
  ])('classifies %s', (_case, body, header, era) => {
    expect(classifyMcpRequest(body, header)).toBe(era);
  });
});

describe('decodeMcpHeaderValue', () => {
  it.each<[string, string | undefined]>([
    ['us-west1', 'us-west1'],
    ['=?base64?SGVsbG8sIOS4lueVjA==?=', 'Hello, 世界'],
    ['=?base64?IHBhZGRlZCA=?=', ' padded '],
    ['=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=', '=?base64?literal?='],
    ['=?base64?SGVsbG8?=', undefined],
    ['=?base64?not base64?=', undefined],
    ['=?base64?/w==?=', undefined],
    ['=?BASE64?SGk=?=', '=?BASE64?SGk=?='],
  ])('decodes %p', (value, decoded) => {
    expect(decodeMcpHeaderValue(value)).toBe(decoded);
  });
});

describe('readMcpHeaders', () => {
  it('reads the standard headers case-insensitively, trimmed, and Mcp-Param-* by lower-case name', () => {
    expect(
      readMcpHeaders(['MCP-Protocol-Version', ' 2026-07-28 ', 'mcp-method', 'tools/call', 'MCP-NAME', 'echo', 'Mcp-Param-my_Field', 'x']),
    ).toEqual({ protocolVersion: '2026-07-28', method: 'tools/call', name: 'echo', params: new Map([['my_field', 'x']]) });
  });

  it.each([
    ['a repeated Mcp-Method', ['Mcp-Method', 'a', 'mcp-method', 'a']],
    ['a repeated Mcp-Param-X', ['Mcp-Param-X', '1', 'mcp-param-x', '1']],
    ['Mcp_Name', ['Mcp_Name', 'a']],
    ['MCP_Protocol_Version', ['MCP_Protocol_Version', '2026-07-28']],
    ['Mcp-Param_X', ['Mcp-Param_X', '1']],
    ['a control character', ['Mcp-Name', 'a\u0001b']],
  ])('refuses %s with mcp_header_mismatch', (_case, raw) => {
    expect(codeOf(() => readMcpHeaders(raw))).toBe('mcp_header_mismatch');
  });
});

describe('checkModernRequest', () => {
  const headers = (overrides: Partial<ReturnType<typeof readMcpHeaders>> = {}): ReturnType<typeof readMcpHeaders> => ({
    protocolVersion: '2026-07-28',
    method: 'tools/call',
    name: 'echo',
    params: new Map(),
    ...overrides,
  });

  it('accepts a request whose headers match its body', () => {
    expect(codeOf(() => checkModernRequest(call(envelope('2026-07-28')), headers()))).toBe('no error');
  });

  it('refuses a client response with mcp_message_refused', () => {
    expect(codeOf(() => checkModernRequest({ jsonrpc: '2.0', id: 1, result: {} }, headers()))).toBe('mcp_message_refused');
  });

  it('refuses a mismatched Mcp-Name with mcp_header_mismatch', () => {
    expect(codeOf(() => checkModernRequest(call(envelope('2026-07-28')), headers({ name: 'other' })))).toBe('mcp_header_mismatch');
  });

  it('refuses an Mcp-Name on a method that has no name', () => {
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: envelope('2026-07-28') } };
    expect(codeOf(() => checkModernRequest(list, headers({ method: 'tools/list' })))).toBe('mcp_header_mismatch');
  });
});

describe('inspectMcpRequest', () => {
  it('refuses a hostile spelling on a legacy request too', () => {
    expect(codeOf(() => inspectMcpRequest(call(), ['Mcp_Method', 'tools/call']))).toBe('mcp_header_mismatch');
  });

  it('does not check the headers of a legacy request', () => {
    expect(inspectMcpRequest(call(), ['Mcp-Method', 'tools/list'])).toBe('legacy');
  });
});
