/**
 * The token exchange of one upstream, for `propagateIdentity`: finds the request's subject
 * token, returns a cached or freshly exchanged token for the target, bounded in time.
 */
import type { IncomingMessage } from 'node:http';
import { IdentityError } from '@mcp-identity/core/internal';
import type { TokenExchangeAuditRecord } from '@mcp-identity/core/internal';
import { createTokenCache } from './cache.js';
import type { CacheResult } from './cache.js';
import { createExchangeClient } from './client.js';
import { resolveTokenExchangeOptions } from './options.js';
import { subjectTokenOf } from './subject-token.js';
import type { TokenExchangeOptions } from './options.js';

/** The token forwarded with one request. */
export interface DelegatedToken {
  readonly token: string;
  /** The assertion's `dtk` claim. */
  readonly claim: { readonly ath: string; readonly aud: string };
  readonly audit: TokenExchangeAuditRecord;
}

/** Obtains the delegated token of a request; undefined: forward without one (`onMissingToken: "forward-without"`). */
export type TokenExchanger = (req: IncomingMessage) => Promise<DelegatedToken | undefined>;

/** Validates the options now and returns the exchanger. */
export function createTokenExchanger(options: TokenExchangeOptions): TokenExchanger {
  const config = resolveTokenExchangeOptions(options);
  const exchange = createExchangeClient(config);
  const lookup = createTokenCache(config);
  return async function exchangeTokenFor(req) {
    const subject = subjectTokenOf(req);
    if (subject === undefined) {
      if (!config.refuseMissing) return undefined;
      throw new IdentityError(
        'token_exchange_unsupported_login',
        'this upstream needs a login with an OAuth access token (it is called with a token exchanged for the user)',
      );
    }
    const start = config.clock();
    const holder: { controller?: AbortController } = {};
    const signal = (): AbortSignal => (holder.controller ??= new AbortController()).signal;
    const found = lookup(subject.token, () => exchange(subject.token, signal(), subject.challenge));
    if (!(found instanceof Promise)) return delegated(found, start);
    const controller = (holder.controller ??= new AbortController());
    const timer = setTimeout(() => controller.abort(), config.timeoutMs);
    try {
      // A waiter is bounded too, even when the flight it joined is not its own.
      return delegated(
        await Promise.race([
          found,
          new Promise<never>((_resolve, reject) => {
            controller.signal.addEventListener('abort', () =>
              reject(new IdentityError('token_exchange_timeout', 'the authorization server did not answer in time')),
            );
          }),
        ]),
        start,
      );
    } finally {
      clearTimeout(timer);
    }
  };

  function delegated(result: CacheResult, start: number): DelegatedToken {
    return {
      token: result.entry.token,
      claim: { ath: result.entry.ath, aud: config.target },
      audit: { cache: result.cache, latencyMs: Math.max(0, config.clock() - start), target: config.target },
    };
  }
}
