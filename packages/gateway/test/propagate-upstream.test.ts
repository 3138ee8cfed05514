/**
 * The upstream side: failures answered with JSON-RPC errors that leak nothing, the response
 * timeout, streamed (SSE) responses and the client's `Connection: close`.
 */
import http from 'node:http';
import request from 'supertest';
import { listen } from '../../../test/kit.js';
import {
  closeAll,
  expectBoundTo,
  only,
  rawRequest,
  refusal,
  startGateway,
  startUpstream,
  toolsCall,
  track,
  verifyAssertion,
} from './propagate-kit.js';

afterEach(closeAll);

/** A loopback port nothing listens on any more. */
async function closedPort(): Promise<number> {
  const server = await listen((_req, res) => res.end());
  await server.close();
  return server.port;
}

/** Checks that a refusal body names no host, port, system error or stack frame. */
function expectNoLeak(text: string, port: number): void {
  expect(text).not.toContain('127.0.0.1');
  expect(text).not.toContain('localhost');
  expect(text).not.toContain(String(port));
  expect(text).not.toMatch(/ECONN|EPIPE|socket|hang up|\bat\s+\S+\s+\(|node:/i);
}

describe('propagateIdentity answers upstream failures', () => {
  it('responds 502 upstream_unavailable when the upstream port refuses connections, leaking nothing', async () => {
    const port = await closedPort();
    const gateway = await startGateway({ options: { target: `http://127.0.0.1:${port}` } });
    const res = await request(gateway.url).post('/mcp').send(toolsCall());
    expect(res.status).toBe(502);
    expect(refusal(res.body)).toEqual({ code: 'upstream_unavailable', rpcCode: -32603, jsonrpc: '2.0' });
    expect(res.body.id).toBeNull();
    expectNoLeak(res.text, port);
    expect(gateway.unhandled).toEqual([]);
  });

  it('responds 502 upstream_unavailable when the upstream closes the connection without answering', async () => {
    let reached = 0;
    const upstream = track(
      await listen((req) => {
        reached++;
        req.socket.destroy();
      }),
    );
    const gateway = await startGateway({ options: { target: upstream.url } });
    const res = await request(gateway.url).post('/mcp').send(toolsCall());
    expect(reached).toBe(1);
    expect(res.status).toBe(502);
    expect(refusal(res.body)).toEqual({ code: 'upstream_unavailable', rpcCode: -32603, jsonrpc: '2.0' });
    expectNoLeak(res.text, upstream.port);
  });

  it('responds 504 upstream_timeout when the upstream sends no response headers within timeoutMs', async () => {
    const upstream = await startUpstream(() => {
      // Never answers.
    });
    const gateway = await startGateway({ upstream, options: { timeoutMs: 200 } });
    const res = await request(gateway.url).post('/mcp').send(toolsCall());
    expect(res.status).toBe(504);
    expect(refusal(res.body)).toEqual({ code: 'upstream_timeout', rpcCode: -32603, jsonrpc: '2.0' });
    expectNoLeak(res.text, upstream.port);
    expect(upstream.received).toHaveLength(1);
  });

  it('passes an upstream error response through unchanged', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json', 'mcp-session-id': 's-9' });
      res.end('{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}');
    });
    const gateway = await startGateway({ upstream });
    const res = await request(gateway.url).post('/mcp').send(toolsCall());
    expect(res.status).toBe(404);
    expect(res.headers['mcp-session-id']).toBe('s-9');
    expect(res.body.error.message).toBe('Session not found');
  });
});

describe('propagateIdentity with a busy connection pool', () => {
  it('forwards a request queued behind a busy connection with its identity (agent with maxSockets: 1)', async () => {
    let releaseFirst!: () => void;
    const firstReleased = new Promise<void>((resolve) => (releaseFirst = resolve));
    let firstArrived!: () => void;
    const firstAtUpstream = new Promise<void>((resolve) => (firstArrived = resolve));
    let answered = 0;
    const upstream = await startUpstream((_req, res) => {
      const finish = (): void => {
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
      };
      if (++answered === 1) {
        firstArrived();
        void firstReleased.then(finish);
      } else {
        finish();
      }
    });
    let starts = 0;
    let secondStarted!: () => void;
    const secondQueued = new Promise<void>((resolve) => (secondStarted = resolve));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const gateway = await startGateway({
      upstream,
      options: {
        proxy: {
          agent,
          // http-proxy creates the upstream request right after 'start'; one more turn and it waits in the agent's queue.
          on: {
            start: () => {
              if (++starts === 2) setImmediate(secondStarted);
            },
          },
        },
      },
    });
    try {
      const first = request(gateway.url)
        .post('/mcp')
        .send(toolsCall({ id: 1 }))
        .then((res) => res);
      await firstAtUpstream;
      const second = request(gateway.url)
        .post('/mcp')
        .send(toolsCall({ id: 2 }))
        .then((res) => res);
      await secondQueued;
      releaseFirst();
      expect((await first).status).toBe(200);
      expect((await second).status).toBe(200);
      expect(upstream.received).toHaveLength(2);
      const queued = upstream.received[1]!;
      expect(JSON.parse(queued.body.toString('utf8')).id).toBe(2);
      expectBoundTo(await verifyAssertion(queued.headers['x-forwarded-user-assertion']), queued);
    } finally {
      agent.destroy();
    }
  });
});

describe('propagateIdentity streams responses', () => {
  it('delivers the first SSE event to the client before the upstream writes the second', async () => {
    let releaseSecond!: () => void;
    const clientHasFirst = new Promise<void>((resolve) => (releaseSecond = resolve));
    let secondWritten = false;
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('event: message\ndata: {"n":1}\n\n');
      void clientHasFirst.then(() => {
        secondWritten = true;
        res.end('event: message\ndata: {"n":2}\n\n');
      });
    });
    const gateway = await startGateway({ upstream });

    const seen: { text: string; secondWritten: boolean }[] = [];
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(`${gateway.url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        agent: false,
      });
      req.on('error', reject);
      req.on('response', resolve);
      req.end(JSON.stringify(toolsCall()));
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream');
    let text = '';
    await new Promise<void>((resolve, reject) => {
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
        seen.push({ text, secondWritten });
        if (text.includes('"n":1') && !text.includes('"n":2')) releaseSecond();
      });
      response.on('end', resolve);
      response.on('error', reject);
    });
    expect(text).toBe('event: message\ndata: {"n":1}\n\nevent: message\ndata: {"n":2}\n\n');
    const firstSeen = seen.find((entry) => entry.text.includes('"n":1'));
    expect(firstSeen).toEqual({ text: 'event: message\ndata: {"n":1}\n\n', secondWritten: false });
    expect(await verifyAssertion(only(upstream).headers['x-forwarded-user-assertion'])).toMatchObject({ sub: 'alice@corp' });
  });

  it('answers a client Connection: close with connection: close even when the upstream keeps alive', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive', 'keep-alive': 'timeout=5' });
      res.end('{"ok":true}');
    });
    const gateway = await startGateway({ upstream });
    const res = await rawRequest(gateway.url, {
      path: '/mcp',
      headers: ['Content-Type', 'application/json', 'Connection', 'close'],
      chunks: [JSON.stringify(toolsCall())],
    });
    expect(res.status).toBe(200);
    expect(res.headers.connection).toBe('close');
    expect(res.headers['keep-alive']).toBeUndefined();
    expect(res.json).toEqual({ ok: true });
  });
});
