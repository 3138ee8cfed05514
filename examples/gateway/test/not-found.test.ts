import request from 'supertest';
import { createApp } from '../src/index.js';
import type { AuditEvent } from '@mcp-identity/gateway';
import { listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';

const SECRET = 'Hq7Zr2Lx9Vb4Nc1Mw8Ks3Jt6Pd0Fy5Gu';

describe('the example gateway answers unmatched paths', () => {
  let upstream: Running;
  let hits: number;

  beforeEach(async () => {
    hits = 0;
    upstream = await listen((_req, res) => {
      hits += 1;
      res.end('{}');
    });
  });

  afterEach(async () => {
    await upstream.close();
  });

  it.each([
    ['GET', '/'],
    ['GET', '/nope'],
    ['POST', '/mcp/unknown-upstream'],
    ['DELETE', '/mcp'],
    ['GET', '/.well-known/unknown.json'],
  ])('responds 404 not_found with a JSON-RPC error body to %s %s, and forwards nothing', async (method, path) => {
    const events: AuditEvent[] = [];
    const app = createApp({
      issuer: 'https://gateway.test',
      signing: { secret: SECRET },
      upstreams: [{ name: 'notes', target: `${upstream.url}/mcp`, audience: 'urn:test:notes' }],
      jwt: { secret: new TextEncoder().encode(SECRET), issuer: 'https://idp.test', audience: 'gateway' },
      users: [],
      apiClients: [],
      audit: (event) => {
        events.push(event);
      },
    });

    const agent = request(app);
    const res =
      method === 'POST'
        ? await agent.post(path).set('Content-Type', 'application/json').send('{"jsonrpc":"2.0","id":1,"method":"tools/list"}')
        : await (method === 'GET' ? agent.get(path) : agent.delete(path));

    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32601, message: expect.any(String), data: { code: 'not_found' } },
    });
    expect(res.text).not.toMatch(/<html|<pre|Cannot /i);
    expect(hits).toBe(0);
    expect(events).toEqual([]);
  });
});
