import { Passport } from 'passport';
import request from 'supertest';
import type { Request } from 'express';
import { ApiKeyStrategy, safeEqual } from '../src/index.js';
import type { ApiKeyStrategyOptions, ApiKeyVerify } from '../src/index.js';
import { challengesOf, closeApps, expectRefusal, repeated, startApp } from './authenticate-kit.js';

const clients: readonly { readonly key: string; readonly client: Record<string, unknown> }[] = [
  { key: 'k-ci-0123456789', client: { id: 'ci-bot', roles: ['deployer'] } },
  { key: 'k-ops-9876543210', client: { id: 'ops-bot', groups: ['ops'] } },
];

/** The documented verify: constant-time comparison against every known key. */
const lookup: ApiKeyVerify = (key) => clients.find((entry) => safeEqual(key, entry.key))?.client ?? false;

async function startKeyApp(options: Partial<ApiKeyStrategyOptions> = {}) {
  const calls: string[] = [];
  const verify = options.verify ?? lookup;
  const passport = new Passport();
  passport.use(
    new ApiKeyStrategy({
      ...options,
      verify: (key, req) => {
        calls.push(key);
        return verify(key, req);
      },
    }),
  );
  const app = await startApp(['api-key'], { passport });
  return { app, calls };
}

afterEach(closeApps);

describe('ApiKeyStrategy', () => {
  it('authenticates the client a valid key belongs to, with authMethod api_key', async () => {
    const { app, calls } = await startKeyApp();

    const res = await request(app.url).get('/mcp').set('X-Api-Key', 'k-ops-9876543210');

    expect(res.status).toBe(200);
    expect(res.body.user).toEqual({ id: 'ops-bot', groups: ['ops'], teams: [], roles: [], isAdmin: false, authMethod: 'api_key' });
    expect(calls).toEqual(['k-ops-9876543210']);
  });

  it('passes the request to verify', async () => {
    const paths: string[] = [];
    const { app } = await startKeyApp({
      verify: (_key, req: Request) => {
        paths.push(req.originalUrl);
        return { id: 'any' };
      },
    });

    const res = await request(app.url).get('/mcp/tools?x=1').set('X-Api-Key', 'k');

    expect(res.status).toBe(200);
    expect(paths).toEqual(['/mcp/tools?x=1']);
  });

  it('accepts a verify that resolves asynchronously', async () => {
    const { app } = await startKeyApp({ verify: async (key) => (await Promise.resolve(key === 'k-async')) && { id: 'async-client' } });

    const res = await request(app.url).get('/mcp').set('X-Api-Key', 'k-async');

    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: 'async-client', authMethod: 'api_key' });
  });

  it('reads the header whatever its case', async () => {
    const { app } = await startKeyApp();

    const res = await request(app.url).get('/mcp').set('x-API-kEY', 'k-ci-0123456789');

    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: 'ci-bot' });
  });

  it('responds 401 with an ApiKey challenge to an unknown key', async () => {
    const { app, calls } = await startKeyApp();

    const res = await request(app.url).get('/mcp').set('X-Api-Key', 'k-unknown');

    expectRefusal(res, app, 401, 'unauthenticated');
    expect(challengesOf(res)).toEqual(['ApiKey header="x-api-key"']);
    expect(calls).toEqual(['k-unknown']);
  });

  it.each([
    ['false', false],
    ['null', null],
    ['undefined', undefined],
  ])('responds 401 when verify returns %s', async (_label, result) => {
    const { app } = await startKeyApp({ verify: () => result });

    const res = await request(app.url).get('/mcp').set('X-Api-Key', 'k');

    expectRefusal(res, app, 401, 'unauthenticated');
    expect(challengesOf(res)).toEqual(['ApiKey header="x-api-key"']);
  });

  it('responds 401 without calling verify when the header is missing', async () => {
    const { app, calls } = await startKeyApp();

    const res = await request(app.url).get('/mcp').set('Authorization', 'Bearer k-ci-0123456789');

    expectRefusal(res, app, 401, 'unauthenticated');
    expect(challengesOf(res)).toEqual(['ApiKey header="x-api-key"']);
    expect(calls).toEqual([]);
  });

  it('responds 401 without calling verify when the header is empty', async () => {
    const { app, calls } = await startKeyApp();

    const res = await request(app.url).get('/mcp').set('X-Api-Key', '');

    expectRefusal(res, app, 401, 'unauthenticated');
    expect(calls).toEqual([]);
  });

  it.each([
    [1024, 200],
    [1025, 401],
  ])('with a key of %i characters responds %i', async (length, status) => {
    const { app, calls } = await startKeyApp({ verify: () => ({ id: 'long-key-client' }) });

    const res = await request(app.url).get('/mcp').set('X-Api-Key', 'k'.repeat(length));

    expect(res.status).toBe(status);
    if (status === 401) {
      expectRefusal(res, app, 401, 'unauthenticated');
      expect(calls).toEqual([]);
    }
  });

  it('refuses a key sent twice, even the same valid key', async () => {
    const { app, calls } = await startKeyApp();

    const res = await request(app.url).get('/mcp').set('X-Api-Key', repeated('k-ci-0123456789', 'k-ci-0123456789'));

    expectRefusal(res, app, 401, 'unauthenticated');
    expect(calls).toEqual([]);
  });

  it('refuses a key sent under two spellings of the header (X-Api-Key and X_Api_Key)', async () => {
    const { app, calls } = await startKeyApp();

    const res = await request(app.url).get('/mcp').set('X-Api-Key', 'k-ci-0123456789').set('X_Api_Key', 'k-ops-9876543210');

    expectRefusal(res, app, 401, 'unauthenticated');
    expect(calls).toEqual([]);
  });

  it('responds 401 unauthenticated to a key under the underscore spelling alone (X_Api_Key)', async () => {
    const { app, calls } = await startKeyApp();

    const res = await request(app.url).get('/mcp').set('X_Api_Key', 'k-ci-0123456789');

    expectRefusal(res, app, 401, 'unauthenticated');
    expect(calls).toEqual([]);
  });

  it('responds 503 auth_unavailable, without the message, when verify throws', async () => {
    const { app } = await startKeyApp({
      verify: () => {
        throw new Error('redis://10.9.9.9 refused AUTH s3cr3t');
      },
    });

    const res = await request(app.url).get('/mcp').set('X-Api-Key', 'k');

    expectRefusal(res, app, 503, 'auth_unavailable');
    expect(res.text).not.toMatch(/s3cr3t|10\.9\.9\.9/);
  });

  it.each([
    ['an Error', new Error('pool exhausted: s3cr3t')],
    ['a non-Error value', 's3cr3t'],
  ])('responds 503 when verify rejects with %s', async (_label, reason) => {
    // A verify may reject with anything, not only an Error.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    const { app } = await startKeyApp({ verify: () => Promise.reject(reason) });

    const res = await request(app.url).get('/mcp').set('X-Api-Key', 'k');

    expectRefusal(res, app, 503, 'auth_unavailable');
    expect(res.text).not.toContain('s3cr3t');
  });

  describe('header option', () => {
    it('reads the key from a custom header, given in any case', async () => {
      const { app } = await startKeyApp({ header: 'X-Client-Key' });

      const res = await request(app.url).get('/mcp').set('x-client-key', 'k-ci-0123456789');

      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: 'ci-bot', authMethod: 'api_key' });
    });

    it('ignores the default header and names the custom one in its challenge', async () => {
      const { app, calls } = await startKeyApp({ header: 'X-Client-Key' });

      const res = await request(app.url).get('/mcp').set('X-Api-Key', 'k-ci-0123456789');

      expectRefusal(res, app, 401, 'unauthenticated');
      expect(challengesOf(res)).toEqual(['ApiKey header="x-client-key"']);
      expect(calls).toEqual([]);
    });

    it('keeps the default header when header is explicitly undefined', async () => {
      const { app } = await startKeyApp({ header: undefined });

      const res = await request(app.url).get('/mcp').set('X-Api-Key', 'k-ci-0123456789');

      expect(res.status).toBe(200);
    });
  });

  describe('construction', () => {
    it.each([
      ['no options', undefined],
      ['null', null],
      ['no verify', {}],
      ['a non-function verify', { verify: 'lookup' }],
    ])('throws naming verify with %s', (_label, options) => {
      expect(() => new ApiKeyStrategy(options as any)).toThrow(/verify/);
    });

    it.each([
      ['empty', ''],
      ['with a space', 'x api key'],
      ['with an underscore', 'x_api_key'],
      ['with a colon', 'x-api-key:'],
      ['not a string', 42],
    ])('throws naming header when it is %s', (_label, header) => {
      expect(() => new ApiKeyStrategy({ verify: lookup, header: header as any })).toThrow(/header/);
    });

    it('registers as api-key', () => {
      expect(new ApiKeyStrategy({ verify: lookup }).name).toBe('api-key');
    });
  });
});
