/**
 * Micro-benchmark of the tool-level policy: one evaluation against a 100-rule policy (the
 * worst case, where no rule matches and the default decides, and a match half-way), and the
 * filter of a 50-tool `tools/list` result. Run alone with `node bench/dist/policy-micro.js`.
 */
import { pathToFileURL } from 'node:url';
import { createPolicy, normalizeUserContext } from '@mcp-identity/core/internal';
import type { PolicyRule } from '@mcp-identity/core/internal';
import type { MicroResult } from './micro.js';

function measureSync(name: string, op: () => unknown, minMs = 400): MicroResult {
  for (let i = 0; i < 10_000; i++) op(); // warm-up
  let count = 0;
  let sink: unknown;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 10_000; i++) sink = op();
    count += 10_000;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  if (sink === Symbol.for('never')) console.log(sink);
  return { name, opsPerSecond: Math.round((count / elapsed) * 1000), microsPerOp: Math.round(((elapsed * 1000) / count) * 1000) / 1000 };
}

/** 100 rules of mixed kinds: globs on tools, resources and prompts, groups, roles, scopes, delegation. */
export function hundredRules(): PolicyRule[] {
  return Array.from({ length: 100 }, (_, i): PolicyRule => {
    switch (i % 5) {
      case 0:
        return { id: `tools-${i}`, effect: 'allow', groups: [`team-${i}`, `ops-${i}`], tools: [`tool_${i}_*`, `exact_${i}`] };
      case 1:
        return { id: `res-${i}`, effect: 'allow', roles: `role-${i}`, resources: `file:///area-${i}/*` };
      case 2:
        return { id: `scope-${i}`, effect: 'allow', scopes: `scope:${i}`, tools: `scoped_${i}` };
      case 3:
        return { id: `deleg-${i}`, effect: 'deny', actors: `svc-${i}`, maxChainDepth: 1, tools: '*' };
      default:
        return { id: `method-${i}`, effect: 'deny', users: `blocked-${i}@*`, methods: `custom/${i}/*` };
    }
  });
}

export function policyBenchmarks(): MicroResult[] {
  const policy = createPolicy({ rules: hundredRules(), default: 'deny' });
  const user = normalizeUserContext({
    id: 'alice@corp',
    authMethod: 'jwt',
    groups: ['eng', 'team-50', 'readers'],
    roles: ['reader', 'writer'],
    teams: ['platform'],
  });
  const unmatched = { method: 'tools/call', name: 'nobody_has_this' };
  const halfway = { method: 'tools/call', name: 'tool_50_run' };
  const tools = Array.from({ length: 50 }, (_, i) => ({ method: 'tools/call', name: i % 2 === 0 ? `tool_50_${i}` : `other_${i}` }));
  return [
    measureSync('policy evaluate, 100 rules, none matches (µs per evaluation)', () => policy.evaluate(user, unmatched)),
    measureSync('policy evaluate, 100 rules, rule 50 matches', () => policy.evaluate(user, halfway)),
    measureSync('policy filter of a 50-tool tools/list (50 evaluations)', () => tools.filter((op) => policy.allows(user, op))),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const result of policyBenchmarks()) console.log(`${result.name}: ${result.microsPerOp} µs/op (${result.opsPerSecond} ops/s)`);
}
