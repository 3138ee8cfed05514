/**
 * The gateway keeps each user's normalized form (and the headers, claims and JSON made from it)
 * while the user stays the same: a user whose account changes between two requests is sent as
 * changed, in every carrier, whether the app sets `req.userContext` or a Passport login does.
 */
import express from 'express';
import passport from 'passport';
import { BasicStrategy } from 'passport-http';
import request from 'supertest';
import { authenticate, propagateIdentity } from '../src/index.js';
import { closeAll, identityOptions, jsonOf, META_USER, startUpstream, track, verifyAssertion } from './propagate-kit.js';
import { listen } from '../../../test/kit.js';
import type { RecordingUpstream } from '../../../test/kit.js';

afterEach(closeAll);

interface Account {
  groups: string[];
  isAdmin: boolean;
}

const BODY = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 't', _meta: { progressToken: 1 } } });

/** What the upstream was told about the user, by each carrier, for its `index`-th request. */
async function seen(upstream: RecordingUpstream, index: number): Promise<{ header: unknown; meta: unknown; claims: unknown }> {
  const received = upstream.received[index]!;
  const claims = await verifyAssertion(received.headers['x-forwarded-user-assertion']);
  const meta = jsonOf(received).params._meta[META_USER] as { groups: string[]; isAdmin: boolean };
  return {
    header: [received.headers['x-forwarded-user-groups'], received.headers['x-forwarded-user-admin']],
    meta: [meta.groups, meta.isAdmin],
    claims: [claims.groups, claims.admin ?? false],
  };
}

async function post(url: string, auth?: string): Promise<void> {
  const req = request(url).post('/mcp').set('Content-Type', 'application/json');
  await (auth === undefined ? req : req.set('Authorization', auth)).send(BODY).expect(200);
}

describe('a user whose account changes between requests', () => {
  it('is forwarded as changed when the app builds a new userContext object per request', async () => {
    const account: Account = { groups: ['eng'], isAdmin: false };
    const upstream = await startUpstream();
    const app = express();
    app.use((req, _res, next) => {
      req.userContext = { id: 'alice', authMethod: 'jwt', groups: [...account.groups], teams: [], roles: [], isAdmin: account.isAdmin };
      next();
    });
    app.use(propagateIdentity({ target: upstream.url, ...identityOptions, metaCreation: 'always', audit: () => undefined }));
    const gateway = track(await listen(app));

    // Twice: the gateway keeps a user from its second request on.
    await post(gateway.url);
    await post(gateway.url);
    account.groups = ['eng', 'admins'];
    account.isAdmin = true;
    await post(gateway.url);
    await post(gateway.url);

    const expected = (groups: string[], admin: boolean) => ({
      header: [groups.join(','), String(admin)],
      meta: [groups, admin],
      claims: [groups, admin],
    });
    expect(await seen(upstream, 0)).toEqual(expected(['eng'], false));
    expect(await seen(upstream, 1)).toEqual(expected(['eng'], false));
    expect(await seen(upstream, 2)).toEqual(expected(['eng', 'admins'], true));
    expect(await seen(upstream, 3)).toEqual(expected(['eng', 'admins'], true));
  });

  it('is forwarded as changed after a Passport login (authenticate) sees the new account', async () => {
    const accounts = new Map<string, Account>([['alice', { groups: ['eng'], isAdmin: false }]]);
    const instance = new passport.Passport();
    instance.use(
      new BasicStrategy((userid, password, done) => {
        const account = password === 'pw' ? accounts.get(userid) : undefined;
        // A new object per login, as a database lookup returns.
        done(null, account === undefined ? false : { id: userid, groups: [...account.groups], isAdmin: account.isAdmin });
      }),
    );
    const upstream = await startUpstream();
    const app = express();
    app.use(
      '/mcp',
      authenticate(['basic'], { passport: instance, audit: () => undefined }),
      propagateIdentity({ target: upstream.url, ...identityOptions, metaCreation: 'always', audit: () => undefined }),
    );
    const gateway = track(await listen(app));
    const basic = `Basic ${Buffer.from('alice:pw').toString('base64')}`;

    await post(gateway.url, basic);
    await post(gateway.url, basic);
    accounts.set('alice', { groups: ['eng', 'admins'], isAdmin: true });
    await post(gateway.url, basic);
    accounts.set('alice', { groups: [], isAdmin: false });
    await post(gateway.url, basic);

    expect(upstream.received).toHaveLength(4);
    expect((await seen(upstream, 1)).claims).toEqual([['eng'], false]);
    expect(await seen(upstream, 2)).toEqual({
      header: ['eng,admins', 'true'],
      meta: [['eng', 'admins'], true],
      claims: [['eng', 'admins'], true],
    });
    expect(await seen(upstream, 3)).toEqual({ header: [undefined, 'false'], meta: [[], false], claims: [undefined, false] });
    expect(upstream.received[3]!.headers['x-forwarded-user-id']).toBe('alice');
  });
});
