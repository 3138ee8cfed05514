/**
 * Prometheus counters (prom-client): `mcp_identity_requests_total{component,decision,reason}`,
 * one increment per audit event, so refusals can be counted by reason. The app owns the
 * registry and mounts it (`app.get('/metrics', ...)`).
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { Counter, Registry } from 'prom-client';
import type { AuditEvent } from './audit.js';

/**
 * A prom-client `Registry` (either content type). Declared by shape so that the published
 * types do not need prom-client installed: it is an optional peer, used only when passed.
 */
export interface MetricsRegistry {
  getSingleMetric(name: string): unknown;
  registerMetric(metric: never): void;
}

/** The counter's name. */
export const REQUESTS_METRIC = 'mcp_identity_requests_total';

const LABELS = ['component', 'decision', 'reason'] as const;

// prom-client is an optional peer: loaded (synchronously, it is CommonJS) only when an app
// passes a registry, so apps without metrics need not install it.
let promClientModule: typeof PromClient | undefined;
function promClient(): typeof PromClient {
  promClientModule ??= createRequire(import.meta.url)('prom-client') as typeof PromClient;
  return promClientModule;
}

/**
 * The counter `name` in `registry`, created there on first use and shared by every middleware
 * given the same registry.
 * @throws TypeError when `registry` is not a prom-client Registry, or holds another metric of that name.
 */
function sharedCounter<L extends string>(
  registry: unknown,
  option: string,
  name: string,
  help: string,
  labelNames: readonly L[],
): Pick<Counter<L>, 'inc'> {
  const candidate = registry as Partial<MetricsRegistry> | null;
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.getSingleMetric !== 'function') {
    throw new TypeError(`${option} must be a prom-client Registry`);
  }
  const existing = candidate.getSingleMetric(name) as Partial<Counter<L>> | undefined;
  if (existing === undefined) {
    return new (promClient().Counter)({ name, help, labelNames, registers: [registry as Registry] });
  }
  const labels = (existing as { labelNames?: unknown }).labelNames;
  if (typeof existing.inc !== 'function' || !Array.isArray(labels) || labelNames.some((label) => !labels.includes(label))) {
    throw new TypeError(`${option} already holds a metric named ${name} that is not mcp-identity's counter`);
  }
  return existing as Pick<Counter<L>, 'inc'>;
}

/** Counts one event. */
export type CountEvent = (event: AuditEvent) => void;

/**
 * The request counter in `registry`, created there on first use and shared by every
 * middleware given the same registry.
 * @throws TypeError when `registry` is not a prom-client Registry, or holds another metric of that name.
 */
export function requestCounter(registry: unknown, option = 'metrics'): CountEvent {
  const counter = sharedCounter(
    registry,
    option,
    REQUESTS_METRIC,
    'Requests seen by mcp-identity, by component, decision and refusal reason',
    LABELS,
  );
  return function countEvent(event) {
    counter.inc({ component: event.component, decision: event.decision, reason: event.reason ?? '' });
  };
}

/** The policy denial counter's name. */
export const POLICY_DENIALS_METRIC = 'mcp_identity_policy_denials_total';

const DENIAL_LABELS = ['audience', 'method', 'tool', 'rule'] as const;
type DenialLabel = (typeof DENIAL_LABELS)[number];
// Tool names come from clients: past this many distinct values, new ones are counted as "_other".
const MAX_TOOL_LABELS = 500;
const MAX_LABEL_LENGTH = 128;

/** Counts one policy denial: the upstream, the JSON-RPC method, the tool/prompt name or resource URI, and the rule. */
export type CountDenial = (labels: Readonly<Record<DenialLabel, string>>) => void;

/**
 * The policy denial counter (`mcp_identity_policy_denials_total{audience,method,tool,rule}`) in
 * `registry`, created on first use and shared. The `tool` label is the tool or prompt name or
 * resource URI; since clients choose it (and the method), at most 500 distinct values of each
 * are kept, later ones count as `"_other"`.
 * @throws TypeError when `registry` is not a prom-client Registry, or holds another metric of that name.
 */
export function policyDenialCounter(registry: unknown, option = 'metrics'): CountDenial {
  const counter = sharedCounter(
    registry,
    option,
    POLICY_DENIALS_METRIC,
    'Operations the gateway policy denied, by upstream, method, tool (or prompt, or resource) and rule',
    DENIAL_LABELS,
  );
  const seen = { method: new Set<string>(), tool: new Set<string>() };
  const bounded = (kind: 'method' | 'tool', value: string): string => {
    const label = value.slice(0, MAX_LABEL_LENGTH);
    if (seen[kind].has(label)) return label;
    if (seen[kind].size >= MAX_TOOL_LABELS) return '_other';
    seen[kind].add(label);
    return label;
  };
  return function countDenial(labels) {
    counter.inc({ ...labels, method: bounded('method', labels.method), tool: bounded('tool', labels.tool) });
  };
}
