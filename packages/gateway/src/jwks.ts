import { createHash } from 'node:crypto';
import { objectOption, onlyKnownKeys, optionKeys, positiveInteger, publicJwksOf } from '@mcp-identity/core/internal';
import type { PublicJwk, SigningKey } from '@mcp-identity/core/internal';
import type { Request, RequestHandler, Response } from 'express';

/** Options of {@link jwks}. */
export interface JwksOptions {
  /** `Cache-Control: max-age` in seconds. Default 300. Keep it under the receivers' refresh interval. */
  readonly maxAgeSeconds?: number;
}

/**
 * An Express handler serving the public JWKS of the gateway's signing keys, active and
 * published-but-inactive alike. Private and symmetric keys are never in it. Mount it where
 * receivers' `jwksUrl` points, e.g. `/.well-known/mcp-identity/jwks.json`.
 * @param keys - The gateway's signing keys (only the EdDSA/ES256 public halves are served).
 * @param options - `maxAgeSeconds` of the `Cache-Control` header. Default 300.
 * @returns The Express handler.
 * @example
 * const keys = [{ alg: 'EdDSA', privateKey: pem, active: true }] as const;
 * app.get('/.well-known/mcp-identity/jwks.json', jwks(keys));
 * app.use('/mcp/files', authenticate(['jwt']), propagateIdentity({ target, audience, issuer, signing: keys }));
 */
export function jwks(keys: SigningKey | readonly SigningKey[], options: JwksOptions = {}): RequestHandler {
  return createJwksHandler(publicJwksOf(keys, 'keys'), options);
}

/** The one implementation behind {@link jwks} and `createGateway().jwks`: serves keys already imported. */
export function createJwksHandler(publicJwks: readonly PublicJwk[], options: JwksOptions = {}): RequestHandler {
  onlyKnownKeys(objectOption(options, 'jwks options', '{ maxAgeSeconds? }'), 'jwks', optionKeys<JwksOptions>()(['maxAgeSeconds']));
  const body = JSON.stringify({ keys: publicJwks });
  const maxAge = positiveInteger(options.maxAgeSeconds, 'maxAgeSeconds', 300);
  const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
  const cacheControl = `public, max-age=${maxAge}`;
  return function jwksHandler(req: Request, res: Response): void {
    res.setHeader('cache-control', cacheControl);
    res.setHeader('etag', etag);
    if (req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    res.setHeader('content-type', 'application/jwk-set+json; charset=utf-8');
    res.send(body);
  };
}
