import { Registry } from 'prom-client';
import type { AuditEvent } from '@mcp-identity/gateway';
import { eventLog } from '../../../test/kit.js';
import { AUDIENCES, formatAuditEvent, formatDemo, runDemo, startDeployment, summarizeAudit } from '../src/index.js';
import type { Deployment, DemoStep } from '../src/index.js';

describe('the example deployment', () => {
  let deployment: Deployment;
  let steps: DemoStep[];
  const warnings: string[] = [];
  const audit = eventLog<AuditEvent>();
  const metrics = new Registry();

  beforeAll(async () => {
    deployment = await startDeployment({ logger: { warn: (message) => warnings.push(message) }, audit: audit.sink, metrics });
    steps = await runDemo(deployment);
  });

  afterAll(async () => {
    await deployment.close();
  });

  it('delivers the JWT user to the MCP tool handler with the non-ASCII name and the comma group intact', () => {
    expect(steps[0]?.whoami).toEqual({
      id: 'jose',
      email: 'jose@example.com',
      name: 'José Núñez',
      groups: ['eng,ops', 'équipe-🚀'],
      teams: [],
      roles: ['reader'],
      isAdmin: false,
      authMethod: 'jwt',
      issuer: 'urn:example:demo-idp',
      scopes: ['notes:read', 'reports:read'],
    });
  });

  it('has each upstream called by its own SDK client: notes on SDK v1, reports on SDK v2, both in the 2025 era', () => {
    expect(steps[0]?.served).toEqual({ client: 'sdk-v1', era: 'legacy' });
    expect(steps[1]?.served).toEqual({ client: 'sdk-v2', era: 'legacy' });
  });

  it('delivers the user to the SDK v2 upstream for an SDK v2 client pinned to the 2026-07-28 era, served as modern', () => {
    const modern = steps.find((step) => step.served?.client === 'sdk-v2-modern');
    expect(modern?.served).toEqual({ client: 'sdk-v2-modern', era: 'modern' });
    expect(modern?.whoami).toMatchObject({ id: 'alice', authMethod: 'basic', groups: ['admins', 'eng'] });
  });

  it('delivers the Basic user, whose admins group passes the admin_report authorization', () => {
    expect(steps[1]?.whoami).toMatchObject({ id: 'alice', authMethod: 'basic', groups: ['admins', 'eng'], name: 'Alice Liddell' });
    expect(steps[1]?.adminReport).toEqual({ isError: false, text: 'report for alice: all systems nominal' });
  });

  it('delivers the API-key client as itself', () => {
    expect(steps[2]?.whoami).toMatchObject({ id: 'ci-bot', authMethod: 'api_key', roles: ['deployer'], isAdmin: false });
  });

  it('ignores forged X-Forwarded-User-* headers: the upstream sees José, and the gateway policy refuses him admin_report', () => {
    expect(steps[3]?.whoami).toMatchObject({ id: 'jose', isAdmin: false, groups: ['eng,ops', 'équipe-🚀'] });
    expect(steps[3]?.adminReport).toEqual({
      isError: true,
      text: expect.stringContaining('the gateway policy does not allow this operation'),
      rpcError: { code: -32003, dataCode: 'forbidden' },
    });
  });

  it('refuses a request sent straight to the upstream with forged headers', () => {
    expect(steps[4]?.refused).toEqual({ status: 401, code: 'identity_missing' });
  });

  it('refuses a wrong password at the gateway', () => {
    expect(steps[5]?.refused).toEqual({ status: 401, code: 'unauthenticated' });
  });

  it('delivers the user an allowed API-key client acts for (X-Act-As), with the client as the current actor', () => {
    expect(steps[6]?.whoami).toMatchObject({ id: 'bob', authMethod: 'api_key', serviceAccount: 'ci-bot', delegationChain: ['ci-bot'] });
  });

  it('delivers the subject, the current actor and the chain of a nested act claim', () => {
    expect(steps[7]?.whoami).toMatchObject({
      id: 'jose',
      authMethod: 'jwt',
      serviceAccount: 'mail-agent',
      delegationChain: ['assistant', 'mail-agent'],
    });
  });

  it('lets the reports upstream refuse delegated calls with its policy', () => {
    expect(steps[8]?.refused).toEqual({ status: 403, code: 'identity_forbidden' });
  });

  it('refuses X-Act-As from a principal not allowed to act for others', () => {
    expect(steps[9]?.refused).toEqual({ status: 403, code: 'forbidden' });
  });

  it('lists admin_report to alice (group admins) but not to bob, through the gateway policy of reports', () => {
    expect(steps[11]?.listed).toEqual([
      { user: 'alice', tools: ['whoami', 'admin_report'] },
      { user: 'bob', tools: ['whoami'] },
    ]);
  });

  it('answers bob’s direct admin_report call at the gateway with -32003 forbidden, the tool never running', () => {
    expect(steps[12]?.adminReport).toEqual({
      isError: true,
      text: expect.stringContaining('the gateway policy does not allow this operation'),
      rpcError: { code: -32003, dataCode: 'forbidden' },
    });
    // alice's call in step 2 ran the tool once; bob's did not.
    expect(steps[12]?.upstreamRuns).toEqual({ upstream: 'reports', tool: 'admin_report', before: 1, after: 1 });
    expect(deployment.toolCalls.reports.count('admin_report')).toBe(1);
    expect(
      audit.events.filter((event) => event.component === 'receiver' && event.rpcName === 'admin_report').map((event) => event.subject),
    ).toEqual(['alice']);
  });

  it('prints the tools each user listed and the gateway refusal with the handler count', () => {
    const text = formatDemo(steps);
    expect(text).toContain('\n   tools/list as alice: whoami, admin_report\n   tools/list as bob: whoami\n');
    expect(text).toContain(
      '\n   admin_report: refused at the gateway (JSON-RPC error -32003 forbidden)\n' +
        '   admin_report handler runs at reports: 1 before the call, 1 after (the call never reached reports)',
    );
  });

  it('audits the refusals of the demo at the component that refused, with the reason and the policy rule', () => {
    const refusals = audit.events
      .filter((event) => event.decision === 'refused')
      .map((event) => [event.component, event.reason, event.subject, event.policy?.map((record) => `${record.decision} ${record.rule}`)]);
    expect(refusals).toEqual([
      ['gateway', 'forbidden', 'jose', ['deny admin-report-others']],
      ['receiver', 'identity_missing', undefined, undefined],
      ['gateway', 'unauthenticated', undefined, undefined],
      ['receiver', 'identity_forbidden', 'alice', undefined],
      ['gateway', 'forbidden', 'bob', undefined],
      ['gateway', 'forbidden', 'bob', ['deny admin-report-others']],
    ]);
    expect(summarizeAudit(audit.events)).toMatch(
      /\n {2}gateway {2}refused forbidden +POST \/mcp\/reports tools\/call admin_report {2}bob \(basic\) HTTP 200 \(policy rule admin-report-others\)$/m,
    );
  });

  it('shows the delegated tool call in a compact audit line', () => {
    const line = audit.events
      .filter((event) => event.component === 'receiver' && event.rpcMethod === 'tools/call' && event.actingAs === 'mail-agent')
      .map(formatAuditEvent);
    expect(line).toEqual([
      expect.stringMatching(/^receiver accepted +POST \/mcp tools\/call whoami {2}jose \(jwt\) via assistant > mail-agent$/),
    ]);
    expect(summarizeAudit(audit.events)).toMatch(/^\d+ events \(/);
  });

  it('counts the requests of every component by decision and reason in the shared registry', async () => {
    const text = await metrics.metrics();
    // One X-Act-As refusal, two policy refusals (José's and bob's admin_report).
    expect(text).toMatch(/^mcp_identity_requests_total\{component="gateway",decision="refused",reason="forbidden"\} 3$/m);
    expect(text).toMatch(
      /^mcp_identity_policy_denials_total\{audience="urn:example:mcp:reports",method="tools\/call",tool="admin_report",rule="admin-report-others"\} 2$/m,
    );
    expect(text).toMatch(/^mcp_identity_requests_total\{component="receiver",decision="refused",reason="identity_forbidden"\} 1$/m);
    expect(text).toMatch(/^mcp_identity_requests_total\{component="receiver",decision="accepted",reason=""\} \d+$/m);
  });

  it('serves the metrics at /metrics on the gateway', async () => {
    const response = await fetch(`${deployment.gatewayUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('# TYPE mcp_identity_requests_total counter');
  });

  it('signs for a distinct audience per upstream and publishes the key as a JWKS', async () => {
    expect(AUDIENCES.notes).not.toBe(AUDIENCES.reports);
    const response = await fetch(`${deployment.gatewayUrl}/.well-known/mcp-identity/jwks.json`);
    const body = (await response.json()) as { keys: Record<string, unknown>[] };
    expect(body.keys).toHaveLength(1);
    expect(body.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(body.keys[0]).not.toHaveProperty('d');
    expect(warnings).toEqual([]);
  });
});
