import { IdentityError, errorCodes, isIdentityError, safeEqual, toJsonRpcError } from '../src/internal.js';
import type { IdentityErrorCode } from '../src/internal.js';

// The documented contract: HTTP semantics (RFC 9110) for the status, JSON-RPC 2.0 for the
// code (-32700 parse error, -32600 invalid request, -32602 invalid params, -32603 internal
// error, -32000..-32099 implementation-defined server errors for authentication).
const documented: Record<IdentityErrorCode, readonly [status: number, rpcCode: number]> = {
  unauthenticated: [401, -32001],
  forbidden: [403, -32003],
  insufficient_scope: [403, -32003],
  auth_unavailable: [503, -32603],
  user_context_invalid: [500, -32603],
  body_too_large: [413, -32600],
  unsupported_media_type: [415, -32600],
  unsupported_encoding: [415, -32600],
  parse_error: [400, -32700],
  invalid_request: [400, -32600],
  invalid_params: [400, -32602],
  body_unavailable: [500, -32603],
  upstream_unavailable: [502, -32603],
  upstream_timeout: [504, -32603],
  response_too_large: [502, -32603],
  upstream_aborted: [502, -32603],
  path_invalid: [400, -32600],
  claims_limit_exceeded: [403, -32003],
  token_exchange_unsupported_login: [403, -32003],
  token_exchange_rejected: [401, -32001],
  token_exchange_unavailable: [502, -32603],
  token_exchange_timeout: [504, -32603],
  delegated_token_missing: [401, -32001],
  delegated_token_mismatch: [401, -32001],
  session_not_found: [404, -32001],
  identity_too_large: [431, -32001],
  mcp_header_mismatch: [400, -32020],
  mcp_message_refused: [400, -32600],
  identity_missing: [401, -32001],
  identity_invalid: [401, -32001],
  identity_expired: [401, -32001],
  identity_replayed: [401, -32001],
  identity_audience: [401, -32001],
  identity_issuer: [401, -32001],
  identity_binding: [401, -32001],
  identity_mismatch: [401, -32001],
  identity_forbidden: [403, -32003],
  keys_unavailable: [503, -32603],
  store_unavailable: [503, -32603],
};
const table = Object.entries(documented) as [IdentityErrorCode, readonly [number, number]][];

describe('errorCodes', () => {
  it('lists exactly the documented codes', () => {
    expect(Object.keys(errorCodes).sort()).toEqual(Object.keys(documented).sort());
  });

  it.each(table)('maps %s to its documented status and JSON-RPC code', (code, [status, rpcCode]) => {
    expect(errorCodes[code]).toEqual({ status, rpcCode });
  });

  it('is frozen, entries included', () => {
    expect(Object.isFrozen(errorCodes)).toBe(true);
    expect(Object.isFrozen(errorCodes.identity_invalid)).toBe(true);
  });
});

describe('IdentityError', () => {
  it.each(table)('carries status and rpcCode for %s', (code, [status, rpcCode]) => {
    const error = new IdentityError(code, 'refused');
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.statusCode).toBe(status);
    expect(error.rpcCode).toBe(rpcCode);
  });

  it('is named IdentityError, exposes its message and keeps cause and headers', () => {
    const cause = new Error('underlying');
    const error = new IdentityError('unauthenticated', 'log in first', { cause, headers: { 'www-authenticate': 'Bearer' } });
    expect(error.name).toBe('IdentityError');
    expect(error.message).toBe('log in first');
    expect(error.expose).toBe(true);
    expect(error.cause).toBe(cause);
    expect(error.headers).toEqual({ 'www-authenticate': 'Bearer' });
  });

  it('has no cause property when none is given', () => {
    const error = new IdentityError('forbidden', 'no');
    expect(Object.hasOwn(error, 'cause')).toBe(false);
    expect(error.headers).toBeUndefined();
  });

  it('keeps a falsy cause', () => {
    expect(new IdentityError('forbidden', 'no', { cause: 0 }).cause).toBe(0);
  });
});

describe('toJsonRpcError', () => {
  it('builds a JSON-RPC 2.0 error response with a null id and the code in data', () => {
    const error = new IdentityError('identity_expired', 'the assertion has expired', { cause: new Error('secret detail') });
    expect(toJsonRpcError(error)).toStrictEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32001, message: 'the assertion has expired', data: { code: 'identity_expired' } },
    });
  });

  it('never serializes the cause', () => {
    const error = new IdentityError('keys_unavailable', 'keys are unavailable', { cause: new Error('secret detail') });
    expect(JSON.stringify(toJsonRpcError(error))).not.toContain('secret detail');
  });
});

describe('isIdentityError', () => {
  it('recognizes an IdentityError', () => {
    expect(isIdentityError(new IdentityError('identity_missing', 'x'))).toBe(true);
  });

  it('recognizes a look-alike from another copy of the package', () => {
    class IdentityError extends Error {
      override readonly name = 'IdentityError';
      readonly code = 'identity_replayed';
    }
    expect(isIdentityError(new IdentityError('replayed'))).toBe(true);
    expect(isIdentityError(Object.assign(new Error('x'), { name: 'IdentityError', code: 'store_unavailable' }))).toBe(true);
  });

  it.each([
    ['an unknown code', Object.assign(new Error('x'), { name: 'IdentityError', code: 'identity_bogus' })],
    ['an inherited property name as code', Object.assign(new Error('x'), { name: 'IdentityError', code: 'toString' })],
    ['__proto__ as code', Object.assign(new Error('x'), { name: 'IdentityError', code: '__proto__' })],
    ['a mixed-case code', Object.assign(new Error('x'), { name: 'IdentityError', code: 'Identity_Invalid' })],
    ['a non-string code', Object.assign(new Error('x'), { name: 'IdentityError', code: 401 })],
    ['no code', Object.assign(new Error('x'), { name: 'IdentityError' })],
    ['another error name', Object.assign(new Error('x'), { name: 'TypeError', code: 'identity_invalid' })],
    ['a plain object', { name: 'IdentityError', code: 'identity_invalid', message: 'x' }],
    ['a null-prototype object', Object.assign(Object.create(null) as object, { name: 'IdentityError', code: 'identity_invalid' })],
    ['null', null],
    ['undefined', undefined],
    ['a string', 'IdentityError'],
  ])('is false for %s', (_label, value) => {
    expect(isIdentityError(value)).toBe(false);
  });
});

describe('safeEqual', () => {
  it('is true for equal strings', () => {
    expect(safeEqual('s3cr3t-value', 's3cr3t-value')).toBe(true);
  });

  it.each([
    ['a different value of the same length', 's3cr3t-value', 's3cr3t-valuf'],
    ['a prefix', 's3cr3t-value', 's3cr3t'],
    ['a longer value', 's3cr3t', 's3cr3t-value'],
    ['an empty string', '', 'x'],
    ['different case', 'Secret', 'secret'],
  ])('is false for %s', (_label, a, b) => {
    expect(safeEqual(a, b)).toBe(false);
  });

  it('compares bytes, so a string equals its UTF-8 bytes', () => {
    expect(safeEqual('José', new Uint8Array(Buffer.from('José', 'utf8')))).toBe(true);
    expect(safeEqual('José', new Uint8Array(Buffer.from('José', 'latin1')))).toBe(false);
  });

  it('is true for two empty values', () => {
    expect(safeEqual('', new Uint8Array(0))).toBe(true);
  });
});
