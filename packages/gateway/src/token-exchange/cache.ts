/**
 * The exchanged-token cache: keyed by a SHA-256 of the subject token, the target, the scope and
 * the client (never the raw token), entries live until the token's expiry minus a skew, one
 * exchange in flight per key (concurrent requests of one user wait for it), bounded with LRU
 * eviction, and optionally shared through an `IdentityStore` with the tokens AES-256-GCM
 * encrypted at rest.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { TokenExchangeAuditRecord } from '@mcp-identity/core/internal';
import type { ExchangedToken } from './client.js';
import type { TokenExchangeConfig } from './options.js';

/** A token ready to forward. */
export interface CachedToken {
  readonly token: string;
  /** base64url SHA-256 of `token`, for the assertion's `dtk.ath`. */
  readonly ath: string;
  /** Milliseconds since the epoch after which it is not reused; undefined: not cacheable. */
  readonly reuseUntil: number | undefined;
}

/** What one lookup found. */
export interface CacheResult {
  readonly entry: CachedToken;
  readonly cache: TokenExchangeAuditRecord['cache'];
}

/** Obtains a token on a miss. */
export type Fill = () => Promise<ExchangedToken>;

const STORE_PREFIX = 'tx:';

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** Builds the cache of one upstream's exchange. */
export function createTokenCache(config: TokenExchangeConfig): (subjectToken: string, fill: Fill) => CacheResult | Promise<CacheResult> {
  const entries = new Map<string, CachedToken>();
  const flights = new Map<string, Promise<CachedToken>>();
  // The constant part of the key, hashed with each subject token.
  const scopeOfKey = `\0${config.tokenEndpoint ?? config.issuer ?? ''}\0${config.clientId}\0${config.target}\0${config.scope ?? ''}\0${config.requestedTokenType}`;

  function remember(key: string, entry: CachedToken): void {
    if (entry.reuseUntil === undefined || entry.reuseUntil <= config.clock()) return;
    entries.delete(key);
    entries.set(key, entry);
    while (entries.size > config.maxEntries) entries.delete(entries.keys().next().value as string);
  }

  function entryOf(exchanged: ExchangedToken): CachedToken {
    return Object.freeze({
      token: exchanged.token,
      ath: tokenHash(exchanged.token),
      reuseUntil: exchanged.expiresAt === undefined ? undefined : exchanged.expiresAt - config.skewMs,
    });
  }

  function seal(key: string, exchanged: ExchangedToken): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', config.encryptionKey as Buffer, iv);
    // The key is authenticated too: an entry copied under another key does not decrypt.
    cipher.setAAD(Buffer.from(key));
    const plain = Buffer.from(JSON.stringify({ t: exchanged.token, e: exchanged.expiresAt }));
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return `v1.${sealed.toString('base64url')}`;
  }

  function open(key: string, value: string): ExchangedToken | undefined {
    if (!value.startsWith('v1.')) return undefined;
    const sealed = Buffer.from(value.slice(3), 'base64url');
    if (sealed.length < 12 + 16 + 1) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', config.encryptionKey as Buffer, sealed.subarray(0, 12));
      decipher.setAAD(Buffer.from(key));
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      const plain = Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
      const parsed = JSON.parse(plain.toString('utf8')) as { t?: unknown; e?: unknown };
      if (typeof parsed.t !== 'string' || typeof parsed.e !== 'number') return undefined;
      return { token: parsed.t, expiresAt: parsed.e };
    } catch {
      return undefined;
    }
  }

  async function fromStore(key: string): Promise<CachedToken | undefined> {
    const store = config.store;
    if (store === undefined) return undefined;
    try {
      const value = await store.get(STORE_PREFIX + key);
      const exchanged = value === undefined ? undefined : open(key, value);
      if (exchanged === undefined) return undefined;
      const entry = entryOf(exchanged);
      return entry.reuseUntil !== undefined && entry.reuseUntil > config.clock() ? entry : undefined;
    } catch (error) {
      config.logger.warn(
        `mcp-identity: the shared token-exchange cache is unavailable (${error instanceof Error ? error.name : 'error'}); exchanging`,
      );
      return undefined;
    }
  }

  async function toStore(key: string, exchanged: ExchangedToken, entry: CachedToken): Promise<void> {
    const store = config.store;
    if (store === undefined || entry.reuseUntil === undefined) return;
    const ttlMs = Math.floor(entry.reuseUntil - config.clock());
    if (ttlMs < 1000) return;
    try {
      await store.setIfAbsent(STORE_PREFIX + key, seal(key, exchanged), ttlMs);
    } catch (error) {
      config.logger.warn(`mcp-identity: the shared token-exchange cache is unavailable (${error instanceof Error ? error.name : 'error'})`);
    }
  }

  // A hit answers synchronously: no promise, timer or abort signal on the hot path.
  return function lookup(subjectToken, fill) {
    const key = createHash('sha256').update(subjectToken).update(scopeOfKey).digest('base64url');
    const cached = entries.get(key);
    if (cached !== undefined) {
      if (cached.reuseUntil !== undefined && cached.reuseUntil > config.clock()) {
        // Most recently used last.
        entries.delete(key);
        entries.set(key, cached);
        return { entry: cached, cache: 'hit' };
      }
      entries.delete(key);
    }
    return obtain(key, fill);
  };

  async function obtain(key: string, fill: Fill): Promise<CacheResult> {
    const pending = flights.get(key);
    if (pending !== undefined) return { entry: await pending, cache: 'hit' };
    let kind: CacheResult['cache'] = 'miss';
    const flight = (async (): Promise<CachedToken> => {
      const shared = await fromStore(key);
      if (shared !== undefined) {
        kind = 'shared';
        remember(key, shared);
        return shared;
      }
      const exchanged = await fill();
      const entry = entryOf(exchanged);
      remember(key, entry);
      await toStore(key, exchanged, entry);
      return entry;
    })();
    flights.set(key, flight);
    try {
      return { entry: await flight, cache: kind };
    } finally {
      flights.delete(key);
    }
  }
}
