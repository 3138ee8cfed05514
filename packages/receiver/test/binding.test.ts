import request from 'supertest';
import { META_USER } from '@mcp-identity/core/internal';
import { createTestApp, expectRefusal, identityHeaders, signFor, signIntoMeta, toolCall, USER, withMeta } from './helpers.js';
import type { TestRequest } from './helpers.js';

const body = toolCall({ path: '/docs/a.txt', mode: 'read' });

function send(app: Parameters<typeof request>[0], sent: TestRequest, token: string): request.Test {
  const method = (sent.method ?? 'POST').toLowerCase() as 'post' | 'put' | 'get' | 'delete' | 'patch';
  const agent = request(app);
  const pending = agent[method](sent.path ?? '/mcp').set(identityHeaders(token));
  return sent.body === undefined ? pending : pending.send(sent.body as object);
}

describe('verifyIdentity request binding', () => {
  it('accepts the request the assertion was signed for', async () => {
    const { app, calls } = createTestApp();
    const signed = { method: 'POST', path: '/mcp?tenant=7', body };

    const res = await send(app, signed, signFor(signed));

    expect(res.status).toBe(200);
    expect(calls).toHaveLength(1);
  });

  it.each<[string, TestRequest, TestRequest]>([
    ['another method', { method: 'POST', body }, { method: 'PUT', body }],
    ['a GET signed as DELETE', { method: 'DELETE' }, { method: 'GET' }],
    ['another path', { path: '/mcp', body }, { path: '/mcp/admin', body }],
    ['a path differing in case', { path: '/mcp', body }, { path: '/MCP', body }],
    ['a path with a trailing slash', { path: '/mcp', body }, { path: '/mcp/', body }],
    ['a percent-encoded path', { path: '/mcp', body }, { path: '/%6Dcp', body }],
    ['another query value', { path: '/mcp?tenant=7', body }, { path: '/mcp?tenant=8', body }],
    ['an added query', { path: '/mcp', body }, { path: '/mcp?debug=1', body }],
    ['a dropped query', { path: '/mcp?tenant=7', body }, { path: '/mcp', body }],
    ['reordered query parameters', { path: '/mcp?a=1&b=2', body }, { path: '/mcp?b=2&a=1', body }],
    ['one changed argument', { body }, { body: toolCall({ path: '/etc/shadow', mode: 'read' }) }],
    ['an added argument', { body }, { body: toolCall({ path: '/docs/a.txt', mode: 'read', recursive: true }) }],
    ['another JSON-RPC id', { body }, { body: { ...body, id: 2 } }],
    ['another tool', { body }, { body: { ...body, params: { name: 'delete_file', arguments: { path: '/docs/a.txt', mode: 'read' } } } }],
    ['a message dropped from a batch', { body: [body, toolCall({ path: '/b' }, 2)] }, { body: [body] }],
    ['a body on a request signed without one', { method: 'DELETE' }, { method: 'DELETE', body }],
    ['no body on a request signed with one', { method: 'POST', body }, { method: 'POST' }],
  ])('responds 401 identity_binding for %s', async (_case, signed, sent) => {
    const { app, calls } = createTestApp();

    const res = await send(app, sent, signFor(signed));

    expectRefusal(res, 401, 'identity_binding', calls);
  });

  it('responds 401 identity_binding when a JSON body arrives as text/plain (raw digest, not JCS)', async () => {
    const { app, calls } = createTestApp();

    const res = await request(app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body })))
      .set('content-type', 'text/plain')
      .send(JSON.stringify(body));

    expectRefusal(res, 401, 'identity_binding', calls);
  });

  it('responds 401 identity_binding under a sub-path for an assertion bound to the stripped req.url', async () => {
    const { app, calls } = createTestApp({ mount: '/mcp' });

    const res = await request(app)
      .post('/mcp/files')
      .set(identityHeaders(signFor({ path: '/files', body })))
      .send(body);

    expectRefusal(res, 401, 'identity_binding', calls);
  });

  it('responds 401 identity_binding when a client adds a _meta user to a signed body', async () => {
    const { app, calls } = createTestApp();
    const { body: sent } = signIntoMeta(body);

    const res = await request(app)
      .post('/mcp')
      .send(withMeta(sent, { [META_USER]: { ...USER, isAdmin: true } }));

    expectRefusal(res, 401, 'identity_binding', calls);
  });

  it('responds 401 identity_binding when an argument is changed next to a _meta assertion', async () => {
    const { app, calls } = createTestApp();
    const { body: sent } = signIntoMeta(body);
    const tampered = structuredClone(sent) as { params: { arguments: Record<string, unknown> } };
    tampered.params.arguments.path = '/etc/shadow';

    const res = await request(app).post('/mcp').send(tampered);

    expectRefusal(res, 401, 'identity_binding', calls);
  });
});
