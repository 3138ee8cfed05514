/**
 * The scripted demo: MCP SDK clients call the MCP servers through the gateway as a JWT
 * user, a Basic user and an API-key client — each server with its own SDK's client: SDK v1
 * for `notes`, SDK v2 for `reports` (2025-era by default, and pinned to 2026-07-28 in the last step); then a client forges identity headers, and
 * another goes straight to an upstream. Then delegation: the API-key client acts for a
 * user, an assistant's token acts for José, and two delegated calls are refused. Last, the
 * gateway's tool policy for `reports` (`reports-policy.yaml`): an admin and a non-admin list
 * the tools, and the non-admin's direct call of `admin_report` is refused at the gateway.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client as ClientV2, StreamableHTTPClientTransport as StreamableHTTPClientTransportV2 } from '@modelcontextprotocol/client';
import { demoJwtClaims } from '@mcp-identity/example-gateway';
import type { Deployment } from './deployment.js';
import { connectWithOAuth, DemoOAuthProvider, signIn } from './oauth-client.js';

/** One step of the demo and what came back. */
export interface DemoStep {
  readonly title: string;
  /** What the upstream's `whoami` returned (the verified user), when called. */
  readonly whoami?: Record<string, unknown> | null;
  /** Which client called, and the protocol era the SDK v2 server served the call in (SDK v1 servers speak the 2025 era only). */
  readonly served?: { readonly client: DemoClient; readonly era: string };
  /**
   * What `admin_report` gave, when called: its text (`isError` when the tool itself refused), or
   * the JSON-RPC error the call was rejected with (`rpcError`, e.g. the gateway policy's -32003 `forbidden`).
   */
  readonly adminReport?: {
    readonly isError: boolean;
    readonly text: string;
    readonly rpcError?: { readonly code: number; readonly dataCode: string | undefined };
  };
  /** The tool names each user's `tools/list` returned, when listed. */
  readonly listed?: readonly { readonly user: string; readonly tools: readonly string[] }[];
  /** How many times the upstream's tool handler ran before and after the step: equal when the call never reached it. */
  readonly upstreamRuns?: { readonly upstream: string; readonly tool: string; readonly before: number; readonly after: number };
  /** The text a tool answered, for steps that show one (token exchange). */
  readonly toolText?: string;
  /** For a request the deployment refused: HTTP status and error code (and the Bearer challenge, when OAuth is on). */
  readonly refused?: { readonly status: number; readonly code: string | undefined; readonly challenge?: string };
}

/** Which MCP client: SDK v1 (2025-era), SDK v2 negotiating as usual (2025-era here), or SDK v2 pinned to 2026-07-28. */
export type DemoClient = 'sdk-v1' | 'sdk-v2' | 'sdk-v2-modern';

interface ToolCaller {
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
  listTools(): Promise<{ tools: { name: string }[] }>;
  close(): Promise<void>;
}

async function connect(url: string, headers: Record<string, string>, kind: DemoClient): Promise<ToolCaller> {
  if (kind === 'sdk-v1') {
    const client = new Client({ name: 'mcp-identity-demo', version: '0.1.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
    return client;
  }
  const client = new ClientV2(
    { name: 'mcp-identity-demo', version: '0.1.0' },
    kind === 'sdk-v2-modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
  );
  await client.connect(new StreamableHTTPClientTransportV2(new URL(url), { requestInit: { headers } }));
  return client;
}

function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((part) => part.text ?? '').join('');
}

/** Calls `admin_report`; a JSON-RPC error (the SDKs reject the call with it) is the result too. */
async function adminReportOf(client: ToolCaller): Promise<NonNullable<DemoStep['adminReport']>> {
  try {
    const result = (await client.callTool({ name: 'admin_report', arguments: {} })) as { isError?: boolean };
    return { isError: result.isError === true, text: textOf(result) };
  } catch (error) {
    const { code, message, data } = error as { code?: unknown; message?: unknown; data?: unknown };
    if (typeof code !== 'number') throw error;
    const dataCode = (data as { code?: unknown } | undefined)?.code;
    return {
      isError: true,
      text: String(message),
      rpcError: { code, dataCode: typeof dataCode === 'string' ? dataCode : undefined },
    };
  }
}

async function callAs(
  title: string,
  url: string,
  headers: Record<string, string>,
  tools: readonly ('whoami' | 'admin_report')[],
): Promise<DemoStep> {
  // Each upstream is called by its own SDK's client: notes runs SDK v1, reports SDK v2.
  const kind: DemoClient = url.endsWith('/reports') ? 'sdk-v2' : 'sdk-v1';
  return callWith(kind, title, url, headers, tools);
}

async function callWith(
  kind: DemoClient,
  title: string,
  url: string,
  headers: Record<string, string>,
  tools: readonly ('whoami' | 'admin_report')[],
): Promise<DemoStep> {
  const client = await connect(url, headers, kind);
  try {
    let whoami: DemoStep['whoami'];
    let served: DemoStep['served'];
    let adminReport: DemoStep['adminReport'];
    for (const tool of tools) {
      if (tool === 'admin_report') {
        adminReport = await adminReportOf(client);
        continue;
      }
      const result = (await client.callTool({ name: tool, arguments: {} })) as { structuredContent?: unknown };
      const structured = result.structuredContent as { user: Record<string, unknown> | null; era?: string } | undefined;
      whoami = structured?.user ?? null;
      served = { client: kind, era: structured?.era ?? 'legacy' };
    }
    return {
      title,
      ...(whoami === undefined ? {} : { whoami }),
      ...(served === undefined ? {} : { served }),
      ...(adminReport === undefined ? {} : { adminReport }),
    };
  } finally {
    await client.close();
  }
}

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'forger', version: '1' } },
});

async function refusedStatus(title: string, url: string, headers: Record<string, string>): Promise<DemoStep> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: initialize,
  });
  const body = (await response.json().catch(() => ({}))) as { error?: { data?: { code?: string } } };
  const challenge = response.headers.get('www-authenticate') ?? '';
  return {
    title,
    refused: { status: response.status, code: body.error?.data?.code, ...(challenge.includes('resource_metadata') ? { challenge } : {}) },
  };
}

/** Lists the tools of an upstream as each user (an SDK v2 client per user). */
async function listAs(title: string, url: string, users: readonly { user: string; headers: Record<string, string> }[]): Promise<DemoStep> {
  const listed: { user: string; tools: string[] }[] = [];
  for (const { user, headers } of users) {
    const client = await connect(url, headers, 'sdk-v2');
    try {
      listed.push({ user, tools: (await client.listTools()).tools.map((tool) => tool.name) });
    } finally {
      await client.close();
    }
  }
  return { title, listed };
}

/** Calls `admin_report` at reports directly (without listing first), counting the runs of its handler around the call. */
async function adminReportAs(title: string, deployment: Deployment, headers: Record<string, string>): Promise<DemoStep> {
  const before = deployment.toolCalls.reports.count('admin_report');
  const client = await connect(`${deployment.gatewayUrl}/mcp/reports`, headers, 'sdk-v2');
  let adminReport: DemoStep['adminReport'];
  try {
    adminReport = await adminReportOf(client);
  } finally {
    await client.close();
  }
  const after = deployment.toolCalls.reports.count('admin_report');
  return { title, adminReport, upstreamRuns: { upstream: 'reports', tool: 'admin_report', before, after } };
}

/**
 * The OAuth steps (when the deployment runs its authorization server): an MCP SDK client given
 * only the gateway's MCP URL logs alice in and calls whoami; her notes token is refused at
 * reports (another resource); a token for reports without `reports:read` gets the 403 step-up.
 */
async function runOAuthDemo(deployment: Deployment): Promise<DemoStep[]> {
  const alice = deployment.users[0]!;
  const notes = `${deployment.gatewayUrl}/mcp/notes`;
  const reports = `${deployment.gatewayUrl}/mcp/reports`;
  const { client, provider } = await connectWithOAuth(notes, alice.username, alice.password);
  let whoami: DemoStep['whoami'];
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    whoami = (result.structuredContent as { user: Record<string, unknown> | null } | undefined)?.user ?? null;
  } finally {
    await client.close();
  }
  const notesToken = provider.tokens()?.access_token ?? '';

  // A client that asked for less than reports requires: the real flow, with scope reports:list only.
  const narrow = new DemoOAuthProvider();
  if ((await auth(narrow, { serverUrl: reports, scope: 'reports:list' })) !== 'REDIRECT' || narrow.authorizationUrl === undefined)
    throw new Error('the authorization server did not ask the user to sign in');
  const code = await signIn(narrow.authorizationUrl, alice.username, alice.password);
  await auth(narrow, { serverUrl: reports, authorizationCode: code });

  return [
    {
      title: 'An MCP SDK client given only the gateway URL logs alice in with OAuth (discovery, registration, PKCE) and calls notes/whoami',
      whoami,
    },
    await refusedStatus("alice's token for notes is sent to reports (another resource)", reports, {
      authorization: `Bearer ${notesToken}`,
    }),
    await refusedStatus('A token for reports with scope reports:list only (reports requires reports:read)', reports, {
      authorization: `Bearer ${narrow.tokens()?.access_token ?? ''}`,
    }),
  ];
}

/** Runs every step against a running deployment. */
export async function runDemo(deployment: Deployment): Promise<DemoStep[]> {
  // The demo issuer's tokens carry scopes like any access token; reports requires reports:read when OAuth is on.
  const scope = 'notes:read reports:read';
  const token = await deployment.issuer.sign({ ...demoJwtClaims, scope });
  const bearer = { authorization: `Bearer ${token}` };
  const alice = deployment.users[0]!;
  const basic = { authorization: `Basic ${Buffer.from(`${alice.username}:${alice.password}`).toString('base64')}` };
  const notes = `${deployment.gatewayUrl}/mcp/notes`;
  const reports = `${deployment.gatewayUrl}/mcp/reports`;
  const forged = { 'X-Forwarded-User-Admin': 'true', 'X-Forwarded-User-Id': 'root', 'X-Forwarded-User-Groups': 'admins' };
  const apiKey = { 'x-api-key': deployment.apiClient.key };
  // RFC 8693: the outermost act is the current actor (mail-agent), acting through the assistant.
  const agentToken = await deployment.issuer.sign({ ...demoJwtClaims, scope, act: { sub: 'mail-agent', act: { sub: 'assistant' } } });
  const bob = deployment.users[1]!;
  const bobBasic = { authorization: `Basic ${Buffer.from(`${bob.username}:${bob.password}`).toString('base64')}` };

  return [
    await callAs('JWT user José (non-ASCII name, group "eng,ops") calls notes/whoami', notes, bearer, ['whoami']),
    await callAs('Basic user alice (group admins) calls reports/whoami and admin_report', reports, basic, ['whoami', 'admin_report']),
    await callAs(`API key client ${deployment.apiClient.id} calls notes/whoami`, notes, { 'x-api-key': deployment.apiClient.key }, [
      'whoami',
    ]),
    await callAs(
      'José forges X-Forwarded-User-Admin/-Id/-Groups and calls reports/whoami and admin_report',
      reports,
      { ...bearer, ...forged },
      ['whoami', 'admin_report'],
    ),
    await refusedStatus('A client goes straight to the notes upstream with forged headers', deployment.upstreams.notes, forged),
    await refusedStatus('A wrong Basic password at the gateway', notes, {
      authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}`,
    }),
    await callAs(
      `API key client ${deployment.apiClient.id} acts for bob (X-Act-As: bob) and calls notes/whoami`,
      notes,
      {
        ...apiKey,
        'x-act-as': 'bob',
      },
      ['whoami'],
    ),
    await callAs(
      'An assistant acting for José (JWT with a nested act claim) calls notes/whoami',
      notes,
      {
        authorization: `Bearer ${agentToken}`,
      },
      ['whoami'],
    ),
    await refusedStatus(`${deployment.apiClient.id} acts for alice at reports, which refuses delegated calls`, reports, {
      ...apiKey,
      'x-act-as': 'alice',
    }),
    await refusedStatus('Basic user bob, not allowed to act for others, sends X-Act-As: alice', notes, {
      ...bobBasic,
      'x-act-as': 'alice',
    }),
    await callWith('sdk-v2-modern', 'An SDK v2 client in the 2026-07-28 (stateless) era calls reports/whoami as alice', reports, basic, [
      'whoami',
    ]),
    await listAs('The gateway policy of reports (reports-policy.yaml): alice (group admins) and bob list its tools', reports, [
      { user: alice.username, headers: basic },
      { user: bob.username, headers: bobBasic },
    ]),
    await adminReportAs('bob calls reports/admin_report anyway (a direct tools/call, not in his list)', deployment, bobBasic),
    ...(deployment.authorizationServer === undefined ? [] : await runOAuthDemo(deployment)),
  ];
}

/** Renders the demo's results for a terminal. */
export function formatDemo(steps: readonly DemoStep[]): string {
  const lines: string[] = [];
  for (const [index, step] of steps.entries()) {
    lines.push(`${index + 1}. ${step.title}`);
    if (step.served !== undefined) lines.push(`   client: ${step.served.client}, served in the ${step.served.era} era`);
    if (step.whoami !== undefined) lines.push(`   upstream saw: ${JSON.stringify(step.whoami)}`);
    for (const { user, tools } of step.listed ?? []) lines.push(`   tools/list as ${user}: ${tools.join(', ')}`);
    if (step.adminReport?.rpcError !== undefined) {
      const { code, dataCode } = step.adminReport.rpcError;
      lines.push(`   admin_report: refused at the gateway (JSON-RPC error ${code} ${dataCode ?? ''})`.replace(' )', ')'));
    } else if (step.adminReport !== undefined) {
      lines.push(`   admin_report: ${step.adminReport.isError ? 'refused by the tool' : 'allowed'} (${step.adminReport.text})`);
    }
    if (step.upstreamRuns !== undefined) {
      const { upstream, tool, before, after } = step.upstreamRuns;
      const verdict = after === before ? `the call never reached ${upstream}` : `${upstream} ran it`;
      lines.push(`   ${tool} handler runs at ${upstream}: ${before} before the call, ${after} after (${verdict})`);
    }
    if (step.toolText !== undefined) lines.push(`   tool answered: ${step.toolText}`);
    if (step.refused !== undefined) lines.push(`   refused: HTTP ${step.refused.status} ${step.refused.code ?? ''}`.trimEnd());
    if (step.refused?.challenge !== undefined) lines.push(`   WWW-Authenticate: ${step.refused.challenge}`);
  }
  return lines.join('\n');
}
