/**
 * What the upstream receives about the user: the signed assertion, the plain percent-encoded
 * headers, the claims allow-list and the sensitive-attribute filter, per carrier.
 */
import { decodeHeaderList, decodeHeaderValue, defaultSensitiveAttributes } from '@mcp-identity/core/internal';
import request from 'supertest';
import {
  aliceAsSent,
  alice,
  AUDIENCE,
  closeAll,
  expectBoundTo,
  jsonOf,
  META_ASSERTION,
  only,
  refusal,
  startGateway,
  startUpstream,
  toolsCall,
  verifyAssertion,
} from './propagate-kit.js';

afterEach(closeAll);

describe('propagateIdentity signs the user for the upstream', () => {
  it('sends an assertion that verifies with the secret, issuer, audience and typ user-context+jwt', async () => {
    const gateway = await startGateway();
    await request(gateway.url).post('/mcp').send(toolsCall()).expect(200);
    const received = only(gateway.upstream);
    const claims = await verifyAssertion(received.headers['x-forwarded-user-assertion']);
    expect(claims).toMatchObject({
      iss: 'https://gateway.test',
      aud: AUDIENCE,
      sub: 'alice@corp',
      email: 'alice@corp.example',
      name: 'José Álvarez',
      groups: ['eng,ops', 'équipe-🚀'],
      teams: ['platform'],
      roles: ['reader', 'writer'],
      auth_method: 'jwt',
      act: { sub: 'svc-bot', act: { sub: 'agent-1' } },
      idp: 'https://idp.example',
      attrs: { department: 'R&D', region: 'eu' },
    });
    expect(claims.admin).toBeUndefined();
    expect(claims.exp! - claims.iat!).toBe(60);
    expectBoundTo(claims, received);
  });

  it('is verifiable for its own audience only', async () => {
    const gateway = await startGateway();
    await request(gateway.url).post('/mcp').send(toolsCall()).expect(200);
    const token = only(gateway.upstream).headers['x-forwarded-user-assertion'];
    await expect(verifyAssertion(token, { audience: 'urn:mcp:another-upstream' })).rejects.toThrow(/aud/);
  });

  it('takes iat and exp from the clock option and ttlSeconds', async () => {
    const now = Date.UTC(2030, 0, 1, 12, 0, 0);
    const gateway = await startGateway({ options: { clock: () => now, ttlSeconds: 30 } });
    await request(gateway.url).post('/mcp').send(toolsCall()).expect(200);
    const token = only(gateway.upstream).headers['x-forwarded-user-assertion'];
    const claims = await verifyAssertion(token, { currentDate: new Date(now + 29_000) });
    expect(claims.iat).toBe(now / 1000);
    expect(claims.exp).toBe(now / 1000 + 30);
    await expect(verifyAssertion(token, { currentDate: new Date(now + 31_000) })).rejects.toThrow(/exp/);
  });

  it('gives every request its own jti of at least 128 bits', async () => {
    const gateway = await startGateway();
    for (let i = 0; i < 3; i++)
      await request(gateway.url)
        .post('/mcp')
        .send(toolsCall({ id: i }))
        .expect(200);
    expect(gateway.upstream.received).toHaveLength(3);
    const claims = await Promise.all(gateway.upstream.received.map((r) => verifyAssertion(r.headers['x-forwarded-user-assertion'])));
    const jtis = claims.map((c) => c.jti);
    for (const jti of jtis) {
      expect(jti).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(Buffer.from(jti!, 'base64url').length).toBeGreaterThanOrEqual(16);
    }
    expect(new Set(jtis).size).toBe(3);
    claims.forEach((c, i) => expectBoundTo(c, gateway.upstream.received[i]!));
  });

  it('binds the assertion to the path the upstream receives when mounted under a prefix', async () => {
    const upstream = await startUpstream();
    const gateway = await startGateway({ upstream, mount: '/mcp/files', options: { target: `${upstream.url}/mcp` } });
    await request(gateway.url).post('/mcp/files?session=1').send(toolsCall()).expect(200);
    const received = only(upstream);
    expect(received.url).toMatch(/^\/mcp\/?\?session=1$/);
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });
});

describe('propagateIdentity sends plain identity headers', () => {
  it('percent-encodes every value so that core decoders read it back exactly', async () => {
    const gateway = await startGateway();
    await request(gateway.url).post('/mcp').send(toolsCall()).expect(200);
    const h = only(gateway.upstream).headers;
    const raw = (name: string): string => {
      const value = h[`x-forwarded-user-${name}`];
      expect(typeof value).toBe('string');
      expect(value).toMatch(/^[\x21-\x7e]+$/);
      return value as string;
    };
    expect(decodeHeaderValue(raw('id'))).toBe('alice@corp');
    expect(decodeHeaderValue(raw('email'))).toBe('alice@corp.example');
    expect(decodeHeaderValue(raw('full-name'))).toBe('José Álvarez');
    expect(decodeHeaderList(raw('groups'))).toEqual(['eng,ops', 'équipe-🚀']);
    expect(decodeHeaderList(raw('teams'))).toEqual(['platform']);
    expect(decodeHeaderList(raw('roles'))).toEqual(['reader', 'writer']);
    expect(raw('admin')).toBe('false');
    expect(decodeHeaderValue(raw('auth-method'))).toBe('jwt');
    expect(decodeHeaderValue(raw('service-account'))).toBe('svc-bot');
    expect(decodeHeaderList(raw('delegation-chain'))).toEqual(['agent-1', 'svc-bot']);
  });

  it('sends -Admin: true for an admin and leaves out headers of absent fields', async () => {
    const gateway = await startGateway({ user: { id: 'root', groups: [], teams: [], roles: [], isAdmin: true, authMethod: 'basic' } });
    await request(gateway.url).post('/mcp').send(toolsCall()).expect(200);
    const h = only(gateway.upstream).headers;
    const identity = Object.keys(h).filter((name) => name.startsWith('x-forwarded-user'));
    expect(identity.sort()).toEqual([
      'x-forwarded-user-admin',
      'x-forwarded-user-assertion',
      'x-forwarded-user-auth-method',
      'x-forwarded-user-id',
    ]);
    expect(h['x-forwarded-user-admin']).toBe('true');
    expect((await verifyAssertion(h['x-forwarded-user-assertion'])).admin).toBe(true);
  });
});

describe('propagateIdentity sends only the allowed fields', () => {
  it('limits headers, assertion and _meta to the claims allow-list plus id, authMethod and delegation', async () => {
    const gateway = await startGateway({ user: { ...alice, isAdmin: true }, options: { claims: ['email'], metaCreation: 'always' } });
    await request(gateway.url).post('/mcp').send(toolsCall()).expect(200);
    const received = only(gateway.upstream);
    const identity = Object.fromEntries(Object.entries(received.headers).filter(([name]) => name.startsWith('x-forwarded-user-')));
    expect(Object.keys(identity).sort()).toEqual([
      'x-forwarded-user-admin',
      'x-forwarded-user-assertion',
      'x-forwarded-user-auth-method',
      'x-forwarded-user-delegation-chain',
      'x-forwarded-user-email',
      'x-forwarded-user-id',
      'x-forwarded-user-service-account',
    ]);
    expect(identity['x-forwarded-user-admin']).toBe('false');
    const claims = await verifyAssertion(identity['x-forwarded-user-assertion']);
    for (const claim of ['name', 'groups', 'teams', 'roles', 'admin', 'idp', 'attrs']) expect(claims).not.toHaveProperty(claim);
    expect(claims).toMatchObject({ sub: 'alice@corp', email: 'alice@corp.example', auth_method: 'jwt', act: { sub: 'svc-bot' } });
    expect(jsonOf(received).params._meta['mcp-identity/user']).toEqual({
      id: 'alice@corp',
      email: 'alice@corp.example',
      groups: [],
      teams: [],
      roles: [],
      isAdmin: false,
      authMethod: 'jwt',
      serviceAccount: 'svc-bot',
      delegationChain: ['agent-1', 'svc-bot'],
    });
  });

  it('never sends an attribute named db_password, in any carrier', async () => {
    const gateway = await startGateway({ options: { metaCreation: 'always' } });
    await request(gateway.url).post('/mcp').send(toolsCall()).expect(200);
    const received = only(gateway.upstream);
    const claims = await verifyAssertion(received.headers['x-forwarded-user-assertion']);
    expect(claims.attrs).toEqual({ department: 'R&D', region: 'eu' });
    expect(jsonOf(received).params._meta['mcp-identity/user']).toEqual(aliceAsSent);
    const everything = `${JSON.stringify(received.rawHeaders)}${received.body.toString('utf8')}`;
    expect(everything).not.toContain('hunter2');
    expect(everything).not.toContain('db_password');
  });

  it('applies a custom sensitiveAttributes list of strings and patterns', async () => {
    const gateway = await startGateway({ options: { sensitiveAttributes: [...defaultSensitiveAttributes, /^REG/i] } });
    await request(gateway.url).post('/mcp').send(toolsCall()).expect(200);
    const claims = await verifyAssertion(only(gateway.upstream).headers['x-forwarded-user-assertion']);
    expect(claims.attrs).toEqual({ department: 'R&D' });
  });
});

describe('propagateIdentity carriers', () => {
  it('sends no _meta with carriers: ["headers"], forwarding the client body byte for byte', async () => {
    const gateway = await startGateway({ options: { carriers: ['headers'] } });
    const body = '{ "jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": { "name": "echo", "arguments": {} } }';
    await request(gateway.url).post('/mcp').set('Content-Type', 'application/json').send(body).expect(200);
    const received = only(gateway.upstream);
    expect(received.body.toString('utf8')).toBe(body);
    expect(received.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  it('sends no identity headers with carriers: ["meta"], only _meta', async () => {
    const gateway = await startGateway({ options: { carriers: ['meta'] } });
    await request(gateway.url).post('/mcp').set('X-Forwarded-User-Id', 'mallory').send(toolsCall()).expect(200);
    const received = only(gateway.upstream);
    expect(Object.keys(received.headers).filter((name) => name.startsWith('x-forwarded-user'))).toEqual([]);
    const meta = jsonOf(received).params._meta;
    expect(meta['mcp-identity/user']).toEqual(aliceAsSent);
    expectBoundTo(await verifyAssertion(meta['mcp-identity/assertion']), received);
  });

  it.each(['GET', 'DELETE'] as const)('still sends the assertion header on a bodyless %s with carriers: [meta]', async (method) => {
    const gateway = await startGateway({ options: { carriers: ['meta'] } });
    await request(gateway.url)[method === 'GET' ? 'get' : 'delete']('/mcp').expect(200);
    const received = only(gateway.upstream);
    expect(received.body.length).toBe(0);
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });
});

describe('propagateIdentity carriers: ["meta"] with a body of client responses only (spec: the header carries it)', () => {
  it.each([
    ['one response', { jsonrpc: '2.0', id: 5, result: { content: [] } }],
    [
      'a batch of a response and an error',
      [
        { jsonrpc: '2.0', id: 5, result: {} },
        { jsonrpc: '2.0', id: 6, error: { code: -1, message: 'no' } },
      ],
    ],
  ])('sends the assertion header for %s, since no message can hold _meta', async (_case, body) => {
    const gateway = await startGateway({ options: { carriers: ['meta'] } });
    await request(gateway.url).post('/mcp').send(body).expect(200);
    const received = only(gateway.upstream);
    expect(JSON.stringify(jsonOf(received))).not.toContain('mcp-identity/');
    expect(received.headers['x-forwarded-user-id']).toBe('alice@corp');
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  it('keeps headers off a batch where a request holds the assertion in _meta', async () => {
    const gateway = await startGateway({ options: { carriers: ['meta'] } });
    await request(gateway.url)
      .post('/mcp')
      .send([{ jsonrpc: '2.0', id: 5, result: {} }, toolsCall()])
      .expect(200);
    const received = only(gateway.upstream);
    expect(received.headers['x-forwarded-user-assertion']).toBeUndefined();
    expectBoundTo(await verifyAssertion(jsonOf(received)[1].params._meta[META_ASSERTION]), received);
  });
});

describe('propagateIdentity without an authenticated user', () => {
  it.each(['GET', 'POST', 'DELETE'] as const)('responds 401 unauthenticated to %s and forwards nothing', async (method) => {
    const gateway = await startGateway({ user: null });
    const req = request(gateway.url)[method === 'GET' ? 'get' : method === 'POST' ? 'post' : 'delete']('/mcp');
    const res = method === 'POST' ? await req.send(toolsCall()) : await req;
    expect(res.status).toBe(401);
    expect(refusal(res.body)).toEqual({ code: 'unauthenticated', rpcCode: -32001, jsonrpc: '2.0' });
    expect(gateway.upstream.received.length).toBe(0);
    expect(gateway.unhandled).toEqual([]);
  });

  it('responds 500 user_context_invalid to a malformed req.userContext and forwards nothing', async () => {
    const gateway = await startGateway({ user: { id: '', authMethod: 'jwt' } as any });
    const res = await request(gateway.url).post('/mcp').send(toolsCall());
    expect(res.status).toBe(500);
    expect(refusal(res.body)).toEqual({ code: 'user_context_invalid', rpcCode: -32603, jsonrpc: '2.0' });
    expect(gateway.upstream.received.length).toBe(0);
  });
});
