import { AUDIENCES, runDemo, startDeployment } from '../src/index.js';
import type { Deployment, DemoStep } from '../src/index.js';

describe('the example deployment', () => {
  let deployment: Deployment;
  let steps: DemoStep[];
  const warnings: string[] = [];

  beforeAll(async () => {
    deployment = await startDeployment({ logger: { warn: (message) => warnings.push(message) } });
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
    });
  });

  it('delivers the Basic user, whose admins group passes the admin_report authorization', () => {
    expect(steps[1]?.whoami).toMatchObject({ id: 'alice', authMethod: 'basic', groups: ['admins', 'eng'], name: 'Alice Liddell' });
    expect(steps[1]?.adminReport).toEqual({ isError: false, text: 'report for alice: all systems nominal' });
  });

  it('delivers the API-key client as itself', () => {
    expect(steps[2]?.whoami).toMatchObject({ id: 'ci-bot', authMethod: 'api_key', roles: ['deployer'], isAdmin: false });
  });

  it('ignores forged X-Forwarded-User-* headers: the upstream still sees José, not an admin', () => {
    expect(steps[3]?.whoami).toMatchObject({ id: 'jose', isAdmin: false, groups: ['eng,ops', 'équipe-🚀'] });
    expect(steps[3]?.adminReport).toEqual({ isError: true, text: 'forbidden: jose is not an admin' });
  });

  it('refuses a request sent straight to the upstream with forged headers', () => {
    expect(steps[4]?.refused).toEqual({ status: 401, code: 'identity_missing' });
  });

  it('refuses a wrong password at the gateway', () => {
    expect(steps[5]?.refused).toEqual({ status: 401, code: 'unauthenticated' });
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
