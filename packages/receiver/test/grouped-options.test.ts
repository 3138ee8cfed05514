/**
 * `verifyIdentity` with the grouped options: one `keys` choice, `replay`, `sessions`, `policy`.
 */
import request from 'supertest';
import { MemoryStore } from '@mcp-identity/core/internal';
import { verifyIdentity } from '../src/index.js';
import type { ReceiverOptions } from '../src/index.js';
import {
  AUDIENCE,
  createTestApp,
  ed25519PublicPem,
  expectRefusal,
  fixedClock,
  identityHeaders,
  ISSUER,
  noAudit,
  SECRET,
  signFor,
  toolCall,
  USER,
} from './helpers.js';

const grouped = (overrides: Record<string, unknown> = {}): ReceiverOptions => ({
  audience: AUDIENCE,
  issuer: ISSUER,
  keys: { secrets: [{ secret: SECRET }] },
  clock: fixedClock,
  audit: noAudit,
  ...overrides,
});

/** The test app with grouped options only: the helper's flat `secrets` is left out. */
const groupedApp = (overrides: Record<string, unknown> = {}): ReturnType<typeof createTestApp> =>
  createTestApp({ receiver: { ...grouped(overrides), secrets: undefined } as never });

describe('verifyIdentity with grouped options', () => {
  it('accepts a request signed with a secret given as keys.secrets', async () => {
    const { app, calls } = groupedApp();
    const body = toolCall();

    const res = await request(app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body })))
      .send(body);

    expect(res.status).toBe(200);
    expect(calls).toHaveLength(1);
    expect((calls[0]?.user as { id: string }).id).toBe(USER.id);
  });

  it('responds 401 identity_replayed when two receivers share replay.store and see the same assertion', async () => {
    const store = new MemoryStore({ clock: fixedClock });
    const first = groupedApp({ replay: { store } });
    const second = groupedApp({ replay: { store } });
    const body = toolCall();
    const headers = identityHeaders(signFor({ body }));

    expect((await request(first.app).post('/mcp').set(headers).send(body)).status).toBe(200);
    const replayed = await request(second.app).post('/mcp').set(headers).send(body);

    expectRefusal(replayed, 401, 'identity_replayed', second.calls);
  });

  it('responds 403 identity_forbidden to a delegated call when policy.maxDelegationDepth is 0', async () => {
    const { app, calls } = groupedApp({ policy: { maxDelegationDepth: 0 } });
    const body = toolCall();
    expect(USER.delegationChain?.length).toBeGreaterThan(0);

    const res = await request(app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body })))
      .send(body);

    expectRefusal(res, 403, 'identity_forbidden', calls);
  });

  it('responds 403 identity_forbidden when policy.allow refuses the user', async () => {
    const { app, calls } = groupedApp({ policy: { allow: () => false } });
    const body = toolCall();

    const res = await request(app)
      .post('/mcp')
      .set(identityHeaders(signFor({ body })))
      .send(body);

    expectRefusal(res, 403, 'identity_forbidden', calls);
  });

  it.each([
    ['no keys choice', { keys: {} }, /^keys must be exactly one of .* \(got none\)$/],
    ['keys that is not an object', { keys: 'secret' }, /^keys must be exactly one of/],
    [
      'two keys choices',
      { keys: { secrets: [{ secret: SECRET }], publicKeys: [{ alg: 'EdDSA', publicKey: ed25519PublicPem }] } },
      /\(got publicKeys and secrets\)$/,
    ],
    [
      'three keys choices',
      { keys: { jwksUrl: 'https://gateway.test/jwks', secrets: [{ secret: SECRET }], publicKeys: [] } },
      /\(got jwksUrl and publicKeys and secrets\)$/,
    ],
    [
      'a fetching option beside secrets',
      { keys: { secrets: [{ secret: SECRET }], timeoutMs: 100 } },
      /^keys\.timeoutMs is not an option with keys\.secrets/,
    ],
    ['a bad keys.jwksUrl', { keys: { jwksUrl: 'not a url' } }, /^keys\.jwksUrl must be an absolute/],
    [
      'a bad keys.cooldownMs',
      { keys: { jwksUrl: 'https://gateway.test/jwks', cooldownMs: 0 } },
      /^keys\.cooldownMs must be a positive integer/,
    ],
    ['a weak keys.secrets entry', { keys: { secrets: [{ secret: 'short' }] } }, /^keys\.secrets\[0\]\.secret/],
    [
      'a bad keys.publicKeys entry',
      { keys: { publicKeys: [{ alg: 'RS256', publicKey: ed25519PublicPem }] } },
      /^keys\.publicKeys\[0\]\.alg/,
    ],
    ['flat secrets mixed in', { secrets: [{ secret: SECRET }] }, /^secrets is the older flat form: with keys, use keys: \{ secrets \}/],
    [
      'flat replayStore mixed in',
      { replayStore: new MemoryStore() },
      /^replayStore is the older flat form: with keys, use replay: \{ store \}/,
    ],
    ['flat maxDelegationDepth mixed in', { maxDelegationDepth: 1 }, /^maxDelegationDepth is the older flat form/],
    ['a bad replay.store', { replay: { store: {} } }, /^replay\.store must implement setIfAbsent/],
    ['an unknown replay key', { replay: { ttl: 5 } }, /^replay\.ttl is not an option/],
    ['a bad sessions.store', { sessions: { store: {} } }, /^sessions\.store must implement/],
    [
      'a bad policy.maxDelegationDepth',
      { policy: { maxDelegationDepth: -1 } },
      /^policy\.maxDelegationDepth must be a non-negative integer/,
    ],
    ['a bad policy.allow', { policy: { allow: true } }, /^policy\.allow must be a function/],
    ['an unknown policy key', { policy: { deny: () => true } }, /^policy\.deny is not an option/],
    ['headerPrefix "---"', { headerPrefix: '---' }, /^headerPrefix must contain a letter or digit/],
  ])('throws a TypeError naming the option for %s', (_case, overrides, message) => {
    const build = (): unknown => verifyIdentity(grouped(overrides));

    expect(build).toThrow(TypeError);
    expect(build).toThrow(message);
  });

  it.each(['---', '__', '_-_'])('refuses headerPrefix %s in the older flat form too', (headerPrefix) => {
    expect(() =>
      verifyIdentity({ audience: AUDIENCE, issuer: ISSUER, secrets: [{ secret: SECRET }], headerPrefix, audit: noAudit }),
    ).toThrow(/^headerPrefix must contain a letter or digit/);
  });
});
