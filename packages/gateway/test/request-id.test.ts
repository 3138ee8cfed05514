/**
 * Request ids end to end: the gateway generates one per request, sends it to a real receiver
 * as `X-Request-Id` and the `request_id` claim, and both audit events carry it; the client's
 * `X-Request-Id` is only ever the gateway's `clientRequestId`.
 */
import express from 'express';
import { requestIdOf } from '@mcp-identity/core/internal';
import type { AuditEvent } from '@mcp-identity/core/internal';
import { verifyIdentity } from '@mcp-identity/receiver';
import { listen } from '../../../test/kit.js';
import { propagateIdentity } from '../src/index.js';
import { alice, AUDIENCE, closeAll, ISSUER, rawRequest, SECRET, toolsCall, track } from './propagate-kit.js';

afterEach(closeAll);

async function startChain(): Promise<{ url: string; gatewayEvents: AuditEvent[]; receiverEvents: AuditEvent[]; handlerIds: string[] }> {
  const gatewayEvents: AuditEvent[] = [];
  const receiverEvents: AuditEvent[] = [];
  const handlerIds: string[] = [];
  const upstream = express();
  upstream.use(
    verifyIdentity({
      audience: AUDIENCE,
      issuer: ISSUER,
      secrets: [{ secret: SECRET }],
      carriers: ['headers', 'meta'],
      audit: (event) => {
        receiverEvents.push(event);
      },
    }),
  );
  upstream.post('/', (req, res) => {
    handlerIds.push(requestIdOf(req));
    res.json({ jsonrpc: '2.0', id: 1, result: {} });
  });
  const receiver = track(await listen(upstream));
  const app = express();
  app.use((req, _res, next) => {
    req.userContext = alice;
    next();
  });
  app.use(
    propagateIdentity({
      target: receiver.url,
      audience: AUDIENCE,
      issuer: ISSUER,
      signing: { secret: SECRET },
      audit: (event) => {
        gatewayEvents.push(event);
      },
    }),
  );
  const gateway = track(await listen(app));
  return { url: gateway.url, gatewayEvents, receiverEvents, handlerIds };
}

async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('request ids from the gateway to the receiver', () => {
  it("joins the two audit events on the gateway's own id, whatever X-Request-Id the client sends or lists in Connection", async () => {
    const chain = await startChain();
    const spoof = ['Content-Type', 'application/json', 'X-Request-Id', 'victim-request-7', 'Connection', 'keep-alive, X-Request-Id'];

    for (let i = 0; i < 2; i += 1) {
      const response = await rawRequest(chain.url, { headers: spoof, chunks: [JSON.stringify(toolsCall())] });
      expect(response.status).toBe(200);
    }
    await until(() => chain.gatewayEvents.length === 2);

    const gatewayIds = chain.gatewayEvents.map((event) => event.requestId);
    for (const id of gatewayIds) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(new Set(gatewayIds).size).toBe(2);
    expect(chain.gatewayEvents.map((event) => event.clientRequestId)).toEqual(['victim-request-7', 'victim-request-7']);
    expect(chain.receiverEvents.map((event) => [event.decision, event.requestId])).toEqual(gatewayIds.map((id) => ['accepted', id]));
    expect(chain.receiverEvents.map((event) => event.jti)).toEqual(chain.gatewayEvents.map((event) => event.jti));
    for (const event of chain.receiverEvents) expect(event).not.toHaveProperty('clientRequestId');
    expect(chain.handlerIds).toEqual(gatewayIds);
  });
});
