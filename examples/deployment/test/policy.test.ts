/**
 * The gateway's tool policy for `reports` (examples/deployment/reports-policy.yaml), end to end
 * with real MCP SDK clients (v1, v2 in the 2025 era, v2 pinned to 2026-07-28) through the
 * example gateway to the SDK v2 reports server: `admin_report` is listed and callable for the
 * `admins` group only; anyone else's call is answered at the gateway, and neither the receiver
 * nor the tool sees it.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Registry } from 'prom-client';
import type { AuditEvent } from '@mcp-identity/gateway';
import { eventLog } from '../../../test/kit.js';
import { REPORTS_POLICY_FILE, startDeployment } from '../src/index.js';
import type { Deployment } from '../src/index.js';

type Sdk = 'sdk-v1' | 'sdk-v2' | 'sdk-v2-modern';

interface AnyClient {
  listTools(): Promise<{ tools: { name: string }[] }>;
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
}

function basic(username: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
}

async function connect(sdk: Sdk, url: string, headers: Record<string, string>): Promise<AnyClient> {
  const requestInit = { headers };
  if (sdk === 'sdk-v1') {
    const client = new ClientV1({ name: 'policy-test', version: '1.0.0' });
    await client.connect(new TransportV1(new URL(url), { requestInit }));
    return client;
  }
  const client = new ClientV2(
    { name: 'policy-test', version: '1.0.0' },
    sdk === 'sdk-v2-modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
  );
  await client.connect(new TransportV2(new URL(url), { requestInit }));
  return client;
}

describe('the example deployment: the gateway policy of reports', () => {
  let deployment: Deployment;
  let reports: string;
  let alice: Record<string, string>;
  let bob: Record<string, string>;
  let policyDir: string;
  let policyFile: string;
  const audit = eventLog<AuditEvent>();
  const metrics = new Registry();
  const warnings: string[] = [];
  const refusalsSeen = new Set<AuditEvent>();

  /** Waits until the audit holds an event matching `predicate` (events are emitted when a response ends). */
  async function auditedEvent(predicate: (event: AuditEvent) => boolean): Promise<AuditEvent> {
    for (;;) {
      const found = audit.events.find(predicate);
      if (found !== undefined) return found;
      await audit.waitFor(audit.events.length + 1);
    }
  }

  beforeAll(async () => {
    // A copy of the example's policy file, so the reload test can edit it.
    policyDir = mkdtempSync(join(tmpdir(), 'reports-policy-'));
    policyFile = join(policyDir, 'reports-policy.yaml');
    copyFileSync(REPORTS_POLICY_FILE, policyFile);
    deployment = await startDeployment({
      audit: audit.sink,
      metrics,
      logger: { warn: (message) => warnings.push(message) },
      reportsPolicyFile: policyFile,
    });
    reports = `${deployment.gatewayUrl}/mcp/reports`;
    const [aliceUser, bobUser] = deployment.users;
    alice = basic(aliceUser!.username, aliceUser!.password);
    bob = basic(bobUser!.username, bobUser!.password);
  });

  afterAll(async () => {
    await deployment.close();
    rmSync(policyDir, { recursive: true, force: true });
  });

  describe.each(['sdk-v1', 'sdk-v2', 'sdk-v2-modern'] as const)('with an MCP %s client', (sdk) => {
    it('lists admin_report to alice (group admins) and only whoami to bob', async () => {
      const names = async (headers: Record<string, string>): Promise<string[]> => {
        const client = await connect(sdk, reports, headers);
        try {
          return (await client.listTools()).tools.map((tool) => tool.name);
        } finally {
          await client.close();
        }
      };
      expect(await names(alice)).toEqual(['whoami', 'admin_report']);
      expect(await names(bob)).toEqual(['whoami']);
    });

    it('answers bob’s direct tools/call of admin_report at the gateway with -32003 forbidden; the upstream never sees it', async () => {
      const before = deployment.toolCalls.reports.count('admin_report');
      const client = await connect(sdk, reports, bob);
      try {
        await expect(client.callTool({ name: 'admin_report', arguments: {} })).rejects.toMatchObject({
          code: -32003,
          data: { code: 'forbidden' },
        });
        // bob's other tools still work, in the same session.
        await expect(client.callTool({ name: 'whoami', arguments: {} })).resolves.toMatchObject({
          structuredContent: { user: { id: 'bob' } },
        });
      } finally {
        await client.close();
      }
      expect(deployment.toolCalls.reports.count('admin_report')).toBe(before);
      const refusal = await auditedEvent(
        (event) => event.component === 'gateway' && event.decision === 'refused' && event.subject === 'bob' && !refusalsSeen.has(event),
      );
      refusalsSeen.add(refusal);
      expect(refusal).toMatchObject({
        reason: 'forbidden',
        audience: 'urn:example:mcp:reports',
        status: 200,
        policy: [{ decision: 'deny', rule: 'admin-report-others', rpcMethod: 'tools/call', tool: 'admin_report' }],
      });
      // Never signed (no jti), never answered by the upstream, and the receiver has no event of it.
      expect(refusal).not.toHaveProperty('jti');
      expect(refusal).not.toHaveProperty('upstreamStatus');
      expect(
        audit.events.filter((event) => event.component === 'receiver' && event.rpcName === 'admin_report' && event.subject === 'bob'),
      ).toEqual([]);
    });

    it('forwards alice’s admin_report call, and the tool runs and answers her', async () => {
      const before = deployment.toolCalls.reports.count('admin_report');
      const client = await connect(sdk, reports, alice);
      try {
        await expect(client.callTool({ name: 'admin_report', arguments: {} })).resolves.toMatchObject({
          content: [{ type: 'text', text: 'report for alice: all systems nominal' }],
        });
      } finally {
        await client.close();
      }
      expect(deployment.toolCalls.reports.count('admin_report')).toBe(before + 1);
    });
  });

  it('counts the denials by tool and rule', async () => {
    const metric = await metrics.getSingleMetricAsString('mcp_identity_policy_denials_total');
    expect(metric).toContain(
      'mcp_identity_policy_denials_total{audience="urn:example:mcp:reports",method="tools/call",tool="admin_report",rule="admin-report-others"} 3',
    );
  });

  it('takes a reloaded policy file into force for the next request, and keeps it when a broken file is refused', async () => {
    const original = readFileSync(policyFile, 'utf8');
    const listAsBob = async (): Promise<string[]> => {
      const client = await connect('sdk-v2', reports, bob);
      try {
        return (await client.listTools()).tools.map((tool) => tool.name);
      } finally {
        await client.close();
      }
    };
    const bobToo = original.replace(
      'rules:\n',
      'rules:\n  - id: bob-reports\n    effect: allow\n    users: bob\n    tools: admin_report\n',
    );
    writeFileSync(policyFile, bobToo);
    expect(deployment.reportsPolicy.reload()).toBe(true);
    expect(await listAsBob()).toEqual(['whoami', 'admin_report']);

    writeFileSync(policyFile, bobToo.replace('effect: allow\n    users: bob', 'effect: allow\n    usres: bob'));
    expect(deployment.reportsPolicy.reload()).toBe(false);
    expect(warnings).toEqual([expect.stringMatching(/policy reload refused.*"bob-reports".*unknown key "usres"/)]);
    expect(await listAsBob()).toEqual(['whoami', 'admin_report']);

    writeFileSync(policyFile, original);
    expect(deployment.reportsPolicy.reload()).toBe(true);
    expect(await listAsBob()).toEqual(['whoami']);
  });

  it('refuses to start with an invalid policy file, naming the file and the rule', async () => {
    const broken = join(policyDir, 'broken.yaml');
    writeFileSync(broken, 'rules:\n  - id: admins\n    effect: permit\n');
    await expect(startDeployment({ audit: () => undefined, logger: { warn: () => undefined }, reportsPolicyFile: broken })).rejects.toThrow(
      /policy file .*broken\.yaml: policy\.rules\[0\] \("admins"\)/,
    );
  });
});
