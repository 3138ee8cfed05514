/**
 * Prepares a request for forwarding, before any byte goes upstream: who the user is, what
 * body will be sent (client identity removed from `_meta`, the gateway's added), and the
 * digest the assertion binds. The assertion itself is signed once the final path is known.
 */
import type { IncomingMessage } from 'node:http';
import {
  checkJsonRpcValue,
  contextforgeMetaUser,
  EMPTY_BODY_SHA256,
  hasMethod,
  hasRequestBody,
  IdentityError,
  inspectMcpRequest,
  isBodyConsumed,
  isRecord,
  jsonBodyDigest,
  META_ASSERTION,
  META_CONTEXTFORGE_USER,
  META_USER,
  normalizeUserContext,
  parseJsonRpcBody,
  readRequestBody,
  serializeJsonRpcBodyParts,
  SESSION_HEADER,
  setIdentityMeta,
  stripIdentityMeta,
} from '@mcp-identity/core/internal';
import type { JsonRpcBody, JsonRpcMessage, McpEra, UserContext } from '@mcp-identity/core/internal';
import type { GatewayConfig } from './options.js';
import { checkRequestPath } from './path.js';

/** A request ready to forward. */
export interface PreparedRequest {
  /** The user as this upstream may see it. */
  readonly user: UserContext;
  /** The JSON-RPC body to forward, without the assertion yet; undefined for no body (or nothing left to forward). */
  readonly rpc: JsonRpcBody | undefined;
  /** The body as the client sent it, parsed (before the policy removed denied messages); undefined for no body. */
  readonly received: JsonRpcBody | undefined;
  /** The body bytes to forward when they need no re-serialization. */
  readonly original: Buffer | undefined;
  readonly bodySha256: string;
  /** True when the client sent a Content-Encoding that was decoded. */
  readonly decoded: boolean;
  /** The request's MCP protocol era: sessions and `Mcp-Session-Id` exist only in the legacy one. */
  readonly era: McpEra;
  /** The messages whose `params._meta` carries the gateway's identity (the assertion is added when signed). */
  readonly metaMessages: readonly JsonRpcMessage[];
}

/**
 * Decides a parsed body before it is rewritten: returns the body to forward (maybe a reduced
 * batch), or undefined when nothing is left to forward.
 */
export type AuthorizeBody = (rpc: JsonRpcBody) => JsonRpcBody | undefined;

/** The request as the gateway sees it: Express adds `body` and `userContext`. */
export type GatewayRequest = IncomingMessage & { userContext?: UserContext; body?: unknown };

function checkContentType(req: IncomingMessage): void {
  const header = req.headers['content-type'];
  if (header === undefined) throw new IdentityError('unsupported_media_type', 'the request body must be application/json');
  // What MCP clients send: nothing to split.
  if (header === 'application/json') return;
  const [type = '', ...params] = header.split(';');
  if (type.trim().toLowerCase() !== 'application/json')
    throw new IdentityError('unsupported_media_type', 'the request body must be application/json');
  for (const param of params) {
    const [name = '', value = ''] = param.split('=');
    if (name.trim().toLowerCase() === 'charset' && !['utf-8', 'utf8'].includes(value.trim().replaceAll('"', '').toLowerCase())) {
      throw new IdentityError('unsupported_media_type', 'the request body must be UTF-8');
    }
  }
}

/** The request's user, normalized, or undefined when it has none or an invalid one (audit, list filtering). */
export function normalizedUserOf(req: IncomingMessage): UserContext | undefined {
  const { userContext } = req as GatewayRequest;
  if (userContext === undefined) return undefined;
  try {
    return normalizeUserContext(userContext);
  } catch {
    return undefined;
  }
}

function userOf(req: GatewayRequest, config: GatewayConfig): UserContext {
  // Before anything else is read: a path that could leave the upstream's mount is never forwarded.
  checkRequestPath((req as { originalUrl?: string }).originalUrl ?? req.url);
  checkRequestPath(req.url);
  if (req.userContext === undefined) throw new IdentityError('unauthenticated', 'the request is not authenticated');
  // Normalized once: later steps (the session check) find the frozen, normalized object.
  const user = config.users.normalize(req.userContext);
  req.userContext = user;
  return config.visibleUser(user);
}

function hasMetaObject(message: JsonRpcMessage): boolean {
  return isRecord(message.params) && isRecord(message.params._meta);
}

/**
 * Removes client identity from every message and, with the `meta` carrier, adds the gateway's
 * user to requests and notifications. `params._meta` is created only where that cannot change
 * how a server classifies the request (`metaCreation`): on a legacy request in a session, or
 * always when configured so; otherwise only a `_meta` the client sent gets our keys.
 * Returns the messages that carry the identity in `_meta`, and whether the body changed.
 */
function rewrite(
  req: IncomingMessage,
  rpc: JsonRpcBody,
  user: UserContext,
  era: McpEra,
  config: GatewayConfig,
): { readonly changed: boolean; readonly metaMessages: JsonRpcMessage[] } {
  let changed = false;
  const metaMessages: JsonRpcMessage[] = [];
  const create = config.metaAlways || (era === 'legacy' && req.headers[SESSION_HEADER] !== undefined);
  for (const message of rpc.messages) {
    if (stripIdentityMeta(message)) changed = true;
    if (!hasMethod(message)) continue;
    // ContextForge puts its unsigned user object in tools/call only, creating `_meta` as
    // ContextForge does: that compatibility mode is an explicit opt-in.
    const contextforge = config.contextforgeSecret !== undefined && message.method === 'tools/call';
    if (config.metaCarrier && (create || contextforge || hasMetaObject(message))) {
      setIdentityMeta(message, { [META_USER]: user });
      metaMessages.push(message);
      changed = true;
    }
    if (contextforge) {
      setIdentityMeta(message, { [META_CONTEXTFORGE_USER]: contextforgeMetaUser(user) });
      changed = true;
    }
  }
  return { changed, metaMessages };
}

function digestOf(rpc: JsonRpcBody): string {
  try {
    return jsonBodyDigest(rpc.value);
  } catch (cause) {
    throw new IdentityError('parse_error', 'the request body has no canonical JSON form', { cause });
  }
}

function finish(
  req: IncomingMessage,
  user: UserContext,
  parsed: JsonRpcBody | undefined,
  bytes: Buffer | undefined,
  decoded: boolean,
  config: GatewayConfig,
  authorize?: AuthorizeBody,
): PreparedRequest {
  // Before anything is rewritten or authorized: the era and the header checks read the body as the client sent it.
  const era = inspectMcpRequest(parsed?.value, req.rawHeaders);
  const rpc = parsed === undefined || authorize === undefined ? parsed : authorize(parsed);
  if (rpc === undefined)
    return { user, rpc, received: parsed, original: undefined, bodySha256: EMPTY_BODY_SHA256, decoded, era, metaMessages: [] };
  const { changed, metaMessages } = rewrite(req, rpc, user, era, config);
  return {
    user,
    rpc,
    received: parsed,
    original: changed || rpc !== parsed || decoded ? undefined : bytes,
    bodySha256: digestOf(rpc),
    decoded,
    era,
    metaMessages,
  };
}

function noBody(req: IncomingMessage): void {
  if (req.method === 'POST') {
    checkContentType(req);
    throw new IdentityError('parse_error', 'the request body is empty');
  }
}

/**
 * Prepares a request whose body is absent or already consumed by a body parser
 * (`express.json()` leaves the parsed value in `req.body`). Used by `identityPlugin`.
 */
export function prepareRequestSync(req: GatewayRequest, config: GatewayConfig, authorize?: AuthorizeBody): PreparedRequest {
  const user = userOf(req, config);
  if (!isBodyConsumed(req)) {
    if (hasRequestBody(req)) checkContentType(req);
    if (hasRequestBody(req))
      throw new IdentityError(
        'body_unavailable',
        'the request body was not read before proxying; mount propagateIdentity or express.json() first',
      );
    noBody(req);
    return finish(req, user, undefined, undefined, false, config);
  }
  const body = req.body;
  if (body === undefined) {
    if (hasRequestBody(req)) throw new IdentityError('body_unavailable', 'the request body was consumed by another parser');
    noBody(req);
    return finish(req, user, undefined, undefined, false, config);
  }
  checkContentType(req);
  // A parser that ran before us also decoded any Content-Encoding: the bytes forwarded are ours.
  if (Buffer.isBuffer(body)) return finish(req, user, parseJsonRpcBody(body), undefined, true, config, authorize);
  if (typeof body === 'string') return finish(req, user, parseJsonRpcBody(Buffer.from(body)), undefined, true, config, authorize);
  return finish(req, user, checkJsonRpcValue(body), undefined, true, config, authorize);
}

/** Prepares a request, reading its body from the stream when nobody has yet. */
export async function prepareRequest(req: GatewayRequest, config: GatewayConfig, authorize?: AuthorizeBody): Promise<PreparedRequest> {
  if (isBodyConsumed(req) || !hasRequestBody(req)) return prepareRequestSync(req, config, authorize);
  const user = userOf(req, config);
  checkContentType(req);
  const { bytes, decoded } = await readRequestBody(req, { limit: config.bodyLimit });
  if (bytes.length === 0) {
    noBody(req);
    return finish(req, user, undefined, undefined, decoded, config);
  }
  return finish(req, user, parseJsonRpcBody(bytes), bytes, decoded, config, authorize);
}

/**
 * The body bytes to forward, with the assertion added to `_meta` when that carrier is on, as
 * pieces to write in order (views of the client's bytes and the spliced `_meta`, not a copy).
 */
export function serializeBody(prepared: PreparedRequest, token: string): readonly Uint8Array[] | undefined {
  const { rpc } = prepared;
  if (rpc === undefined) return undefined;
  if (prepared.metaMessages.length > 0) {
    for (const message of prepared.metaMessages) setIdentityMeta(message, { [META_ASSERTION]: token });
  } else if (prepared.original !== undefined) {
    return [prepared.original];
  }
  // The client's bytes with only the changed `_meta` spliced in (number lexemes survive).
  return serializeJsonRpcBodyParts(rpc);
}
