/**
 * The kit the `propagateIdentity` and `identityPlugin` tests share: a gateway app (a tiny
 * middleware sets `req.userContext`, then `propagateIdentity`, then an error handler) in front
 * of a recording upstream, all on 127.0.0.1, plus independent checks of what the upstream
 * received: the assertion verified with jose, and its `req` binding recomputed with
 * `canonicalize`.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import canonicalize from 'canonicalize';
import express from 'express';
import { jwtVerify } from 'jose';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { JWTPayload } from 'jose';
import { eventLog, listen, recordingUpstream } from '../../../test/kit.js';
import type { Received, RecordingUpstream, Running } from '../../../test/kit.js';
import { propagateIdentity } from '../src/index.js';
import type { AuditEvent, PropagateIdentityOptions, UserContext } from '../src/index.js';

export const SECRET = 'propagate-tests: a 32+ byte HS256 secret, 0123456789 ABCDEFG';
export const ISSUER = 'https://gateway.test';
export const AUDIENCE = 'urn:mcp:upstream';
export const META_USER = 'mcp-identity/user';
export const META_ASSERTION = 'mcp-identity/assertion';

/** A user with every field set, including non-ASCII text and a comma inside a group. */
export const alice: UserContext = Object.freeze({
  id: 'alice@corp',
  email: 'alice@corp.example',
  name: 'José Álvarez',
  groups: ['eng,ops', 'équipe-🚀'],
  teams: ['platform'],
  roles: ['reader', 'writer'],
  isAdmin: false,
  authMethod: 'jwt',
  serviceAccount: 'svc-bot',
  delegationChain: ['agent-1', 'svc-bot'],
  issuer: 'https://idp.example',
  attributes: { department: 'R&D', db_password: 'hunter2', region: 'eu' },
});

/** `alice` as an upstream with the default options sees her: every field but `db_password` (written out, not derived). */
export const aliceAsSent = Object.freeze({
  id: 'alice@corp',
  email: 'alice@corp.example',
  name: 'José Álvarez',
  groups: ['eng,ops', 'équipe-🚀'],
  teams: ['platform'],
  roles: ['reader', 'writer'],
  isAdmin: false,
  authMethod: 'jwt',
  serviceAccount: 'svc-bot',
  delegationChain: ['agent-1', 'svc-bot'],
  issuer: 'https://idp.example',
  attributes: { department: 'R&D', region: 'eu' },
});

/** The identity options every gateway starts from. */
export const identityOptions = Object.freeze({ audience: AUDIENCE, issuer: ISSUER, signing: { secret: SECRET } });

const running: Running[] = [];

/** Keeps a server to close in {@link closeAll}. */
export function track<T extends Running>(server: T): T {
  running.push(server);
  return server;
}

/** Closes every server the current test started; call from `afterEach`. */
export async function closeAll(): Promise<void> {
  await Promise.all(running.splice(0).map((server) => server.close()));
}

/** Starts a recording upstream (closed by {@link closeAll}). */
export async function startUpstream(respond?: Parameters<typeof recordingUpstream>[0]): Promise<RecordingUpstream> {
  return track(await recordingUpstream(respond));
}

/** A gateway under test and the upstream behind it. */
export interface GatewayUnderTest extends Running {
  readonly upstream: RecordingUpstream;
  /** Errors that reached the app's error handler (none expected). */
  readonly unhandled: unknown[];
  /** The audit events the gateway emitted (unless the options bring their own sink). */
  readonly events: AuditEvent[];
  /** Waits until the gateway emitted `count` events: it emits when a response ends, which may be after the client has it. */
  readonly waitForEvents: (count: number) => Promise<AuditEvent[]>;
}

export interface GatewaySetup {
  /** The authenticated user the app sets; `null` for none. Default {@link alice}. */
  readonly user?: UserContext | null;
  /** Options merged over `{ target: upstream.url, ...identityOptions }`. */
  readonly options?: Partial<PropagateIdentityOptions>;
  /** Middleware mounted before the gateway (after the user is set). */
  readonly before?: readonly RequestHandler[];
  /** An upstream to use instead of a fresh default one. */
  readonly upstream?: RecordingUpstream;
  /** Where the gateway is mounted. Default `/`. */
  readonly mount?: string;
}

/** The error handler every integration app mounts: records the error, answers 599 (or hands a started response on). */
export function recordingErrorHandler(unhandled: unknown[]): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    unhandled.push(error);
    if (res.headersSent) next(error);
    else res.status(599).json({ unhandled: true });
  };
}

/** Starts `propagateIdentity` in front of a recording upstream, mounted at the root. */
export async function startGateway(setup: GatewaySetup = {}): Promise<GatewayUnderTest> {
  const upstream = setup.upstream ?? (await startUpstream());
  const unhandled: unknown[] = [];
  const log = eventLog<AuditEvent>();
  const user = setup.user === undefined ? alice : setup.user;
  const app = express();
  app.use((req, _res, next) => {
    if (user !== null) req.userContext = user;
    next();
  });
  for (const handler of setup.before ?? []) app.use(handler);
  app.use(setup.mount ?? '/', propagateIdentity({ target: upstream.url, ...identityOptions, audit: log.sink, ...setup.options }));
  app.use(recordingErrorHandler(unhandled));
  const server = track(await listen(app));
  return { ...server, upstream, unhandled, events: log.events, waitForEvents: log.waitFor };
}

/** The only request an upstream received. */
export function only(upstream: RecordingUpstream): Received {
  expect(upstream.received).toHaveLength(1);
  return upstream.received[0]!;
}

/** The `req` claim of an assertion. */
export interface BindingClaim {
  readonly method: string;
  readonly path: string;
  readonly body_sha256: string;
}

/** Verifies an assertion independently of the package, with jose. */
export async function verifyAssertion(
  token: unknown,
  { audience = AUDIENCE, currentDate }: { audience?: string; currentDate?: Date } = {},
): Promise<JWTPayload & { req: BindingClaim }> {
  expect(typeof token).toBe('string');
  const { payload } = await jwtVerify(token as string, new TextEncoder().encode(SECRET), {
    issuer: ISSUER,
    audience,
    typ: 'user-context+jwt',
    algorithms: ['HS256'],
    ...(currentDate === undefined ? {} : { currentDate }),
  });
  return payload as JWTPayload & { req: BindingClaim };
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('base64url');
}

/** SHA-256 of the empty body, base64url. */
export const EMPTY_SHA256 = sha256('');

/**
 * The body digest recomputed from the bytes the upstream received: JCS of the JSON with every
 * `params._meta["mcp-identity/assertion"]` removed, or the empty-string digest for no body.
 */
export function expectedBodyDigest(body: Buffer): string {
  if (body.length === 0) return EMPTY_SHA256;
  const value = JSON.parse(body.toString('utf8')) as unknown;
  for (const message of Array.isArray(value) ? value : [value]) {
    const meta = (message as { params?: { _meta?: Record<string, unknown> } }).params?._meta;
    if (meta !== undefined) Reflect.deleteProperty(meta, META_ASSERTION);
  }
  return sha256(canonicalize(value)!);
}

/** Checks that an assertion is bound to the request exactly as the upstream received it. */
export function expectBoundTo(claims: { req: BindingClaim }, received: Received): void {
  expect(claims.req).toEqual({ method: received.method, path: received.url, body_sha256: expectedBodyDigest(received.body) });
}

/** The parsed JSON body an upstream received. */
export function jsonOf(received: Received): any {
  return JSON.parse(received.body.toString('utf8'));
}

/** The error code and JSON-RPC code of a refusal body. */
export function refusal(body: unknown): { code: unknown; rpcCode: unknown; jsonrpc: unknown } {
  const error = (body as { jsonrpc?: unknown; error?: { code?: unknown; data?: { code?: unknown } } }).error;
  return { code: error?.data?.code, rpcCode: error?.code, jsonrpc: (body as { jsonrpc?: unknown }).jsonrpc };
}

/** A response read in full by {@link rawRequest}. */
export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  readonly json: any;
}

export interface RawRequestOptions {
  readonly method?: string;
  readonly path?: string;
  /**
   * An object, or a flat `[name, value, ...]` list sent exactly as spelled (duplicates and
   * `_` kept); a list gets `Host` and, for a body, `Content-Length` added.
   */
  readonly headers?: http.OutgoingHttpHeaders | readonly string[];
  /** Written one by one; with object headers and no `content-length` Node sends them chunked. */
  readonly chunks?: readonly (string | Buffer)[];
}

function headerList(url: string, list: readonly string[], chunks: readonly (string | Buffer)[]): string[] {
  const names = list.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
  const out = [...list];
  if (!names.includes('host')) out.unshift('Host', new URL(url).host);
  if (chunks.length > 0 && !names.includes('content-length') && !names.includes('transfer-encoding')) {
    out.push('Content-Length', String(chunks.reduce((sum, chunk) => sum + Buffer.byteLength(chunk), 0)));
  }
  return out;
}

/** One request with Node's own client: raw header lists, chunked bodies, `Connection`, `Expect`. */
export function rawRequest(url: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  const chunks = options.chunks ?? [];
  const headers = Array.isArray(options.headers) ? headerList(url, options.headers, chunks) : options.headers;
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${options.path ?? '/'}`, {
      method: options.method ?? 'POST',
      headers,
      agent: false,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

/** A JSON-RPC `tools/call` request. */
export function toolsCall(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } }, ...extra };
}
