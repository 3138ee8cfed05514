/**
 * The receiver's test kit: assertions built the way the gateway builds them, hand-crafted
 * hostile tokens, and one tiny Express app with `verifyIdentity` in front of a handler that
 * records that it ran.
 */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import net from 'node:net';
import express from 'express';
import type { ErrorRequestHandler, Express, Request, RequestHandler, Response } from 'express';
import type { Response as TestResponse } from 'supertest';
import {
  createAssertionSigner,
  EMPTY_BODY_SHA256,
  errorCodes,
  jsonBodyDigest,
  META_ASSERTION,
  normalizeUserContext,
  rawBodyDigest,
  userToClaims,
  userToHeaders,
} from '@mcp-identity/core/internal';
import type {
  AssertionExtras,
  AssertionSigner,
  AuditEvent,
  AssertionSignerOptions,
  IdentityErrorCode,
  RequestBinding,
  SignedAssertion,
  UserContext,
} from '@mcp-identity/core/internal';
import { verifyIdentity } from '../src/index.js';
import type { AuthInfo, VerifyIdentityOptions } from '../src/index.js';
import { listen } from '../../../test/kit.js';

export const ISSUER = 'https://gateway.test';
export const AUDIENCE = 'urn:mcp:files';
/** At least 32 bytes, no placeholder pattern. */
export const SECRET = 'vX4q9Lr2Tz7Wm1Ny8Kp3Hs6Bd0Fg5JcRe';
export const OTHER_SECRET = 'Qw8Er5Ty2Ui9Op4As7Df1Gh6Jk3Lz0XcVb';
/** The default header prefix, as the gateway spells it. */
export const PREFIX = 'X-Forwarded-User';
export const ASSERTION_HEADER = `${PREFIX}-Assertion`;
/** "Now" for every test, in milliseconds (a whole second). */
export const T0 = Date.UTC(2030, 0, 15, 12, 0, 0);
export const TTL_SECONDS = 60;
export const fixedClock = (): number => T0;

/** A user with everything that is easy to get wrong: non-ASCII, a comma in a group, delegation. */
export const USER: UserContext = normalizeUserContext({
  id: 'user-42',
  email: 'zoë@mail.test',
  name: 'Zoë Ñandú 🚀',
  groups: ['eng,ops', 'équipe'],
  teams: ['platform'],
  roles: ['reader', 'writer'],
  isAdmin: false,
  authMethod: 'jwt',
  delegationChain: ['agent-1', 'svc-reporter'],
  issuer: 'https://idp.test',
  attributes: { department: 'R&D' },
});

/** A JSON-RPC `tools/call`, as a client sends it. */
export function toolCall(args: Record<string, unknown> = { path: '/docs/a.txt' }, id: number | string = 1): Record<string, unknown> {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'read_file', arguments: args } };
}

/** A request as the gateway forwards it: `body` is a JSON value (sent as application/json), a Buffer (raw), or absent. */
export interface TestRequest {
  readonly method?: string;
  readonly path?: string;
  readonly body?: unknown;
}

/** The binding the gateway signs for a request. */
export function bindingOf({ method = 'POST', path = '/mcp', body }: TestRequest): RequestBinding {
  const bodySha256 = body === undefined ? EMPTY_BODY_SHA256 : Buffer.isBuffer(body) ? rawBodyDigest(body) : jsonBodyDigest(body);
  return { method, path, bodySha256 };
}

/** The gateway's HS256 signer for this upstream. */
export function hsSigner(overrides: Partial<AssertionSignerOptions> = {}): AssertionSigner {
  return createAssertionSigner({
    signing: { secret: SECRET },
    issuer: ISSUER,
    audience: AUDIENCE,
    ttlSeconds: TTL_SECONDS,
    clock: fixedClock,
    ...overrides,
  });
}

const defaultSigner = hsSigner();

export interface SignOptions {
  readonly user?: UserContext;
  readonly signer?: AssertionSigner;
  /** Optional claims (`requestId`, `policyRules`), as the gateway adds them. */
  readonly extra?: AssertionExtras;
}

/** An assertion correctly bound to `request`, with its `jti`, `iat` and `exp`. */
export function issueFor(request: TestRequest = {}, { user = USER, signer = defaultSigner, extra }: SignOptions = {}): SignedAssertion {
  return signer.sign(user, bindingOf(request), extra);
}

/** An assertion correctly bound to `request`. */
export function signFor(request: TestRequest = {}, options: SignOptions = {}): string {
  return issueFor(request, options).token;
}

/** The headers the gateway's header carrier sets: the assertion and the plain convenience headers. */
export function identityHeaders(token: string, user: UserContext = USER): Record<string, string> {
  return { [ASSERTION_HEADER]: token, ...userToHeaders(user, PREFIX) };
}

/** A deep copy of a JSON body (one message or a batch) with `members` added to each message's `params._meta`. */
export function withMeta(body: unknown, members: Readonly<Record<string, unknown>>): object {
  const copy = structuredClone(body) as object;
  for (const message of Array.isArray(copy) ? copy : [copy]) {
    const params = ((message as Record<string, unknown>).params ??= {}) as Record<string, unknown>;
    params._meta = { ...(params._meta as Record<string, unknown> | undefined), ...members };
  }
  return copy;
}

/** {@link withMeta} with the assertion, as the gateway's `_meta` carrier adds it. */
export function withMetaAssertion(body: unknown, token: unknown): object {
  return withMeta(body, { [META_ASSERTION]: token });
}

/**
 * A body as the `_meta` carrier forwards it: the assertion in every request's `params._meta`,
 * signed over the body with `_meta` in place (the digest leaves only the assertion member out).
 */
export function signIntoMeta(
  body: unknown,
  { method, path, ...options }: SignOptions & Omit<TestRequest, 'body'> = {},
): { readonly token: string; readonly body: object } {
  const carrier = withMetaAssertion(body, 'to be signed');
  const token = signFor({ method, path, body: carrier }, options);
  return { token, body: withMetaAssertion(carrier, token) };
}

// ---- Hand-crafted tokens ---------------------------------------------------------------------

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Valid claims for a binding, before any tampering. */
export function claimsFor(request: TestRequest = {}, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { method, path, bodySha256 } = bindingOf(request);
  const iat = T0 / 1000;
  return {
    v: 1,
    iss: ISSUER,
    aud: AUDIENCE,
    iat,
    exp: iat + TTL_SECONDS,
    jti: 'crafted-jti-0123456789',
    ...userToClaims(USER),
    req: { method, path, body_sha256: bodySha256 },
    ...overrides,
  };
}

/** A compact JWS MAC'd with HMAC-SHA256 under `key`, whatever the header says. */
export function hmacToken(header: unknown, payload: unknown, key: string | Buffer = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

/** The payload of a compact JWS, decoded without verifying it. */
export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

// ---- Asymmetric keys -------------------------------------------------------------------------

export const ed25519 = generateKeyPairSync('ed25519');
export const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
export const ed25519PublicPem = ed25519.publicKey.export({ format: 'pem', type: 'spki' }).toString();

// ---- The app under test ----------------------------------------------------------------------

/** What the handler saw, once per request that reached it. */
export interface HandlerCall {
  readonly user: Express.User | undefined;
  readonly auth: AuthInfo | undefined;
  readonly body: unknown;
  readonly url: string;
  readonly originalUrl: string;
}

export interface TestAppOptions {
  /** Overrides of the receiver options (default: HS256 `SECRET`, `AUDIENCE`, `ISSUER`, clock at `T0`). */
  readonly receiver?: Partial<VerifyIdentityOptions>;
  /** Middleware mounted before the receiver, e.g. `express.json()`. */
  readonly before?: readonly RequestHandler[];
  /** Where the receiver and handler are mounted. Default `/`. */
  readonly mount?: string;
  /** Replaces the default handler's answer (the call is recorded first). */
  readonly respond?: (req: Request, res: Response) => void;
}

export interface TestApp {
  readonly app: Express;
  readonly calls: HandlerCall[];
  /** The audit events the receiver emitted (unless `receiver.audit` brings its own sink). */
  readonly events: AuditEvent[];
}

/** An audit sink that keeps nothing: tests that do not look at events keep standard output clean. */
export const noAudit = (): void => undefined;

export function receiverOptions(overrides: Partial<VerifyIdentityOptions> = {}): VerifyIdentityOptions {
  return { audience: AUDIENCE, issuer: ISSUER, secrets: [{ secret: SECRET }], clock: fixedClock, audit: noAudit, ...overrides };
}

// Anything that reaches Express's error handling is a failure the tests must see as such.
const unexpectedError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
  res.status(status).json({ jsonrpc: '2.0', id: null, error: { code: -32603, message: 'unexpected error', data: { code: 'unexpected' } } });
};

/** An Express app: `verifyIdentity` in front of a handler answering `{ user: req.user, auth: req.auth }`. */
export function createTestApp(options: TestAppOptions = {}): TestApp {
  const calls: HandlerCall[] = [];
  const events: AuditEvent[] = [];
  const audit = (event: AuditEvent): void => {
    events.push(event);
  };
  const app = express();
  app.use(
    options.mount ?? '/',
    ...(options.before ?? []),
    verifyIdentity(receiverOptions({ audit, ...options.receiver })),
    (req: Request, res: Response) => {
      calls.push({ user: req.user, auth: req.auth, body: req.body as unknown, url: req.url, originalUrl: req.originalUrl });
      if (options.respond === undefined) res.json({ user: req.user, auth: req.auth });
      else options.respond(req, res);
    },
  );
  app.use(unexpectedError);
  return { app, calls, events };
}

/** Checks a refusal: status, JSON-RPC error body with the code, no caching, and the handler never ran. */
export function expectRefusal(
  res: RawResponse | TestResponse,
  status: number,
  code: IdentityErrorCode,
  calls: readonly HandlerCall[],
  id: string | number | null = null,
): void {
  expect({ status: res.status, body: res.body as unknown }).toEqual({
    status,
    body: { jsonrpc: '2.0', id, error: { code: errorCodes[code].rpcCode, message: expect.any(String), data: { code } } },
  });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(calls).toHaveLength(0);
}

// ---- Raw HTTP, for what supertest cannot send (repeated headers, names kept as spelled) -------

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export interface RawRequest {
  readonly method?: string;
  readonly path?: string;
  /** Header lines in order, names exactly as written. */
  readonly headers: readonly (readonly [string, string])[];
  /** Sent with `Content-Type: application/json`: a Buffer as is, anything else as JSON text. */
  readonly body?: unknown;
  /** Send the body with `Transfer-Encoding: chunked` instead of `Content-Length`. */
  readonly chunked?: boolean;
}

/** Sends one request over a plain socket and parses the answer (a Content-Length body, JSON). */
export async function rawRequest(
  app: Express,
  { method = 'POST', path = '/mcp', headers, body, chunked = false }: RawRequest,
): Promise<RawResponse> {
  const server = await listen(app);
  try {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const lines = [
      `${method} ${path} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Connection: close',
      ...headers.map(([name, value]) => `${name}: ${value}`),
    ];
    if (payload !== undefined) {
      lines.push('Content-Type: application/json', chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${payload.length}`);
    }
    const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);
    const wire =
      payload === undefined
        ? head
        : chunked
          ? Buffer.concat([head, Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n0\r\n\r\n')])
          : Buffer.concat([head, payload]);
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = net.connect(server.port, '127.0.0.1', () => socket.write(wire));
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => {
        resolve(Buffer.concat(chunks));
      });
      socket.on('error', reject);
    });
    const text = answer.toString('utf8');
    const split = text.indexOf('\r\n\r\n');
    const [statusLine = '', ...headerLines] = text.slice(0, split).split('\r\n');
    const responseHeaders: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      responseHeaders[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const rest = text.slice(split + 4);
    return {
      status: Number(statusLine.split(' ')[1]),
      headers: responseHeaders,
      body: rest.length === 0 ? undefined : (JSON.parse(rest) as unknown),
    };
  } finally {
    await server.close();
  }
}
