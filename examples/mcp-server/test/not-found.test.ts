import request from 'supertest';
import { createAssertionSigner, EMPTY_BODY_SHA256, normalizeUserContext } from '@mcp-identity/core';
import { createApp } from '../src/index.js';
import type { McpServerApp } from '../src/index.js';

const SECRET = 'Tf3Wk8Qm1Zs6Xn0Vr5Bh2Lc9Jy4Dp7Ga';
const ISSUER = 'https://gateway.test';
const AUDIENCE = 'urn:test:notes';

const expectNotFound = (res: request.Response): void => {
  expect(res.status).toBe(404);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toEqual({
    jsonrpc: '2.0',
    id: null,
    error: { code: -32601, message: expect.any(String), data: { code: 'not_found' } },
  });
  expect(res.text).not.toMatch(/<html|<pre|Cannot /i);
};

describe('the example MCP server answers unmatched paths', () => {
  let server: McpServerApp;

  beforeEach(() => {
    server = createApp({ identity: { audience: AUDIENCE, issuer: ISSUER, secrets: [{ secret: SECRET }], audit: () => undefined } });
  });

  afterEach(async () => {
    await server.close();
  });

  it.each(['/', '/nope', '/mcpx'])('responds 404 not_found with a JSON-RPC error body to GET %s', async (path) => {
    expectNotFound(await request(server.app).get(path));
  });

  it('responds 404 not_found to a verified request with a method /mcp does not serve', async () => {
    const signer = createAssertionSigner({ signing: { secret: SECRET }, issuer: ISSUER, audience: AUDIENCE });
    const { token } = signer.sign(normalizeUserContext({ id: 'alice', authMethod: 'jwt' }), {
      method: 'PUT',
      path: '/mcp',
      bodySha256: EMPTY_BODY_SHA256,
    });

    expectNotFound(await request(server.app).put('/mcp').set('X-Forwarded-User-Assertion', token));
  });

  it('still refuses an unverified request to /mcp with 401 identity_missing, not 404', async () => {
    const res = await request(server.app).put('/mcp');

    expect(res.status).toBe(401);
    expect(res.body.error.data.code).toBe('identity_missing');
  });
});
