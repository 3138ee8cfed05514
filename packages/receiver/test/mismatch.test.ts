import request from 'supertest';
import {
  encodeHeaderList,
  encodeHeaderValue,
  META_ASSERTION,
  META_USER,
  normalizeUserContext,
  userToHeaders,
} from '@mcp-identity/core/internal';
import {
  ASSERTION_HEADER,
  createTestApp,
  expectRefusal,
  identityHeaders,
  PREFIX,
  rawRequest,
  signFor,
  signIntoMeta,
  toolCall,
  USER,
  withMeta,
  withMetaAssertion,
} from './helpers.js';

const body = toolCall();
const lowerHex = (value: string): string => value.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());

describe('verifyIdentity identity agreement', () => {
  describe('plain identity headers', () => {
    it.each([
      ['-Admin true for a non-admin', 'admin', 'true'],
      ['-Admin True (not the canonical spelling)', 'admin', 'True'],
      ['a different -Id', 'id', 'user-43'],
      ['an -Id with a different case', 'id', 'USER-42'],
      ['-Groups with the comma of "eng,ops" unencoded', 'groups', 'eng,ops,%C3%A9quipe'],
      ['-Groups missing a group', 'groups', encodeHeaderList(['eng,ops'])],
      ['-Groups in another order', 'groups', encodeHeaderList(['équipe', 'eng,ops'])],
      ['-Groups with lower-case percent escapes', 'groups', lowerHex(encodeHeaderList(USER.groups))],
      ['-Roles with an extra role', 'roles', encodeHeaderList(['reader', 'writer', 'admin'])],
      ['-Teams empty', 'teams', ''],
      ['a different -Email', 'email', 'mallory@mail.test'],
      ['a -Full-Name with lower-case percent escapes', 'full-name', lowerHex(encodeHeaderValue(USER.name ?? ''))],
      ['a -Full-Name with raw Latin-1 bytes', 'full-name', 'Zo\u00eb'],
      ['a different -Auth-Method', 'auth-method', 'sso'],
      ['-Delegation-Chain reversed', 'delegation-chain', encodeHeaderList(['svc-reporter', 'agent-1'])],
      ['a different -Service-Account', 'service-account', 'agent-1'],
    ])('responds 401 identity_mismatch for %s', async (_case, suffix, value) => {
      const { app, calls } = createTestApp();

      const res = await request(app)
        .post('/mcp')
        .set({ ...identityHeaders(signFor({ body })), [`${PREFIX}-${suffix}`]: value })
        .send(body);

      expectRefusal(res, 401, 'identity_mismatch', calls);
    });

    it.each([
      ['-Email', 'email', 'someone@mail.test'],
      ['-Full-Name', 'full-name', 'Someone'],
      ['-Groups', 'groups', 'eng'],
      ['-Service-Account', 'service-account', 'svc'],
      ['-Delegation-Chain', 'delegation-chain', 'svc'],
    ])('responds 401 identity_mismatch for a %s header when the user has none', async (_case, suffix, value) => {
      const minimal = normalizeUserContext({ id: 'user-42', authMethod: 'jwt' });
      const { app, calls } = createTestApp();

      const res = await request(app)
        .post('/mcp')
        .set({ ...identityHeaders(signFor({ body }, { user: minimal }), minimal), [`${PREFIX}-${suffix}`]: value })
        .send(body);

      expectRefusal(res, 401, 'identity_mismatch', calls);
    });

    it.each([
      ['X_Forwarded_User_Admin', 'false'],
      ['X_Forwarded_User_Id', 'user-42'],
      ['X-Forwarded_User-Id', 'user-42'],
      ['x_forwarded_user_assertion', 'placeholder'],
    ])('responds 401 identity_mismatch for the identity header spelled %s, even when it agrees', async (name, value) => {
      const { app, calls } = createTestApp();
      const token = signFor({ body });

      const res = await request(app)
        .post('/mcp')
        .set({ ...identityHeaders(token), [name]: value === 'placeholder' ? token : value })
        .send(body);

      expectRefusal(res, 401, 'identity_mismatch', calls);
    });

    it.each([
      ['X-Forwarded-User-Superuser', 'true'],
      ['X-Forwarded-User-Is-Admin', 'true'],
      ['X-Forwarded-User-Scopes', 'admin'],
      ['X-Forwarded-User', 'admin'],
      ['X-Forwarded-Username', 'admin'],
    ])('responds 401 identity_mismatch for an unknown identity header %s', async (name, value) => {
      const { app, calls } = createTestApp();

      const res = await request(app)
        .post('/mcp')
        .set({ ...identityHeaders(signFor({ body })), [name]: value })
        .send(body);

      expectRefusal(res, 401, 'identity_mismatch', calls);
    });

    it('responds 401 identity_mismatch for an unknown identity header before looking for an assertion', async () => {
      const { app, calls } = createTestApp();

      const res = await request(app).post('/mcp').set('X-Forwarded-User-Superuser', 'true').send(body);

      expectRefusal(res, 401, 'identity_mismatch', calls);
    });

    it('responds 401 identity_invalid for a plain identity header sent twice, even with the right value', async () => {
      const { app, calls } = createTestApp();
      const headers = Object.entries(identityHeaders(signFor({ body })));

      const res = await rawRequest(app, { headers: [...headers, [`${PREFIX}-Id`, USER.id]], body });

      expectRefusal(res, 401, 'identity_invalid', calls);
    });

    it('responds 401 identity_invalid for the assertion header sent twice in two spellings of case, even with the same token', async () => {
      const { app, calls } = createTestApp();
      const token = signFor({ body });
      const headers = Object.entries(identityHeaders(token));

      const res = await rawRequest(app, { headers: [...headers, [ASSERTION_HEADER.toLowerCase(), token]], body });

      expectRefusal(res, 401, 'identity_invalid', calls);
    });

    it('responds 401 identity_invalid, not identity_mismatch, for an unknown identity header followed by a repeated one', async () => {
      const { app, calls } = createTestApp();
      const headers = Object.entries(identityHeaders(signFor({ body })));

      const res = await rawRequest(app, {
        headers: [[`${PREFIX}-Superuser`, 'true'], ...headers, [`${PREFIX}-Id`, USER.id]],
        body,
      });

      expectRefusal(res, 401, 'identity_invalid', calls);
    });

    it('accepts identity headers in any case and any order among other headers', async () => {
      const { app, calls } = createTestApp();
      const headers = Object.entries(identityHeaders(signFor({ body })))
        .map(([name, value], i): [string, string] => [i % 2 === 0 ? name.toUpperCase() : name.toLowerCase(), value])
        .reverse();

      const res = await rawRequest(app, { headers: [['X-Other', '1'], ...headers, ['x_unrelated', '2']], body });

      expect(res.status).toBe(200);
      expect(calls[0]?.user?.id).toBe(USER.id);
    });

    type Edit = (headers: [string, string][]) => [string, string][];
    const withoutId: Edit = (headers) => headers.filter(([name]) => !/-id$/i.test(name));
    it.each<[string, Edit, number]>([
      ['agreeing', (headers) => headers, 200],
      ['one disagreeing', (headers) => [...withoutId(headers), ['9-ID-Id', 'user-43']], 401],
      ['one spelled with _', (headers) => [...withoutId(headers), ['9_id_id', USER.id]], 401],
    ])('reads a headerPrefix that starts with a digit (9-Id) like any other: %s headers', async (_case, edit, status) => {
      const { app, calls } = createTestApp({ receiver: { headerPrefix: '9-Id' } });
      const token = signFor({ body });
      const headers: [string, string][] = [['9-Id-Assertion', token], ...Object.entries(userToHeaders(USER, '9-Id'))];

      const res = await rawRequest(app, { headers: edit(headers), body });

      if (status === 200) expect(calls[0]?.user?.id).toBe(USER.id);
      else expectRefusal(res, 401, 'identity_mismatch', calls);
    });

    it('ignores unrelated headers that do not start with the prefix', async () => {
      const { app, calls } = createTestApp();

      const res = await request(app)
        .post('/mcp')
        .set({ ...identityHeaders(signFor({ body })), 'X-Forwarded-For': '10.0.0.1', 'X-User-Admin': 'true', 'X-Forwarded-Proto': 'https' })
        .send(body);

      expect(res.status).toBe(200);
      expect(calls[0]?.user?.isAdmin).toBe(false);
    });
  });

  describe('_meta identity', () => {
    it('responds 401 identity_mismatch when the header and _meta carry different assertions', async () => {
      const { app, calls } = createTestApp();
      const { body: sent } = signIntoMeta(body);

      const res = await request(app)
        .post('/mcp')
        .set(identityHeaders(signFor({ body: sent })))
        .send(sent);

      expectRefusal(res, 401, 'identity_mismatch', calls);
    });

    it('responds 401 identity_mismatch when the messages of a batch carry different assertions', async () => {
      const { app, calls } = createTestApp();
      const { token } = signIntoMeta([body]);
      const batch = [withMetaAssertion(body, token), withMetaAssertion(toolCall({ path: '/b' }, 2), signFor())];

      const res = await request(app).post('/mcp').send(batch);

      expectRefusal(res, 401, 'identity_mismatch', calls);
    });

    it.each([
      ['an admin flag the claims do not have', { ...USER, isAdmin: true }],
      ['another id', { ...USER, id: 'user-43' }],
      ['an extra role', { ...USER, roles: [...USER.roles, 'admin'] }],
      ['fewer groups', { ...USER, groups: ['eng,ops'] }],
      ['a string', 'user-42'],
      ['null', null],
      ['an invalid user', { id: '' }],
    ])('responds 401 identity_mismatch when the signed _meta user has %s', async (_case, user) => {
      const { app, calls } = createTestApp();
      // Signed over by the gateway, so only the agreement check can refuse it.
      const { body: sent } = signIntoMeta(withMeta(body, { [META_USER]: user }));

      const res = await request(app).post('/mcp').send(sent);

      expectRefusal(res, 401, 'identity_mismatch', calls);
    });

    it.each([
      ['mcp-identity/admin', { 'mcp-identity/admin': true }],
      ['Mcp-Identity/User (another case)', { 'Mcp-Identity/User': USER }],
      ['mcp-identity/assertion in another case', { 'MCP-IDENTITY/ASSERTION': 'x' }],
    ])('responds 401 identity_mismatch for an unknown identity key %s in a signed _meta', async (_case, members) => {
      const { app, calls } = createTestApp();
      const { body: sent } = signIntoMeta(withMeta(body, members));

      const res = await request(app).post('/mcp').send(sent);

      expectRefusal(res, 401, 'identity_mismatch', calls);
    });

    it('responds 401 identity_mismatch for identity in the result._meta of a batched response', async () => {
      const { app, calls } = createTestApp();
      const response = { jsonrpc: '2.0', id: 9, result: { _meta: { [META_USER]: USER } } };
      const batch = [body, response];

      const res = await request(app)
        .post('/mcp')
        .set(identityHeaders(signFor({ body: batch })))
        .send(batch);

      expectRefusal(res, 401, 'identity_mismatch', calls);
    });

    it('responds 401 identity_invalid for a forged _meta user next to a garbage assertion', async () => {
      const { app, calls } = createTestApp();

      const res = await request(app)
        .post('/mcp')
        .send(withMeta(body, { [META_USER]: { ...USER, isAdmin: true }, [META_ASSERTION]: 'eyJhbGciOiJub25lIn0.e30.' }));

      expectRefusal(res, 401, 'identity_invalid', calls);
    });

    it('responds 401 identity_mismatch for a signed legacy _meta.user that differs from the claims', async () => {
      const { app, calls } = createTestApp();
      const { body: sent } = signIntoMeta(withMeta(body, { user: { id: USER.id, is_admin: true } }));

      const res = await request(app).post('/mcp').send(sent);

      expectRefusal(res, 401, 'identity_mismatch', calls);
    });
  });

  describe('with bindRequest false', () => {
    it('responds 401 identity_mismatch for a legacy _meta.user key', async () => {
      const { app, calls } = createTestApp({ receiver: { bindRequest: false } });

      const res = await request(app)
        .post('/mcp')
        .set(ASSERTION_HEADER, signFor())
        .send(withMeta(body, { user: { id: USER.id } }));

      expectRefusal(res, 401, 'identity_mismatch', calls);
    });

    it('responds 401 identity_mismatch for a _meta user that differs from the claims', async () => {
      const { app, calls } = createTestApp({ receiver: { bindRequest: false } });

      const res = await request(app)
        .post('/mcp')
        .set(ASSERTION_HEADER, signFor())
        .send(withMeta(body, { [META_USER]: { ...USER, isAdmin: true } }));

      expectRefusal(res, 401, 'identity_mismatch', calls);
    });

    it('accepts a _meta user equal to the claims', async () => {
      const { app, calls } = createTestApp({ receiver: { bindRequest: false } });

      const res = await request(app)
        .post('/mcp')
        .set(ASSERTION_HEADER, signFor())
        .send(withMeta(body, { [META_USER]: USER }));

      expect(res.status).toBe(200);
      expect(calls[0]?.user).toEqual(USER);
    });
  });
});
