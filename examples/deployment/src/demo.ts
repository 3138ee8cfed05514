/**
 * The scripted demo: MCP SDK clients call the MCP servers through the gateway as a JWT
 * user, a Basic user and an API-key client; then a client forges identity headers, and
 * another goes straight to an upstream. Last, delegation: the API-key client acts for a
 * user, an assistant's token acts for José, and two delegated calls are refused.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { demoJwtClaims } from '@mcp-identity/example-gateway';
import type { Deployment } from './deployment.js';
import { connectWithOAuth, DemoOAuthProvider, signIn } from './oauth-client.js';

/** One step of the demo and what came back. */
export interface DemoStep {
  readonly title: string;
  /** What the upstream's `whoami` returned (the verified user), when called. */
  readonly whoami?: Record<string, unknown> | null;
  /** The text of `admin_report`, when called. */
  readonly adminReport?: { readonly isError: boolean; readonly text: string };
  /** The text a tool answered, for steps that show one (token exchange). */
  readonly toolText?: string;
  /** For a request the deployment refused: HTTP status and error code (and the Bearer challenge, when OAuth is on). */
  readonly refused?: { readonly status: number; readonly code: string | undefined; readonly challenge?: string };
}

async function connect(url: string, headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'mcp-identity-demo', version: '0.1.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((part) => part.text ?? '').join('');
}

async function callAs(
  title: string,
  url: string,
  headers: Record<string, string>,
  tools: readonly ('whoami' | 'admin_report')[],
): Promise<DemoStep> {
  const client = await connect(url, headers);
  try {
    let whoami: DemoStep['whoami'];
    let adminReport: DemoStep['adminReport'];
    for (const tool of tools) {
      const result = await client.callTool({ name: tool, arguments: {} });
      if (tool === 'whoami') whoami = (result.structuredContent as { user: Record<string, unknown> | null } | undefined)?.user ?? null;
      else adminReport = { isError: result.isError === true, text: textOf(result) };
    }
    return { title, ...(whoami === undefined ? {} : { whoami }), ...(adminReport === undefined ? {} : { adminReport }) };
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
    await callAs('José forges X-Forwarded-User-Admin/-Id/-Groups and calls reports/admin_report', reports, { ...bearer, ...forged }, [
      'whoami',
      'admin_report',
    ]),
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
    ...(deployment.authorizationServer === undefined ? [] : await runOAuthDemo(deployment)),
  ];
}

/** Renders the demo's results for a terminal. */
export function formatDemo(steps: readonly DemoStep[]): string {
  const lines: string[] = [];
  for (const [index, step] of steps.entries()) {
    lines.push(`${index + 1}. ${step.title}`);
    if (step.whoami !== undefined) lines.push(`   upstream saw: ${JSON.stringify(step.whoami)}`);
    if (step.adminReport !== undefined)
      lines.push(`   admin_report: ${step.adminReport.isError ? 'refused' : 'allowed'} (${step.adminReport.text})`);
    if (step.toolText !== undefined) lines.push(`   tool answered: ${step.toolText}`);
    if (step.refused !== undefined) lines.push(`   refused: HTTP ${step.refused.status} ${step.refused.code ?? ''}`.trimEnd());
    if (step.refused?.challenge !== undefined) lines.push(`   WWW-Authenticate: ${step.refused.challenge}`);
  }
  return lines.join('\n');
}
