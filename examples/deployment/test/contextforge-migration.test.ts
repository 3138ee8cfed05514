/**
 * The ContextForge migration path on the wire: a gateway emitting both formats in front of
 * (1) an upstream still verifying the ContextForge way and (2) an upstream already on
 * verifyIdentity; then the legacy output turned off.
 */
import { createHmac, randomBytes } from 'node:crypto';
import express from 'express';
import { propagateIdentity } from '@mcp-identity/gateway';
import { verifyIdentity } from '@mcp-identity/receiver';
import { listen, recordingUpstream } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';

const secret = randomBytes(32).toString('base64url');
const legacySecret = 'the-contextforge-deployment-secret';
const user = { id: 'alice', email: 'alice@example.com', groups: ['eng'], teams: [], roles: ['reader'], isAdmin: false, authMethod: 'jwt' };
const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } };
const running: Running[] = [];

async function gatewayTo(target: string, contextforge: boolean): Promise<Running> {
  const app = express();
  app.use((req, _res, next) => {
    req.userContext = user;
    next();
  });
  app.use(
    propagateIdentity({
      target,
      audience: 'urn:test:upstream',
      issuer: 'urn:test:gateway',
      signing: { secret },
      ...(contextforge ? { contextforge: { secret: legacySecret } } : {}),
    }),
  );
  const server = await listen(app);
  running.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

describe('migrating from ContextForge', () => {
  it('step 1: an upstream that verifies the ContextForge way accepts what the gateway sends', async () => {
    const upstream = await recordingUpstream();
    running.push(upstream);
    const gateway = await gatewayTo(upstream.url, true);
    await fetch(`${gateway.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(call) });
    const received = upstream.received[0]!;
    const expected = createHmac('sha256', legacySecret)
      .update(`${received.headers['x-forwarded-user-id'] as string}:${received.headers['x-forwarded-user-email'] as string}`)
      .digest('hex');
    expect(received.headers['x-forwarded-user-claims-signature']).toBe(expected);
    expect(JSON.parse(received.body.toString()).params._meta.user).toMatchObject({
      id: 'alice',
      email: 'alice@example.com',
      is_admin: false,
    });
  });

  it('step 2: an upstream on verifyIdentity accepts the same requests, legacy output included', async () => {
    const upstreamApp = express();
    upstreamApp.post(
      '/mcp',
      verifyIdentity({ audience: 'urn:test:upstream', issuer: 'urn:test:gateway', secrets: [{ secret }] }),
      (req, res) => {
        res.json({ user: req.user });
      },
    );
    const upstream = await listen(upstreamApp);
    running.push(upstream);
    const gateway = await gatewayTo(upstream.url, true);
    const response = await fetch(`${gateway.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(call),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { user: unknown }).user).toMatchObject({ id: 'alice', roles: ['reader'], authMethod: 'jwt' });
  });

  it('step 3: with the legacy output off, no ContextForge signature or _meta.user is sent', async () => {
    const upstream = await recordingUpstream();
    running.push(upstream);
    const gateway = await gatewayTo(upstream.url, false);
    await fetch(`${gateway.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(call) });
    const received = upstream.received[0]!;
    expect(received.headers).not.toHaveProperty('x-forwarded-user-claims-signature');
    expect(JSON.parse(received.body.toString()).params._meta?.user).toBeUndefined();
  });
});
