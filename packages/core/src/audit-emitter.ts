/**
 * The `audit` and `metrics` options every middleware takes, validated once into one
 * function that hands each event to the sink and counts it.
 */
import { auditSinkOption } from './audit.js';
import { requestCounter } from './metrics.js';
import type { AuditEvent, AuditSink } from './audit.js';
import type { MetricsRegistry } from './metrics.js';

/** The audit options of `authenticate`, `propagateIdentity` and `verifyIdentity`. */
export interface AuditOptions {
  /**
   * Receives one event per forwarded, accepted or refused request; `false`: no sink. Without
   * `metrics` no event is built then (nothing waits for the response to end to build one); with
   * `metrics` each is built to be counted. Default: one JSON line per event on standard output,
   * in pino's line format.
   */
  readonly audit?: AuditSink | false;
  /** A prom-client `Registry` in which to count events (`mcp_identity_requests_total`). Default: none. */
  readonly metrics?: MetricsRegistry;
}

/** Emits one event: never throws, whatever the sink does. */
export type EmitAudit = (event: AuditEvent) => void;

/**
 * Validates the audit options (a `TypeError` names the option) and returns the emitter, or
 * undefined when events go nowhere (`audit: false` and no `metrics`): then callers build none.
 */
export function createAuditEmitter(options: AuditOptions): EmitAudit | undefined {
  // The sink is checked first: a bad one throws before the counter is registered.
  const sink = auditSinkOption(options.audit);
  const count = options.metrics === undefined ? undefined : requestCounter(options.metrics);
  if (sink === undefined && count === undefined) return undefined;
  return function emitAudit(event) {
    const frozen = Object.freeze(event);
    count?.(frozen);
    if (sink === undefined) return;
    try {
      const result: unknown = sink(frozen);
      // A rejected promise from the sink must not become an unhandled rejection.
      if (typeof (result as PromiseLike<void> | undefined)?.then === 'function') {
        (result as PromiseLike<void>).then(undefined, () => undefined);
      }
    } catch {
      // The audit trail must never change what the client gets.
    }
  };
}
