/**
 * The body the receiver verifies: read once, bounded, and handed on parsed in `req.body`
 * so the MCP SDK (`transport.handleRequest(req, res, req.body)`) and `express.json()`
 * placed after the receiver both keep working. When a body parser ran first, its
 * `req.body` is used instead.
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { hasRequestBody, isBodyConsumed, isJsonContentType, parseJsonBytes, readRequestBody } from '@mcp-identity/core/internal';

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
  // Bytes that are not UTF-8 are digested raw (the spec), never decoded with replacement characters.
  if (!isUtf8(bytes)) return undefined;
  try {
    // As JSON.parse of the decoded text, but long string values are decoded from their own bytes
    // (no decoded copy of the whole body) and the digest hashes those bytes. Plain data
    // properties: `req.body` is the application's.
    return parseJsonBytes(bytes).value;
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
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    // express.raw() leaves a Buffer, express.text() a string: a JSON one is digested as JSON (JCS).
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const value = json ? parse(bytes) : undefined;
    return { bytes, json: value, isJson: json && value !== undefined, available: true };
  }
  if (body !== undefined && json) return { bytes: undefined, json: body, isJson: true, available: true };
  // No bytes and no JSON (e.g. express.urlencoded() ran): a body was sent but nothing is left to verify.
  return hasRequestBody(req) ? { ...NONE, available: false } : NONE;
}
