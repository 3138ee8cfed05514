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
type Label = (typeof LABELS)[number];

// prom-client is an optional peer: loaded (synchronously, it is CommonJS) only when an app
// passes a registry, so apps without metrics need not install it.
let promClientModule: typeof PromClient | undefined;
function promClient(): typeof PromClient {
  promClientModule ??= createRequire(import.meta.url)('prom-client') as typeof PromClient;
  return promClientModule;
}

/** Counts one event. */
export type CountEvent = (event: AuditEvent) => void;

/**
 * The request counter in `registry`, created there on first use and shared by every
 * middleware given the same registry.
 * @throws TypeError when `registry` is not a prom-client Registry, or holds another metric of that name.
 */
export function requestCounter(registry: unknown, option = 'metrics'): CountEvent {
  const candidate = registry as Partial<MetricsRegistry> | null;
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.getSingleMetric !== 'function') {
    throw new TypeError(`${option} must be a prom-client Registry`);
  }
  const existing = candidate.getSingleMetric(REQUESTS_METRIC) as Partial<Counter<Label>> | undefined;
  let counter: Pick<Counter<Label>, 'inc'>;
  if (existing === undefined) {
    counter = new (promClient().Counter)({
      name: REQUESTS_METRIC,
      help: 'Requests seen by mcp-identity, by component, decision and refusal reason',
      labelNames: LABELS,
      registers: [registry as Registry],
    });
  } else {
    const labels = (existing as { labelNames?: unknown }).labelNames;
    if (typeof existing.inc !== 'function' || !Array.isArray(labels) || LABELS.some((label) => !labels.includes(label))) {
      throw new TypeError(`${option} already holds a metric named ${REQUESTS_METRIC} that is not mcp-identity's counter`);
    }
    counter = existing as Pick<Counter<Label>, 'inc'>;
  }
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
  const candidate = registry as Partial<MetricsRegistry> | null;
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.getSingleMetric !== 'function') {
    throw new TypeError(`${option} must be a prom-client Registry`);
  }
  const existing = candidate.getSingleMetric(POLICY_DENIALS_METRIC) as Partial<Counter<DenialLabel>> | undefined;
  let counter: Pick<Counter<DenialLabel>, 'inc'>;
  if (existing === undefined) {
    counter = new Counter({
      name: POLICY_DENIALS_METRIC,
      help: 'Operations the gateway policy denied, by upstream, method, tool (or prompt, or resource) and rule',
      labelNames: DENIAL_LABELS,
      registers: [registry as MetricsRegistry],
    });
  } else {
    const labels = (existing as { labelNames?: unknown }).labelNames;
    if (typeof existing.inc !== 'function' || !Array.isArray(labels) || DENIAL_LABELS.some((label) => !labels.includes(label))) {
      throw new TypeError(`${option} already holds a metric named ${POLICY_DENIALS_METRIC} that is not mcp-identity's counter`);
    }
    counter = existing as Pick<Counter<DenialLabel>, 'inc'>;
  }
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
