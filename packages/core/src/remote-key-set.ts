/**
 * A key source backed by the gateway's JWKS URL. The URL is pinned in configuration;
 * nothing in a token can make this fetch anything else.
 *
 * - The set is fetched on first use, with a timeout, and cached. At most one fetch is in flight.
 * - Every fetch a verification causes (first use, stale set, unknown `kid`) waits `cooldownMs`
 *   after the previous attempt, success or failure: while the endpoint is down, forged tokens
 *   cost no fetch and no warning beyond one per cool-down, and are answered 503 at once.
 * - An unknown `kid` triggers a re-fetch at most once per cool-down (or joins a fetch in flight).
 * - After `maxAgeMs` the set is refreshed in the background while the cached keys keep serving;
 *   after a failed fetch the next background attempt waits a cool-down.
 * - When the endpoint is down, the cached keys keep serving; only a receiver that never
 *   got a set answers 503 `keys_unavailable`.
 * - A JWKS only ever holds EdDSA and ES256 public keys: a token of any other algorithm
 *   (HS256) is answered with no key, without fetching.
 */
import { createPublicKey } from 'node:crypto';
import { IdentityError } from './errors.js';
import { isValidKid, jwkThumbprint } from './keys.js';
import { functionOption } from './options.js';
import type { ImportedKey } from './keys.js';
import type { KeySource } from './key-source.js';
import type { JwsHeader } from './jws.js';

/** Options of {@link createRemoteKeySet}. */
export interface RemoteKeySetOptions {
  /** Time allowed for one fetch, body included, in milliseconds (an integer). Default 5000. */
  readonly timeoutMs?: number;
  /** Least time between two fetches caused by verifications (first use, stale set, unknown `kid`), in milliseconds. Default 30 000. */
  readonly cooldownMs?: number;
  /** Age after which the set is refreshed, in milliseconds. Default 300 000. */
  readonly maxAgeMs?: number;
  /** The fetch to use. Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
  /** Current time in milliseconds. Default `Date.now`. */
  readonly clock?: () => number;
  /** Told about each failed fetch (the cached keys keep serving). The message never holds key material. Default: ignored. */
  readonly onError?: (error: Error) => void;
}

/** A {@link KeySource} that also reports what it holds. */
export interface RemoteKeySet extends KeySource {
  /** The keys for a token header; rejects with `keys_unavailable` only when no set was ever fetched. */
  keysFor(header: JwsHeader): Promise<readonly ImportedKey[]>;
  /** Fetches now (joining a fetch in flight). Resolves when done; never rejects. */
  refresh(): Promise<void>;
  /** The `kid`s currently cached. */
  readonly kids: readonly string[];
}

const MAX_JWKS_BYTES = 512 * 1024;
// AbortSignal.timeout refuses non-integers, and timers clamp anything larger to 1 ms.
const MAX_TIMEOUT_MS = 2_147_483_647;
const NO_KEYS: readonly ImportedKey[] = Object.freeze([]);

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

function timeout(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > MAX_TIMEOUT_MS)
    throw new TypeError(`${option} must be a positive integer number of milliseconds, at most ${MAX_TIMEOUT_MS}`);
  return value;
}

// fetch may throw errors of another realm (undici's, under a test runner's VM): duck-type them.
function errorLike(value: unknown): { name?: unknown; message?: unknown; code?: unknown; cause?: unknown } | undefined {
  return typeof value === 'object' && value !== null ? value : undefined;
}

/** Why a fetch failed, in a short, key-free message (undici keeps the reason in `cause`). */
function failureMessage(error: unknown, timeoutMs: number): string {
  const outer = errorLike(error);
  if (outer?.name === 'TimeoutError' || outer?.name === 'AbortError') return `the JWKS endpoint did not answer within ${timeoutMs} ms`;
  const inner = errorLike(outer?.cause);
  const reason = inner === undefined ? outer?.message : typeof inner.code === 'string' ? inner.code : inner.message;
  return `the JWKS endpoint could not be reached: ${typeof reason === 'string' ? reason.slice(0, 100) : 'unknown error'}`;
}

/** Reads at most `MAX_JWKS_BYTES` of the body; `failed` wraps a read error (a timeout, a reset). */
async function readBody(response: Response, failed: (error: unknown) => Error): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_JWKS_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error('the JWKS is too large');
  }
  if (response.body === null) return '';
  const reader: ReadableStreamDefaultReader<Uint8Array> = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read().catch((error: unknown) => {
      throw failed(error);
    });
    if (done) break;
    size += value.byteLength;
    if (size > MAX_JWKS_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new Error('the JWKS is too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Creates a key source for a JWKS URL (`http:` or `https:`). Construction only validates;
 * the first verification fetches.
 * @param url - The JWKS URL, e.g. the gateway's `/.well-known/mcp-identity/jwks.json`.
 * @param options - Fetch timeout, cool-down, cache age, `fetch`, `clock` and `onError`.
 * @param option - The option's name, used in error messages. Default `"jwksUrl"`.
 * @returns A key source that fetches and caches the set.
 * @example
 * const keys = createRemoteKeySet('https://gateway.example/.well-known/mcp-identity/jwks.json', { maxAgeMs: 300_000 });
 * const verifier = createAssertionVerifier({ issuer: 'https://gateway.example', audience: 'urn:mcp:files', keys });
 */
export function createRemoteKeySet(url: string | URL, options: RemoteKeySetOptions = {}, option = 'jwksUrl'): RemoteKeySet {
  let endpoint: URL;
  try {
    endpoint = new URL(url);
  } catch {
    throw new TypeError(`${option} must be an absolute http(s) URL`);
  }
  if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:') throw new TypeError(`${option} must be an absolute http(s) URL`);
  // fetch refuses such URLs on every call; say so now, without echoing the credentials.
  if (endpoint.username !== '' || endpoint.password !== '') throw new TypeError(`${option} must not contain credentials`);
  const timeoutMs = timeout(options.timeoutMs, 'jwks.timeoutMs', 5000);
  const cooldownMs = positive(options.cooldownMs, 'jwks.cooldownMs', 30_000);
  const maxAgeMs = positive(options.maxAgeMs, 'jwks.maxAgeMs', 300_000);
  const doFetch = functionOption(options.fetch, 'jwks.fetch', globalThis.fetch);
  const clock = options.clock ?? Date.now;
  const report = functionOption(options.onError, 'onError', () => undefined);
  const onError = (error: Error): void => {
    try {
      report(error);
    } catch {
      // A failing logger must not turn a background refresh into an unhandled rejection.
    }
  };

  let keys: readonly ImportedKey[] | undefined;
  let fetchedAt = -Infinity;
  let attemptedAt = -Infinity;
  let inFlight: Promise<void> | undefined;

  // Every automatic fetch (first use, stale set, unknown kid) waits a cool-down after the last
  // attempt, so a failing endpoint is fetched, and warned about, at most once per cool-down.
  const coolDownOver = (): boolean => clock() - attemptedAt >= cooldownMs;

  const failed = (error: unknown): Error => new Error(failureMessage(error, timeoutMs), { cause: error });

  async function load(): Promise<void> {
    attemptedAt = clock();
    const response = await doFetch(endpoint, {
      headers: { accept: 'application/json' },
      // The URL is pinned: a redirect could lead anywhere, so it is a failure, not followed.
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    }).catch((error: unknown) => {
      throw failed(error);
    });
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new Error(`the JWKS endpoint answered ${response.status}`);
    }
    const text = await readBody(response, failed);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      // JSON.parse quotes the text in its message; the text is not ours to log.
      throw new Error('the JWKS is not valid JSON');
    }
    const list = typeof parsed === 'object' && parsed !== null ? (parsed as { keys?: unknown }).keys : undefined;
    if (!Array.isArray(list)) throw new Error('the JWKS has no keys array');
    keys = Object.freeze(list.map(importJwk).filter((key): key is ImportedKey => key !== undefined));
    fetchedAt = clock();
  }

  function refresh(): Promise<void> {
    inFlight ??= load()
      .catch((error: unknown) => {
        onError(error instanceof Error ? error : new Error('the JWKS fetch failed'));
      })
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
      // Nothing a JWKS holds can verify another algorithm: no fetch for an HS256 token.
      if (header.alg !== 'EdDSA' && header.alg !== 'ES256') return NO_KEYS;
      if (keys === undefined) {
        // Never fetched yet: join a fetch in flight, or start one unless the last attempt was
        // within the cool-down. Otherwise every forged token would cost one fetch (and one
        // warning) while the endpoint is down.
        if (inFlight !== undefined || coolDownOver()) await refresh();
        if (keys === undefined) throw new IdentityError('keys_unavailable', 'the gateway keys could not be fetched');
      } else if (clock() - fetchedAt >= maxAgeMs && coolDownOver()) {
        // Stale: refresh in the background. After a failure, wait a cool-down before the next
        // attempt, or a down endpoint would be fetched once per request.
        void refresh();
      }
      const found = select(header);
      if (found.length > 0 || header.kid === undefined) return found;
      // An unknown kid: a fetch already in flight may bring it, at no extra cost.
      if (inFlight === undefined && !coolDownOver()) return found;
      await refresh();
      return select(header);
    },
  };
}
