/**
 * Reads a request body into memory, bounded: a declared or actual size over the limit is
 * a 413, and gzip/deflate are decoded with the same bound on the decoded size (a
 * decompression bomb stops at the limit). Works on any `node:http` request.
 */
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import type { IncomingMessage } from 'node:http';
import { IdentityError } from './errors.js';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** Default body limit: 4 MiB. */
export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;

/** Options of {@link readRequestBody}. */
export interface ReadBodyOptions {
  /** Largest body accepted, in bytes, before and after decoding. */
  readonly limit: number;
  /** Decode `Content-Encoding: gzip | deflate`; otherwise any encoding is a 415. Default true. */
  readonly decode?: boolean;
}

/** A body read into memory. */
export interface ReadBody {
  readonly bytes: Buffer;
  /** True when a `Content-Encoding` was decoded, so the bytes differ from the wire. */
  readonly decoded: boolean;
}

/** Tells whether a request carries a body (a non-zero `Content-Length` or any `Transfer-Encoding`). */
export function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Tells whether someone else already consumed the request stream. */
export function isBodyConsumed(req: IncomingMessage): boolean {
  return req.readableEnded || req.readableDidRead;
}

function tooLarge(limit: number): IdentityError {
  return new IdentityError('body_too_large', `the request body is larger than ${limit} bytes`, { headers: { connection: 'close' } });
}

function collect(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onError = (cause: Error): void => {
      cleanup();
      reject(new IdentityError('invalid_request', 'the request body could not be read', { cause }));
    };
    const onAborted = (): void => onError(new Error('request aborted'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/**
 * Reads the body of `req`.
 * @throws IdentityError `body_too_large` (413), `unsupported_encoding` (415), `parse_error` (400, corrupt compressed data).
 */
export async function readRequestBody(req: IncomingMessage, options: ReadBodyOptions): Promise<ReadBody> {
  const { limit } = options;
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const decoder =
    encoding === 'identity'
      ? undefined
      : encoding === 'gzip' || encoding === 'x-gzip'
        ? gunzipAsync
        : encoding === 'deflate'
          ? inflateAsync
          : null;
  if (decoder === null || (decoder !== undefined && options.decode === false)) {
    throw new IdentityError('unsupported_encoding', 'the request Content-Encoding is not supported (use gzip, deflate or none)');
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const raw = await collect(req, limit);
  if (decoder === undefined) return { bytes: raw, decoded: false };
  try {
    return { bytes: await decoder(raw, { maxOutputLength: limit }), decoded: true };
  } catch (cause) {
    if ((cause as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limit);
    throw new IdentityError('parse_error', 'the compressed request body is corrupt', { cause });
  }
}
