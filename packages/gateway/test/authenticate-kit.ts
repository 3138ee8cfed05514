/**
 * The app the authentication tests drive: `authenticate(...)` in front of a handler that
 * answers `req.userContext`, listening on 127.0.0.1 (so the client's peer address is
 * 127.0.0.1), plus the assertions every refusal shares.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Strategy } from 'passport-strategy';
import type { ErrorRequestHandler, Request } from 'express';
import type { Response } from 'supertest';
import { listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';
import { authenticate } from '../src/index.js';
import type { AuditEvent, AuthenticateOptions, StrategyRef } from '../src/index.js';

/** A running app under test and the requests its protected handler saw. */
export interface AppUnderTest extends Running {
  /** Requests that reached the handler after `authenticate`. */
  readonly reached: Request[];
  /** Errors that reached the app's error handler. */
  readonly unhandled: unknown[];
  /** The audit events `authenticate` emitted (unless the options bring their own sink). */
  readonly events: AuditEvent[];
}

const running: Running[] = [];

/** How to set up the app around `authenticate`. */
export interface AppSetup {
  /** Runs before `authenticate` is mounted (app settings, earlier middleware). */
  readonly configure?: (app: express.Express) => void;
  /** Listen on this address instead of the kit's 127.0.0.1 (e.g. `::` to see IPv4-mapped peers, `::1`). */
  readonly host?: string;
}

/**
 * Starts `authenticate(strategies, options)` on `/mcp`, followed by a handler answering
 * `{ user: req.userContext, peer, hasSession, hasUser }`.
 */
export async function startApp(
  strategies: readonly StrategyRef[],
  options: AuthenticateOptions,
  setup: AppSetup = {},
): Promise<AppUnderTest> {
  const reached: Request[] = [];
  const unhandled: unknown[] = [];
  const events: AuditEvent[] = [];
  const app = express();
  setup.configure?.(app);
  const audit = (event: AuditEvent): void => {
    events.push(event);
  };
  app.use('/mcp', authenticate(strategies, { audit, ...options }), (req, res) => {
    reached.push(req);
    res.json({ user: req.userContext, peer: req.socket.remoteAddress, hasSession: 'session' in req, hasUser: req.user !== undefined });
  });
  // Anything reaching here escaped authenticate's own answers: recorded, and answered 599.
  const onError: ErrorRequestHandler = (error: unknown, _req, res, next) => {
    unhandled.push(error);
    if (res.headersSent) next(error);
    else res.status(599).json({ unhandled: true });
  };
  app.use(onError);
  const server = setup.host === undefined ? await listen(app) : await listenOn(app, setup.host);
  running.push(server);
  return { ...server, reached, unhandled, events };
}

async function listenOn(handler: http.RequestListener, host: string): Promise<Running> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    // Clients connect to IPv4 loopback unless the app listens on IPv6 loopback only.
    url: host === '::1' ? `http://[::1]:${port}` : `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Closes every app started by the current test file; call from `afterEach`. */
export async function closeApps(): Promise<void> {
  await Promise.all(running.splice(0).map((server) => server.close()));
}

const RPC_CODES: Readonly<Record<string, number>> = {
  unauthenticated: -32001,
  forbidden: -32003,
  auth_unavailable: -32603,
  claims_limit_exceeded: -32003,
};

/** Asserts a refusal: status, JSON-RPC error body with the code, `no-store`, and that the handler never ran. */
export function expectRefusal(res: Response, app: AppUnderTest, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body).toEqual({
    jsonrpc: '2.0',
    id: null,
    error: { code: RPC_CODES[code], message: expect.any(String), data: { code } },
  });
  expect(app.reached).toHaveLength(0);
  expect(app.unhandled).toHaveLength(0);
}

/** The `WWW-Authenticate` challenges of a response, one entry per header line. */
export function challengesOf(res: Response): string[] {
  const raw = (res as unknown as { res: { rawHeaders: string[] } }).res.rawHeaders;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'www-authenticate') out.push(raw[i + 1]!);
  return out;
}

/**
 * A stand-in for passport-openidconnect (no IdP is reachable here): registered as
 * `openidconnect`, it succeeds with the Passport profile it was given.
 */
export class FakeOidcStrategy extends Strategy {
  readonly name = 'openidconnect';
  // Not a #private field: Passport runs each request on Object.create(strategy).
  private readonly _profile: unknown;

  constructor(profile: unknown) {
    super();
    this._profile = profile;
  }

  override authenticate(): void {
    this.success(this._profile);
  }
}

/** A Passport-style OIDC profile, as passport-openidconnect yields it. */
export function oidcProfile(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'oidc-sub-1',
    displayName: 'Ada Lovelace',
    emails: [{ value: 'ada@example.com' }],
    provider: 'https://idp.example.com',
    _json: {
      iss: 'https://idp.example.com/realms/corp',
      sub: 'oidc-sub-1',
      groups: ['engineering', 'oncall'],
      realm_access: { roles: ['mcp-user', 'mcp-admin'] },
    },
    ...overrides,
  };
}

/** A header value sent once per entry: supertest passes an array to Node, which writes one header line for each. */
export function repeated(...values: string[]): string {
  return values as unknown as string;
}
