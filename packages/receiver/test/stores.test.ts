import request from 'supertest';
import { MemoryStore } from '@mcp-identity/core/internal';
import type { IdentityStore } from '@mcp-identity/core/internal';
import {
  createTestApp,
  expectRefusal,
  hsSigner,
  identityHeaders,
  issueFor,
  OTHER_SECRET,
  signFor,
  T0,
  TTL_SECONDS,
  toolCall,
} from './helpers.js';

const body = toolCall();

function post(app: Parameters<typeof request>[0], token: string): request.Test {
  return request(app).post('/mcp').set(identityHeaders(token)).send(body);
}

/** A store that records every call and answers with `answer`. */
function recordingStore(answer: IdentityStore['setIfAbsent']): IdentityStore & { calls: [string, string, number][] } {
  const calls: [string, string, number][] = [];
  return {
    calls,
    setIfAbsent(key, value, ttlMs) {
      calls.push([key, value, ttlMs]);
      return answer(key, value, ttlMs);
    },
    get: () => undefined,
    delete: () => undefined,
  };
}

describe('verifyIdentity replay store', () => {
  it('responds 503 store_unavailable when a MemoryStore({ maxEntries: 1 }) is full', async () => {
    const replayStore = new MemoryStore({ maxEntries: 1, clock: () => T0 });
    const { app, calls } = createTestApp({ receiver: { replayStore } });

    const first = await post(app, signFor({ body }));
    const second = await post(app, signFor({ body }));

    expect(first.status).toBe(200);
    expectRefusal(second, 503, 'store_unavailable', calls.slice(1));
    expect(calls).toHaveLength(1);
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('connection refused');
      },
    ],
    ['rejects', () => Promise.reject(new Error('connection refused'))],
  ])('responds 503 store_unavailable when setIfAbsent %s', async (_case, failing) => {
    const { app, calls } = createTestApp({ receiver: { replayStore: recordingStore(failing) } });

    const res = await post(app, signFor({ body }));

    expectRefusal(res, 503, 'store_unavailable', calls);
    expect(res.text).not.toContain('connection refused');
  });

  it.each([500, 502, 503, 504] as const)('responds %i store_unavailable when storeErrorStatus says so', async (storeErrorStatus) => {
    const failing = recordingStore(() => Promise.reject(new Error('connection refused')));
    const { app, calls } = createTestApp({ receiver: { replayStore: failing, storeErrorStatus } });

    expectRefusal(await post(app, signFor({ body })), storeErrorStatus, 'store_unavailable', calls);
  });

  it('responds with storeErrorStatus when a MemoryStore is full, too', async () => {
    const replayStore = new MemoryStore({ maxEntries: 1, clock: () => T0 });
    const { app, calls } = createTestApp({ receiver: { replayStore, storeErrorStatus: 500 } });

    await post(app, signFor({ body }));
    expectRefusal(await post(app, signFor({ body })), 500, 'store_unavailable', calls.slice(1));
  });

  it.each([200, 401, 418, 599, '503', null])('throws a TypeError naming storeErrorStatus for %p', (storeErrorStatus) => {
    expect(() => createTestApp({ receiver: { storeErrorStatus: storeErrorStatus as never } })).toThrow(/storeErrorStatus/);
  });

  it('responds 401 identity_replayed when a shared store reports the jti as present', async () => {
    const { app, calls } = createTestApp({ receiver: { replayStore: recordingStore(() => Promise.resolve(false)) } });

    const res = await post(app, signFor({ body }));

    expectRefusal(res, 401, 'identity_replayed', calls);
  });

  it('accepts when an asynchronous store resolves true', async () => {
    const { app, calls } = createTestApp({ receiver: { replayStore: recordingStore(() => Promise.resolve(true)) } });

    const res = await post(app, signFor({ body }));

    expect(res.status).toBe(200);
    expect(calls).toHaveLength(1);
  });

  it.each([
    ['default tolerance, at iat', {}, T0, TTL_SECONDS * 1000 + 5000],
    ['default tolerance, 30 s later', {}, T0 + 30_000, (TTL_SECONDS - 30) * 1000 + 5000],
    ['tolerance 20, at iat', { clockToleranceSeconds: 20 }, T0, TTL_SECONDS * 1000 + 20_000],
    ['tolerance 0, at iat', { clockToleranceSeconds: 0 }, T0, TTL_SECONDS * 1000],
  ])('records jti:<jti> with a TTL reaching exp + tolerance (%s)', async (_case, options, now, ttlMs) => {
    const store = recordingStore(() => true);
    const { app } = createTestApp({ receiver: { ...options, replayStore: store, clock: () => now } });
    const { token, jti } = issueFor({ body });

    const res = await post(app, token);

    expect(res.status).toBe(200);
    expect(store.calls).toEqual([[`jti:${jti}`, '', ttlMs]]);
  });

  it('never consults the store for an assertion that does not verify', async () => {
    const store = recordingStore(() => true);
    const { app, calls } = createTestApp({ receiver: { replayStore: store } });
    const forged = signFor({ body }, { signer: hsSigner({ signing: { secret: OTHER_SECRET } }) });

    const res = await post(app, forged);

    expectRefusal(res, 401, 'identity_invalid', calls);
    expect(store.calls).toEqual([]);
  });
});
