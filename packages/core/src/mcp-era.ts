/**
 * MCP protocol eras, framework-free. The 2026-07-28 revision ("modern") is stateless: every
 * request names its revision in `params._meta["io.modelcontextprotocol/protocolVersion"]` and
 * mirrors its method, name and chosen tool arguments in `MCP-Protocol-Version`, `Mcp-Method`,
 * `Mcp-Name` and `Mcp-Param-*` headers. Earlier revisions ("legacy": 2025-11-25, 2025-06-18,
 * 2025-03-26, ...) open with `initialize` and may use `Mcp-Session-Id` sessions.
 *
 * Classification is body-primary, as the MCP TypeScript SDK v2 does it: the envelope key decides;
 * the `MCP-Protocol-Version` header decides only for a message that has no envelope (a posted
 * notification or response, a batch).
 */
import { IdentityError } from './errors.js';
import { isRecord } from './user-context.js';

/** The `_meta` key naming a modern request's protocol revision. */
export const PROTOCOL_VERSION_META_KEY = 'io.modelcontextprotocol/protocolVersion';
/** The first modern protocol revision. Revisions are ISO dates, so they compare as strings. */
export const FIRST_MODERN_PROTOCOL_VERSION = '2026-07-28';

/** The request metadata headers (lower case). */
export const MCP_PROTOCOL_VERSION_HEADER = 'mcp-protocol-version';
export const MCP_METHOD_HEADER = 'mcp-method';
export const MCP_NAME_HEADER = 'mcp-name';
export const MCP_PARAM_HEADER_PREFIX = 'mcp-param-';

const REVISION = /^\d{4}-\d{2}-\d{2}$/;
const SENTINEL_PREFIX = '=?base64?';
const SENTINEL_SUFFIX = '?=';
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const CANONICAL_DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;
// RFC 9110 field values: visible ASCII, space and tab.
const FIELD_VALUE = /^[\x20-\x7e\t]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The era of one request: `modern` (2026-07-28 and later) or `legacy`. */
export type McpEra = 'modern' | 'legacy';

/** Tells whether a protocol revision string belongs to the modern era. */
export function isModernProtocolVersion(version: unknown): boolean {
  return typeof version === 'string' && REVISION.test(version) && version >= FIRST_MODERN_PROTOCOL_VERSION;
}

/** The MCP request metadata headers of one request, read once from its raw header list. */
export interface McpRequestHeaders {
  readonly protocolVersion: string | undefined;
  readonly method: string | undefined;
  readonly name: string | undefined;
  /** `Mcp-Param-{Name}` values by lower-case `{Name}`. */
  readonly params: ReadonlyMap<string, string>;
}

function mismatch(message: string, rpcId?: string | number): IdentityError {
  return new IdentityError('mcp_header_mismatch', message, rpcId === undefined ? {} : { rpcId });
}

// Optional whitespace around a field value is not part of it (RFC 9110 5.5).
function trimOws(value: string): string {
  return value.replace(/^[ \t]+|[ \t]+$/g, '');
}

/**
 * Reads `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*` from a raw header
 * list (`req.rawHeaders`). A spelling that a proxy or server could read differently — the
 * header sent twice, or its name spelled with `_` — is hostile and refused.
 * @throws IdentityError `mcp_header_mismatch` (400, -32020) for a hostile spelling or a value with invalid characters.
 */
export function readMcpHeaders(rawHeaders: readonly string[]): McpRequestHeaders {
  const single = new Map<string, string>();
  const params = new Map<string, string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i] ?? '';
    // Every header read here starts with `mcp` (any case): the others are passed over unread.
    if ((raw.charCodeAt(0) | 0x20) !== 0x6d) continue;
    const name = raw.toLowerCase();
    const dashed = name.replaceAll('_', '-');
    const isParam = dashed.startsWith(MCP_PARAM_HEADER_PREFIX);
    const isStandard = dashed === MCP_PROTOCOL_VERSION_HEADER || dashed === MCP_METHOD_HEADER || dashed === MCP_NAME_HEADER;
    if (!isParam && !isStandard) continue;
    // `_` may appear inside a parameter's own name (`Mcp-Param-my_field`), never in the fixed part.
    const fixed = isParam ? name.slice(0, MCP_PARAM_HEADER_PREFIX.length) : name;
    if (fixed !== (isParam ? MCP_PARAM_HEADER_PREFIX : dashed)) throw mismatch(`the ${rawHeaders[i] ?? ''} header is spelled with "_"`);
    const value = rawHeaders[i + 1] ?? '';
    if (!FIELD_VALUE.test(value)) throw mismatch(`the ${rawHeaders[i] ?? ''} header has invalid characters`);
    const target = isParam ? params : single;
    const key = isParam ? name.slice(MCP_PARAM_HEADER_PREFIX.length) : name;
    if (target.has(key)) throw mismatch(`the ${rawHeaders[i] ?? ''} header is sent more than once`);
    target.set(key, trimOws(value));
  }
  return {
    protocolVersion: single.get(MCP_PROTOCOL_VERSION_HEADER),
    method: single.get(MCP_METHOD_HEADER),
    name: single.get(MCP_NAME_HEADER),
    params,
  };
}

/**
 * Decodes an `Mcp-Name` or `Mcp-Param-*` value: `=?base64?...?=` is canonical Base64 of UTF-8;
 * anything else is the value itself. Returns `undefined` for a sentinel that does not decode.
 */
export function decodeMcpHeaderValue(value: string): string | undefined {
  if (!(value.startsWith(SENTINEL_PREFIX) && value.endsWith(SENTINEL_SUFFIX) && value.length >= 11)) return value;
  const encoded = value.slice(SENTINEL_PREFIX.length, value.length - SENTINEL_SUFFIX.length);
  if (!CANONICAL_BASE64.test(encoded)) return undefined;
  try {
    return utf8.decode(Buffer.from(encoded, 'base64'));
  } catch {
    return undefined;
  }
}

function metaOf(message: unknown): Record<string, unknown> | undefined {
  if (!isRecord(message) || !isRecord(message.params)) return undefined;
  return isRecord(message.params._meta) ? message.params._meta : undefined;
}

/** The protocol revision a message's envelope claims, when it carries the envelope key. */
export function envelopeVersion(message: unknown): { readonly claimed: boolean; readonly version: unknown } {
  const meta = metaOf(message);
  if (meta === undefined || !Object.hasOwn(meta, PROTOCOL_VERSION_META_KEY)) return { claimed: false, version: undefined };
  return { claimed: true, version: meta[PROTOCOL_VERSION_META_KEY] };
}

/**
 * The era of a request, from its parsed JSON body (`undefined` for none) and its
 * `MCP-Protocol-Version` header. A message with the envelope key is modern when the key names
 * a modern revision; `initialize` and messages without the key are legacy unless the header
 * names a modern revision; an array is modern when any element claims a modern revision or the
 * header names one; a request without a body (GET, DELETE) is legacy.
 */
export function classifyMcpRequest(body: unknown, protocolVersionHeader: string | undefined): McpEra {
  const headerModern = isModernProtocolVersion(protocolVersionHeader);
  if (body === undefined) return 'legacy';
  if (Array.isArray(body)) {
    return headerModern || body.some((message) => isModernProtocolVersion(envelopeVersion(message).version)) ? 'modern' : 'legacy';
  }
  return headerModern || isModernProtocolVersion(envelopeVersion(body).version) ? 'modern' : 'legacy';
}

/** Which body field `Mcp-Name` mirrors, per method. The first three are required by the spec. */
const NAME_SOURCE: Readonly<Record<string, { readonly field: string; readonly required: boolean }>> = {
  'tools/call': { field: 'name', required: true },
  'prompts/get': { field: 'name', required: true },
  'resources/read': { field: 'uri', required: true },
  'tasks/get': { field: 'taskId', required: false },
  'tasks/update': { field: 'taskId', required: false },
  'tasks/cancel': { field: 'taskId', required: false },
};

function primitiveStrings(value: unknown, out: Set<string>, numbers: number[]): void {
  if (typeof value === 'string') out.add(value);
  else if (typeof value === 'boolean') out.add(String(value));
  else if (typeof value === 'number' && Number.isFinite(value)) {
    out.add(String(value));
    numbers.push(value);
  } else if (isRecord(value)) {
    // Only `properties` chains can carry `x-mcp-header` values: arrays are not descended.
    for (const entry of Object.values(value)) primitiveStrings(entry, out, numbers);
  }
}

function checkParamHeaders(message: Record<string, unknown>, headers: McpRequestHeaders, refuse: (message: string) => IdentityError): void {
  if (headers.params.size === 0) return;
  const params = isRecord(message.params) ? message.params : undefined;
  if (message.method !== 'tools/call' || params === undefined || !isRecord(params.arguments)) {
    throw refuse('Mcp-Param-* headers are sent, but the body has no tool arguments for them to mirror');
  }
  const values = new Set<string>();
  const numbers: number[] = [];
  primitiveStrings(params.arguments, values, numbers);
  for (const [name, raw] of headers.params) {
    const decoded = decodeMcpHeaderValue(raw);
    if (decoded === undefined) throw refuse(`the Mcp-Param-${name} header carries an invalid Base64 value`);
    const matches = values.has(decoded) || (CANONICAL_DECIMAL.test(decoded) && numbers.includes(Number(decoded)));
    if (!matches) throw refuse(`the Mcp-Param-${name} header names a value the tool arguments do not carry`);
  }
}

/**
 * Checks a modern request before anything is forwarded or served: its body is one JSON-RPC
 * request or notification (no batch, no client response), and every request metadata header
 * says what the body says — `MCP-Protocol-Version` the envelope's revision, `Mcp-Method` the
 * method, `Mcp-Name` (Base64 sentinel decoded) `params.name` / `params.uri`, each `Mcp-Param-*`
 * a value the tool arguments carry. `MCP-Protocol-Version`, `Mcp-Method` and (for `tools/call`,
 * `prompts/get`, `resources/read`) `Mcp-Name` are required on requests.
 *
 * Without the tool's `inputSchema` an intermediary cannot tell which argument an
 * `Mcp-Param-*` header mirrors, nor notice one left out: the MCP server, which knows the
 * schema, completes that check.
 * @throws IdentityError `mcp_message_refused` (400, -32600) or `mcp_header_mismatch` (400, -32020).
 */
export function checkModernRequest(body: unknown, headers: McpRequestHeaders): void {
  if (Array.isArray(body)) throw new IdentityError('mcp_message_refused', 'a modern MCP request body must be one message, not a batch');
  if (!isRecord(body)) throw new IdentityError('mcp_message_refused', 'a modern MCP request body must be one JSON-RPC message');
  if (!Object.hasOwn(body, 'method'))
    throw new IdentityError('mcp_message_refused', 'a modern MCP client must not send JSON-RPC responses');
  const method = body.method;
  const isRequest = Object.hasOwn(body, 'id');
  // The error answers this request: it carries the request's id (the 2026-07-28 schema requires it).
  const rpcId = typeof body.id === 'string' || typeof body.id === 'number' ? body.id : undefined;
  const refuse = (message: string): IdentityError => mismatch(message, rpcId);
  const { claimed, version } = envelopeVersion(body);
  if (headers.protocolVersion === undefined) {
    if (isRequest) throw refuse('the MCP-Protocol-Version header is missing');
  } else if (claimed && headers.protocolVersion !== version) {
    throw refuse('the MCP-Protocol-Version header does not match the request body');
  }
  if (headers.method === undefined) {
    if (isRequest) throw refuse('the Mcp-Method header is missing');
  } else if (headers.method !== method) {
    throw refuse('the Mcp-Method header does not match the request body');
  }
  const source = typeof method === 'string' && Object.hasOwn(NAME_SOURCE, method) ? NAME_SOURCE[method] : undefined;
  if (source === undefined) {
    if (headers.name !== undefined) throw refuse(`the Mcp-Name header is sent with a method that has no name`);
  } else {
    const params = isRecord(body.params) ? body.params : undefined;
    const bodyValue = params?.[source.field];
    if (headers.name === undefined) {
      if (isRequest && source.required && typeof bodyValue === 'string') throw refuse('the Mcp-Name header is missing');
    } else {
      const decoded = decodeMcpHeaderValue(headers.name);
      if (decoded === undefined) throw refuse('the Mcp-Name header carries an invalid Base64 value');
      if (decoded !== bodyValue) throw refuse('the Mcp-Name header does not match the request body');
    }
  }
  checkParamHeaders(body, headers, refuse);
}

/**
 * Classifies a request and, when it is modern, checks it with {@link checkModernRequest}.
 * Hostile header spellings are refused in either era.
 * @throws IdentityError `mcp_message_refused` or `mcp_header_mismatch`.
 */
export function inspectMcpRequest(body: unknown, rawHeaders: readonly string[]): McpEra {
  const headers = readMcpHeaders(rawHeaders);
  const era = classifyMcpRequest(body, headers.protocolVersion);
  if (era === 'modern') checkModernRequest(body, headers);
  return era;
}
