import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { SignJWT } from 'jose';
import { Passport } from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import request from 'supertest';
import type { Request } from 'express';
import { isIdentityError, jwtNormalizer, profileNormalizer, userObjectNormalizer } from '../src/index.js';
import type { NormalizerOptions } from '../src/index.js';
import { closeApps, expectRefusal, FakeOidcStrategy, oidcProfile, startApp } from './authenticate-kit.js';

const req = new IncomingMessage(new Socket()) as Request;
const secret = new TextEncoder().encode('a-32-byte-test-secret-for-hs256!');

function jwt(claims: Record<string, unknown>, options: NormalizerOptions = {}): Record<string, unknown> {
  return { ...jwtNormalizer(options)(claims, undefined, req) };
}

/** The IdentityError code `f` throws, or `'no error'`. */
function thrownCode(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    return isIdentityError(error) ? error.code : `not an IdentityError: ${String(error)}`;
  }
  return 'no error';
}

/** An actor claim nested `depth` deep: actor-1 innermost (earliest), actor-<depth> outermost (current). */
function nestedAct(depth: number): Record<string, unknown> {
  let act: Record<string, unknown> | undefined;
  for (let i = 1; i <= depth; i++) act = act === undefined ? { sub: `actor-${i}` } : { sub: `actor-${i}`, act };
  return act!;
}

async function startJwtApp(options: NormalizerOptions = {}) {
  const passport = new Passport();
  passport.use(
    new JwtStrategy(
      { secretOrKey: Buffer.from(secret), jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), algorithms: ['HS256'] },
      (payload: unknown, done: (error: unknown, user?: unknown) => void) => done(null, payload),
    ),
  );
  return startApp(['jwt'], { passport, normalizers: options });
}

async function bearer(claims: Record<string, unknown>): Promise<string> {
  return `Bearer ${await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(secret)}`;
}

afterEach(closeApps);

describe('jwtNormalizer', () => {
  describe('default claims', () => {
    it('reads sub, email, name, groups, roles and iss', () => {
      expect(
        jwt({
          sub: 'u-1',
          email: 'u1@example.com',
          name: 'User One',
          groups: ['eng', 'ops'],
          roles: ['editor'],
          teams: ['blue'],
          iss: 'https://idp.example.com',
          aud: 'gateway',
        }),
      ).toEqual({
        id: 'u-1',
        email: 'u1@example.com',
        name: 'User One',
        groups: ['eng', 'ops'],
        teams: ['blue'],
        roles: ['editor'],
        isAdmin: false,
        issuer: 'https://idp.example.com',
        delegationChain: undefined,
        attributes: {},
        audience: ['gateway'],
      });
    });

    it("reads the access token's scope (or scp), client_id (or azp) and aud", () => {
      expect(jwt({ sub: 'u', scope: 'a b', client_id: 'c', azp: 'ignored', aud: ['r1', 'r2'] })).toMatchObject({
        scopes: ['a', 'b'],
        clientId: 'c',
        audience: ['r1', 'r2'],
      });
      expect(jwt({ sub: 'u', scp: ['x'], azp: 'vscode' })).toMatchObject({ scopes: ['x'], clientId: 'vscode' });
      expect(jwt({ sub: 'u' })).not.toHaveProperty('scopes');
    });

    it('falls back to preferred_username when there is no name', () => {
      expect(jwt({ sub: 'u', preferred_username: 'jdoe' }).name).toBe('jdoe');
      expect(jwt({ sub: 'u', name: 'Jane Doe', preferred_username: 'jdoe' }).name).toBe('Jane Doe');
    });

    it('skips a null claim and tries the next path', () => {
      expect(jwt({ sub: 'u', name: null, preferred_username: 'jdoe' }).name).toBe('jdoe');
    });

    it.each([
      ['is_admin: true', { is_admin: true }, true],
      ['admin: true', { admin: true }, true],
      ['is_admin: "true"', { is_admin: 'true' }, false],
      ['admin: 1', { admin: 1 }, false],
      ['is_admin: false with admin: true (the first present claim decides)', { is_admin: false, admin: true }, false],
      ['no admin claim', {}, false],
    ])('reads isAdmin from a boolean claim only: %s', (_label, claims, isAdmin) => {
      expect(jwt({ sub: 'u', ...claims }).isAdmin).toBe(isAdmin);
    });

    it('takes a single string as a one-entry list and drops non-string entries', () => {
      const out = jwt({ sub: 'u', groups: 'eng', roles: ['a', 7, null, '', 'b'] });
      expect(out.groups).toEqual(['eng']);
      expect(out.roles).toEqual(['a', 'b']);
    });

    it('reads a numeric sub as a string', () => {
      expect(jwt({ sub: 1234 }).id).toBe('1234');
    });

    it('leaves id undefined when there is no sub', () => {
      expect(jwt({ email: 'x@example.com' }).id).toBeUndefined();
    });

    it('reads claims from an object without a prototype and never from the prototype chain', () => {
      const claims = Object.assign(Object.create(null) as Record<string, unknown>, { sub: 'u', roles: ['r'] });
      expect(jwt(claims)).toMatchObject({ id: 'u', roles: ['r'] });
      expect(jwt({ sub: 'u' }, { claims: { name: 'constructor.name', email: 'toString' } })).toMatchObject({
        name: undefined,
        email: undefined,
      });
    });

    it('takes no claim from a polluted Object.prototype (act, roles, admin set on every object)', () => {
      const polluted = Object.prototype as Record<string, unknown>;
      const planted = { act: { sub: 'svc-root' }, roles: ['admin'], is_admin: true, groups: ['root'] };
      Object.assign(polluted, planted);
      try {
        const user = jwt(JSON.parse('{"sub":"u"}') as Record<string, unknown>, { adminRoles: ['admin'] });
        expect(user).toMatchObject({ id: 'u', roles: [], groups: [], isAdmin: false, delegationChain: undefined });
      } finally {
        for (const name of Object.keys(planted)) Reflect.deleteProperty(polluted, name);
      }
    });

    it.each<[string, unknown]>([
      ['a string', 'eyJ...'],
      ['null', null],
      ['an array', [{ sub: 'u' }]],
    ])('throws unauthenticated when the payload is %s', (_label, payload) => {
      expect(thrownCode(() => jwtNormalizer()(payload, undefined, req))).toBe('unauthenticated');
    });
  });

  describe('identity providers', () => {
    it('reads Keycloak realm roles from realm_access.roles by default', () => {
      const out = jwt({
        sub: 'kc-1',
        preferred_username: 'ada',
        realm_access: { roles: ['offline_access', 'mcp-user'] },
        iss: 'https://kc.example.com/realms/corp',
      });
      expect(out).toMatchObject({
        id: 'kc-1',
        name: 'ada',
        roles: ['offline_access', 'mcp-user'],
        issuer: 'https://kc.example.com/realms/corp',
      });
    });

    it('reads Keycloak client roles at a configured dotted path', () => {
      const claims = {
        sub: 'kc-1',
        realm_access: { roles: ['realm-role'] },
        resource_access: { 'mcp-gateway': { roles: ['tools-admin'] } },
      };
      expect(jwt(claims, { claims: { roles: 'resource_access.mcp-gateway.roles' } }).roles).toEqual(['tools-admin']);
    });

    it('reads Azure AD roles and groups, with oid as the id when configured', () => {
      const claims = {
        sub: 'pairwise-sub',
        oid: '00000000-0000-0000-0000-0000000000aa',
        roles: ['Tools.Admin'],
        groups: ['2f1c7a9e-0000-0000-0000-000000000001'],
        preferred_username: 'ada@contoso.com',
        iss: 'https://login.microsoftonline.com/tenant-id/v2.0',
      };
      expect(jwt(claims, { claims: { id: 'oid', email: 'preferred_username' }, adminRoles: ['Tools.Admin'] })).toMatchObject({
        id: '00000000-0000-0000-0000-0000000000aa',
        email: 'ada@contoso.com',
        roles: ['Tools.Admin'],
        groups: ['2f1c7a9e-0000-0000-0000-000000000001'],
        isAdmin: true,
      });
    });

    it('reads Cognito groups from cognito:groups by default', () => {
      const out = jwt(
        { sub: 'cg-1', 'cognito:groups': ['admins', 'devs'], 'cognito:username': 'ada' },
        { claims: { name: 'cognito:username' } },
      );
      expect(out).toMatchObject({ id: 'cg-1', groups: ['admins', 'devs'], name: 'ada' });
    });

    it('reads an Auth0 namespaced claim whose name contains dots', () => {
      const claims = { sub: 'auth0|1', 'https://example.com/roles': ['billing'], 'https://example.com/groups': ['finance'] };
      expect(jwt(claims, { claims: { roles: 'https://example.com/roles', groups: ['https://example.com/groups'] } })).toMatchObject({
        roles: ['billing'],
        groups: ['finance'],
      });
    });

    it('prefers an exact claim name over the same dotted path', () => {
      const claims = { sub: 'u', 'realm_access.roles': ['exact'], realm_access: { roles: ['nested'] } };
      expect(jwt(claims, { claims: { roles: 'realm_access.roles' } }).roles).toEqual(['exact']);
    });

    it('tries a list of claim paths in order', () => {
      const paths = { claims: { id: ['oid', 'sub'] } };
      expect(jwt({ sub: 's', oid: 'o' }, paths).id).toBe('o');
      expect(jwt({ sub: 's' }, paths).id).toBe('s');
    });

    it('reads the admin flag at a configured path', () => {
      expect(jwt({ sub: 'u', app_metadata: { admin: true } }, { claims: { isAdmin: 'app_metadata.admin' } }).isAdmin).toBe(true);
      expect(jwt({ sub: 'u', is_admin: true }, { claims: { isAdmin: 'app_metadata.admin' } }).isAdmin).toBe(false);
    });
  });

  describe('adminRoles', () => {
    it.each([
      ['a listed role', { roles: ['viewer', 'platform-admin'] }, true],
      ['a listed group', { groups: ['platform-admin'] }, true],
      ['no listed role or group', { roles: ['viewer'], groups: ['eng'] }, false],
    ])('makes isAdmin true for %s', (_label, claims, isAdmin) => {
      expect(jwt({ sub: 'u', ...claims }, { adminRoles: ['platform-admin'] }).isAdmin).toBe(isAdmin);
    });

    it('grants nothing by default, whatever the role is called', () => {
      expect(jwt({ sub: 'u', roles: ['admin'], groups: ['admins'] }).isAdmin).toBe(false);
    });
  });

  describe('attributes', () => {
    it('copies the listed claims that hold strings, by name or dotted path', () => {
      const claims = { sub: 'u', tenant: 'acme', 'address.country': 'FR', address: { locality: 'Paris' }, tags: ['a'], meta: { x: 1 } };
      expect(jwt(claims, { attributes: ['tenant', 'address.country', 'address.locality', 'tags', 'meta', 'absent'] }).attributes).toEqual({
        tenant: 'acme',
        'address.country': 'FR',
        'address.locality': 'Paris',
      });
    });

    it('copies nothing unless asked', () => {
      expect(jwt({ sub: 'u', tenant: 'acme' }).attributes).toEqual({});
    });
  });

  describe('delegation (RFC 8693 act)', () => {
    it('flattens a nested act into a chain, earliest actor first', () => {
      const out = jwt({ sub: 'user', act: { sub: 'agent-b', act: { sub: 'agent-a' } } });
      expect(out.delegationChain).toEqual(['agent-a', 'agent-b']);
    });

    it('makes the outermost actor the serviceAccount of the UserContext', async () => {
      const app = await startJwtApp();

      const res = await request(app.url)
        .get('/mcp')
        .set('Authorization', await bearer({ sub: 'user', act: { sub: 'agent-b', act: { sub: 'agent-a' } } }));

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'user', delegationChain: ['agent-a', 'agent-b'], serviceAccount: 'agent-b' });
    });

    it.each<[string, unknown]>([
      ['null', null],
      ['a string', 'agent-a'],
      ['an array', [{ sub: 'agent-a' }]],
      ['an actor without sub', { client_id: 'agent-a' }],
      ['a numeric sub', { sub: 42 }],
      ['a malformed inner actor', { sub: 'agent-b', act: 'agent-a' }],
    ])('throws unauthenticated when act is %s', (_label, act) => {
      expect(thrownCode(() => jwtNormalizer()({ sub: 'user', act }, undefined, req))).toBe('unauthenticated');
    });

    it.each([
      [16, 'accepts', 200],
      [17, 'refuses', 401],
    ])('at depth %i %s the act chain', async (depth, _verb, status) => {
      const app = await startJwtApp();

      const res = await request(app.url)
        .get('/mcp')
        .set('Authorization', await bearer({ sub: 'user', act: nestedAct(depth) }));

      expect(res.status).toBe(status);
      if (status === 200) expect(res.body.user.delegationChain).toHaveLength(depth);
      else expectRefusal(res, app, 401, 'unauthenticated');
    });

    it('responds 401 unauthenticated to a token with a malformed act', async () => {
      const app = await startJwtApp();

      const res = await request(app.url)
        .get('/mcp')
        .set('Authorization', await bearer({ sub: 'user', act: { actor: 'agent-a' } }));

      expectRefusal(res, app, 401, 'unauthenticated');
      expect(res.body.error.message).toBe('the token act claim is malformed');
    });
  });

  it('reads a Keycloak token end to end through passport-jwt with configured paths', async () => {
    const app = await startJwtApp({
      claims: { roles: 'resource_access.mcp-gateway.roles' },
      adminRoles: ['tools-admin'],
      attributes: ['tenant'],
    });

    const res = await request(app.url)
      .get('/mcp')
      .set(
        'Authorization',
        await bearer({
          sub: 'kc-1',
          preferred_username: 'ada',
          email: 'ada@example.com',
          iss: 'https://kc.example.com/realms/corp',
          realm_access: { roles: ['offline_access'] },
          resource_access: { 'mcp-gateway': { roles: ['tools-admin'] } },
          tenant: 'acme',
        }),
      );

    expect(res.status).toBe(200);
    expect(res.body.user).toEqual({
      id: 'kc-1',
      email: 'ada@example.com',
      name: 'ada',
      groups: [],
      teams: [],
      roles: ['tools-admin'],
      isAdmin: true,
      authMethod: 'jwt',
      issuer: 'https://kc.example.com/realms/corp',
      attributes: { tenant: 'acme' },
    });
  });
});

describe('profileNormalizer', () => {
  const normalize = (profile: unknown, options: NormalizerOptions = {}) => ({ ...profileNormalizer(options)(profile, undefined, req) });

  it('reads options and the e-mail list without a polluted Object.prototype (adminRoles, claims, emails[0])', () => {
    const polluted = Object.prototype as Record<string, unknown>;
    const planted = { adminRoles: ['mcp-user'], claims: { isAdmin: 'email_verified' }, 0: { value: 'ceo@corp.example' } };
    Object.assign(polluted, planted);
    try {
      const user = normalize({ id: 'u', emails: [], _json: { sub: 'u', email_verified: true, roles: ['mcp-user'] } });
      expect(user).toMatchObject({ id: 'u', isAdmin: false, email: undefined });
      expect({ ...jwtNormalizer()(JSON.parse('{"sub":"u","roles":["mcp-user"],"email_verified":true}'), undefined, req) }).toMatchObject({
        isAdmin: false,
      });
      expect({ ...userObjectNormalizer()({ id: 'u', roles: ['mcp-user'] }, undefined, req) }).toMatchObject({ isAdmin: false });
    } finally {
      for (const name of Object.keys(planted)) Reflect.deleteProperty(polluted, name);
    }
  });

  it('reads a passport-openidconnect profile and the id token claims in _json', () => {
    expect(normalize(oidcProfile())).toEqual({
      id: 'oidc-sub-1',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      groups: ['engineering', 'oncall'],
      teams: [],
      roles: ['mcp-user', 'mcp-admin'],
      isAdmin: false,
      issuer: 'https://idp.example.com/realms/corp',
      delegationChain: undefined,
      attributes: {},
    });
  });

  it('prefers the profile fields over the _json claims', () => {
    const profile = oidcProfile({ _json: { sub: 'json-sub', email: 'json@example.com', name: 'Json Name', iss: 'https://iss' } });
    expect(normalize(profile)).toMatchObject({ id: 'oidc-sub-1', email: 'ada@example.com', name: 'Ada Lovelace' });
  });

  it('falls back to the _json claims when the profile lacks a field', () => {
    const profile = { provider: 'corp', _json: { sub: 'json-sub', email: 'json@example.com', preferred_username: 'jsonuser' } };
    expect(normalize(profile)).toMatchObject({ id: 'json-sub', email: 'json@example.com', name: 'jsonuser', issuer: 'corp' });
  });

  it('takes the issuer from _json.iss, else from the provider', () => {
    expect(normalize(oidcProfile()).issuer).toBe('https://idp.example.com/realms/corp');
    expect(normalize(oidcProfile({ _json: { sub: 's' } })).issuer).toBe('https://idp.example.com');
  });

  it('ignores an emails entry that is not an object with a value', () => {
    expect(normalize(oidcProfile({ emails: ['ada@example.com'] })).email).toBeUndefined();
  });

  it('applies adminRoles, claim paths and attributes to the _json claims', () => {
    const profile = oidcProfile({ _json: { sub: 's', realm_access: { roles: ['mcp-admin'] }, tenant: 'acme', team_list: ['blue'] } });
    expect(normalize(profile, { adminRoles: ['mcp-admin'], attributes: ['tenant'], claims: { teams: 'team_list' } })).toMatchObject({
      isAdmin: true,
      attributes: { tenant: 'acme' },
      teams: ['blue'],
    });
  });

  it('reads a profile without _json', () => {
    expect(normalize({ id: 'p-1', displayName: 'P One' })).toMatchObject({ id: 'p-1', name: 'P One', groups: [], roles: [] });
  });

  it('throws unauthenticated when the profile is not an object', () => {
    expect(thrownCode(() => profileNormalizer()('p-1', undefined, req))).toBe('unauthenticated');
  });

  it('produces the sso UserContext through authenticate', async () => {
    const passport = new Passport();
    passport.use(new FakeOidcStrategy(oidcProfile()));
    const app = await startApp(['openidconnect'], { passport, normalizers: { adminRoles: ['mcp-admin'] } });

    const res = await request(app.url).get('/mcp');

    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: 'oidc-sub-1', isAdmin: true, authMethod: 'sso' });
  });
});

describe('userObjectNormalizer', () => {
  it('takes no field from a polluted Object.prototype, and still reads getters of the user class', () => {
    class Account {
      constructor(private readonly record: { name: string; roles: string[] }) {}
      get id(): string {
        return this.record.name;
      }
      get roles(): string[] {
        return this.record.roles;
      }
    }
    const polluted = Object.prototype as Record<string, unknown>;
    const planted = { isAdmin: true, groups: ['root'], serviceAccount: 'svc-root', attributes: { tier: 'gold' } };
    Object.assign(polluted, planted);
    try {
      const user = { ...userObjectNormalizer()(new Account({ name: 'ada', roles: ['reader'] }), undefined, req) };
      expect(user).toMatchObject({
        id: 'ada',
        roles: ['reader'],
        groups: [],
        isAdmin: false,
        serviceAccount: undefined,
        attributes: undefined,
      });
    } finally {
      for (const name of Object.keys(planted)) Reflect.deleteProperty(polluted, name);
    }
  });

  const normalize = (user: unknown, options: NormalizerOptions = {}) => ({ ...userObjectNormalizer(options)(user, undefined, req) });

  it('takes a string user as the id', () => {
    expect(normalize('alice')).toEqual({ id: 'alice' });
  });

  it('reads id, else username', () => {
    expect(normalize({ id: 'u-1', username: 'alice' }).id).toBe('u-1');
    expect(normalize({ username: 'alice' }).id).toBe('alice');
    expect(normalize({ id: 7 }).id).toBe('7');
  });

  it('reads name, else displayName', () => {
    expect(normalize({ id: 'u', name: 'Alice', displayName: 'Al' }).name).toBe('Alice');
    expect(normalize({ id: 'u', displayName: 'Al' }).name).toBe('Al');
  });

  it('reads the app user fields', () => {
    expect(
      normalize({
        id: 'u',
        email: 'u@example.com',
        groups: ['g'],
        teams: ['t'],
        roles: ['r'],
        serviceAccount: 'bot',
        delegationChain: ['origin', 'bot'],
        issuer: 'ldap://corp',
        attributes: { dept: 'R&D' },
        password: 'must-not-be-read',
      }),
    ).toEqual({
      id: 'u',
      email: 'u@example.com',
      name: undefined,
      groups: ['g'],
      teams: ['t'],
      roles: ['r'],
      isAdmin: false,
      serviceAccount: 'bot',
      delegationChain: ['origin', 'bot'],
      issuer: 'ldap://corp',
      attributes: { dept: 'R&D' },
    });
  });

  it.each([
    ['isAdmin: true', { isAdmin: true }, {}, true],
    ['isAdmin: "yes"', { isAdmin: 'yes' }, {}, false],
    ['a role in adminRoles', { roles: ['root'] }, { adminRoles: ['root'] }, true],
    ['a group in adminRoles', { groups: ['root'] }, { adminRoles: ['root'] }, true],
    ['a role not in adminRoles', { roles: ['user'] }, { adminRoles: ['root'] }, false],
  ])('sets isAdmin for %s', (_label, user, options, isAdmin) => {
    expect(normalize({ id: 'u', ...user }, options).isAdmin).toBe(isAdmin);
  });

  it.each([
    ['null', null],
    ['a number', 42],
    ['an array', ['alice']],
  ])('throws unauthenticated when the user is %s', (_label, user) => {
    expect(thrownCode(() => userObjectNormalizer()(user, undefined, req))).toBe('unauthenticated');
  });
});
