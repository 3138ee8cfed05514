/**
 * ContextForge compatibility at the gateway: with `contextforge: { secret }`, an upstream
 * written for ContextForge receives exactly what the ContextForge gateway would send.
 * Expected values come from test/fixtures/contextforge-vectors.json, produced by an
 * independent implementation.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { closeAll, identityOptions, jsonOf, only, startGateway, toolsCall, verifyAssertion } from './propagate-kit.js';
import { propagateIdentity } from '../src/index.js';
import type { UserContext } from '../src/index.js';

interface Vector {
  readonly note: string;
  readonly user: { readonly id: string; readonly email?: string };
  readonly headers: { readonly id: string; readonly email?: string };
  readonly signed: string;
  readonly signature: string;
}
const fixture = JSON.parse(readFileSync(new URL('../../../test/fixtures/contextforge-vectors.json', import.meta.url), 'utf8')) as {
  secret: string;
  vectors: Vector[];
};

const warnings: string[] = [];
const logger = { warn: (message: string) => warnings.push(message) };
const contextforge = { contextforge: { secret: fixture.secret }, logger };

function userOf(vector: Vector, extra: Partial<UserContext> = {}): UserContext {
  return { ...vector.user, groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'jwt', ...extra };
}

afterEach(async () => {
  await closeAll();
  warnings.length = 0;
});

describe('propagateIdentity with contextforge', () => {
  it.each(fixture.vectors.map((vector) => [vector.note, vector] as const))(
    'sends the ContextForge headers and signature byte for byte: %s',
    async (_note, vector) => {
      const gateway = await startGateway({ user: userOf(vector), options: contextforge });
      await request(gateway.url).post('/mcp').send(toolsCall()).expect(200);
      const received = only(gateway.upstream);
      expect(received.headers['x-forwarded-user-id']).toBe(vector.headers.id);
      expect(received.headers['x-forwarded-user-email']).toBe(vector.headers.email);
      expect(received.headers['x-forwarded-user-claims-signature']).toBe(vector.signature);
      // As a ContextForge upstream checks it: HMAC over the received header values.
      const recomputed = createHmac('sha256', fixture.secret)
        .update(
          `${received.headers['x-forwarded-user-id'] as string}:${(received.headers['x-forwarded-user-email'] as string | undefined) ?? ''}`,
        )
        .digest('hex');
      expect(recomputed).toBe(vector.signature);
    },
  );

  it('adds the ContextForge _meta.user to tools/call, beside its own assertion', async () => {
    const user = userOf(fixture.vectors[0]!, {
      name: 'Alice',
      groups: ['eng,ops'],
      roles: ['admin'],
      isAdmin: true,
      delegationChain: ['bot'],
    });
    const gateway = await startGateway({ user, options: contextforge });
    await request(gateway.url).post('/mcp').send(toolsCall()).expect(200);
    const received = only(gateway.upstream);
    const meta = jsonOf(received).params._meta;
    expect(meta.user).toEqual({
      id: 'alice@company.com',
      email: 'alice@company.com',
      full_name: 'Alice',
      groups: ['eng,ops'],
      roles: ['admin'],
      is_admin: true,
      auth_method: 'jwt',
      service_account: 'bot',
      delegation_chain: ['bot'],
    });
    expect(Object.keys(meta.user)).toEqual([
      'id',
      'email',
      'full_name',
      'groups',
      'roles',
      'is_admin',
      'auth_method',
      'service_account',
      'delegation_chain',
    ]);
    // The assertion binds the body including that object.
    await verifyAssertion(meta['mcp-identity/assertion']);
    expect(meta['mcp-identity/assertion']).toBe(received.headers['x-forwarded-user-assertion']);
  });

  it('adds no _meta.user to other methods, as ContextForge does', async () => {
    const gateway = await startGateway({ user: userOf(fixture.vectors[1]!), options: contextforge });
    await request(gateway.url)
      .post('/mcp')
      .send({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: {} } })
      .expect(200);
    expect(jsonOf(only(gateway.upstream)).params._meta).not.toHaveProperty('user');
  });

  it('replaces a client-planted _meta.user and forged signature header with its own', async () => {
    const vector = fixture.vectors[1]!;
    const gateway = await startGateway({ user: userOf(vector), options: contextforge });
    await request(gateway.url)
      .post('/mcp')
      .set('X-Forwarded-User-Claims-Signature', 'f'.repeat(64))
      .send(toolsCall({ params: { name: 'echo', _meta: { user: { id: 'root', is_admin: true } } } }))
      .expect(200);
    const received = only(gateway.upstream);
    expect(received.headers['x-forwarded-user-claims-signature']).toBe(vector.signature);
    expect(jsonOf(received).params._meta.user).toMatchObject({ id: vector.user.id, is_admin: false });
  });

  it('sends no ContextForge output when the option is off', async () => {
    const gateway = await startGateway({ user: userOf(fixture.vectors[0]!) });
    await request(gateway.url)
      .post('/mcp')
      .send(toolsCall({ params: { name: 'echo', _meta: {} } }))
      .expect(200);
    const received = only(gateway.upstream);
    expect(received.headers).not.toHaveProperty('x-forwarded-user-claims-signature');
    expect(jsonOf(received).params._meta).not.toHaveProperty('user');
  });

  it('accepts any non-empty legacy secret, warning when it is short and never naming it', async () => {
    await startGateway({ user: userOf(fixture.vectors[0]!), options: contextforge });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/contextforge\.secret is only 16 bytes/);
    expect(warnings[0]).not.toContain(fixture.secret);
  });

  it.each([
    ['an empty secret', { secret: '' }, /contextforge\.secret must not be empty/],
    ['a number', { secret: 42 }, /contextforge\.secret/],
    ['not an object', 'secret', /contextforge must be/],
  ])('refuses to start with %s', (_case, value, message) => {
    expect(() => propagateIdentity({ target: 'http://127.0.0.1:1', ...identityOptions, contextforge: value as never, logger })).toThrow(
      message,
    );
  });

  it('refuses to start without the headers carrier, which ContextForge upstreams read', () => {
    expect(() =>
      propagateIdentity({
        target: 'http://127.0.0.1:1',
        ...identityOptions,
        carriers: ['meta'],
        contextforge: { secret: 'x'.repeat(40) },
        logger,
      }),
    ).toThrow(/contextforge needs the headers carrier/);
  });
});
