import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares two secrets (passwords, API keys, MACs) in constant time, whatever their lengths:
 * both are hashed first, so neither the content nor the length leaks through timing.
 * @param a - One secret.
 * @param b - The other.
 * @returns `true` when both are the same bytes.
 */
export function safeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}
