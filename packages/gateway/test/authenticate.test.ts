import { SignJWT } from 'jose';
import { BasicStrategy } from 'passport-http';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { Strategy } from 'passport-strategy';
import request from 'supertest';
import { Passport } from 'passport';
import { ApiKeyStrategy, authenticate, safeEqual, TrustedProxyStrategy } from '../src/index.js';
import type { Normalizer } from '../src/index.js';
import { challengesOf, closeApps, expectRefusal, FakeOidcStrategy, oidcProfile, startApp } from './authenticate-kit.js';

type PassportInstance = InstanceType<typeof Passport>;

const secret = new TextEncoder().encode('a-32-byte-test-secret-for-hs256!');

async function bearer(claims: Record<string, unknown>, key: Uint8Array = secret): Promise<string> {
  const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(key);
  return `Bearer ${token}`;
}

function basic(userid: string, password: string): string {
  return `Basic ${Buffer.from(`${userid}:${password}`).toString('base64')}`;
}

function useJwt(passport: PassportInstance): void {
  passport.use(
    new JwtStrategy(
      { secretOrKey: Buffer.from(secret), jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), algorithms: ['HS256'] },
      (payload: unknown, done: (error: unknown, user?: unknown) => void) => done(null, payload),
    ),
  );
}

const passwords: Readonly<Record<string, string>> = { alice: 'correct horse battery staple' };

/** The demo's verify: constant-time comparison with `safeEqual`. */
function useBasic(passport: PassportInstance, onVerify: (userid: string) => void = () => undefined): void {
  passport.use(
    new BasicStrategy((userid, password, done) => {
      onVerify(userid);
      const expected = Object.hasOwn(passwords, userid) ? passwords[userid]! : '';
      done(null, expected !== '' && safeEqual(password, expected) ? { id: userid, roles: ['reader'] } : false);
    }),
  );
}

/** A custom strategy that counts its runs and succeeds, fails, errors or redirects as told. */
class ScriptedStrategy extends Strategy {
  // Passport runs each request on Object.create(strategy): count in a shared object.
  private readonly counter = { runs: 0 };
  constructor(
    readonly name: string,
    private readonly outcome: (strategy: ScriptedStrategy) => void,
  ) {
    super();
  }

  get runs(): number {
    return this.counter.runs;
  }

  override authenticate(): void {
    this.counter.runs++;
    this.outcome(this);
  }
}

afterEach(closeApps);

describe('authenticate', () => {
  describe('the strategy that succeeds', () => {
    it('turns a passport-jwt payload into a UserContext with authMethod jwt', async () => {
      const passport = new Passport();
      useJwt(passport);
      const app = await startApp(['jwt'], { passport });

      const res = await request(app.url)
        .get('/mcp')
        .set(
          'Authorization',
          await bearer({
            sub: 'user-42',
            email: 'u42@example.com',
            name: 'User 42',
            groups: ['eng'],
            roles: ['admin'],
            is_admin: true,
            iss: 'https://idp.example.com',
          }),
        );

      expect(res.status).toBe(200);
      expect(res.body.user).toEqual({
        id: 'user-42',
        email: 'u42@example.com',
        name: 'User 42',
        groups: ['eng'],
        teams: [],
        roles: ['admin'],
        isAdmin: true,
        authMethod: 'jwt',
        issuer: 'https://idp.example.com',
      });
    });

    it('records authMethod basic for passport-http Basic with a safeEqual-checked password', async () => {
      const passport = new Passport();
      useBasic(passport);
      const app = await startApp(['basic'], { passport });

      const res = await request(app.url).get('/mcp').set('Authorization', basic('alice', 'correct horse battery staple'));

      expect(res.status).toBe(200);
      expect(res.body.user).toEqual({ id: 'alice', groups: [], teams: [], roles: ['reader'], isAdmin: false, authMethod: 'basic' });
    });

    it('records authMethod api_key for ApiKeyStrategy', async () => {
      const passport = new Passport();
      passport.use(new ApiKeyStrategy({ verify: (key) => (safeEqual(key, 'k-123') ? { id: 'ci-bot' } : false) }));
      const app = await startApp(['api-key'], { passport });

      const res = await request(app.url).get('/mcp').set('X-Api-Key', 'k-123');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'ci-bot', authMethod: 'api_key' });
    });

    it('records authMethod proxy for TrustedProxyStrategy', async () => {
      const passport = new Passport();
      passport.use(new TrustedProxyStrategy({ trustedProxies: ['127.0.0.1'] }));
      const app = await startApp(['trusted-proxy'], { passport });

      const res = await request(app.url).get('/mcp').set('X-Forwarded-User', 'bob');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'bob', authMethod: 'proxy' });
    });

    it('records authMethod sso for an openidconnect strategy and reads its profile', async () => {
      const passport = new Passport();
      passport.use(new FakeOidcStrategy(oidcProfile()));
      const app = await startApp(['openidconnect'], { passport });

      const res = await request(app.url).get('/mcp');

      expect(res.status).toBe(200);
      expect(res.body.user).toEqual({
        id: 'oidc-sub-1',
        email: 'ada@example.com',
        name: 'Ada Lovelace',
        groups: ['engineering', 'oncall'],
        teams: [],
        roles: ['mcp-user', 'mcp-admin'],
        isAdmin: false,
        authMethod: 'sso',
        issuer: 'https://idp.example.com/realms/corp',
      });
    });

    it('records the name of a custom strategy as authMethod', async () => {
      const passport = new Passport();
      passport.use(new ScriptedStrategy('mtls', (s) => s.success({ id: 'svc-cert' })));
      const app = await startApp(['mtls'], { passport });

      const res = await request(app.url).get('/mcp');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'svc-cert', authMethod: 'mtls' });
    });

    it('records the kind of a strategy registered under another name', async () => {
      const passport = new Passport();
      passport.use('partner-keys', new ApiKeyStrategy({ verify: (key) => (key === 'p-1' ? { id: 'partner' } : false) }));
      const app = await startApp(['partner-keys'], { passport });

      const res = await request(app.url).get('/mcp').set('X-Api-Key', 'p-1');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'partner', authMethod: 'api_key' });
    });

    it('records StrategySpec.method instead of the strategy kind', async () => {
      const passport = new Passport();
      passport.use(new ApiKeyStrategy({ verify: () => ({ id: 'robot' }) }));
      const app = await startApp([{ name: 'api-key', method: 'service_key' }], { passport });

      const res = await request(app.url).get('/mcp').set('X-Api-Key', 'anything');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'robot', authMethod: 'service_key' });
    });

    it('keeps reading a JWT payload as claims when StrategySpec.method relabels the jwt strategy', async () => {
      const passport = new Passport();
      useJwt(passport);
      const app = await startApp([{ name: 'jwt', method: 'service_token' }], { passport });

      const res = await request(app.url)
        .get('/mcp')
        .set('Authorization', await bearer({ sub: 'm2m-client', roles: ['tools'] }));

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'm2m-client', roles: ['tools'], authMethod: 'service_token' });
    });

    it('reads the profile of an unknown strategy that StrategySpec.method declares sso', async () => {
      const passport = new Passport();
      passport.use(new ScriptedStrategy('corp-login', (s) => s.success(oidcProfile())));
      const app = await startApp([{ name: 'corp-login', method: 'sso' }], { passport });

      const res = await request(app.url).get('/mcp');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({
        id: 'oidc-sub-1',
        email: 'ada@example.com',
        roles: ['mcp-user', 'mcp-admin'],
        authMethod: 'sso',
      });
    });

    it('uses StrategySpec.normalize instead of the shipped normalizer, with the user, info and request', async () => {
      const passport = new Passport();
      passport.use(new ScriptedStrategy('custom', (s) => s.success({ login: 'carol' }, { tenant: 'acme' })));
      const seen: unknown[][] = [];
      const normalize: Normalizer = (user, info, req) => {
        seen.push([user, info, req.path]);
        return { id: (user as { login: string }).login, attributes: { tenant: (info as { tenant: string }).tenant } };
      };
      const app = await startApp([{ name: 'custom', normalize }], { passport });

      const res = await request(app.url).get('/mcp/tools');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'carol', attributes: { tenant: 'acme' }, authMethod: 'custom' });
      expect(seen).toEqual([[{ login: 'carol' }, { tenant: 'acme' }, '/tools']]);
    });

    it('passes the normalizers option to the shipped normalizers', async () => {
      const passport = new Passport();
      useJwt(passport);
      const app = await startApp(['jwt'], { passport, normalizers: { claims: { roles: 'scope_roles' }, adminRoles: ['ops'] } });

      const res = await request(app.url)
        .get('/mcp')
        .set('Authorization', await bearer({ sub: 'u1', roles: ['ignored'], scope_roles: ['ops'] }));

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'u1', roles: ['ops'], isAdmin: true });
    });
  });

  describe('order', () => {
    it('tries the strategies in order and the first success wins', async () => {
      const passport = new Passport();
      const first = new ScriptedStrategy('first', (s) => s.fail(401));
      const second = new ScriptedStrategy('second', (s) => s.success({ id: 'from-second' }));
      const third = new ScriptedStrategy('third', (s) => s.success({ id: 'from-third' }));
      passport.use(first);
      passport.use(second);
      passport.use(third);
      const app = await startApp(['first', 'second', 'third'], { passport });

      const res = await request(app.url).get('/mcp');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'from-second', authMethod: 'second' });
      expect([first.runs, second.runs, third.runs]).toEqual([1, 1, 0]);
    });

    it('falls through a failing jwt strategy to Basic credentials', async () => {
      const passport = new Passport();
      useJwt(passport);
      useBasic(passport);
      const app = await startApp(['jwt', 'basic'], { passport });

      const res = await request(app.url).get('/mcp').set('Authorization', basic('alice', 'correct horse battery staple'));

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'alice', authMethod: 'basic' });
    });

    it('takes the earlier strategy when two would succeed', async () => {
      const passport = new Passport();
      useBasic(passport);
      const verified: string[] = [];
      passport.use(
        new ApiKeyStrategy({
          verify: (key) => {
            verified.push(key);
            return { id: 'key-user' };
          },
        }),
      );
      const app = await startApp(['basic', 'api-key'], { passport });

      const res = await request(app.url)
        .get('/mcp')
        .set('Authorization', basic('alice', 'correct horse battery staple'))
        .set('X-Api-Key', 'k');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'alice', authMethod: 'basic' });
      expect(verified).toEqual([]);
    });
  });

  describe('refusals', () => {
    it('responds 401 unauthenticated with the Basic and Bearer challenges when every strategy fails', async () => {
      const passport = new Passport();
      useJwt(passport);
      useBasic(passport);
      const app = await startApp(['jwt', 'basic'], { passport });

      const res = await request(app.url).get('/mcp');

      expectRefusal(res, app, 401, 'unauthenticated');
      expect(challengesOf(res).sort()).toEqual(['Basic realm="Users"', 'Bearer realm="mcp"']);
    });

    it('names the realm option in the Bearer challenge', async () => {
      const passport = new Passport();
      useJwt(passport);
      const app = await startApp(['jwt'], { passport, realm: 'tools gateway' });

      const res = await request(app.url).get('/mcp');

      expectRefusal(res, app, 401, 'unauthenticated');
      expect(challengesOf(res)).toEqual(['Bearer realm="tools gateway"']);
    });

    it('offers Bearer alone when no failing strategy names a challenge', async () => {
      const passport = new Passport();
      passport.use(new TrustedProxyStrategy({ trustedProxies: ['10.0.0.0/8'] }));
      const app = await startApp(['trusted-proxy'], { passport });

      const res = await request(app.url).get('/mcp').set('X-Forwarded-User', 'mallory');

      expectRefusal(res, app, 401, 'unauthenticated');
      expect(challengesOf(res)).toEqual(['Bearer realm="mcp"']);
    });

    it('offers only the challenges of the strategies that ran', async () => {
      const passport = new Passport();
      useBasic(passport);
      passport.use(new ApiKeyStrategy({ verify: () => false }));
      const app = await startApp(['basic', 'api-key'], { passport });

      const res = await request(app.url).get('/mcp').set('Authorization', basic('alice', 'wrong'));

      expectRefusal(res, app, 401, 'unauthenticated');
      expect(challengesOf(res)).toEqual(['Basic realm="Users"', 'ApiKey header="x-api-key"']);
    });

    it('drops a challenge that is not printable ASCII', async () => {
      const passport = new Passport();
      passport.use(new ScriptedStrategy('odd', (s) => s.fail('Odd realm="x"\r\nSet-Cookie: a=b', 401)));
      const app = await startApp(['odd'], { passport });

      const res = await request(app.url).get('/mcp');

      expectRefusal(res, app, 401, 'unauthenticated');
      expect(challengesOf(res)).toEqual(['Bearer realm="mcp"']);
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    it('responds 401 to a bearer token signed with another key', async () => {
      const passport = new Passport();
      useJwt(passport);
      const app = await startApp(['jwt'], { passport });

      const res = await request(app.url)
        .get('/mcp')
        .set('Authorization', await bearer({ sub: 'user-42' }, new TextEncoder().encode('another-32-byte-secret-for-hs256')));

      expectRefusal(res, app, 401, 'unauthenticated');
    });

    it('responds 401 when a verified token has no sub to identify the user', async () => {
      const passport = new Passport();
      useJwt(passport);
      useBasic(passport);
      const app = await startApp(['jwt', 'basic'], { passport });

      const res = await request(app.url)
        .get('/mcp')
        .set('Authorization', await bearer({ email: 'nobody@example.com' }));

      expectRefusal(res, app, 401, 'unauthenticated');
      expect(res.body.error.message).toBe('the credentials do not identify a valid user');
      expect(challengesOf(res)).toEqual(['Bearer realm="mcp"']);
    });

    it('responds 401 when a custom normalizer throws', async () => {
      const passport = new Passport();
      passport.use(new ScriptedStrategy('custom', (s) => s.success({ id: 'x' })));
      const normalize: Normalizer = () => {
        throw new Error('normalizer bug with secret detail');
      };
      const app = await startApp([{ name: 'custom', normalize }], { passport });

      const res = await request(app.url).get('/mcp');

      expectRefusal(res, app, 401, 'unauthenticated');
      expect(res.text).not.toContain('secret detail');
    });

    it('responds 503 auth_unavailable without the internal message when a strategy errors', async () => {
      const passport = new Passport();
      passport.use(
        new BasicStrategy((_userid, _password, done) => done(new Error('ECONNREFUSED ldap://10.9.9.9 bind password=hunter2'), false)),
      );
      const app = await startApp(['basic'], { passport });

      const res = await request(app.url).get('/mcp').set('Authorization', basic('alice', 'pw'));

      expectRefusal(res, app, 503, 'auth_unavailable');
      expect(res.body.error.message).toBe('authentication is unavailable');
      expect(res.text).not.toMatch(/hunter2|10\.9\.9\.9|ECONNREFUSED/);
      expect(res.headers['www-authenticate']).toBeUndefined();
    });

    it('responds 503 when a strategy errors even though a later one would succeed', async () => {
      const passport = new Passport();
      const later = new ScriptedStrategy('later', (s) => s.success({ id: 'later' }));
      passport.use(new ScriptedStrategy('broken', (s) => s.error(new Error('directory down'))));
      passport.use(later);
      const app = await startApp(['broken', 'later'], { passport });

      const res = await request(app.url).get('/mcp');

      expectRefusal(res, app, 503, 'auth_unavailable');
      expect(later.runs).toBe(0);
    });

    it('responds 503 without the internal message when a Basic verify throws synchronously', async () => {
      const passport = new Passport();
      passport.use(
        new BasicStrategy(() => {
          throw new Error('user table missing: password=hunter2');
        }),
      );
      const app = await startApp(['basic'], { passport });

      const res = await request(app.url).get('/mcp').set('Authorization', basic('alice', 'pw'));

      expectRefusal(res, app, 503, 'auth_unavailable');
      expect(res.text).not.toContain('hunter2');
    });

    it('lets a strategy that redirects (an OIDC login) answer the request itself', async () => {
      const passport = new Passport();
      passport.use(new ScriptedStrategy('openidconnect', (s) => s.redirect('https://idp.example.com/authorize?client_id=mcp')));
      const app = await startApp(['openidconnect'], { passport });

      const res = await request(app.url).get('/mcp').redirects(0);

      expect(res.status).toBe(302);
      expect(res.headers.location).toBe('https://idp.example.com/authorize?client_id=mcp');
      expect(app.reached).toHaveLength(0);
    });
  });

  describe('passport-http Basic', () => {
    it('passes the password up to its first colon to verify, dropping the rest (passport-http issue #20)', async () => {
      const passport = new Passport();
      const seen: string[][] = [];
      passport.use(
        new BasicStrategy((userid, password, done) => {
          seen.push([userid, password]);
          done(null, false);
        }),
      );
      const app = await startApp(['basic'], { passport });

      const res = await request(app.url).get('/mcp').set('Authorization', basic('alice', 'a:b:c'));

      expectRefusal(res, app, 401, 'unauthenticated');
      expect(seen).toEqual([['alice', 'a']]);
    });

    it('refuses the right password when it contains a colon, and accepts its prefix with anything after a colon', async () => {
      const passport = new Passport();
      const stored: Readonly<Record<string, string>> = { alice: 'a:b:c', bob: 'pw' };
      passport.use(
        new BasicStrategy((userid, password, done) => {
          const expected = Object.hasOwn(stored, userid) ? stored[userid]! : '';
          done(null, expected !== '' && safeEqual(password, expected) ? { id: userid } : false);
        }),
      );
      const app = await startApp(['basic'], { passport });

      const colonPassword = await request(app.url).get('/mcp').set('Authorization', basic('alice', 'a:b:c'));
      expectRefusal(colonPassword, app, 401, 'unauthenticated');

      const withSuffix = await request(app.url).get('/mcp').set('Authorization', basic('bob', 'pw:anything'));
      expect(withSuffix.status).toBe(200);
      expect(withSuffix.body.user).toMatchObject({ id: 'bob', authMethod: 'basic' });
    });

    it('responds 401 with the Basic challenge to a wrong password checked with safeEqual', async () => {
      const passport = new Passport();
      useBasic(passport);
      const app = await startApp(['basic'], { passport });

      const res = await request(app.url).get('/mcp').set('Authorization', basic('alice', 'correct horse battery stapler'));

      expectRefusal(res, app, 401, 'unauthenticated');
      expect(challengesOf(res)).toEqual(['Basic realm="Users"']);
    });

    it('takes a string user from verify as the id', async () => {
      const passport = new Passport();
      passport.use(new BasicStrategy((userid, _password, done) => done(null, userid)));
      const app = await startApp(['basic'], { passport });

      const res = await request(app.url).get('/mcp').set('Authorization', basic('dave', 'pw'));

      expect(res.status).toBe(200);
      expect(res.body.user).toEqual({ id: 'dave', groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'basic' });
    });
  });

  describe('sessions', () => {
    it('authenticates without sessions: no session store, no serializeUser, no req.user', async () => {
      const passport = new Passport();
      const serialized: unknown[] = [];
      passport.serializeUser((user, done) => {
        serialized.push(user);
        done(null, 'never');
      });
      useBasic(passport);
      const app = await startApp(['basic'], { passport });

      const res = await request(app.url).get('/mcp').set('Authorization', basic('alice', 'correct horse battery staple'));

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ user: { id: 'alice' }, hasSession: false, hasUser: false });
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(serialized).toEqual([]);
    });
  });

  describe('construction', () => {
    const passport = new Passport();
    useJwt(passport);

    it.each([
      ['an empty list', [], /at least one/],
      ['a string instead of a list', 'jwt', /strategies must name/],
      ['an unregistered strategy name', ['jwt', 'saml'], /strategies\[1\].*"saml".*registered/],
      ['an empty name', [''], /strategies\[0\]/],
      ['a spec without a name', [{ method: 'jwt' }], /strategies\[0\]/],
      ['null in the list', [null], /strategies\[0\]/],
      ['a non-function normalize', [{ name: 'jwt', normalize: 'jwtNormalizer' }], /strategies\[0\]\.normalize must be a function/],
    ])('throws on %s', (_label, strategies, message) => {
      expect(() => authenticate(strategies as any, { passport })).toThrow(message);
    });

    it.each([
      ['empty', ''],
      ['with a quote', 'my "realm"'],
      ['with a backslash', 'domain\\'],
      ['with a newline', 'a\r\nb'],
      ['non-ASCII', 'réalm'],
      ['longer than 64 characters', 'r'.repeat(65)],
      ['not a string', 42],
    ])('throws naming realm when the realm is %s', (_label, realm) => {
      expect(() => authenticate(['jwt'], { passport, realm: realm as any })).toThrow(/realm/);
    });

    it('accepts a realm of exactly 64 characters', () => {
      expect(typeof authenticate(['jwt'], { passport, realm: 'r'.repeat(64) })).toBe('function');
    });

    it.each([
      ['with a space', 'service token'],
      ['empty', ''],
      ['not a string', 7],
    ])('throws naming method when StrategySpec.method is %s', (_label, method) => {
      expect(() => authenticate([{ name: 'jwt', method: method as any }], { passport })).toThrow(/strategies\[0\]\.method/);
    });

    it('throws naming method when a custom strategy name is not a valid authMethod and no method is set', () => {
      const custom = new Passport();
      custom.use(new ScriptedStrategy('corp login', (s) => s.success({ id: 'x' })));
      expect(() => authenticate(['corp login'], { passport: custom })).toThrow(/strategies\[0\]\.method/);
      expect(typeof authenticate([{ name: 'corp login', method: 'corp_login' }], { passport: custom })).toBe('function');
    });

    it('throws naming passport when it is not a Passport instance', () => {
      expect(() => authenticate(['jwt'], { passport: {} as any })).toThrow(/passport/);
    });

    it('throws naming options when they are not an object', () => {
      expect(() => authenticate(['jwt'], null as any)).toThrow(/options/);
    });
  });
});
