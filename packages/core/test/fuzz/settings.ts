/**
 * Shared fast-check settings: a fixed number of runs per property (see docs/development.md).
 * The seed is `FUZZ_SEED` when set; otherwise it is derived from the commit checked out
 * (`git rev-parse HEAD`), so a run on a given commit explores the same inputs wherever it runs
 * (a failure in CI reproduces on the same commit) and each new commit explores new ones.
 * Outside a git checkout the seed is random. On failure fast-check prints the seed and the
 * counterexample path; rerun with `FUZZ_SEED=<seed>` to reproduce.
 */
import { execFileSync } from 'node:child_process';
import type fc from 'fast-check';

function commitSeed(): number | undefined {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return /^[0-9a-f]{8}/.test(head) ? Number.parseInt(head.slice(0, 8), 16) | 0 : undefined;
  } catch {
    return undefined;
  }
}

const SEED = process.env.FUZZ_SEED === undefined ? commitSeed() : Number(process.env.FUZZ_SEED);

export function runs(numRuns: number): fc.Parameters<unknown> {
  return { numRuns, ...(SEED === undefined ? {} : { seed: SEED }) };
}
