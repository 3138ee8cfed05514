/** Where a verifier finds the key for a token: configured keys, a JWKS URL, or both. */
import type { JwsHeader } from './jws.js';
import type { ImportedKey } from './keys.js';

/** Resolves the candidate keys for a token header. Nothing in the header is fetched or trusted. */
export interface KeySource {
  keysFor(header: JwsHeader): readonly ImportedKey[] | Promise<readonly ImportedKey[]>;
}

/**
 * A fixed set of keys. A token with a `kid` gets the key with that `kid` (or, when none has
 * it, the keys configured without a kid); a token without one gets every key of its algorithm.
 * @param keys - Imported keys, e.g. from `importVerificationSecrets` or `importVerificationPublicKeys`.
 * @returns A key source for `createAssertionVerifier`.
 */
export function staticKeySource(keys: readonly ImportedKey[]): KeySource {
  const byKid = new Map<string, ImportedKey[]>();
  const byAlg = new Map<string, ImportedKey[]>();
  for (const key of keys) {
    if (key.kid !== undefined) byKid.set(key.kid, [...(byKid.get(key.kid) ?? []), key]);
    byAlg.set(key.alg, [...(byAlg.get(key.alg) ?? []), key]);
  }
  const none: readonly ImportedKey[] = [];
  return {
    keysFor(header) {
      if (header.kid === undefined) return byAlg.get(header.alg) ?? none;
      const byId = byKid.get(header.kid)?.filter((key) => key.alg === header.alg);
      if (byId !== undefined && byId.length > 0) return byId;
      // A key configured without a kid is trusted whatever kid the gateway gave it.
      return byAlg.get(header.alg)?.filter((key) => key.kid === undefined) ?? none;
    },
  };
}

/** Tries each source in turn and returns the first non-empty answer. */
export function firstKeySource(sources: readonly KeySource[]): KeySource {
  if (sources.length === 1 && sources[0] !== undefined) return sources[0];
  return {
    async keysFor(header) {
      for (const source of sources) {
        const keys = await source.keysFor(header);
        if (keys.length > 0) return keys;
      }
      return [];
    },
  };
}
