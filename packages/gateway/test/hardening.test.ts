/**
 * Regression tests for findings of the adversarial review (issue 11): an upstream dying
 * mid-response, and paths that could escape the upstream's mount.
 */
import http from 'node:http';
import { closeAll, rawRequest, refusal, startGateway, startUpstream, toolsCall } from './propagate-kit.js';

afterEach(closeAll);

/** POSTs a tools/call with the request target exactly as given (a URL string would be normalized by the client). */
function postVerbatim(url: string, path: string): Promise<{ status: number; json: any }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path, method: 'POST', headers: { 'content-type': 'application/json' }, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.end(JSON.stringify(toolsCall()));
  });
}

describe('propagateIdentity when the upstream dies mid-response', () => {
  it('ends the client SSE stream and audits refused upstream_aborted when the upstream resets after the head', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('event: message\ndata: {"n":1}\n\n', () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const gateway = await startGateway({ upstream });

    const outcome = await new Promise<{ status: number | undefined; text: string; ended: string }>((resolve, reject) => {
      const req = http.request(`${gateway.url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        agent: false,
      });
      req.on('error', reject);
      req.on('response', (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode, text, ended: 'end' }));
        response.on('error', () => resolve({ status: response.statusCode, text, ended: 'error' }));
        response.on('aborted', () => resolve({ status: response.statusCode, text, ended: 'aborted' }));
      });
      req.end(JSON.stringify(toolsCall()));
    });
    const [event] = await gateway.waitForEvents(1);

    expect(outcome.status).toBe(200);
    expect(outcome.text).toBe('event: message\ndata: {"n":1}\n\n');
    // The chunked body was never terminated: the client sees the connection cut, not a clean end.
    expect(outcome.ended).not.toBe('end');
    expect(event).toMatchObject({ decision: 'refused', reason: 'upstream_aborted', upstreamStatus: 200 });
  });

  it('still audits a complete response as forwarded', async () => {
    const gateway = await startGateway();

    const res = await rawRequest(gateway.url, {
      path: '/mcp',
      headers: { 'content-type': 'application/json' },
      chunks: [JSON.stringify(toolsCall())],
    });
    const [event] = await gateway.waitForEvents(1);

    expect(res.status).toBe(200);
    expect(event).toMatchObject({ decision: 'forwarded' });
    expect(event?.reason).toBeUndefined();
  });
});

describe('propagateIdentity path rule', () => {
  const hostile = [
    '/mcp/notes/../internal/admin',
    '/mcp/notes/%2e%2e/internal/admin',
    '/mcp/notes/%2E%2E/internal/admin',
    '/mcp/notes/.%2E/internal/admin',
    '/mcp/notes/%2E./internal/admin',
    '/mcp/./internal',
    '/mcp/%2e/internal',
    '/mcp/..',
    '/mcp/..;/internal/admin',
    '/mcp/notes%2f..%2finternal',
    '/mcp/notes%2F..%2Finternal',
    '/mcp/notes%5c..%5cinternal',
    '/mcp/notes\\..\\internal',
  ];

  it.each(hostile)('responds 400 path_invalid for %s and forwards nothing', async (path) => {
    const gateway = await startGateway({ mount: '/mcp' });

    const res = await postVerbatim(gateway.url, path);
    const [event] = await gateway.waitForEvents(1);

    expect(res.status).toBe(400);
    expect(refusal(res.json)).toEqual({ code: 'path_invalid', rpcCode: -32600, jsonrpc: '2.0' });
    expect(gateway.upstream.received).toEqual([]);
    expect(event).toMatchObject({ decision: 'refused', reason: 'path_invalid', status: 400 });
  });

  it.each(['/mcp/notes/...', '/mcp/notes/.well-known', '/mcp/notes/a..b', '/mcp/notes?path=../x', '/mcp/%252e%252e/x'])(
    'forwards %s, which holds no dot-segment',
    async (path) => {
      const gateway = await startGateway({ mount: '/mcp' });

      const res = await postVerbatim(gateway.url, path);

      expect(res.status).toBe(200);
      expect(gateway.upstream.received).toHaveLength(1);
    },
  );

  it('responds 400 path_invalid when a pathRewrite produces a dot-segment, and forwards nothing', async () => {
    const gateway = await startGateway({ options: { proxy: { pathRewrite: { '^/mcp/up': '/mcp/..' } } } });

    const res = await postVerbatim(gateway.url, '/mcp/up/admin');

    expect(res.status).toBe(400);
    expect(refusal(res.json)).toEqual({ code: 'path_invalid', rpcCode: -32600, jsonrpc: '2.0' });
    expect(gateway.upstream.received).toEqual([]);
  });
});
