import express from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import { normalizeUserContext, requestIdOf } from '@mcp-identity/core/internal';
import { defaultSinkLines } from '../../../test/kit.js';
import { verifyIdentity } from '../src/index.js';
import {
  AUDIENCE,
  createTestApp,
  identityHeaders,
  issueFor,
  receiverOptions,
  SECRET,
  signFor,
  signIntoMeta,
  toolCall,
  USER,
} from './helpers.js';

const body = toolCall();

/** One request that verifies (200), then one without an assertion (401 identity_missing). */
async function acceptedThenRefused(app: express.Express): Promise<void> {
  await request(app)
    .post('/mcp')
    .set(identityHeaders(signFor({ body })))
    .send(body)
    .expect(200);
  await request(app).post('/mcp').send(body).expect(401);
}

describe('verifyIdentity audit events', () => {
  it('emits an accepted event with the request id, the user, the delegation and the jti', async () => {
    const { app, events } = createTestApp();
    const { token, jti } = issueFor({ body, path: '/mcp?cursor=abc' }, { extra: { requestId: 'gw-7' } });

    const res = await request(app).post('/mcp?cursor=abc').set(identityHeaders(token)).set('X-Request-Id', 'gw-7').send(body);

    expect(res.status).toBe(200);
    expect(events).toStrictEqual([
      {
        time: '2030-01-15T12:00:00.000Z',
        requestId: 'gw-7',
        component: 'receiver',
        decision: 'accepted',
        audience: AUDIENCE,
        method: 'POST',
        path: '/mcp',
        rpcMethod: 'tools/call',
        rpcName: 'read_file',
        subject: 'user-42',
        authMethod: 'jwt',
        actingAs: 'svc-reporter',
        delegationChain: ['agent-1', 'svc-reporter'],
        jti,
      },
    ]);
  });

  it("takes the request id from the verified assertion's request_id claim, and hands it to the handler", async () => {
    const seen: string[] = [];
    const { app, events } = createTestApp({
      respond: (req, res) => {
        seen.push(requestIdOf(req));
        res.json({});
      },
    });
    const { token } = issueFor({ body }, { extra: { requestId: 'gw-8' } });

    await request(app).post('/mcp').set(identityHeaders(token)).set('X-Request-Id', 'chosen-by-someone').send(body).expect(200);

    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ decision: 'accepted', requestId: 'gw-8', clientRequestId: 'chosen-by-someone' });
    expect(seen).toEqual(['gw-8']);
  });

  it('never adopts an X-Request-Id the assertion does not sign: unverified, replayed, or without request_id', async () => {
    const { app, events } = createTestApp();
    const { token } = issueFor({ body }, { extra: { requestId: 'gw-9' } });
    const unsigned = signFor({ body: toolCall({ path: '/b' }) });

    await request(app).post('/mcp').set('X-Request-Id', 'spoof-1').send(body).expect(401);
    await request(app).post('/mcp').set(identityHeaders(token)).set('X-Request-Id', 'gw-9').send(body).expect(200);
    await request(app).post('/mcp').set(identityHeaders(token)).set('X-Request-Id', 'gw-9').send(body).expect(401);
    await request(app)
      .post('/mcp')
      .set(identityHeaders(unsigned))
      .set('X-Request-Id', 'spoof-2')
      .send(toolCall({ path: '/b' }))
      .expect(200);

    expect(events.map((event) => [event.decision, event.reason, event.clientRequestId])).toEqual([
      ['refused', 'identity_missing', 'spoof-1'],
      ['accepted', undefined, undefined],
      ['refused', 'identity_replayed', 'gw-9'],
      ['accepted', undefined, 'spoof-2'],
    ]);
    expect(events[1]?.requestId).toBe('gw-9');
    for (const event of [events[0], events[2], events[3]]) expect(event?.requestId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('emits a refused event with the reason and no user for a request without an assertion', async () => {
    const { app, events, calls } = createTestApp();

    const res = await request(app).post('/mcp').send(body);

    expect(res.status).toBe(401);
    expect(calls).toHaveLength(0);
    expect(events).toStrictEqual([
      {
        time: '2030-01-15T12:00:00.000Z',
        requestId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        component: 'receiver',
        decision: 'refused',
        reason: 'identity_missing',
        status: 401,
        audience: AUDIENCE,
        method: 'POST',
        path: '/mcp',
        rpcMethod: 'tools/call',
        rpcName: 'read_file',
      },
    ]);
  });

  it('names the verified subject and the jti of an assertion refused after its signature checked out', async () => {
    const { app, events } = createTestApp();
    const { token, jti } = issueFor({ body });

    await request(app).post('/mcp').set(identityHeaders(token)).send(body).expect(200);
    await request(app).post('/mcp').set(identityHeaders(token)).send(body).expect(401);
    await request(app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body: toolCall({ path: '/other' }) })))
      .send(body)
      .expect(401);

    expect(events.map((event) => [event.decision, event.reason, event.subject, event.jti === jti])).toEqual([
      ['accepted', undefined, 'user-42', true],
      ['refused', 'identity_replayed', 'user-42', true],
      ['refused', 'identity_binding', 'user-42', false],
    ]);
  });

  it('emits a refused identity_forbidden event for a policy refusal', async () => {
    const { app, events, calls } = createTestApp({ receiver: { maxDelegationDepth: 0 } });

    const res = await request(app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body })))
      .send(body);

    expect(res.status).toBe(403);
    expect(calls).toHaveLength(0);
    expect(events).toEqual([
      expect.objectContaining({
        decision: 'refused',
        reason: 'identity_forbidden',
        status: 403,
        subject: 'user-42',
        actingAs: 'svc-reporter',
      }),
    ]);
  });

  it('emits a refused event without a reason when the policy fails unexpectedly', async () => {
    const { app, events } = createTestApp({ receiver: { policy: () => Promise.reject(new Error('down')) } });

    await request(app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body })))
      .send(body)
      .expect(500);

    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ decision: 'refused', subject: 'user-42' });
    expect(events[0]).not.toHaveProperty('reason');
  });

  it('reads the JSON-RPC method of a _meta-carried assertion, and of a body express.json() parsed', async () => {
    const meta = createTestApp();
    const parsed = createTestApp({ before: [express.json()] });
    const { body: sent } = signIntoMeta(toolCall({ path: '/a' }));

    await request(meta.app).post('/mcp').send(sent).expect(200);
    await request(parsed.app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body })))
      .send(body)
      .expect(200);

    expect(meta.events[0]).toMatchObject({ decision: 'accepted', rpcMethod: 'tools/call', rpcName: 'read_file' });
    expect(parsed.events[0]).toMatchObject({ decision: 'accepted', rpcMethod: 'tools/call', rpcName: 'read_file' });
  });

  it('puts no assertion, secret, header value or body in any event', async () => {
    const { app, events } = createTestApp();
    const secretBody = toolCall({ path: '/secret-path-1' });
    const token = signFor({ body: secretBody });
    const forged = normalizeUserContext({ ...USER, id: 'forged-id-2' });

    await request(app).post('/mcp').set(identityHeaders(token)).set('Authorization', 'Bearer bearer-3').send(secretBody).expect(200);
    await request(app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body }), forged))
      .send(body)
      .expect(401);

    const text = JSON.stringify(events);
    for (const secret of [token, token.split('.')[2]!, SECRET, 'secret-path-1', 'forged-id-2', 'bearer-3', 'R&D', 'zoë@mail.test']) {
      expect(text).not.toContain(secret);
    }
  });

  it('counts accepted and refused requests in the metrics registry', async () => {
    const registry = new Registry();
    const { app } = createTestApp({ receiver: { metrics: registry } });

    await acceptedThenRefused(app);

    const text = await registry.metrics();
    expect(text).toContain('mcp_identity_requests_total{component="receiver",decision="accepted",reason=""} 1');
    expect(text).toContain('mcp_identity_requests_total{component="receiver",decision="refused",reason="identity_missing"} 1');
  });

  it('with audit: false writes no event (the default sink writes one per request) and still counts requests', async () => {
    const registry = new Registry();
    const off = createTestApp({ receiver: { audit: false } });
    const counted = createTestApp({ receiver: { audit: false, metrics: registry } });
    const byDefault = createTestApp({ receiver: { audit: undefined } });

    const offLines = await defaultSinkLines(() => acceptedThenRefused(off.app));
    const countedLines = await defaultSinkLines(() => acceptedThenRefused(counted.app));
    const defaultLines = await defaultSinkLines(() => acceptedThenRefused(byDefault.app));

    expect(offLines).toEqual([]);
    expect(countedLines).toEqual([]);
    expect(defaultLines.map((line) => (line.audit as { decision: string }).decision)).toEqual(['accepted', 'refused']);
    expect(off.calls).toHaveLength(1);
    expect(off.events).toEqual([]);
    const text = await registry.metrics();
    expect(text).toContain('mcp_identity_requests_total{component="receiver",decision="accepted",reason=""} 1');
    expect(text).toContain('mcp_identity_requests_total{component="receiver",decision="refused",reason="identity_missing"} 1');
  });

  it('verifies and answers as usual when the sink throws', async () => {
    const { app, calls } = createTestApp({
      receiver: {
        audit: () => {
          throw new Error('sink down');
        },
      },
    });

    await request(app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body })))
      .send(body)
      .expect(200);

    expect(calls).toHaveLength(1);
  });

  it.each([
    ['audit', { audit: 'stdout' }, /^audit must be a function/],
    ['audit', { audit: true }, /^audit must be a function/],
    ['metrics', { metrics: { getSingleMetric: 1 } }, /^metrics must be a prom-client Registry/],
  ])('throws a TypeError naming %s when it is invalid', (_case, overrides, message) => {
    const build = (): unknown => verifyIdentity({ ...receiverOptions(), ...(overrides as any) });

    expect(build).toThrow(TypeError);
    expect(build).toThrow(message);
  });
});
