import express from 'express';
import { Passport } from 'passport';
import { Registry } from 'prom-client';
import request from 'supertest';
import { eventLog, listen } from '../../../test/kit.js';
import { ApiKeyStrategy, authenticate, propagateIdentity } from '../src/index.js';
import type { AuditEvent } from '../src/index.js';
import { closeApps, expectRefusal, startApp } from './authenticate-kit.js';
import {
  AUDIENCE,
  closeAll,
  identityOptions,
  only,
  recordingErrorHandler,
  SECRET,
  startGateway,
  startUpstream,
  toolsCall,
  track,
} from './propagate-kit.js';

const T0 = Date.UTC(2030, 0, 15, 12, 0, 0);

afterEach(async () => {
  await closeAll();
  await closeApps();
});

/** The `jti` of the assertion an upstream received in its header. */
function jtiReceived(headers: Record<string, unknown>): unknown {
  const token = String(headers['x-forwarded-user-assertion']);
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')).jti;
}

/** A loopback port nothing listens on any more. */
async function closedPort(): Promise<number> {
  const server = await listen((_req, res) => res.end());
  await server.close();
  return server.port;
}

describe('propagateIdentity audit events', () => {
  it('emits one forwarded event with the user, the delegation, the jti, the upstream status and the latency', async () => {
    let now = T0;
    const upstream = await startUpstream((_req, res) => {
      now += 250; // the upstream takes 250 ms, on the gateway's clock
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    const gateway = await startGateway({ upstream, options: { clock: () => now } });

    await request(gateway.url).post('/mcp?access_token=abc&page=2').set('X-Request-Id', 'req-42').send(toolsCall()).expect(200);

    const [event] = await gateway.waitForEvents(1);
    expect(gateway.events).toHaveLength(1);
    expect(event).toStrictEqual({
      time: '2030-01-15T12:00:00.250Z',
      requestId: only(upstream).headers['x-request-id'],
      clientRequestId: 'req-42',
      component: 'gateway',
      decision: 'forwarded',
      status: 200,
      method: 'POST',
      path: '/mcp',
      audience: AUDIENCE,
      rpcMethod: 'tools/call',
      rpcName: 'echo',
      subject: 'alice@corp',
      authMethod: 'jwt',
      actingAs: 'svc-bot',
      delegationChain: ['agent-1', 'svc-bot'],
      jti: jtiReceived(only(upstream).headers),
      upstreamStatus: 200,
      latencyMs: 250,
    });
    // The JSON line lists the fields in this order (docs/audit-and-metrics.md).
    expect(Object.keys(event!)).toEqual([
      'time',
      'requestId',
      'clientRequestId',
      'component',
      'decision',
      'status',
      'audience',
      'method',
      'path',
      'rpcMethod',
      'rpcName',
      'subject',
      'authMethod',
      'actingAs',
      'delegationChain',
      'jti',
      'upstreamStatus',
      'latencyMs',
    ]);
  });

  it('writes no clientRequestId for a request without X-Request-Id, whatever a polluted Object.prototype holds', async () => {
    const gateway = await startGateway();
    const polluted = Object.prototype as Record<string, unknown>;
    polluted.clientRequestId = 'forged';
    try {
      await request(gateway.url).post('/mcp').send(toolsCall()).expect(200);
      const [event] = await gateway.waitForEvents(1);
      expect(Object.keys(event!)).not.toContain('clientRequestId');
    } finally {
      delete polluted.clientRequestId;
    }
  });

  it('records the upstream status of an upstream error it forwarded', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.statusCode = 500;
      res.end('{"error":"boom"}');
    });
    const gateway = await startGateway({ upstream });

    await request(gateway.url).post('/mcp').send(toolsCall()).expect(500);

    const [event] = await gateway.waitForEvents(1);
    expect(event).toMatchObject({ decision: 'forwarded', status: 500, upstreamStatus: 500 });
    expect(event).not.toHaveProperty('reason');
  });

  it("generates its own request id, sends it upstream and signs it, keeping the client's only as clientRequestId", async () => {
    const gateway = await startGateway();

    await request(gateway.url).post('/mcp').set('X-Request-Id', 'abc.123').send(toolsCall()).expect(200);
    await request(gateway.url).post('/mcp').set('X-Request-Id', 'abc.123').send(toolsCall()).expect(200);
    await request(gateway.url).post('/mcp').send(toolsCall()).expect(200);

    const events = await gateway.waitForEvents(3);
    const received = gateway.upstream.received;
    const forwarded = received.map((r) => r.headers['x-request-id']);
    for (const id of forwarded) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // Two clients choosing the same id do not collide.
    expect(new Set(forwarded).size).toBe(3);
    const claims = received.map((r) =>
      JSON.parse(Buffer.from(String(r.headers['x-forwarded-user-assertion']).split('.')[1] ?? '', 'base64url').toString('utf8')),
    );
    expect(claims.map((c) => c.request_id)).toEqual(forwarded);
    const byJti = new Map(claims.map((c, i) => [c.jti, forwarded[i]]));
    for (const event of events) expect(event.requestId).toBe(byJti.get(event.jti));
    expect(events.map((event) => event.clientRequestId).sort()).toEqual(['abc.123', 'abc.123', undefined]);
  });

  it.each([
    ['over-long', 'a'.repeat(500), 'a'.repeat(128)],
    ['with spaces and quotes', 'no spaces "allowed"', 'no_spaces__allowed_'],
    ['only punctuation', '"<>{}"', undefined],
    ['blank', '   ', undefined],
  ])('keeps a client X-Request-Id that is %s only as a sanitized, length-limited clientRequestId', async (_case, sent, kept) => {
    const gateway = await startGateway();

    await request(gateway.url).post('/mcp').set('X-Request-Id', sent).send(toolsCall()).expect(200);

    const [event] = await gateway.waitForEvents(1);
    expect(event?.requestId).toBe(only(gateway.upstream).headers['x-request-id']);
    expect(event?.requestId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    if (kept === undefined) expect(event).not.toHaveProperty('clientRequestId');
    else expect(event?.clientRequestId).toBe(kept);
  });

  it('names the JSON-RPC batch and its first method', async () => {
    const gateway = await startGateway();

    await request(gateway.url)
      .post('/mcp')
      .send([
        { jsonrpc: '2.0', method: 'notifications/progress', params: {} },
        { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'second' } },
      ])
      .expect(200);

    const [event] = await gateway.waitForEvents(1);
    expect(event).toMatchObject({ rpcMethod: 'notifications/progress', rpcBatch: 2 });
    expect(event).not.toHaveProperty('rpcName');
  });

  it.each([
    ['an unsupported media type', 415, 'unsupported_media_type', (r: request.Test) => r.type('text/plain').send('hello')],
    ['malformed JSON', 400, 'parse_error', (r: request.Test) => r.type('application/json').send('{"jsonrpc":')],
    ['an empty batch', 400, 'invalid_request', (r: request.Test) => r.send([])],
  ])('emits a refused event for %s, naming the user and nothing forwarded', async (_case, status, reason, send) => {
    const gateway = await startGateway();

    const res = await send(request(gateway.url).post('/mcp'));

    expect(res.status).toBe(status);
    expect(res.body.error.data.code).toBe(reason);
    expect(gateway.upstream.received).toHaveLength(0);
    const [event] = await gateway.waitForEvents(1);
    expect(event).toStrictEqual({
      time: expect.any(String),
      requestId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      component: 'gateway',
      decision: 'refused',
      reason,
      status,
      method: 'POST',
      path: '/mcp',
      audience: AUDIENCE,
      subject: 'alice@corp',
      authMethod: 'jwt',
      actingAs: 'svc-bot',
      delegationChain: ['agent-1', 'svc-bot'],
      latencyMs: expect.any(Number),
    });
  });

  it('emits a refused unauthenticated event without a user when no one authenticated the request', async () => {
    const gateway = await startGateway({ user: null });

    const res = await request(gateway.url).post('/mcp').send(toolsCall());

    expect(res.status).toBe(401);
    expect(res.body.error.data.code).toBe('unauthenticated');
    expect(gateway.upstream.received).toHaveLength(0);
    const [event] = await gateway.waitForEvents(1);
    expect(event).toMatchObject({ decision: 'refused', reason: 'unauthenticated', status: 401 });
    expect(event).not.toHaveProperty('subject');
    expect(event).not.toHaveProperty('jti');
  });

  it('emits a refused upstream_unavailable event when the upstream is down', async () => {
    const port = await closedPort();
    const gateway = await startGateway({ options: { target: `http://127.0.0.1:${port}` } });

    const res = await request(gateway.url).post('/mcp').send(toolsCall());

    expect(res.status).toBe(502);
    expect(res.body.error.data.code).toBe('upstream_unavailable');
    const [event] = await gateway.waitForEvents(1);
    expect(event).toMatchObject({ decision: 'refused', reason: 'upstream_unavailable', status: 502, rpcName: 'echo' });
    expect(event).not.toHaveProperty('upstreamStatus');
  });

  it('puts no token, assertion, secret, credential, header value or body in any event', async () => {
    const gateway = await startGateway();

    await request(gateway.url)
      .post('/mcp?access_token=query-token-1')
      .set('Authorization', 'Bearer client-token-2')
      .set('Cookie', 'session=cookie-value-3')
      .set('X-Api-Key', 'api-key-4')
      .set('X-Forwarded-User-Id', 'forged-id-5')
      .send(toolsCall({ params: { name: 'echo', arguments: { text: 'body-text-6' } } }))
      .expect(200);
    await request(gateway.url).post('/mcp').type('text/plain').send('body-text-7').expect(415);

    const events = await gateway.waitForEvents(2);
    const text = JSON.stringify(events);
    const assertion = String(only(gateway.upstream).headers['x-forwarded-user-assertion']);
    for (const secret of [
      'query-token-1',
      'client-token-2',
      'cookie-value-3',
      'api-key-4',
      'forged-id-5',
      'body-text-6',
      'body-text-7',
      assertion,
      assertion.split('.')[2]!,
      SECRET,
      'hunter2',
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('forwards the request unchanged when the sink throws', async () => {
    const gateway = await startGateway({
      options: {
        audit: () => {
          throw new Error('sink down');
        },
      },
    });

    await request(gateway.url).post('/mcp').send(toolsCall()).expect(200);

    expect(gateway.upstream.received).toHaveLength(1);
    expect(gateway.unhandled).toEqual([]);
  });

  it.each([
    ['audit', { audit: 'stdout' }, /^audit must be a function/],
    ['metrics', { metrics: {} }, /^metrics must be a prom-client Registry/],
  ])('throws a TypeError naming %s when it is invalid', (_case, options, message) => {
    const build = (): unknown => propagateIdentity({ target: 'http://127.0.0.1:1', ...identityOptions, ...(options as any) });

    expect(build).toThrow(TypeError);
    expect(build).toThrow(message);
  });
});

describe('authenticate audit events', () => {
  it('emits a refused unauthenticated event for a request no strategy accepts, and nothing for one it accepts', async () => {
    const passport = new Passport();
    passport.use(new ApiKeyStrategy({ verify: (key) => (key === 'good' ? { id: 'ci-bot' } : false) }));
    const app = await startApp(['api-key'], { passport, clock: () => T0 }, { configure: (a) => a.use(express.json()) });

    const refused = await request(app.url)
      .post('/mcp/tools?api_key=bad')
      .set('X-Api-Key', 'bad')
      .set('X-Request-Id', 'r-9')
      .send(toolsCall());
    expectRefusal(refused, app, 401, 'unauthenticated');
    await request(app.url).post('/mcp').set('X-Api-Key', 'good').send(toolsCall()).expect(200);

    expect(app.events).toStrictEqual([
      {
        time: '2030-01-15T12:00:00.000Z',
        requestId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        clientRequestId: 'r-9',
        component: 'gateway',
        decision: 'refused',
        reason: 'unauthenticated',
        status: 401,
        method: 'POST',
        path: '/mcp/tools',
        rpcMethod: 'tools/call',
        rpcName: 'echo',
      },
    ]);
  });

  it('emits a refused auth_unavailable event when a strategy fails', async () => {
    const passport = new Passport();
    passport.use(
      new ApiKeyStrategy({
        verify: () => {
          throw new Error('db down');
        },
      }),
    );
    const app = await startApp(['api-key'], { passport });

    const res = await request(app.url).get('/mcp').set('X-Api-Key', 'k');

    expectRefusal(res, app, 503, 'auth_unavailable');
    expect(app.events).toEqual([expect.objectContaining({ decision: 'refused', reason: 'auth_unavailable', status: 503, method: 'GET' })]);
  });

  it.each([
    ['audit', { audit: 42 }, /^audit must be a function/],
    ['metrics', { metrics: new Map() }, /^metrics must be a prom-client Registry/],
    ['clock', { clock: 'now' }, /^clock must be a function/],
  ])('throws a TypeError naming %s when it is invalid', (_case, options, message) => {
    const passport = new Passport();
    passport.use(new ApiKeyStrategy({ verify: () => false }));
    const build = (): unknown => authenticate(['api-key'], { passport, ...(options as any) });

    expect(build).toThrow(TypeError);
    expect(build).toThrow(message);
  });
});

describe('request counters', () => {
  it('counts forwarded and refused requests by reason in one registry shared by authenticate and propagateIdentity', async () => {
    const registry = new Registry();
    const log = eventLog<AuditEvent>();
    const upstream = await startUpstream();
    const passport = new Passport();
    passport.use(new ApiKeyStrategy({ verify: (key) => (key === 'good' ? { id: 'ci-bot' } : false) }));
    const unhandled: unknown[] = [];
    const app = express();
    app.get('/metrics', async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    });
    app.use(
      '/mcp',
      authenticate(['api-key'], { passport, audit: log.sink, metrics: registry }),
      propagateIdentity({ target: upstream.url, ...identityOptions, audit: log.sink, metrics: registry }),
    );
    app.use(recordingErrorHandler(unhandled));
    const gateway = track(await listen(app));

    await request(gateway.url).post('/mcp').set('X-Api-Key', 'good').send(toolsCall()).expect(200);
    await request(gateway.url).post('/mcp').set('X-Api-Key', 'good').send(toolsCall()).expect(200);
    await request(gateway.url).post('/mcp').set('X-Api-Key', 'bad').send(toolsCall()).expect(401);
    await request(gateway.url).post('/mcp').set('X-Api-Key', 'good').type('text/plain').send('x').expect(415);
    await log.waitFor(4);
    const metrics = await request(gateway.url).get('/metrics').expect(200);

    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    const lines = metrics.text.split('\n').filter((line) => line.startsWith('mcp_identity_requests_total{'));
    expect(lines.sort()).toEqual([
      'mcp_identity_requests_total{component="gateway",decision="forwarded",reason=""} 2',
      'mcp_identity_requests_total{component="gateway",decision="refused",reason="unauthenticated"} 1',
      'mcp_identity_requests_total{component="gateway",decision="refused",reason="unsupported_media_type"} 1',
    ]);
    expect(unhandled).toEqual([]);
  });
});
