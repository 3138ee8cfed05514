/**
 * The receiver checks a modern (2026-07-28) request's metadata headers against the body it
 * verifies, and keeps sessions to the legacy era.
 */
import request from 'supertest';
import { MemoryStore } from '@mcp-identity/core/internal';
import { createTestApp, expectRefusal, identityHeaders, signFor } from './helpers.js';

const MODERN = '2026-07-28';
const body = {
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'read', arguments: { path: '/docs/a.txt' }, _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } },
};
const matching = { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call', 'Mcp-Name': 'read' };

describe('verifyIdentity with modern requests', () => {
  it('accepts a request whose headers match the body it verifies', async () => {
    const { app, calls } = createTestApp();
    const res = await request(app)
      .post('/mcp')
      .set({ ...identityHeaders(signFor({ body })), ...matching })
      .send(body);
    expect(res.status).toBe(200);
    expect(calls).toHaveLength(1);
  });

  it.each([
    ['Mcp-Method', { ...matching, 'Mcp-Method': 'tools/list' }],
    ['Mcp-Name', { ...matching, 'Mcp-Name': 'delete' }],
    ['Mcp-Name in Base64', { ...matching, 'Mcp-Name': `=?base64?${Buffer.from('delete').toString('base64')}?=` }],
    ['Mcp-Param-Path', { ...matching, 'Mcp-Param-Path': '/etc/passwd' }],
  ])('responds 400 mcp_header_mismatch, with the request id, when %s disagrees with the signed body', async (_case, headers) => {
    const { app, calls } = createTestApp();
    const res = await request(app)
      .post('/mcp')
      .set({ ...identityHeaders(signFor({ body })), ...headers })
      .send(body);
    expectRefusal(res, 400, 'mcp_header_mismatch', calls, body.id);
    expect(res.body.error.code).toBe(-32020);
  });

  it('responds 400 mcp_message_refused for a modern batch', async () => {
    const batch = [body, { ...body, id: 2 }];
    const { app, calls } = createTestApp();
    const res = await request(app)
      .post('/mcp')
      .set({ ...identityHeaders(signFor({ body: batch })), ...matching })
      .send(batch);
    expectRefusal(res, 400, 'mcp_message_refused', calls);
  });

  it('neither checks nor binds nor passes on Mcp-Session-Id, with session isolation on', async () => {
    const seenSessionIds: unknown[] = [];
    const { app, calls } = createTestApp({
      receiver: { sessions: { store: new MemoryStore() } },
      respond: (req, res) => {
        seenSessionIds.push(req.headers['mcp-session-id']);
        res.setHeader('mcp-session-id', 'minted');
        res.json({});
      },
    });
    const res = await request(app)
      .post('/mcp')
      .set({ ...identityHeaders(signFor({ body })), ...matching, 'Mcp-Session-Id': 'unknown-session' })
      .send(body);
    expect(res.status).toBe(200);
    expect(calls).toHaveLength(1);
    expect(seenSessionIds).toEqual([undefined]);
    // The session id the MCP server answered with was not bound: a legacy request using it is refused.
    const legacy = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    const reuse = await request(app)
      .post('/mcp')
      .set({ ...identityHeaders(signFor({ body: legacy })), 'Mcp-Session-Id': 'minted' })
      .send(legacy);
    expect(reuse.status).toBe(404);
  });
});
