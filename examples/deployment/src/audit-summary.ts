/**
 * A compact, human-readable view of the audit trail for the demo's terminal output. A real
 * deployment keeps the default sink (one JSON line per event) or ships events to its SIEM.
 */
import type { AuditEvent } from '@mcp-identity/gateway';

/** One line per event: who, what, and what became of it. */
export function formatAuditEvent(event: AuditEvent): string {
  const outcome = event.reason === undefined ? event.decision : `${event.decision} ${event.reason}`;
  // A request the gateway policy refused whole names its operation in the policy records only.
  const decided = event.rpcMethod === undefined ? event.policy?.[0] : undefined;
  const rpc = (
    decided === undefined ? [event.rpcMethod, event.rpcName] : [decided.rpcMethod, decided.tool ?? decided.prompt ?? decided.resource]
  )
    .filter((part) => part !== undefined)
    .join(' ');
  const who =
    event.subject === undefined
      ? 'no user'
      : `${event.subject} (${event.authMethod ?? '?'})${event.actingAs === undefined ? '' : ` via ${(event.delegationChain ?? []).join(' > ')}`}`;
  const upstream = event.upstreamStatus === undefined ? '' : ` upstream ${event.upstreamStatus}`;
  const status = event.status === undefined || event.upstreamStatus !== undefined ? '' : ` HTTP ${event.status}`;
  const denied = (event.policy ?? []).filter((record) => record.decision === 'deny').map((record) => record.rule);
  const rules = denied.length === 0 ? '' : ` (policy rule ${[...new Set(denied)].join(', ')})`;
  return `${event.component.padEnd(8)} ${outcome.padEnd(28)} ${event.method} ${event.path}${rpc === '' ? '' : ` ${rpc}`}  ${who}${upstream}${status}${rules}`;
}

/** The events worth showing after the demo (the gateway's tool calls, and every refusal), and a tally of all of them. */
export function summarizeAudit(events: readonly AuditEvent[]): string {
  const tally = new Map<string, number>();
  for (const event of events) {
    const key = `${event.component} ${event.decision}`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  const shown = events.filter(
    (event) => (event.component === 'gateway' && event.rpcMethod === 'tools/call') || event.decision === 'refused',
  );
  const counts = [...tally].map(([key, count]) => `${count} ${key}`).join(', ');
  return [
    `${events.length} events (${counts}); tool calls at the gateway, and every refusal:`,
    ...shown.map((event) => `  ${formatAuditEvent(event)}`),
  ].join('\n');
}
