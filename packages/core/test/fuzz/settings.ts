/**
 * Shared fast-check settings: a fixed number of runs per property (see docs/development.md),
 * a random seed per run unless `FUZZ_SEED` pins one. On failure fast-check prints the seed
 * and the counterexample path; rerun with `FUZZ_SEED=<seed>` to reproduce.
 */
import fc from 'fast-check';

export function runs(numRuns: number): fc.Parameters<unknown> {
  const seed = process.env.FUZZ_SEED;
  return { numRuns, ...(seed === undefined ? {} : { seed: Number(seed) }) };
}

/** Either spelling of a string as a JSON string literal: plain, or with some characters \u-escaped. */
export function jsonStringLiteral(value: string, escapeMask: readonly boolean[]): string {
  let out = '"';
  [...value].forEach((char, i) => {
    if (escapeMask[i % Math.max(escapeMask.length, 1)] === true && char.length === 1) {
      out += `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
    } else {
      out += JSON.stringify(char).slice(1, -1);
    }
  });
  return `${out}"`;
}
