/**
 * Starts the example deployment in-process: two MCP servers, `notes` on MCP SDK v1 (sessions,
 * 2025-era protocol) and `reports` on MCP SDK v2 (both protocol eras), each with its own
 * audience, behind the example gateway, which signs with a fresh Ed25519 key
 * and publishes it as a JWKS that the servers fetch. The API-key client may act for the
 * demo users (`X-Act-As`); `reports` refuses delegated calls. The gateway applies a tool
 * policy to `reports` (`reports-policy.yaml`: `admin_report` for admins only). Every component
 * audits into the same sink.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createApp as createGatewayApp, createDemoIssuer, demoUsers, JWKS_PATH } from '@mcp-identity/example-gateway';
import { createApp as createMcpServerApp, createV2App } from '@mcp-identity/example-mcp-server';
import type { DemoApiClient, DemoIssuer, DemoUser } from '@mcp-identity/example-gateway';
import type { ToolCalls } from '@mcp-identity/example-mcp-server';
import { loadPolicy } from '@mcp-identity/gateway';
import type { AuditSink, FilePolicy } from '@mcp-identity/gateway';
import type { Registry } from 'prom-client';
import { startAuthorizationServer } from './authorization-server.js';
import type { AuthorizationServer } from './authorization-server.js';

/** Where to listen. Port 0 picks a free port. */
export interface DeploymentOptions {
  readonly host?: string;
  readonly gatewayPort?: number;
  readonly notesPort?: number;
  readonly reportsPort?: number;
  /** Receives the upstreams' warnings. Default `console`. */
  readonly logger?: { warn(message: string): void };
  /** Receives the audit events of the gateway and both MCP servers. Default: JSON lines on standard output. */
  readonly audit?: AuditSink;
  /** Counts the requests of every component; the gateway serves it at `/metrics`. */
  readonly metrics?: Registry;
  /**
   * Also start the OAuth authorization server (oidc-provider) and make each MCP mount an OAuth
   * protected resource, so MCP clients can log in with only the gateway URL. Default `false`;
   * `npm start` turns it on.
   */
  readonly oauth?: boolean;
  /** Port of the authorization server. Default 0. */
  readonly authorizationServerPort?: number;
  /** The gateway's policy file for `reports` (JSON or YAML). Default {@link REPORTS_POLICY_FILE}. */
  readonly reportsPolicyFile?: string;
  /** Reload the policy file when it changes. Default `false`; `npm start` turns it on. */
  readonly watchPolicy?: boolean;
}

/** A running deployment. */
export interface Deployment {
  readonly gatewayUrl: string;
  /** Direct URLs of the MCP servers (what the gateway forwards to). */
  readonly upstreams: { readonly notes: string; readonly reports: string };
  readonly issuer: DemoIssuer;
  readonly users: readonly DemoUser[];
  readonly apiClient: DemoApiClient;
  /** With `oauth: true`: the running authorization server. */
  readonly authorizationServer?: AuthorizationServer;
  /** The gateway's policy for `reports`, loaded from its file (`reload()` re-reads it). */
  readonly reportsPolicy: FilePolicy;
  /** How many times each MCP server's tool handlers ran: what got past the gateway and the receiver. */
  readonly toolCalls: { readonly notes: ToolCalls; readonly reports: ToolCalls };
  close(): Promise<void>;
}

/** Scopes each MCP server offers (`<name>:read`), and which one `reports` requires. */
export const OAUTH_REQUIRED_SCOPES = { reports: ['reports:read'] } as const;

/** The gateway's tool policy for `reports`: `admin_report` for the `admins` group (and admin users) only. */
export const REPORTS_POLICY_FILE = fileURLToPath(new URL('../reports-policy.yaml', import.meta.url));

export const GATEWAY_ISSUER = 'urn:example:gateway';
export const AUDIENCES = { notes: 'urn:example:mcp:notes', reports: 'urn:example:mcp:reports' } as const;

async function listening(port: number, host: string): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return { server, url: `http://${host}:${address.port}` };
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** Starts the gateway and both MCP servers. */
export async function startDeployment(options: DeploymentOptions = {}): Promise<Deployment> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? console;
  // Loaded first: a broken policy file stops the start-up, naming the file and the rule.
  const reportsPolicy = loadPolicy(options.reportsPolicyFile ?? REPORTS_POLICY_FILE, {
    watch: options.watchPolicy ?? false,
    logger,
  });
  // Listen first, so every app can be told the others' URLs. A port that fails closes what was
  // already listening (and the policy watch), so a caller that handles the error leaks nothing.
  const started: http.Server[] = [];
  const abandon = async (error: unknown): Promise<never> => {
    reportsPolicy.close();
    await Promise.all(started.map((server) => new Promise((resolve) => server.close(resolve))));
    throw error;
  };
  const listen = async (port: number): Promise<{ server: http.Server; url: string }> => {
    const listener = await listening(port, host).catch(abandon);
    started.push(listener.server);
    return listener;
  };
  const gateway = await listen(options.gatewayPort ?? 0);
  const notes = await listen(options.notesPort ?? 0);
  const reports = await listen(options.reportsPort ?? 0);

  const issuer = createDemoIssuer();
  const apiClient: DemoApiClient = { id: 'ci-bot', key: randomBytes(24).toString('base64url'), name: 'CI bot', roles: ['deployer'] };
  const { privateKey } = generateKeyPairSync('ed25519');
  const signing = [{ alg: 'EdDSA' as const, privateKey, active: true }];

  let authorizationServer: Awaited<ReturnType<typeof startAuthorizationServer>> | undefined;
  try {
    authorizationServer =
      options.oauth === true
        ? await startAuthorizationServer({
            host,
            port: options.authorizationServerPort ?? 0,
            users: demoUsers,
            resources: { [`${gateway.url}/mcp/notes`]: ['notes:read'], [`${gateway.url}/mcp/reports`]: ['reports:read', 'reports:list'] },
          })
        : undefined;
  } catch (error) {
    await abandon(error);
  }

  const jwksUrl = `${gateway.url}${JWKS_PATH}`;
  const { audit, metrics } = options;
  const notesApp = createMcpServerApp({
    name: 'notes',
    identity: { issuer: GATEWAY_ISSUER, audience: AUDIENCES.notes, keys: { jwksUrl }, logger, audit, metrics },
  });
  const reportsApp = createV2App({
    name: 'reports',
    // The receiver's policy hook: reports serves users themselves, never someone acting for them.
    identity: {
      issuer: GATEWAY_ISSUER,
      audience: AUDIENCES.reports,
      keys: { jwksUrl },
      logger,
      audit,
      metrics,
      policy: { maxDelegationDepth: 0 },
    },
  });
  notes.server.on('request', notesApp.app);
  reports.server.on('request', reportsApp.app);
  gateway.server.on(
    'request',
    createGatewayApp({
      issuer: GATEWAY_ISSUER,
      signing,
      upstreams: [
        { name: 'notes', target: `${notes.url}/mcp`, audience: AUDIENCES.notes },
        { name: 'reports', target: `${reports.url}/mcp`, audience: AUDIENCES.reports, policy: reportsPolicy },
      ],
      jwt: issuer,
      users: demoUsers,
      apiClients: [apiClient],
      actors: [apiClient.id],
      audit,
      metrics,
      ...(authorizationServer === undefined
        ? {}
        : {
            oauth: {
              publicUrl: gateway.url,
              authorizationServer: authorizationServer.issuer,
              requiredScopes: OAUTH_REQUIRED_SCOPES,
            },
          }),
    }),
  );

  return {
    gatewayUrl: gateway.url,
    upstreams: { notes: `${notes.url}/mcp`, reports: `${reports.url}/mcp` },
    issuer,
    users: demoUsers,
    apiClient,
    ...(authorizationServer === undefined ? {} : { authorizationServer }),
    reportsPolicy,
    toolCalls: { notes: notesApp.toolCalls, reports: reportsApp.toolCalls },
    async close() {
      reportsPolicy.close();
      await Promise.all([notesApp.close(), reportsApp.close(), authorizationServer?.close()]);
      await Promise.all([closeServer(gateway.server), closeServer(notes.server), closeServer(reports.server)]);
    },
  };
}
