import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '../src/index.js';
import { closeAll, rawRequest } from './propagate-kit.js';
import { startPolicyGateway, users } from './policy-kit.js';

afterEach(closeAll);

const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const deploy = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'deploy', arguments: {} } });

const strict = `
rules:
  - id: readers
    effect: allow
    groups: [readers]
    tools: ["read_*"]
default: deny
`;
const relaxed = `
rules:
  - id: deployers
    effect: allow
    groups: readers
    tools: [deploy, "read_*"]
`;

function policyFile(text: string, name = 'policy.yaml'): string {
  const file = join(mkdtempSync(join(tmpdir(), 'mcp-policy-')), name);
  writeFileSync(file, text);
  return file;
}

function recordingLogger(): { warn: (message: string) => void; info: (message: string) => void; warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, warn: (message) => warnings.push(message), info: () => undefined };
}

describe('loadPolicy', () => {
  it('reads YAML and JSON files', () => {
    const yaml = loadPolicy(policyFile(strict));
    const json = loadPolicy(policyFile(JSON.stringify({ rules: [{ id: 'all', effect: 'allow' }] }), 'p.json'));
    expect(yaml.evaluate(users.alice!, { method: 'tools/call', name: 'read_a' })).toEqual({ effect: 'allow', rule: 'readers' });
    expect(yaml.evaluate(users.alice!, { method: 'tools/call', name: 'deploy' })).toEqual({ effect: 'deny', rule: 'default' });
    expect(json.evaluate(users.alice!, { method: 'tools/call', name: 'deploy' })).toEqual({ effect: 'allow', rule: 'all' });
  });

  it('throws at start-up naming the file and the rule', () => {
    const file = policyFile('rules:\n  - id: ok\n    effect: allow\n  - id: deploy-admins\n    effect: permit\n');
    expect(() => loadPolicy(file)).toThrow(`policy file ${file}: policy.rules[1] ("deploy-admins"): effect must be "allow" or "deny"`);
    expect(() => loadPolicy(policyFile('rules: [', 'bad.yaml'))).toThrow(/is not valid YAML/);
    expect(() => loadPolicy('/nonexistent/policy.yaml')).toThrow(/cannot be read: ENOENT/);
  });

  it('applies a reloaded policy to the next request through the gateway', async () => {
    const file = policyFile(strict);
    const policy = loadPolicy(file, { logger: recordingLogger() });
    const gateway = await startPolicyGateway('json', { policy });
    const before = await rawRequest(`${gateway.url}/mcp`, { headers, chunks: [deploy] });
    expect(before.json.error.data.code).toBe('forbidden');
    expect(gateway.upstream.called()).toEqual([]);

    writeFileSync(file, relaxed);
    expect(policy.reload()).toBe(true);
    const after = await rawRequest(`${gateway.url}/mcp`, { headers, chunks: [deploy] });
    expect(after.json.result.content[0].text).toBe('called deploy');
    expect(gateway.upstream.called()).toEqual(['deploy']);
  });

  it('refuses a broken reload, logs why and keeps the rules in force', async () => {
    const file = policyFile(relaxed);
    const logger = recordingLogger();
    const policy = loadPolicy(file, { logger });
    const gateway = await startPolicyGateway('json', { policy });

    writeFileSync(file, 'rules:\n  - id: deployers\n    effect: allow\n    grups: [readers]\n');
    expect(policy.reload()).toBe(false);
    expect(logger.warnings).toEqual([
      `mcp-identity: policy reload refused, the previous rules stay in force: policy file ${file}: policy.rules[0] ("deployers"): unknown key "grups" (did you mean "groups"?)`,
    ]);
    expect(policy.version).toBe(0);
    const response = await rawRequest(`${gateway.url}/mcp`, { headers, chunks: [deploy] });
    expect(response.json.result.content[0].text).toBe('called deploy');
  });

  it('reloads when the watched file changes', async () => {
    const file = policyFile(strict);
    const logger = recordingLogger();
    const policy = loadPolicy(file, { watch: true, debounceMs: 10, logger });
    try {
      writeFileSync(file, relaxed);
      // Polls the outcome, not the time it took.
      while (policy.version === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(policy.evaluate(users.alice!, { method: 'tools/call', name: 'deploy' })).toEqual({ effect: 'allow', rule: 'deployers' });
    } finally {
      policy.close();
    }
  });
});
