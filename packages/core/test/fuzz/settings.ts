/**
 * Shared fast-check settings: a fixed number of runs per property (see docs/development.md),
 * a random seed per run unless `FUZZ_SEED` pins one. On failure fast-check prints the seed
 * and the counterexample path; rerun with `FUZZ_SEED=<seed>` to reproduce.
 */
import type fc from 'fast-check';

export function runs(numRuns: number): fc.Parameters<unknown> {
  const seed = process.env.FUZZ_SEED;
  return { numRuns, ...(seed === undefined ? {} : { seed: Number(seed) }) };
}
