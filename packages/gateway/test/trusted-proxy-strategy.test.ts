import http from 'node:http';
import { Passport } from 'passport';
import request from 'supertest';
import { TrustedProxyStrategy } from '../src/index.js';
import type { TrustedProxyStrategyOptions } from '../src/index.js';
import { challengesOf, closeApps, expectRefusal, repeated, startApp } from './authenticate-kit.js';
import type { AppSetup } from './authenticate-kit.js';

async function startProxyApp(options: TrustedProxyStrategyOptions, setup: AppSetup = {}) {
  const passport = new Passport();
  passport.use(new TrustedProxyStrategy(options));
  return startApp(['trusted-proxy'], { passport }, setup);
}

/**
 * Sends a GET with headers written byte for byte: each value is a Latin-1 string, so a
 * value holding the UTF-8 bytes of `José` reaches the server as those bytes.
 */
function rawGet(url: string, headers: readonly (readonly [string, string])[]): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/mcp`, { method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const [name, value] of headers) req.setHeader(name, value);
    req.end();
  });
}

/** The UTF-8 bytes of `text` as a Latin-1 string, as Node's header parser hands them over. */
function utf8Bytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

afterEach(closeApps);

describe('TrustedProxyStrategy', () => {
  describe('peer address', () => {
    it.each([
      ['the address', ['127.0.0.1']],
      ['a CIDR range', ['127.0.0.0/8']],
      ['one entry of several', ['10.0.0.0/8', '192.168.1.1', '127.0.0.1']],
      ['the IPv4-mapped IPv6 address', ['::ffff:127.0.0.1']],
      ['an IPv4-mapped IPv6 range', ['::ffff:127.0.0.0/104']],
      ['everything (0.0.0.0/0)', ['0.0.0.0/0']],
    ])('honours the headers from a 127.0.0.1 peer when trustedProxies lists %s', async (_label, trustedProxies) => {
      const app = await startProxyApp({ trustedProxies, trustAnyAddress: trustedProxies.includes('0.0.0.0/0') });

      const res = await request(app.url).get('/mcp').set('X-Forwarded-User', 'alice');

      expect(res.status).toBe(200);
      expect(res.body.peer).toBe('127.0.0.1');
      expect(res.body.user).toEqual({ id: 'alice', groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'proxy' });
    });

    it.each([
      ['a private range', ['10.0.0.0/8']],
      ['a neighbouring address', ['127.0.0.2']],
      ['a range that stops short', ['127.0.0.0/32']],
      ['IPv6 loopback only', ['::1']],
      ['another IPv4-mapped address', ['::ffff:10.0.0.1']],
      ['the upper half of IPv4', ['128.0.0.0/1']],
    ])('ignores the headers from a 127.0.0.1 peer when trustedProxies lists only %s', async (_label, trustedProxies) => {
      const app = await startProxyApp({ trustedProxies });

      const res = await request(app.url).get('/mcp').set('X-Forwarded-User', 'alice');

      expectRefusal(res, app, 401, 'unauthenticated');
      expect(challengesOf(res)).toEqual(['Bearer realm="mcp"']);
    });

    it.each([
      ['the IPv4 address', ['127.0.0.1'], 200],
      ['an IPv4 range', ['127.0.0.0/8'], 200],
      ['the mapped address', ['::ffff:127.0.0.1'], 200],
      ['another range', ['10.0.0.0/8'], 401],
    ])('matches an IPv4-mapped peer (::ffff:127.0.0.1) against %s', async (_label, trustedProxies, status) => {
      const app = await startProxyApp({ trustedProxies }, { host: '::' });

      const res = await request(app.url).get('/mcp').set('X-Forwarded-User', 'alice');

      expect(res.status).toBe(status);
      if (status === 200) expect(res.body).toMatchObject({ peer: '::ffff:127.0.0.1', user: { id: 'alice' } });
      else expectRefusal(res, app, 401, 'unauthenticated');
    });

    it.each([
      ['::1', 200],
      ['::/0', 200],
      ['127.0.0.1', 401],
      ['fe80::/10', 401],
    ])('matches an IPv6 loopback peer against %s', async (entry, status) => {
      const app = await startProxyApp({ trustedProxies: [entry], trustAnyAddress: entry === '::/0' }, { host: '::1' });

      const res = await request(app.url).get('/mcp').set('X-Forwarded-User', 'alice');

      expect(res.status).toBe(status);
      if (status === 200) expect(res.body).toMatchObject({ peer: '::1', user: { id: 'alice' } });
      else expectRefusal(res, app, 401, 'unauthenticated');
    });

    it('never trusts X-Forwarded-For, even when Express does', async () => {
      const ips: string[] = [];
      const app = await startProxyApp(
        { trustedProxies: ['10.0.0.0/8'] },
        {
          configure: (express) => {
            express.set('trust proxy', true);
            express.use((req, _res, next) => {
              ips.push(req.ip ?? '');
              next();
            });
          },
        },
      );

      const res = await request(app.url)
        .get('/mcp')
        .set('X-Forwarded-For', '10.1.2.3')
        .set('Forwarded', 'for=10.1.2.3')
        .set('X-Real-IP', '10.1.2.3')
        .set('X-Forwarded-User', 'admin');

      expectRefusal(res, app, 401, 'unauthenticated');
      expect(ips).toEqual(['10.1.2.3']);
    });
  });

  describe('headers', () => {
    it('reads the user, email, preferred username and groups set by the proxy', async () => {
      const app = await startProxyApp({ trustedProxies: ['127.0.0.1'] });

      const res = await request(app.url)
        .get('/mcp')
        .set('X-Forwarded-User', 'alice')
        .set('X-Forwarded-Email', 'alice@example.com')
        .set('X-Forwarded-Preferred-Username', 'Alice A.')
        .set('X-Forwarded-Groups', 'eng,ops');

      expect(res.status).toBe(200);
      expect(res.body.user).toEqual({
        id: 'alice',
        email: 'alice@example.com',
        name: 'Alice A.',
        groups: ['eng', 'ops'],
        teams: [],
        roles: [],
        isAdmin: false,
        authMethod: 'proxy',
      });
    });

    it('splits comma-separated groups, trimming and dropping empty entries', async () => {
      const app = await startProxyApp({ trustedProxies: ['127.0.0.1'] });

      const res = await request(app.url).get('/mcp').set('X-Forwarded-User', 'alice').set('X-Forwarded-Groups', ' eng , ops,,  on call ,');

      expect(res.status).toBe(200);
      expect(res.body.user.groups).toEqual(['eng', 'ops', 'on call']);
    });

    it('reads mixed-case header names', async () => {
      const app = await startProxyApp({ trustedProxies: ['127.0.0.1'] });

      const res = await request(app.url).get('/mcp').set('x-FORWARDED-user', 'alice').set('X-forwarded-GROUPS', 'eng');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'alice', groups: ['eng'] });
    });

    it.each([
      ['missing', []],
      ['empty', [['X-Forwarded-User', '']]],
      ['only spaces', [['X-Forwarded-User', '   ']]],
    ])('responds 401 when X-Forwarded-User is %s', async (_label, headers) => {
      const app = await startProxyApp({ trustedProxies: ['127.0.0.1'] });

      let pending = request(app.url).get('/mcp').set('X-Forwarded-Email', 'alice@example.com');
      for (const [name, value] of headers as [string, string][]) pending = pending.set(name, value);
      const res = await pending;

      expectRefusal(res, app, 401, 'unauthenticated');
    });

    it('refuses X-Forwarded-User sent twice', async () => {
      const app = await startProxyApp({ trustedProxies: ['127.0.0.1'] });

      const res = await request(app.url).get('/mcp').set('X-Forwarded-User', repeated('alice', 'admin'));

      expectRefusal(res, app, 401, 'unauthenticated');
    });

    it('refuses X-Forwarded-User with a second spelling X_Forwarded_User', async () => {
      const app = await startProxyApp({ trustedProxies: ['127.0.0.1'] });

      const res = await request(app.url).get('/mcp').set('X-Forwarded-User', 'alice').set('X_Forwarded_User', 'admin');

      expectRefusal(res, app, 401, 'unauthenticated');
    });

    it('responds 401 unauthenticated to groups sent twice rather than merging, picking or dropping a copy', async () => {
      const app = await startProxyApp({ trustedProxies: ['127.0.0.1'] });

      const res = await request(app.url).get('/mcp').set('X-Forwarded-User', 'alice').set('X-Forwarded-Groups', repeated('eng', 'admins'));

      expectRefusal(res, app, 401, 'unauthenticated');
    });

    it('responds 401 unauthenticated to an email sent under two spellings', async () => {
      const app = await startProxyApp({ trustedProxies: ['127.0.0.1'] });

      const res = await request(app.url)
        .get('/mcp')
        .set('X-Forwarded-User', 'alice')
        .set('X-Forwarded-Email', 'alice@example.com')
        .set('X_Forwarded_Email', 'admin@example.com');

      expectRefusal(res, app, 401, 'unauthenticated');
    });

    it('responds 401 unauthenticated when a client adds X_Forwarded_Groups next to the proxy-set user, never granting the group', async () => {
      const app = await startProxyApp({ trustedProxies: ['127.0.0.1'] });

      const res = await request(app.url).get('/mcp').set('X-Forwarded-User', 'carol').set('X_Forwarded_Groups', 'admins');

      expectRefusal(res, app, 401, 'unauthenticated');
    });

    it('responds 401 unauthenticated to X_Forwarded_User alone, never logging in as the named user', async () => {
      const app = await startProxyApp({ trustedProxies: ['127.0.0.1'] });

      const res = await request(app.url).get('/mcp').set('X_Forwarded_User', 'alice');

      expectRefusal(res, app, 401, 'unauthenticated');
    });

    it('responds 403 claims_limit_exceeded, not 401, to a user with 257 groups', async () => {
      const app = await startProxyApp({ trustedProxies: ['127.0.0.1'] });
      const groups = Array.from({ length: 257 }, (_, i) => `g${i}`).join(',');

      const res = await request(app.url).get('/mcp').set('X-Forwarded-User', 'carol').set('X-Forwarded-Groups', groups);

      expectRefusal(res, app, 403, 'claims_limit_exceeded');
      expect(res.body.error.message).toBe('groups has more than 256 entries');
    });

    it.each(['0.0.0.0/0', '::/0'])('throws naming trustedProxies[0] and trustAnyAddress for %s without trustAnyAddress', (entry) => {
      expect(() => new TrustedProxyStrategy({ trustedProxies: [entry] })).toThrow(/trustedProxies\[0\].*trustAnyAddress/);
    });

    it('decodes UTF-8 bytes in X-Forwarded-Preferred-Username as José', async () => {
      const app = await startProxyApp({ trustedProxies: ['127.0.0.1'] });

      const res = await rawGet(app.url, [
        ['X-Forwarded-User', 'jose'],
        ['X-Forwarded-Preferred-Username', utf8Bytes('José')],
      ]);

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'jose', name: 'José', authMethod: 'proxy' });
    });

    it('decodes UTF-8 bytes in the user id and the groups', async () => {
      const app = await startProxyApp({ trustedProxies: ['127.0.0.1'] });

      const res = await rawGet(app.url, [
        ['X-Forwarded-User', utf8Bytes('josé')],
        ['X-Forwarded-Groups', utf8Bytes('équipe, 開発')],
      ]);

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'josé', groups: ['équipe', '開発'] });
    });

    it('reads a byte that is not UTF-8 as Latin-1', async () => {
      const app = await startProxyApp({ trustedProxies: ['127.0.0.1'] });

      const res = await rawGet(app.url, [
        ['X-Forwarded-User', 'jose'],
        ['X-Forwarded-Preferred-Username', 'Jos\u00e9'],
      ]);

      expect(res.status).toBe(200);
      expect(res.body.user.name).toBe('José');
    });

    it('reads custom header names given in any case', async () => {
      const app = await startProxyApp({
        trustedProxies: ['127.0.0.1'],
        headers: { id: 'X-Auth-Request-User', email: 'X-Auth-Request-Email', groups: 'X-Auth-Request-Groups' },
      });

      const res = await request(app.url)
        .get('/mcp')
        .set('X-Forwarded-User', 'ignored')
        .set('X-Auth-Request-User', 'alice')
        .set('X-Auth-Request-Email', 'alice@example.com')
        .set('X-Auth-Request-Groups', 'eng');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'alice', email: 'alice@example.com', groups: ['eng'] });
    });

    it('keeps the default header name when a header option is explicitly undefined', async () => {
      const app = await startProxyApp({ trustedProxies: ['127.0.0.1'], headers: { id: undefined } });

      const res = await request(app.url).get('/mcp').set('X-Forwarded-User', 'alice');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'alice' });
    });
  });

  describe('construction', () => {
    it.each([
      ['no options', undefined],
      ['null options', null],
      ['no trustedProxies', {}],
      ['an empty trustedProxies list', { trustedProxies: [] }],
      ['a string instead of a list', { trustedProxies: '10.0.0.0/8' }],
    ])('throws naming trustedProxies with %s', (_label, options) => {
      expect(() => new TrustedProxyStrategy(options as any)).toThrow(/trustedProxies/);
    });

    it.each([
      ['a host name', 'localhost'],
      ['an empty entry', ''],
      ['an undefined entry', undefined],
      ['an out-of-range octet', '10.0.0.256'],
      ['a prefix over 32', '10.0.0.0/33'],
      ['an IPv6 prefix over 128', '::1/129'],
      ['a negative prefix', '10.0.0.0/-1'],
      ['a missing prefix', '10.0.0.0/'],
      ['a fractional prefix', '10.0.0.0/8.5'],
      ['a hexadecimal prefix', '10.0.0.0/0x8'],
      ['an exponent prefix', '10.0.0.0/1e1'],
      ['a padded prefix', '10.0.0.0/ 8'],
      ['two prefixes', '10.0.0.0/8/16'],
      ['a range with no address', '/8'],
    ])('throws naming trustedProxies[1] for %s', (_label, entry) => {
      expect(() => new TrustedProxyStrategy({ trustedProxies: ['127.0.0.1', entry as any] })).toThrow(/trustedProxies\[1\]/);
    });

    it.each([
      ['empty', ''],
      ['with a space', 'x forwarded user'],
      ['with an underscore (never matches: names are compared with _ read as -)', 'x_forwarded_user'],
      ['not a string', 42],
    ])('throws naming the header option when a header name is %s', (_label, name) => {
      expect(() => new TrustedProxyStrategy({ trustedProxies: ['127.0.0.1'], headers: { id: name as any } })).toThrow(/headers\.id/);
    });

    it('registers as trusted-proxy', () => {
      expect(new TrustedProxyStrategy({ trustedProxies: ['10.0.0.0/8'] }).name).toBe('trusted-proxy');
    });
  });
});
