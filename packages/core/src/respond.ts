import type { ServerResponse } from 'node:http';
import { toJsonRpcError } from './errors.js';
import type { IdentityError, IdentityErrorCode } from './errors.js';

// The refusal written on each response, so an audit taken when the response ends knows why.
const refusals = new WeakMap<ServerResponse, IdentityErrorCode>();

/**
 * Answers a refusal: the error's HTTP status, a JSON-RPC error body, `Cache-Control: no-store`
 * and the error's own headers. When the response has already started it is cut instead.
 */
export function writeIdentityError(res: ServerResponse, error: IdentityError): void {
  refusals.set(res, error.code);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(toJsonRpcError(error));
  res.statusCode = error.status;
  for (const [name, value] of Object.entries(error.headers ?? {})) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

/** The code of the refusal {@link writeIdentityError} wrote (or cut) on this response, if any. */
export function refusalOf(res: ServerResponse): IdentityErrorCode | undefined {
  return refusals.get(res);
}
