/**
 * The body the receiver verifies: read once, bounded, and handed on parsed in `req.body`
 * so the MCP SDK (`transport.handleRequest(req, res, req.body)`) and `express.json()`
 * placed after the receiver both keep working. When a body parser ran first, its
 * `req.body` is used instead.
 */
import type { IncomingMessage } from 'node:http';
import { hasRequestBody, isBodyConsumed, isJsonContentType, readRequestBody } from '@mcp-identity/core';

/** What the receiver knows of the body. */
export interface ReceivedBody {
  /** The raw bytes, when available. */
  readonly bytes: Buffer | undefined;
  /** The parsed JSON value, for a JSON body that parses. */
  readonly json: unknown;
  /** True for a JSON content type whose value is known. */
  readonly isJson: boolean;
  /** False when someone consumed the stream and left nothing to verify. */
  readonly available: boolean;
}

const NONE: ReceivedBody = { bytes: undefined, json: undefined, isJson: false, available: true };

function parse(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Reads (or finds) the request body. */
export async function receiveBody(req: IncomingMessage & { body?: unknown }, limit: number): Promise<ReceivedBody> {
  const json = isJsonContentType(req.headers['content-type']);
  if (!isBodyConsumed(req)) {
    if (!hasRequestBody(req)) return NONE;
    const { bytes } = await readRequestBody(req, { limit });
    if (bytes.length === 0) return NONE;
    const value = json ? parse(bytes) : undefined;
    if (value !== undefined) req.body = value;
    return { bytes, json: value, isJson: json && value !== undefined, available: true };
  }
  const body = req.body;
  if (Buffer.isBuffer(body)) {
    const value = json ? parse(body) : undefined;
    return { bytes: body, json: value, isJson: json && value !== undefined, available: true };
  }
  if (typeof body === 'string') return { bytes: Buffer.from(body), json: undefined, isJson: false, available: true };
  if (body !== undefined) return { bytes: undefined, json: body, isJson: json, available: true };
  return hasRequestBody(req) ? { ...NONE, available: false } : NONE;
}
