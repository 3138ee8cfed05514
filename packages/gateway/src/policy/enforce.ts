/**
 * Enforcement before the upstream: every message with a `method` is decided by the policy;
 * denied requests are answered at the gateway (-32003 `forbidden`), denied notifications
 * dropped, and only the allowed messages are forwarded.
 */
import { operationOf, policyAuditRecord } from '@mcp-identity/core/internal';
import type { JsonRpcBody, JsonRpcMessage, Policy, PolicyAuditRecord, UserContext } from '@mcp-identity/core/internal';

/** The list methods whose results are filtered, and the member of the result each lists. */
export const LIST_METHODS = {
  'tools/list': 'tools',
  'resources/list': 'resources',
  'resources/templates/list': 'resourceTemplates',
  'prompts/list': 'prompts',
} as const;

/** The member of a list result that is filtered. */
export type ListKind = (typeof LIST_METHODS)[keyof typeof LIST_METHODS];

/** What the policy made of one request body. */
export interface PolicyOutcome {
  /** The body to forward: the original, a reduced batch, or undefined when nothing is left. */
  readonly rpc: JsonRpcBody | undefined;
  /** The answers to denied requests, to send with (or instead of) the upstream's. */
  readonly denied: readonly JsonRpcMessage[];
  /** The rule that allowed each forwarded message with a method, in body order. */
  readonly rules: readonly string[];
  /** The forwarded list requests, by JSON-RPC id. */
  readonly lists: ReadonlyMap<unknown, ListKind>;
  /** True when the client sent a batch (denied answers then form an array). */
  readonly batch: boolean;
  /** The decisions for the audit event (at most {@link MAX_AUDIT_RECORDS}). */
  readonly records: readonly PolicyAuditRecord[];
}

/** The most decisions recorded in one audit event. */
export const MAX_AUDIT_RECORDS = 100;

/** The message a denied request is answered with; it names no rule. */
export const FORBIDDEN_MESSAGE = 'the gateway policy does not allow this operation';

/** A JSON-RPC error answering a denied request. */
export function forbiddenAnswer(id: unknown): JsonRpcMessage {
  return { jsonrpc: '2.0', id, error: { code: -32003, message: FORBIDDEN_MESSAGE, data: { code: 'forbidden' } } };
}

/** Counts a denied operation (metrics). */
export type OnDenied = (method: string, target: string, rule: string) => void;

function isRequestId(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'number';
}

/** Decides every message of a body. Responses (no `method`) are forwarded untouched. */
export function enforcePolicy(policy: Policy, user: UserContext, rpc: JsonRpcBody, onDenied?: OnDenied): PolicyOutcome {
  const kept: JsonRpcMessage[] = [];
  const denied: JsonRpcMessage[] = [];
  const rules: string[] = [];
  const records: PolicyAuditRecord[] = [];
  const lists = new Map<unknown, ListKind>();
  for (const message of rpc.messages) {
    const operation = operationOf(message);
    if (operation === undefined) {
      kept.push(message);
      continue;
    }
    const decision = policy.evaluate(user, operation);
    if (records.length < MAX_AUDIT_RECORDS) records.push(policyAuditRecord(decision.effect, decision.rule, operation));
    if (decision.effect === 'deny') {
      onDenied?.(operation.method, operation.name ?? operation.uri ?? '', decision.rule);
      // A notification gets no answer; a request gets -32003 with its own id.
      if (Object.hasOwn(message, 'id') && isRequestId(message.id)) denied.push(forbiddenAnswer(message.id));
      continue;
    }
    kept.push(message);
    rules.push(decision.rule);
    const kind = (LIST_METHODS as Record<string, ListKind | undefined>)[operation.method];
    if (kind !== undefined && isRequestId(message.id)) lists.set(message.id, kind);
  }
  let forwarded: JsonRpcBody | undefined;
  if (kept.length === rpc.messages.length) forwarded = rpc;
  else if (kept.length > 0) forwarded = { value: kept, messages: kept };
  return { rpc: forwarded, denied, rules, lists, records, batch: Array.isArray(rpc.value) };
}
