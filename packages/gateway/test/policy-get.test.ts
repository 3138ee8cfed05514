/**
 * A GET stream may replay list responses (SSE resumption): the policy filters them whatever
 * the GET carries, a JSON-RPC body included.
 */
import express from 'express';
import { listen } from '../../../test/kit.js';
import { propagateIdentity } from '../src/index.js';
import { closeAll, identityOptions, track } from './propagate-kit.js';

afterEach(closeAll);

async function startGateway(): Promise<string> {
  const upstream = express();
  upstream.get('/mcp', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const listed = { jsonrpc: '2.0', id: 7, result: { tools: [{ name: 'admin_report' }, { name: 'ok' }] } };
    res.end(`event: message\ndata: ${JSON.stringify(listed)}\n\n`);
  });
  const up = track(await listen(upstream));
  const gateway = express();
  gateway.use((req, _res, next) => {
    req.userContext = { id: 'bob', groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'basic' };
    next();
  });
  gateway.use(
    '/mcp',
    propagateIdentity({
      target: `${up.url}/mcp`,
      ...identityOptions,
      audit: () => undefined,
      policy: { rules: [{ id: 'ok', effect: 'allow', tools: ['ok'] }], default: 'deny' },
    }),
  );
  return `${track(await listen(gateway)).url}/mcp`;
}

describe('the policy on GET streams', () => {
  it.each([
    ['no body', undefined],
    ['a client response as body', JSON.stringify({ jsonrpc: '2.0', id: 1, result: {} })],
    ['a notification as body', JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })],
  ])('filters a replayed tools/list result on a GET with %s', async (_case, body) => {
    const url = await startGateway();
    const headers: Record<string, string> = { accept: 'text/event-stream', 'mcp-protocol-version': '2025-06-18' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    // fetch refuses a GET with a body: node:http sends it as a client may.
    const { request } = await import('node:http');
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(url, { method: 'GET', headers }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (data += chunk));
        res.on('end', () => resolve(`${res.statusCode ?? 0} ${data}`));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(text.startsWith('200 ')).toBe(true);
    expect(text).toContain('"name":"ok"');
    expect(text).not.toContain('admin_report');
  });
});
