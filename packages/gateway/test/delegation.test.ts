import express from 'express';
import { SignJWT } from 'jose';
import { Passport } from 'passport';
import { BasicStrategy } from 'passport-http';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import request from 'supertest';
import { listen } from '../../../test/kit.js';
import { ApiKeyStrategy, authenticate, IdentityError, propagateIdentity } from '../src/index.js';
import type { AllowedActors, DelegationOptions, ResolveSubject, UserContext } from '../src/index.js';
import { closeApps, expectRefusal, repeated, startApp } from './authenticate-kit.js';
import { closeAll, identityOptions, only, recordingErrorHandler, startUpstream, track } from './propagate-kit.js';

type PassportInstance = InstanceType<typeof Passport>;

const jwtSecret = new TextEncoder().encode('delegation-tests: 32+ byte HS256!');

/** API keys: `svc-key` is the service account `svc-reports`, `user-key` the ordinary client `carol`. */
function usePrincipals(passport: PassportInstance): void {
  passport.use(
    new ApiKeyStrategy({
      verify: (key) => (key === 'svc-key' ? { id: 'svc-reports', roles: ['svc'] } : key === 'user-key' ? { id: 'carol' } : false),
    }),
  );
  passport.use(
    new JwtStrategy(
      { secretOrKey: Buffer.from(jwtSecret), jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), algorithms: ['HS256'] },
      (payload: unknown, done: (error: unknown, user?: unknown) => void) => done(null, payload),
    ),
  );
  passport.use(new BasicStrategy((userid, password, done) => done(null, password === 'pw' ? { id: userid } : false)));
}

async function bearer(claims: Record<string, unknown>): Promise<string> {
  return `Bearer ${await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(jwtSecret)}`;
}

async function startDelegating(delegation?: DelegationOptions, strategies = ['api-key', 'jwt', 'basic']): ReturnType<typeof startApp> {
  const passport = new Passport();
  usePrincipals(passport);
  return startApp(strategies, { passport, ...(delegation === undefined ? {} : { delegation }) });
}

const directory: Readonly<Record<string, Record<string, unknown>>> = {
  alice: { id: 'alice', email: 'alice@corp.example', name: 'Alice', groups: ['eng'], roles: ['reader'] },
};
const lookUp: ResolveSubject = (id) => directory[id];

afterEach(async () => {
  await closeApps();
  await closeAll();
});

describe('authenticate with delegation', () => {
  describe('an allowed service account naming a subject in X-Act-As', () => {
    it('runs the request as the subject, with the service account as the current actor and its authMethod', async () => {
      const app = await startDelegating({ allowedActors: ['svc-reports'], resolveSubject: lookUp });

      const res = await request(app.url).get('/mcp').set('X-Api-Key', 'svc-key').set('X-Act-As', 'alice');

      expect(res.status).toBe(200);
      expect(res.body.user).toStrictEqual({
        id: 'alice',
        email: 'alice@corp.example',
        name: 'Alice',
        groups: ['eng'],
        teams: [],
        roles: ['reader'],
        isAdmin: false,
        authMethod: 'api_key',
        serviceAccount: 'svc-reports',
        delegationChain: ['svc-reports'],
      });
    });

    it('gives the subject only its id by default: none of the actor groups, roles or admin flag', async () => {
      const app = await startDelegating({ allowedActors: ['svc-reports'] });

      const res = await request(app.url).get('/mcp').set('X-Api-Key', 'svc-key').set('x-act-as', 'dave');

      expect(res.status).toBe(200);
      expect(res.body.user).toStrictEqual({
        id: 'dave',
        groups: [],
        teams: [],
        roles: [],
        isAdmin: false,
        authMethod: 'api_key',
        serviceAccount: 'svc-reports',
        delegationChain: ['svc-reports'],
      });
    });

    it('accepts a client-credentials JWT as the actor', async () => {
      const app = await startDelegating({ allowedActors: ['svc-reports'] });

      const res = await request(app.url)
        .get('/mcp')
        .set('Authorization', await bearer({ sub: 'svc-reports', client_id: 'svc-reports' }))
        .set('X-ACT-AS', 'alice');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({
        id: 'alice',
        authMethod: 'jwt',
        serviceAccount: 'svc-reports',
        delegationChain: ['svc-reports'],
      });
    });

    it('reads the header under a configured name in any case', async () => {
      const app = await startDelegating({ header: 'On-Behalf-Of', allowedActors: ['svc-reports'] });

      const res = await request(app.url).get('/mcp').set('X-Api-Key', 'svc-key').set('on-BEHALF-of', 'alice');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'alice', serviceAccount: 'svc-reports' });
    });

    it('responds 403 forbidden when the header is spelled with underscores (on_behalf_of)', async () => {
      const app = await startDelegating({ header: 'On-Behalf-Of', allowedActors: ['svc-reports'] });

      const res = await request(app.url).get('/mcp').set('X-Api-Key', 'svc-key').set('on_behalf_of', 'alice');

      expectRefusal(res, app, 403, 'forbidden');
    });

    it('decodes a UTF-8 subject and trims surrounding spaces', async () => {
      const app = await startDelegating({ allowedActors: ['svc-reports'] });

      const res = await request(app.url)
        .get('/mcp')
        .set('X-Api-Key', 'svc-key')
        .set('X-Act-As', Buffer.from('  josé@corp  ').toString('latin1'));

      expect(res.status).toBe(200);
      expect(res.body.user.id).toBe('josé@corp');
    });

    it('takes the subject from the header when resolveSubject returns no id, whatever a polluted Object.prototype holds', async () => {
      const app = await startDelegating({ allowedActors: ['svc-reports'], resolveSubject: () => ({ roles: ['reader'] }) });
      const polluted = Object.prototype as Record<string, unknown>;
      polluted.id = 'root';
      let res: request.Response;
      try {
        res = await request(app.url).get('/mcp').set('X-Api-Key', 'svc-key').set('X-Act-As', 'alice');
      } finally {
        delete polluted.id;
      }
      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'alice', roles: ['reader'], delegationChain: ['svc-reports'] });
    });

    it('ignores authMethod, serviceAccount and delegationChain from resolveSubject, and lets it canonicalize the id', async () => {
      const resolveSubject: ResolveSubject = (id) => ({
        id: id.toLowerCase(),
        authMethod: 'basic',
        serviceAccount: 'someone-else',
        delegationChain: ['forged'],
        isAdmin: true,
      });
      const app = await startDelegating({ allowedActors: ['svc-reports'], resolveSubject });

      const res = await request(app.url).get('/mcp').set('X-Api-Key', 'svc-key').set('X-Act-As', 'ALICE');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({
        id: 'alice',
        isAdmin: true,
        authMethod: 'api_key',
        serviceAccount: 'svc-reports',
        delegationChain: ['svc-reports'],
      });
    });

    it('gives resolveSubject and an allowedActors function the subject id, the normalized actor and the request', async () => {
      const seen: unknown[] = [];
      const allowedActors: AllowedActors = (actor, req) => {
        seen.push(['allowed?', actor.id, actor.authMethod, req.get('x-act-as')]);
        return Promise.resolve(actor.roles.includes('svc'));
      };
      const resolveSubject: ResolveSubject = (id, actor, req) => {
        seen.push(['resolve', id, actor.id, req.originalUrl]);
        return Promise.resolve({ id });
      };
      const app = await startDelegating({ allowedActors, resolveSubject });

      const res = await request(app.url).get('/mcp/x').set('X-Api-Key', 'svc-key').set('X-Act-As', 'alice');

      expect(res.status).toBe(200);
      expect(seen).toEqual([
        ['allowed?', 'svc-reports', 'api_key', 'alice'],
        ['resolve', 'alice', 'svc-reports', '/mcp/x'],
      ]);
    });

    it('puts the actor before whoever acts for it when an allowedActors function admits a delegated principal', async () => {
      // The token says agent-1 acts for svc-reports; svc-reports is allowed to act for users.
      const app = await startDelegating({ allowedActors: (actor) => actor.id === 'svc-reports' });

      const res = await request(app.url)
        .get('/mcp')
        .set('Authorization', await bearer({ sub: 'svc-reports', act: { sub: 'agent-1' } }))
        .set('X-Act-As', 'alice');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'alice', serviceAccount: 'agent-1', delegationChain: ['svc-reports', 'agent-1'] });
    });
  });

  describe('refusals', () => {
    it('responds 403 forbidden when a principal that is not allowed sends X-Act-As', async () => {
      const app = await startDelegating({ allowedActors: ['svc-reports'] });

      const res = await request(app.url).get('/mcp').set('X-Api-Key', 'user-key').set('X-Act-As', 'alice');

      expectRefusal(res, app, 403, 'forbidden');
    });

    it('responds 403 forbidden for X-Act-As when delegation is not configured', async () => {
      const app = await startDelegating(undefined);

      const res = await request(app.url).get('/mcp').set('X-Api-Key', 'svc-key').set('X-Act-As', 'alice');

      expectRefusal(res, app, 403, 'forbidden');
    });

    it('responds 403 forbidden when a listed principal itself acts for someone (a JWT with act)', async () => {
      const app = await startDelegating({ allowedActors: ['svc-reports'] });

      const res = await request(app.url)
        .get('/mcp')
        .set('Authorization', await bearer({ sub: 'svc-reports', act: { sub: 'agent-1' } }))
        .set('X-Act-As', 'alice');

      expectRefusal(res, app, 403, 'forbidden');
    });

    it('responds 403 forbidden when an allowedActors function returns anything but true', async () => {
      const app = await startDelegating({ allowedActors: (() => 'yes') as unknown as AllowedActors });

      const res = await request(app.url).get('/mcp').set('X-Api-Key', 'svc-key').set('X-Act-As', 'alice');

      expectRefusal(res, app, 403, 'forbidden');
    });

    it.each([
      ['sent twice', (r: request.Test) => r.set('X-Act-As', repeated('alice', 'bob'))],
      ['sent under two spellings', (r: request.Test) => r.set('X-Act-As', 'alice').set('X_Act_As', 'bob')],
      ['empty', (r: request.Test) => r.set('X-Act-As', '')],
      ['blank', (r: request.Test) => r.set('X-Act-As', '   ')],
      ['with a control character', (r: request.Test) => r.set('X-Act-As', 'al\tice')],
      ['longer than 1024 characters', (r: request.Test) => r.set('X-Act-As', 'a'.repeat(1025))],
    ])('responds 403 forbidden for an allowed actor whose X-Act-As is %s', async (_case, send) => {
      const app = await startDelegating({ allowedActors: ['svc-reports'] });

      const res = await send(request(app.url).get('/mcp').set('X-Api-Key', 'svc-key'));

      expectRefusal(res, app, 403, 'forbidden');
    });

    it.each([
      ['undefined', undefined],
      ['false', false],
    ])('responds 403 forbidden when resolveSubject returns %s (an unknown subject)', async (_case, answer) => {
      const app = await startDelegating({ allowedActors: ['svc-reports'], resolveSubject: () => answer as false | undefined });

      const res = await request(app.url).get('/mcp').set('X-Api-Key', 'svc-key').set('X-Act-As', 'mallory');

      expectRefusal(res, app, 403, 'forbidden');
    });

    it('responds 503 auth_unavailable when resolveSubject fails, and with its code when it throws an IdentityError', async () => {
      const failing = await startDelegating({
        allowedActors: ['svc-reports'],
        resolveSubject: () => Promise.reject(new Error('directory down: ldap://10.0.0.1')),
      });
      const refusing = await startDelegating({
        allowedActors: ['svc-reports'],
        resolveSubject: () => {
          throw new IdentityError('forbidden', 'alice is on leave');
        },
      });

      const down = await request(failing.url).get('/mcp').set('X-Api-Key', 'svc-key').set('X-Act-As', 'alice');
      const refused = await request(refusing.url).get('/mcp').set('X-Api-Key', 'svc-key').set('X-Act-As', 'alice');

      expectRefusal(down, failing, 503, 'auth_unavailable');
      expect(down.text).not.toContain('ldap');
      expectRefusal(refused, refusing, 403, 'forbidden');
      expect(refused.body.error.message).toBe('alice is on leave');
    });

    it('responds 403 forbidden when the chain would grow past 16 actors', async () => {
      const long = Array.from({ length: 16 }, (_, i) => `agent-${i}`);
      let act: Record<string, unknown> | undefined;
      for (const sub of long) act = act === undefined ? { sub } : { sub, act };
      const token = await bearer({ sub: 'svc-reports', act });
      const withoutHeader = await startDelegating({ allowedActors: () => true });
      const app = await startDelegating({ allowedActors: () => true });

      const ok = await request(withoutHeader.url).get('/mcp').set('Authorization', token);
      const res = await request(app.url).get('/mcp').set('Authorization', token).set('X-Act-As', 'alice');

      expect(ok.status).toBe(200);
      expect(ok.body.user.delegationChain).toHaveLength(16);
      expectRefusal(res, app, 403, 'forbidden');
    });

    it('authenticates first: X-Act-As without credentials is 401 unauthenticated', async () => {
      const app = await startDelegating({ allowedActors: ['svc-reports'] });

      const res = await request(app.url).get('/mcp').set('X-Act-As', 'alice');

      expectRefusal(res, app, 401, 'unauthenticated');
    });

    it('audits a refused delegation with the principal as the subject, and never the header value', async () => {
      const app = await startDelegating({ allowedActors: ['svc-reports'] });

      await request(app.url).get('/mcp?x=1').set('X-Api-Key', 'user-key').set('X-Act-As', 'secret-victim').set('X-Request-Id', 'r-1');

      expect(app.events).toEqual([
        {
          time: expect.any(String),
          requestId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
          clientRequestId: 'r-1',
          component: 'gateway',
          decision: 'refused',
          reason: 'forbidden',
          status: 403,
          method: 'GET',
          path: '/mcp',
          subject: 'carol',
          authMethod: 'api_key',
        },
      ]);
      expect(JSON.stringify(app.events)).not.toContain('secret-victim');
      expect(JSON.stringify(app.events)).not.toContain('user-key');
    });
  });

  describe('options', () => {
    it.each([
      ['not an object', 'yes', /^delegation must be an object/],
      ['null', null, /^delegation must be an object/],
      ['without allowedActors', {}, /^delegation\.allowedActors is required/],
      ['with allowedActors not a list', { allowedActors: 'svc' }, /^delegation\.allowedActors is required/],
      ['with an empty id in allowedActors', { allowedActors: [''] }, /^delegation\.allowedActors is required/],
      ['with a non-string id in allowedActors', { allowedActors: [7] }, /^delegation\.allowedActors is required/],
      ['with an invalid header name', { allowedActors: [], header: 'x act as' }, /^delegation\.header must be a valid HTTP header name/],
      ['with a header that is not a string', { allowedActors: [], header: 7 }, /^delegation\.header/],
      ['with resolveSubject not a function', { allowedActors: [], resolveSubject: {} }, /^delegation\.resolveSubject must be a function/],
    ])('throws a TypeError naming the option for delegation %s', (_case, delegation, message) => {
      const passport = new Passport();
      usePrincipals(passport);
      const build = (): unknown => authenticate(['api-key'], { passport, delegation: delegation as any });

      expect(build).toThrow(TypeError);
      expect(build).toThrow(message);
    });

    it('does not mutate the delegation options', async () => {
      const delegation: DelegationOptions = Object.freeze({ allowedActors: Object.freeze(['svc-reports']) });
      const app = await startDelegating(delegation);

      const res = await request(app.url).get('/mcp').set('X-Api-Key', 'svc-key').set('X-Act-As', 'alice');

      expect(res.status).toBe(200);
    });
  });
});

describe('X-Act-As and the upstream', () => {
  it.each([
    ['the default header', undefined, 'X-Act-As'],
    ['a configured header', 'X-On-Behalf-Of', 'x-ON-behalf-of'],
  ])('never forwards %s, whichever spelling the client used', async (_case, header, sent) => {
    const upstream = await startUpstream();
    const unhandled: unknown[] = [];
    const passport = new Passport();
    usePrincipals(passport);
    const app = express();
    app.use(
      authenticate(['api-key'], {
        passport,
        delegation: { allowedActors: ['svc-reports'], ...(header === undefined ? {} : { header }) },
        audit: () => undefined,
      }),
      propagateIdentity({ target: upstream.url, ...identityOptions, audit: () => undefined }),
    );
    app.use(recordingErrorHandler(unhandled));
    const gateway = track(await listen(app));

    const res = await request(gateway.url).get('/mcp').set('X-Api-Key', 'svc-key').set(sent, 'alice');

    expect(res.status).toBe(200);
    const received = only(upstream);
    expect(received.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase().replaceAll('_', '-'))).not.toContain(
      (header ?? 'x-act-as').toLowerCase(),
    );
    expect(received.headers['x-forwarded-user-id']).toBe('alice');
    expect(received.headers['x-forwarded-user-service-account']).toBe('svc-reports');
    expect(unhandled).toEqual([]);
  });

  it('strips X-Act-As by default even when no authenticate in front read it', async () => {
    const upstream = await startUpstream();
    const app = express();
    const user: UserContext = { id: 'u', groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'jwt' };
    app.use((req, _res, next) => {
      req.userContext = user;
      next();
    });
    app.use(propagateIdentity({ target: upstream.url, ...identityOptions, audit: () => undefined }));
    const gateway = track(await listen(app));

    await request(gateway.url).get('/mcp').set('X-Act-As', 'alice').expect(200);

    expect(only(upstream).headers['x-act-as']).toBeUndefined();
  });
});
