import request from 'supertest';
import { MemoryStore } from '@mcp-identity/core/internal';
import {
  createTestApp,
  expectRefusal,
  hmacToken,
  hsSigner,
  identityHeaders,
  issueFor,
  OTHER_SECRET,
  payloadOf,
  signFor,
  signIntoMeta,
  T0,
  TTL_SECONDS,
  toolCall,
} from './helpers.js';
import { listen } from '../../../test/kit.js';

const body = toolCall();
/** `exp` of an assertion signed at T0, in milliseconds. */
const EXP_MS = T0 + TTL_SECONDS * 1000;

function post(app: Parameters<typeof request>[0], token: string, path = '/mcp'): request.Test {
  return request(app).post(path).set(identityHeaders(token)).send(body);
}

describe('verifyIdentity time checks', () => {
  describe('expiry', () => {
    it.each([
      [5, 'well before exp', T0 + 1000, 200],
      [5, 'at exp, inside the tolerance', EXP_MS, 200],
      [5, 'just inside exp + tolerance', EXP_MS + 5000 - 1, 200],
      [5, 'exactly at exp + tolerance', EXP_MS + 5000, 401],
      [5, 'long after exp', EXP_MS + 3_600_000, 401],
      [0, 'just before exp', EXP_MS - 1, 200],
      [0, 'exactly at exp', EXP_MS, 401],
      [30, 'just inside exp + tolerance', EXP_MS + 30_000 - 1, 200],
      [30, 'exactly at exp + tolerance', EXP_MS + 30_000, 401],
    ])('with clockToleranceSeconds %d, a request %s answers %d', async (tolerance, _when, now, status) => {
      const { app, calls } = createTestApp({ receiver: { clockToleranceSeconds: tolerance, clock: () => now } });

      const res = await post(app, signFor({ body }));

      if (status === 200) {
        expect(res.status).toBe(200);
        expect(calls).toHaveLength(1);
      } else {
        expectRefusal(res, 401, 'identity_expired', calls);
      }
    });
  });

  describe('issued at', () => {
    it.each([
      ['exactly the tolerance ahead of the receiver', T0 - 5000, 200],
      ['just over the tolerance ahead of the receiver', T0 - 5000 - 1, 401],
      ['an hour ahead of the receiver', T0 - 3_600_000, 401],
    ])('an assertion issued %s answers %d', async (_when, receiverNow, status) => {
      const { app, calls } = createTestApp({ receiver: { clock: () => receiverNow } });

      const res = await post(app, signFor({ body }));

      if (status === 200) {
        expect(res.status).toBe(200);
        expect(calls).toHaveLength(1);
      } else {
        expectRefusal(res, 401, 'identity_invalid', calls);
      }
    });
  });

  describe('lifetime', () => {
    it.each([
      [undefined, 600, 200],
      [undefined, 601, 401],
      [60, 60, 200],
      [60, 61, 401],
    ])('with maxLifetimeSeconds %s, an assertion living %d s answers %d', async (maxLifetimeSeconds, ttlSeconds, status) => {
      const { app, calls } = createTestApp({ receiver: maxLifetimeSeconds === undefined ? {} : { maxLifetimeSeconds } });

      const res = await post(app, signFor({ body }, { signer: hsSigner({ ttlSeconds }) }));

      if (status === 200) {
        expect(res.status).toBe(200);
        expect(calls).toHaveLength(1);
      } else {
        expectRefusal(res, 401, 'identity_invalid', calls);
      }
    });

    it('responds 401 identity_invalid for an assertion whose exp is not after iat', async () => {
      const { app, calls } = createTestApp();
      const claims = payloadOf(signFor({ body }));

      const res = await post(app, hmacToken({ alg: 'HS256', typ: 'user-context+jwt' }, { ...claims, exp: claims.iat }));

      expectRefusal(res, 401, 'identity_invalid', calls);
    });
  });
});

describe('verifyIdentity replay protection', () => {
  it('responds 401 identity_replayed when a jti is reused', async () => {
    const { app, calls } = createTestApp();
    const token = signFor({ body });

    const first = await post(app, token);
    const second = await post(app, token);

    expect(first.status).toBe(200);
    expectRefusal(second, 401, 'identity_replayed', calls.slice(1));
    expect(calls).toHaveLength(1);
  });

  it('responds 401 identity_replayed when a _meta assertion is reused', async () => {
    const { app, calls } = createTestApp();
    const { body: sent } = signIntoMeta(toolCall());

    const first = await request(app).post('/mcp').send(sent);
    const second = await request(app).post('/mcp').send(sent);

    expect(first.status).toBe(200);
    expectRefusal(second, 401, 'identity_replayed', calls.slice(1));
    expect(calls).toHaveLength(1);
  });

  it('accepts exactly one of two concurrent requests with the same jti', async () => {
    const { app, calls } = createTestApp();
    const server = await listen(app);
    try {
      const token = signFor({ body });
      const answers = await Promise.all([post(server.url, token), post(server.url, token)]);

      expect(answers.map((res) => res.status).sort()).toEqual([200, 401]);
      expect(answers.find((res) => res.status === 401)?.body.error.data.code).toBe('identity_replayed');
      expect(calls).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('remembers a jti until exp + tolerance', async () => {
    let now = T0;
    const { app, calls } = createTestApp({ receiver: { clock: () => now } });
    const token = signFor({ body });

    const first = await post(app, token);
    now = EXP_MS + 5000 - 1;
    const second = await post(app, token);

    expect(first.status).toBe(200);
    expectRefusal(second, 401, 'identity_replayed', calls.slice(1));
  });

  it('refuses a jti seen by another receiver sharing the replay store', async () => {
    const replayStore = new MemoryStore({ clock: () => T0 });
    const one = createTestApp({ receiver: { replayStore } });
    const two = createTestApp({ receiver: { replayStore } });
    const token = signFor({ body });

    const first = await post(one.app, token);
    const second = await post(two.app, token);

    expect(first.status).toBe(200);
    expectRefusal(second, 401, 'identity_replayed', two.calls);
  });

  it('accepts two assertions with different jtis for the same request', async () => {
    const { app, calls } = createTestApp();
    const a = issueFor({ body });
    const b = issueFor({ body });

    expect(a.jti).not.toBe(b.jti);
    expect((await post(app, a.token)).status).toBe(200);
    expect((await post(app, b.token)).status).toBe(200);
    expect(calls).toHaveLength(2);
  });

  it.each([
    [
      'a forged token with the same jti',
      (token: string) => hmacToken({ alg: 'HS256', typ: 'user-context+jwt' }, payloadOf(token), OTHER_SECRET),
      '/mcp',
      'identity_invalid',
    ],
    ['the token sent to another path', (token: string) => token, '/other', 'identity_binding'],
  ] as const)('does not burn the jti when %s is refused', async (_case, variant, path, code) => {
    const { app, calls } = createTestApp();
    const { token, jti } = issueFor({ body });
    expect(payloadOf(variant(token)).jti).toBe(jti);

    const refused = await post(app, variant(token), path);
    expectRefusal(refused, 401, code, calls);

    const genuine = await post(app, token);
    expect(genuine.status).toBe(200);
    expect(calls).toHaveLength(1);
  });
});
