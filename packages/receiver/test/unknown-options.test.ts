/**
 * A misspelt receiver option is refused at start-up, naming it: ignored, it could silently turn
 * a check off (`requireDelegatedTokens: true` left delegated tokens unrequired).
 */
import { MemoryStore } from '@mcp-identity/core';
import { verifyIdentity } from '../src/index.js';

const secret = 'a-test-secret-of-at-least-32-bytes!!';
const flat = { audience: 'urn:mcp:files', issuer: 'https://gateway.example', secrets: [{ secret }] };
const grouped = { audience: 'urn:mcp:files', issuer: 'https://gateway.example', keys: { secrets: [{ secret }] } };

describe('verifyIdentity options it does not take', () => {
  it.each<[string, unknown, RegExp]>([
    [
      'requireDelegatedTokens (for requireDelegatedToken), flat form',
      { ...flat, requireDelegatedTokens: true },
      /^requireDelegatedTokens is not an option of verifyIdentity \(it takes .*requireDelegatedToken,/,
    ],
    [
      'bindrequest (for bindRequest), grouped form',
      { ...grouped, bindrequest: false },
      /^bindrequest is not an option of verifyIdentity \(it takes .*bindRequest,.*keys, replay, sessions, policy\)/,
    ],
    [
      'replay in the flat form',
      { ...flat, replay: { store: new MemoryStore() } },
      /^replay is not an option of verifyIdentity: replay: \{ store \} is the grouped form, which needs keys/,
    ],
    [
      'sessions.ttl (for ttlSeconds)',
      { ...grouped, sessions: { store: new MemoryStore(), ttl: 3 } },
      /^sessions\.ttl is not an option of verifyIdentity sessions \(it takes store, ttlSeconds, maxPerUser\)/,
    ],
    [
      'contextforge.trustUnsigned (for trustUnsignedFields)',
      { ...grouped, contextforge: { secret, trustUnsigned: true } },
      /^contextforge\.trustUnsigned is not an option of verifyIdentity contextforge \(it takes secret, trustUnsignedFields\)/,
    ],
    [
      'jwks.timeout (for timeoutMs), flat form',
      { audience: 'urn:mcp:files', issuer: 'https://gateway.example', jwksUrl: 'https://gateway.example/jwks.json', jwks: { timeout: 5 } },
      /^jwks\.timeout is not an option of verifyIdentity jwks \(it takes timeoutMs, cooldownMs, maxAgeMs, fetch\)/,
    ],
    [
      'a secret entry with id (for kid)',
      { ...grouped, keys: { secrets: [{ secret, id: 'k1' }] } },
      /^keys\.secrets\[0\]\.id is not an option of keys\.secrets\[0\] \(it takes secret, kid\)/,
    ],
  ])('throws a TypeError at start-up for %s', (_case, options, message) => {
    expect(() => verifyIdentity(options as never)).toThrow(TypeError);
    expect(() => verifyIdentity(options as never)).toThrow(message);
  });

  it('takes every documented option in both forms, and a key set to undefined as one left unset', () => {
    const store = new MemoryStore();
    expect(() =>
      verifyIdentity({ ...flat, requireDelegatedToken: true, replayStore: store, sessions: { store, ttlSeconds: 60 } }),
    ).not.toThrow();
    expect(() =>
      verifyIdentity({ ...grouped, bindRequest: true, replay: { store }, sessions: { store, maxPerUser: 3 }, policy: undefined }),
    ).not.toThrow();
  });
});
