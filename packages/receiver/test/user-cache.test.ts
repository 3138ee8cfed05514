import request from 'supertest';
import { canonicalJson, META_USER, normalizeUserContext } from '@mcp-identity/core/internal';
import { createUserViews } from '../src/user-views.js';
import { createTestApp, expectRefusal, identityHeaders, signFor, signIntoMeta, toolCall, USER, withMeta } from './helpers.js';

const body = toolCall();
// The same subject, another set of groups and roles: a cache keyed on anything less than the whole user would mix them up.
const PROMOTED = normalizeUserContext({ ...USER, groups: [...USER.groups, 'admins'], roles: [...USER.roles, 'admin'] });

describe('verifyIdentity per-user caches', () => {
  it('shares one frozen user between requests of the same user, which a handler cannot change', async () => {
    const { app, calls } = createTestApp();

    for (let i = 0; i < 2; i++) {
      const res = await request(app)
        .post('/mcp')
        .set(identityHeaders(signFor({ body })))
        .send(body);
      expect(res.status).toBe(200);
    }

    expect(calls[1]?.user).toBe(calls[0]?.user);
    expect(Object.isFrozen(calls[0]?.user)).toBe(true);
    expect(Object.isFrozen(calls[0]?.user?.roles)).toBe(true);
    expect(() => (calls[0]?.user?.roles as string[]).push('admin')).toThrow(TypeError);
  });

  it('responds 401 identity_mismatch for the plain headers of the user verified just before, under an assertion of the same subject with more groups', async () => {
    const { app, calls } = createTestApp();
    const first = await request(app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body })))
      .send(body);
    expect(first.status).toBe(200);
    calls.length = 0;

    const res = await request(app)
      .post('/mcp')
      // PROMOTED's assertion, USER's plain headers (the ones just accepted).
      .set(identityHeaders(signFor({ body }, { user: PROMOTED }), USER))
      .send(body);

    expectRefusal(res, 401, 'identity_mismatch', calls);
    const promoted = await request(app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body }, { user: PROMOTED }), PROMOTED))
      .send(body);
    expect(promoted.status).toBe(200);
    expect(calls[0]?.user).toEqual(PROMOTED);
  });

  it('responds 401 identity_mismatch for a signed _meta user equal to the user verified just before, under an assertion of the same subject with more roles', async () => {
    const { app, calls } = createTestApp();
    const { body: accepted } = signIntoMeta(withMeta(body, { [META_USER]: USER }));
    expect((await request(app).post('/mcp').send(accepted)).status).toBe(200);
    calls.length = 0;

    const { body: sent } = signIntoMeta(withMeta(body, { [META_USER]: USER }), { user: PROMOTED });
    const res = await request(app).post('/mcp').send(sent);

    expectRefusal(res, 401, 'identity_mismatch', calls);
  });
});

describe('createUserViews', () => {
  it('answers each user with that user’s encoded headers and canonical JSON, and keeps at most its number of entries', () => {
    const views = createUserViews('x-forwarded-user', 2);
    const other = normalizeUserContext({ id: 'user-7', authMethod: 'jwt' });
    const first = views(USER);
    expect(views(USER)).toBe(first);
    expect(first.headers().get('id')).toBe(USER.id);
    expect(views(other).headers().get('id')).toBe('user-7');
    expect(views(other).canonical()).toBe(canonicalJson(other));
    expect(views(PROMOTED).headers().get('roles')).toBe('reader,writer,admin');
    // Three users through a cache of two: the oldest (USER) was dropped and is worked out anew.
    const again = views(USER);
    expect(again).not.toBe(first);
    expect(again.headers()).toEqual(first.headers());
  });
});
