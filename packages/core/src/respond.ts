import type { ServerResponse } from 'node:http';
import { toJsonRpcError } from './errors.js';
import type { IdentityError } from './errors.js';

/**
 * Answers a refusal: the error's HTTP status, a JSON-RPC error body, `Cache-Control: no-store`
 * and the error's own headers. When the response has already started it is cut instead.
 */
export function writeIdentityError(res: ServerResponse, error: IdentityError): void {
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
