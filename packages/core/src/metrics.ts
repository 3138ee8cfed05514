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
