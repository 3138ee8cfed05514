/**
 * Express <-> fetch for MCP SDK v2, whose HTTP handlers (`createMcpHandler(...).fetch`,
 * `WebStandardStreamableHTTPServerTransport.handleRequest`) take a web `Request` and return a
 * `Response`. (The SDK's own Node adapter lives in `@modelcontextprotocol/node`; this avoids the dependency.)
 */
import type { Request as ExpressRequest, Response as ExpressResponse } from 'express';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'te', 'trailer']);

/**
 * A fetch `Request` for an Express request: same method, URL (from `Host`) and end-to-end headers,
 * `body` as given (the raw bytes, or `req.body` re-serialised when a middleware already parsed it).
 * Aborting `signal` (the client went away) cancels the SDK's work.
 */
export function toFetchRequest(req: ExpressRequest, body: Uint8Array | undefined, signal?: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  const url = new URL(req.originalUrl, `http://${req.headers.host ?? '127.0.0.1'}`);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && body !== undefined;
  return new Request(url, { method: req.method, headers, body: hasBody ? body : undefined, ...(signal === undefined ? {} : { signal }) });
}

/** Writes a fetch `Response` through Express, streaming the body (SSE) as it comes. */
export async function sendFetchResponse(response: Response, res: ExpressResponse): Promise<void> {
  res.status(response.status);
  response.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name)) res.setHeader(name, value);
  });
  if (response.body === null) {
    res.end();
    return;
  }
  res.flushHeaders();
  const reader = response.body.getReader();
  res.on('close', () => {
    void reader.cancel().catch(() => undefined);
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      res.write(value);
    }
  } catch {
    // The client went away or the SDK closed the stream: nothing more to send.
  }
  res.end();
}
