/**
 * The audit trail, framework-free: the {@link AuditEvent} both middlewares emit, the sinks
 * that receive it, and the helpers that read an event's fields off a request without ever
 * copying a token, an assertion, a secret, a header value or a body into it.
 */
import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import { readRawHeader } from './raw-headers.js';
import { isRecord } from './user-context.js';
import { randomId } from './random.js';
import type { IdentityErrorCode } from './errors.js';
import type { UserContext } from './user-context.js';

/** Which middleware emitted an event. */
export type AuditComponent = 'gateway' | 'receiver';

/**
 * What happened to the request: the gateway `forwarded` or `refused` it, the receiver
 * `accepted` or `refused` it.
 */
export type AuditDecision = 'forwarded' | 'refused' | 'accepted';

/**
 * One audit event: one per request the gateway forwarded or refused, one per request the
 * receiver accepted or refused. Only identifiers and outcomes, never a credential.
 */
export interface AuditEvent {
  /** When the event was emitted, ISO 8601 (UTC). */
  readonly time: string;
  /**
   * The request's id, never chosen by a client: the gateway generates a fresh random one per
   * request and sends it upstream (`X-Request-Id` and the assertion's `request_id` claim); the
   * receiver uses the `request_id` of an assertion that verified, else a fresh random id.
   */
  readonly requestId: string;
  /**
   * The `X-Request-Id` the component received, sanitized (see `clientRequestIdOf`), when
   * it differs from `requestId`: at the gateway, the client's; at the receiver, set only when
   * the header is not the id the gateway signed. Never used to join or deduplicate events.
   */
  readonly clientRequestId?: string;
  readonly component: AuditComponent;
  readonly decision: AuditDecision;
  /** The error code of a refusal; absent for other decisions and for a refusal by an unexpected error. */
  readonly reason?: IdentityErrorCode;
  /** The HTTP status answered to the client, when the response got that far. */
  readonly status?: number;
  /** The upstream the request was for (the assertion's `aud`), when known. */
  readonly audience?: string;
  /** The HTTP method. */
  readonly method: string;
  /** The request path as the client sent it, without the query string. */
  readonly path: string;
  /** The JSON-RPC method, when the body was JSON-RPC (of the first message with a method, for a batch). */
  readonly rpcMethod?: string;
  /** The tool or prompt name (`tools/call`, `prompts/get`) or the resource URI without query and credentials (`resources/*`). */
  readonly rpcName?: string;
  /** The number of messages, for a JSON-RPC batch only. */
  readonly rpcBatch?: number;
  /** The subject: who the request is for (`UserContext.id`). */
  readonly subject?: string;
  readonly authMethod?: string;
  /** The current actor (`UserContext.serviceAccount`) when the principal acts for the subject. */
  readonly actingAs?: string;
  /** The actors between the subject and the request, earliest first (`UserContext.delegationChain`). */
  readonly delegationChain?: readonly string[];
  /** The assertion's `jti` (never the assertion). */
  readonly jti?: string;
  /** The upstream's response status (gateway, forwarded requests). */
  readonly upstreamStatus?: number;
  /** Milliseconds from the gateway receiving the request to the response ending (gateway). */
  readonly latencyMs?: number;
  /** The gateway policy's decision on each message with a `method`, in body order (at most 100); absent without a policy. */
  readonly policy?: readonly PolicyAuditRecord[];
  /** The token exchange done for this request (gateway, upstreams with `tokenExchange`); never a token. */
  readonly tokenExchange?: TokenExchangeAuditRecord;
}

/** The token exchange of one request in an {@link AuditEvent}. */
export interface TokenExchangeAuditRecord {
  /** `hit`: from this process's cache; `shared`: from the shared store; `miss`: exchanged at the authorization server. */
  readonly cache: 'hit' | 'shared' | 'miss';
  /** Milliseconds spent obtaining the token (waiting for another request's exchange included). */
  readonly latencyMs: number;
  /** The exchange target (`audience` or `resource`). */
  readonly target: string;
}

/** One policy decision in an {@link AuditEvent}. */
export interface PolicyAuditRecord {
  readonly decision: 'allow' | 'deny';
  /** The rule that decided: its id, `"decide"` (the hook) or `"default"`. */
  readonly rule: string;
  /** The JSON-RPC method. */
  readonly rpcMethod: string;
  /** The tool name, for `tools/call`. */
  readonly tool?: string;
  /** The prompt name, for `prompts/get`. */
  readonly prompt?: string;
  /** The resource URI without query and credentials, for `resources/read|subscribe|unsubscribe`. */
  readonly resource?: string;
}

/**
 * Receives every audit event. It may return a promise; a sink that throws or rejects does not
 * affect the request, so it must handle its own failures.
 */
export type AuditSink = (event: AuditEvent) => void | Promise<void>;

/** What {@link createJsonLineAuditSink} needs of a logger: pino's `info(object, message)`. */
export interface AuditLogger {
  info(object: object, message: string): void;
}

/** The message of every audit log line. */
export const AUDIT_MESSAGE = 'mcp-identity audit';

/**
 * A sink that writes each event as one JSON line through a pino-style logger, under the key
 * `audit` (so the event's `time` never collides with the logger's own).
 * @param logger - A pino-style logger: anything with `info(object, message)`, e.g. `pino()`.
 * @returns An audit sink to pass as the `audit` option.
 * @example
 * import { hostname } from 'node:os';
 * const audit = createJsonLineAuditSink(pino({ name: 'gateway' }));
 */
export function createJsonLineAuditSink(logger: AuditLogger): AuditSink {
  if (typeof logger !== 'object' || logger === null || typeof logger.info !== 'function') {
    throw new TypeError('logger must have an info(object, message) method, e.g. a pino logger');
  }
  return function jsonLineAuditSink(event) {
    logger.info({ audit: event }, AUDIT_MESSAGE);
  };
}

let lineBase: string | undefined;
/** Events waiting for the next write, with the time each was emitted. */
let queued: { event: AuditEvent; time: number }[] = [];
let flushing = false;
/** Past this many queued events, they are written at once rather than at the end of the turn. */
const MAX_QUEUED = 1024;

/** Writes the queued events as one chunk of JSON lines. */
function flushAuditLines(): void {
  flushing = false;
  if (queued.length === 0) return;
  const events = queued;
  queued = [];
  lineBase ??= `{"level":30,"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"name":"mcp-identity"`;
  let chunk = '';
  const msg = JSON.stringify(AUDIT_MESSAGE);
  for (const { event, time } of events) {
    let json: string;
    try {
      json = JSON.stringify(event);
    } catch {
      // Never thrown by mcp-identity's own events; a sink must not throw, so an event that cannot
      // be written is named, not lost silently, and the others are written.
      json = JSON.stringify({ requestId: event.requestId, unserializable: true });
    }
    chunk += `${lineBase},"time":${time},"audit":${json},"msg":${msg}}\n`;
  }
  process.stdout.write(chunk);
}

let exitHooked = false;

/**
 * The default sink: one JSON line per event on standard output, in pino's line format
 * (`level` 30, `time`, `pid`, `hostname`, `name: "mcp-identity"`, the event under `audit`, `msg`),
 * so log pipelines built for pino read it unchanged. pino itself is not needed.
 *
 * Nothing is formatted or written on the request's path: events are queued, serialized and
 * written as one chunk after the current turn of the event loop (`setImmediate`), at once when
 * 1,024 are waiting, and on process exit; lines keep their order.
 * @param event - The audit event to write.
 */
export const defaultAuditSink: AuditSink = function defaultAuditSink(event) {
  queued.push({ event, time: Date.now() });
  if (queued.length >= MAX_QUEUED) {
    flushAuditLines();
    return;
  }
  if (flushing) return;
  flushing = true;
  setImmediate(flushAuditLines);
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', flushAuditLines);
  }
};

/** Validates an `audit` option: a function, undefined for {@link defaultAuditSink}, or `false` for no sink (undefined). */
export function auditSinkOption(value: unknown, option = 'audit'): AuditSink | undefined {
  if (value === undefined) return defaultAuditSink;
  if (value === false) return undefined;
  if (typeof value !== 'function') throw new TypeError(`${option} must be a function receiving each audit event, or false for none`);
  return value as AuditSink;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const requestIds = new WeakMap<IncomingMessage, string>();

/** Tells whether a value is a request id mcp-identity accepts from a signed assertion: 1-128 of `A-Z a-z 0-9 . _ : -`. */
export function isRequestId(value: unknown): value is string {
  return typeof value === 'string' && REQUEST_ID.test(value);
}

/**
 * The request's id: a fresh random id (22 base64url characters), or the one given to
 * {@link adoptRequestId}. Never a client's `X-Request-Id` (see `clientRequestIdOf`).
 * The same request always gets the same id, whichever middleware asks first.
 */
export function requestIdOf(req: IncomingMessage): string {
  let id = requestIds.get(req);
  if (id === undefined) {
    id = randomId();
    requestIds.set(req, id);
  }
  return id;
}

/**
 * Makes `id` the request's id from now on. The receiver calls it with the `request_id` of an
 * assertion that verified, so its events (and handlers calling {@link requestIdOf}) use the
 * gateway's id. Ignored unless `id` passes {@link isRequestId}.
 */
export function adoptRequestId(req: IncomingMessage, id: unknown): void {
  if (isRequestId(id)) requestIds.set(req, id);
}

/** Longest client request id kept, in characters. */
export const MAX_CLIENT_REQUEST_ID = 128;

/**
 * The `X-Request-Id` a request arrived with, for the audit field `clientRequestId` only:
 * trimmed, cut to {@link MAX_CLIENT_REQUEST_ID} characters, every character outside
 * `A-Z a-z 0-9 . _ : -` replaced by `_`. Undefined when absent, sent more than once or under
 * a `_` spelling (`X_Request_Id`), or when nothing but replaced characters is left.
 */
export function clientRequestIdOf(req: IncomingMessage): string | undefined {
  const reading = readRawHeader(req.rawHeaders, 'x-request-id');
  if (!reading.ok || reading.value === undefined) return undefined;
  const value = reading.value
    .trim()
    .slice(0, MAX_CLIENT_REQUEST_ID)
    .replace(/[^A-Za-z0-9._:-]/g, '_');
  return /[A-Za-z0-9]/.test(value) ? value : undefined;
}

// `X-Request-Id` is 12 characters starting with `x` in every spelling (case, `_`): a request
// without such a header name has none, and its raw header list need not be read again.
function mayCarryRequestId(rawHeaders: readonly string[]): boolean {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name?.length === 12 && (name.charCodeAt(0) | 0x20) === 0x78) return true;
  }
  return false;
}

/** The `clientRequestId` of an event: the sanitized `X-Request-Id` when it differs from `requestId`, else undefined. */
export function clientRequestIdFor(req: IncomingMessage, requestId: string): string | undefined {
  if (!mayCarryRequestId(req.rawHeaders)) return undefined;
  const client = clientRequestIdOf(req);
  return client === requestId ? undefined : client;
}

// Events of the same millisecond share its ISO time string: formatted once per millisecond.
let lastMs = Number.NaN;
let lastTime = '';

/** The `time` of an event: `new Date(ms).toISOString()`, formatted once per millisecond. */
export function auditTime(ms: number): string {
  if (ms !== lastMs) {
    lastTime = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastTime;
}

const MAX_PATH = 1024;
const MAX_NAME = 256;

function capped(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

/** A request path for an event: the query string and fragment removed (they may carry credentials), capped. */
export function auditPath(url: string | undefined): string {
  if (url === undefined || url === null) return '';
  // Up to the first `?` or `#`: no regular expression, and no copy when there is neither.
  const query = url.indexOf('?');
  const fragment = url.indexOf('#');
  const end = query === -1 ? fragment : fragment === -1 ? query : Math.min(query, fragment);
  return capped(end === -1 ? url : url.slice(0, end), MAX_PATH);
}

/** A resource URI for an event: without userinfo, query or fragment, capped. */
function safeUri(uri: string): string {
  return capped(uri.replace(/[?#].*$/s, '').replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@]*@/, '$1'), MAX_NAME);
}

function nameOf(method: string, params: unknown): string | undefined {
  if (!isRecord(params)) return undefined;
  switch (method) {
    case 'tools/call':
    case 'prompts/get':
      return typeof params.name === 'string' ? capped(params.name, MAX_NAME) : undefined;
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe':
      return typeof params.uri === 'string' ? safeUri(params.uri) : undefined;
    default:
      return undefined;
  }
}

/** The audit record of one policy decision; names and URIs capped like `rpcName`. */
export function policyAuditRecord(
  decision: 'allow' | 'deny',
  rule: string,
  operation: { readonly method: string; readonly name?: string; readonly uri?: string },
): PolicyAuditRecord {
  const rpcMethod = capped(operation.method, MAX_NAME);
  if (operation.method === 'tools/call') return { decision, rule, rpcMethod, tool: capped(operation.name ?? '', MAX_NAME) };
  if (operation.method === 'prompts/get') return { decision, rule, rpcMethod, prompt: capped(operation.name ?? '', MAX_NAME) };
  if (operation.uri !== undefined) return { decision, rule, rpcMethod, resource: safeUri(operation.uri) };
  return { decision, rule, rpcMethod };
}

/** The JSON-RPC fields of an event. */
export type RpcSummary = Pick<AuditEvent, 'rpcMethod' | 'rpcName' | 'rpcBatch'>;

/** Reads the JSON-RPC method and tool, prompt or resource name of a parsed body; `{}` when it is not JSON-RPC. */
export function rpcSummaryOf(body: unknown): RpcSummary {
  // Field by field, without an array or an object per optional field: one summary per audited request.
  const batch = Array.isArray(body);
  let first: Record<string, unknown> | undefined;
  if (batch) {
    for (const message of body as unknown[]) {
      if (isRecord(message) && typeof message.method === 'string') {
        first = message;
        break;
      }
    }
  } else if (isRecord(body) && typeof body.method === 'string') {
    first = body;
  }
  const summary: { -readonly [K in keyof RpcSummary]: RpcSummary[K] } = {};
  if (first !== undefined) {
    const method = first.method as string;
    summary.rpcMethod = capped(method, MAX_NAME);
    const name = nameOf(method, first.params);
    if (name !== undefined) summary.rpcName = name;
  }
  if (batch) summary.rpcBatch = (body as unknown[]).length;
  return summary;
}

/** The user fields of an event: subject, `authMethod`, and the delegation when there is one. */
export type AuditUserFields = Pick<AuditEvent, 'subject' | 'authMethod' | 'actingAs' | 'delegationChain'>;

/** Reads the user fields of an event from a UserContext. */
export function auditUserFields(user: UserContext | undefined): AuditUserFields {
  if (user === undefined) return {};
  const fields: { -readonly [K in keyof AuditUserFields]: AuditUserFields[K] } = { subject: user.id, authMethod: user.authMethod };
  if (user.serviceAccount !== undefined) fields.actingAs = user.serviceAccount;
  if (user.delegationChain !== undefined) fields.delegationChain = user.delegationChain;
  return fields;
}
