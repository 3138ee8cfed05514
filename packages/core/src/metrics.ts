/**
 * Prometheus counters (prom-client): `mcp_identity_requests_total{component,decision,reason}`,
 * one increment per audit event, so refusals can be counted by reason. The app owns the
 * registry and mounts it (`app.get('/metrics', ...)`).
 */
import { Counter } from 'prom-client';
import type { Registry, RegistryContentType } from 'prom-client';
import type { AuditEvent } from './audit.js';

/** A prom-client `Registry` (either content type). */
export type MetricsRegistry = Registry<RegistryContentType>;

/** The counter's name. */
export const REQUESTS_METRIC = 'mcp_identity_requests_total';

const LABELS = ['component', 'decision', 'reason'] as const;
type Label = (typeof LABELS)[number];

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
    counter = new Counter({
      name: REQUESTS_METRIC,
      help: 'Requests seen by mcp-identity, by component, decision and refusal reason',
      labelNames: LABELS,
      registers: [registry as MetricsRegistry],
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
