/**
 * A key source backed by the gateway's JWKS URL. The URL is pinned in configuration;
 * nothing in a token can make this fetch anything else.
 *
 * - The set is fetched on first use, with a timeout, and cached.
 * - An unknown `kid` triggers a re-fetch at most once per cool-down.
 * - After `maxAgeMs` the set is refreshed in the background while the cached keys keep serving.
 * - When the endpoint is down, the cached keys keep serving; only a receiver that never
 *   got a set answers 503 `keys_unavailable`.
 */
import { createPublicKey } from 'node:crypto';
import { IdentityError } from './errors.js';
import { isValidKid, jwkThumbprint } from './keys.js';
import type { ImportedKey } from './keys.js';
import type { KeySource } from './key-source.js';
import type { JwsHeader } from './jws.js';

/** Options of {@link createRemoteKeySet}. */
export interface RemoteKeySetOptions {
  /** Time allowed for one fetch, in milliseconds. Default 5000. */
  readonly timeoutMs?: number;
  /** Least time between two fetches caused by unknown `kid`s, in milliseconds. Default 30 000. */
  readonly cooldownMs?: number;
  /** Age after which the set is refreshed, in milliseconds. Default 300 000. */
  readonly maxAgeMs?: number;
  /** The fetch to use. Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
  /** Current time in milliseconds. Default `Date.now`. */
  readonly clock?: () => number;
  /** Told about each failed fetch (the cached keys keep serving). Default: ignored. */
  readonly onError?: (error: Error) => void;
}

/** A {@link KeySource} that also reports what it holds. */
export interface RemoteKeySet extends KeySource {
  /** Fetches now (joining a fetch in flight). Resolves when done; never rejects. */
  refresh(): Promise<void>;
  /** The `kid`s currently cached. */
  readonly kids: readonly string[];
}

const MAX_JWKS_BYTES = 512 * 1024;

function importJwk(jwk: unknown): ImportedKey | undefined {
  if (typeof jwk !== 'object' || jwk === null) return undefined;
  const k = jwk as Record<string, unknown>;
  // Private or symmetric material has no business in a JWKS: such entries are ignored.
  if (k.d !== undefined || k.k !== undefined) return undefined;
  if (k.use !== undefined && k.use !== 'sig') return undefined;
  const alg = k.kty === 'OKP' && k.crv === 'Ed25519' ? 'EdDSA' : k.kty === 'EC' && k.crv === 'P-256' ? 'ES256' : undefined;
  if (alg === undefined || (k.alg !== undefined && k.alg !== alg)) return undefined;
  if (typeof k.x !== 'string' || (alg === 'ES256' && typeof k.y !== 'string')) return undefined;
  const members =
    alg === 'EdDSA'
      ? { kty: 'OKP' as const, crv: 'Ed25519' as const, x: k.x }
      : { kty: 'EC' as const, crv: 'P-256' as const, x: k.x, y: k.y as string };
  try {
    const key = createPublicKey({ key: members, format: 'jwk' });
    const kid = typeof k.kid === 'string' && isValidKid(k.kid) ? k.kid : jwkThumbprint(members);
    return Object.freeze({ alg, kid, key });
  } catch {
    return undefined;
  }
}

function positive(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new TypeError(`${option} must be a positive number of milliseconds`);
  return value;
}

/**
 * Creates a key source for a JWKS URL (`http:` or `https:`). Construction only validates;
 * the first verification fetches.
 */
export function createRemoteKeySet(url: string | URL, options: RemoteKeySetOptions = {}, option = 'jwksUrl'): RemoteKeySet {
  let endpoint: URL;
  try {
    endpoint = new URL(url);
  } catch {
    throw new TypeError(`${option} must be an absolute http(s) URL`);
  }
  if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:') throw new TypeError(`${option} must be an absolute http(s) URL`);
  const timeoutMs = positive(options.timeoutMs, 'jwks.timeoutMs', 5000);
  const cooldownMs = positive(options.cooldownMs, 'jwks.cooldownMs', 30_000);
  const maxAgeMs = positive(options.maxAgeMs, 'jwks.maxAgeMs', 300_000);
  const doFetch = options.fetch ?? globalThis.fetch;
  const clock = options.clock ?? Date.now;
  const onError = options.onError ?? (() => undefined);

  let keys: readonly ImportedKey[] | undefined;
  let fetchedAt = -Infinity;
  let attemptedAt = -Infinity;
  let inFlight: Promise<void> | undefined;

  async function load(): Promise<void> {
    attemptedAt = clock();
    const response = await doFetch(endpoint, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`the JWKS endpoint answered ${response.status}`);
    const text = await response.text();
    if (text.length > MAX_JWKS_BYTES) throw new Error('the JWKS is too large');
    const parsed = JSON.parse(text) as unknown;
    const list = typeof parsed === 'object' && parsed !== null ? (parsed as { keys?: unknown }).keys : undefined;
    if (!Array.isArray(list)) throw new Error('the JWKS has no keys array');
    keys = Object.freeze(list.map(importJwk).filter((key): key is ImportedKey => key !== undefined));
    fetchedAt = clock();
  }

  function refresh(): Promise<void> {
    inFlight ??= load()
      .catch((error: unknown) => onError(error instanceof Error ? error : new Error(String(error))))
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  function select(header: JwsHeader): readonly ImportedKey[] {
    return (keys ?? []).filter((key) => key.alg === header.alg && (header.kid === undefined || key.kid === header.kid));
  }

  return {
    refresh,
    get kids() {
      return (keys ?? []).flatMap((key) => (key.kid === undefined ? [] : [key.kid]));
    },
    async keysFor(header) {
      if (keys === undefined) {
        await refresh();
        if (keys === undefined) throw new IdentityError('keys_unavailable', 'the gateway keys could not be fetched');
      } else if (clock() - fetchedAt >= maxAgeMs) {
        void refresh();
      }
      const found = select(header);
      if (found.length > 0 || header.kid === undefined || clock() - attemptedAt < cooldownMs) return found;
      await refresh();
      return select(header);
    },
  };
}
