import { Strategy } from 'passport-strategy';
import type { Request } from 'express';
import { onlyKnownKeys, optionKeys } from '@mcp-identity/core/internal';
import { singleHeader } from './single-header.js';

/** Looks up the client an API key belongs to; `false`/`null`/`undefined` when unknown. */
export type ApiKeyVerify = (apiKey: string, req: Request) => unknown;

/** Options of {@link ApiKeyStrategy}. */
export interface ApiKeyStrategyOptions {
  /** Header carrying the key. Default `"x-api-key"`. */
  readonly header?: string;
  /** Finds the client for a key. Compare keys in constant time (see `safeEqual`), or look up a hash of the key. */
  readonly verify: ApiKeyVerify;
}

/**
 * A Passport strategy for API keys sent in a header (registered as `"api-key"`).
 * A key sent twice, or under two spellings of the header, is refused.
 * @example
 * passport.use(new ApiKeyStrategy({ verify: (key) => clientsByKeyHash.get(sha256(key)) ?? false }));
 */
export class ApiKeyStrategy extends Strategy {
  readonly name = 'api-key';
  private readonly _header: string;
  private readonly _verify: ApiKeyVerify;

  /**
   * Creates the strategy; a bad option throws a `TypeError` naming it.
   * @param options - `verify` (finds the client for a key; `false`, `null` or `undefined` refuses it) and the `header` name.
   */
  constructor(options: ApiKeyStrategyOptions) {
    super();
    if (typeof options !== 'object' || options === null || typeof options.verify !== 'function') {
      throw new TypeError('verify is required: a function from an API key to its client');
    }
    onlyKnownKeys(options, 'ApiKeyStrategy', optionKeys<ApiKeyStrategyOptions>()(['header', 'verify']));
    const header = options.header ?? 'x-api-key';
    if (typeof header !== 'string' || !/^[A-Za-z0-9-]+$/.test(header)) throw new TypeError('header must be a header name');
    this._header = header.toLowerCase();
    this._verify = options.verify;
  }

  override authenticate(req: Request): void {
    const key = singleHeader(req, this._header);
    if (key === undefined || key.length === 0 || key.length > 1024) {
      this.fail(`ApiKey header="${this._header}"`, 401);
      return;
    }
    Promise.resolve()
      .then(() => this._verify(key, req))
      .then(
        (client) =>
          client === false || client === null || client === undefined
            ? this.fail(`ApiKey header="${this._header}"`, 401)
            : this.success(client),
        (error: unknown) => this.error(error instanceof Error ? error : new Error(String(error))),
      );
  }
}
