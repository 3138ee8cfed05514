/**
 * What never leaves the gateway: client-supplied identity headers in every spelling,
 * client credentials (no token passthrough), hop-by-hop headers and whatever the client
 * listed in `Connection`, and credential query parameters.
 */
import type { ClientRequest } from 'node:http';
import { canonicalHeaderName, SESSION_HEADER } from '@mcp-identity/core/internal';
import type { GatewayConfig } from './options.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'transfer-encoding',
  'http2-settings',
]);
// Removing these because the client listed them in Connection would change how the signed body is read.
const FRAMING = new Set(['host', 'content-type', 'content-length']);

/** Tells whether a canonical header name (`canonicalHeaderName`) is identity the gateway alone may set. */
function isIdentityName(c: string, config: GatewayConfig): boolean {
  if (config.stripExact.has(c)) return true;
  for (const prefix of config.stripPrefixes) if (c.startsWith(prefix)) return true;
  return false;
}

/** The request id header the gateway sets itself, after the stripping. */
const REQUEST_ID = 'x-request-id';

/**
 * Removes, from an outgoing request, every header the upstream must not receive from the client,
 * and the client's `X-Request-Id` in any spelling (the gateway sets its own afterwards).
 */
export function stripOutgoingHeaders(proxyReq: ClientRequest, config: GatewayConfig): void {
  const connection = proxyReq.getHeader('connection');
  let listed: Set<string> | undefined;
  for (const value of Array.isArray(connection) ? connection : connection === undefined ? [] : [String(connection)]) {
    for (const token of value.split(',')) {
      const name = canonicalHeaderName(token.trim());
      if (name.length > 0 && !FRAMING.has(name)) (listed ??= new Set()).add(name);
    }
  }
  for (const name of proxyReq.getHeaderNames()) {
    const c = canonicalHeaderName(name);
    // `mcp_session_id`: the upstream must read the session id the gateway checked, or none.
    const sessionVariant = c === SESSION_HEADER && name !== SESSION_HEADER;
    if (HOP_BY_HOP.has(c) || listed?.has(c) === true || isIdentityName(c, config) || sessionVariant || c === REQUEST_ID)
      proxyReq.removeHeader(name);
  }
}

function paramName(pair: string): string | undefined {
  const raw = pair.split('=', 1)[0] ?? '';
  try {
    return decodeURIComponent(raw.replaceAll('+', ' ')).toLowerCase();
  } catch {
    return undefined;
  }
}

/** Removes credential query parameters (any case, percent-encoded or not) from a path and query. */
export function stripCredentialParams(path: string, params: ReadonlySet<string>): string {
  const q = path.indexOf('?');
  if (q === -1 || params.size === 0) return path;
  const pairs = path.slice(q + 1).split('&');
  const kept = pairs.filter((pair) => {
    const name = paramName(pair);
    // A name that does not even decode cannot be judged: it is dropped rather than forwarded.
    return name !== undefined && !params.has(name);
  });
  if (kept.length === pairs.length) return path;
  return kept.length === 0 ? path.slice(0, q) : `${path.slice(0, q)}?${kept.join('&')}`;
}
