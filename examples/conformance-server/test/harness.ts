/**
 * The conformance comparison: runs `@modelcontextprotocol/conformance` (server mode) against the
 * conformance server directly, and against the same server behind gateway -> receiver, and compares
 * the outcome of every check.
 *
 * Through-gateway stack (all defaults except what must be configured):
 *   conformance client -> Express: authenticate(['conformance-demo']) + propagateIdentity({ target, audience, issuer, signing })
 *                      -> Express: verifyIdentity({ audience, issuer, secrets }) -> the conformance server
 * The suite's client sends no credentials, so the gateway's Passport strategy is {@link DemoUserStrategy}:
 * it authenticates every request as one fixed demo user.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { Passport } from 'passport';
import { Strategy } from 'passport-strategy';
import { authenticate, propagateIdentity } from '@mcp-identity/gateway';
import { verifyIdentity } from '@mcp-identity/receiver';
import { createConformanceApp } from '../src/index.js';
import { listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';
import type { AuditEvent } from '@mcp-identity/gateway';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const CLI = path.join(repoRoot, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const SHIM = path.join(here, 'node22-shim.mjs');

/** A Passport strategy that lets every request in as the same demo user (the suite sends no credentials). */
export class DemoUserStrategy extends Strategy {
  readonly name = 'conformance-demo';

  override authenticate(): void {
    this.success({ id: 'conformance-demo', name: 'Conformance Demo', roles: ['tester'] });
  }
}

/** The direct server and the gateway in front of the receiver-fronted server. */
export interface Stack {
  /** MCP endpoint of the bare server. */
  readonly directUrl: string;
  /** MCP endpoint of the gateway. */
  readonly gatewayUrl: string;
  /** The audit events of the gateway and the receiver, in order (collected, not logged). */
  readonly events: AuditEvent[];
  close(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const secret = randomBytes(32).toString('base64url');
  const issuer = 'urn:conformance:gateway';
  const audience = 'urn:conformance:server';
  const running: Running[] = [];
  const events: AuditEvent[] = [];
  const audit = (event: AuditEvent): void => {
    events.push(event);
  };
  const direct = createConformanceApp();
  running.push(await listen(direct.app));
  const behindReceiver = createConformanceApp({ before: [verifyIdentity({ audience, issuer, secrets: [{ secret }], audit })] });
  const upstream = await listen(behindReceiver.app);
  running.push(upstream);

  const passport = new Passport();
  passport.use(new DemoUserStrategy());
  const gateway = express();
  gateway.disable('x-powered-by');
  gateway.use(
    '/mcp',
    authenticate(['conformance-demo'], { passport, audit }),
    propagateIdentity({ target: `${upstream.url}/mcp`, audience, issuer, signing: { secret }, audit }),
  );
  running.push(await listen(gateway));
  return {
    directUrl: `${running[0]!.url}/mcp`,
    gatewayUrl: `${running[2]!.url}/mcp`,
    events,
    async close() {
      await Promise.all([direct.close(), behindReceiver.close()]);
      await Promise.all(running.map((server) => server.close()));
    },
  };
}

/** One check's outcome: `SUCCESS`, `FAILURE`, `WARNING`, `SKIPPED`, `INFO`… as the suite reports it. */
export type CheckResults = Map<string, string>;

/** Which suite: the active one (2025-era scenarios) or what revision 2026-07-28 requires. */
export type Suite = 'active' | '2026-07-28';

const SUITE_ARGS: Record<Suite, readonly string[]> = { active: [], '2026-07-28': ['--requirements', '2026-07-28'] };

function runCli(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', SHIM, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * Runs one suite against `url` and returns every check as `scenario/checkId` (with `#n` for the
 * n-th repeat of an id within a scenario) mapped to its status.
 */
export async function runSuite(url: string, suite: Suite): Promise<{ checks: CheckResults; output: string }> {
  const outDir = await mkdtemp(path.join(tmpdir(), 'conformance-'));
  try {
    const { output } = await runCli(['server', '--url', url, ...SUITE_ARGS[suite], '-o', outDir]);
    const checks: CheckResults = new Map();
    for (const entry of (await readdir(outDir)).sort()) {
      const scenario = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry)?.[1] ?? entry;
      let list: { id: string; status: string }[];
      try {
        list = JSON.parse(await readFile(path.join(outDir, entry, 'checks.json'), 'utf8')) as typeof list;
      } catch {
        continue;
      }
      const seen = new Map<string, number>();
      for (const check of list) {
        const n = (seen.get(check.id) ?? 0) + 1;
        seen.set(check.id, n);
        checks.set(`${scenario}/${check.id}${n > 1 ? `#${n}` : ''}`, check.status);
      }
    }
    if (checks.size === 0) throw new Error(`the conformance suite produced no results:\n${output.slice(-2000)}`);
    return { checks, output };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

/** Pass/fail counts of a run (SUCCESS vs FAILURE; warnings, skips and info lines are not counted). */
export function tally(checks: CheckResults): { passed: number; failed: number } {
  let passed = 0;
  let failed = 0;
  for (const status of checks.values()) {
    if (status === 'SUCCESS') passed++;
    else if (status === 'FAILURE') failed++;
  }
  return { passed, failed };
}

/** Checks that pass directly but not through the gateway. */
export function regressions(direct: CheckResults, viaGateway: CheckResults): string[] {
  return [...direct].filter(([key, status]) => status === 'SUCCESS' && viaGateway.get(key) !== 'SUCCESS').map(([key]) => key);
}

/** Checks that fail directly but pass through the gateway. */
export function improvements(direct: CheckResults, viaGateway: CheckResults): string[] {
  return [...viaGateway].filter(([key, status]) => status === 'SUCCESS' && direct.get(key) !== 'SUCCESS').map(([key]) => key);
}
