import express from 'express';
import { verifyIdentity } from '@mcp-identity/receiver';
import type { ReceiverPolicyContext } from '@mcp-identity/receiver';
import { listen } from '../../../test/kit.js';
import { propagateIdentity } from '../src/index.js';
import { AUDIENCE, closeAll, ISSUER, rawRequest, SECRET, track, verifyAssertion } from './propagate-kit.js';
import { basePolicy, users } from './policy-kit.js';

afterEach(closeAll);

describe('the policy decision travels to the receiver', () => {
  it('signs the allowing rule ids as policy_rules and hands the receiver policy the operations with their rules', async () => {
    const contexts: ReceiverPolicyContext[] = [];
    const tokens: string[] = [];
    const upstream = express();
    upstream.use((req, _res, next) => {
      tokens.push(String(req.headers['x-forwarded-user-assertion']));
      next();
    });
    upstream.use(
      verifyIdentity({
        audience: AUDIENCE,
        issuer: ISSUER,
        secrets: [{ secret: SECRET }],
        audit: () => undefined,
        policy: (_user, _req, context) => {
          contexts.push(context);
          return true;
        },
      }),
    );
    upstream.post('/', (_req, res) => {
      res.json([]);
    });
    const receiver = track(await listen(upstream));
    const app = express();
    app.use((req, _res, next) => {
      req.userContext = users.alice;
      next();
    });
    app.use(
      propagateIdentity({
        target: receiver.url,
        audience: AUDIENCE,
        issuer: ISSUER,
        signing: { secret: SECRET },
        audit: () => undefined,
        policy: basePolicy,
      }),
    );
    const gateway = track(await listen(app));

    const batch = [
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'read_a' } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'deploy' } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
    ];
    const response = await rawRequest(gateway.url, { headers: { 'content-type': 'application/json' }, chunks: [JSON.stringify(batch)] });
    expect(response.status).toBe(200);
    const claims = await verifyAssertion(tokens[0]);
    expect(claims.policy_rules).toEqual(['readers', 'default']);
    expect(contexts).toEqual([
      {
        operation: { method: 'tools/call', name: 'read_a', rule: 'readers' },
        operations: [
          { method: 'tools/call', name: 'read_a', rule: 'readers' },
          { method: 'notifications/initialized', rule: 'default' },
        ],
      },
    ]);
  });
});
