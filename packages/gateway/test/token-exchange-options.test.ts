/**
 * `propagateIdentity`'s `tokenExchange` is validated at start-up: every mistake throws a
 * TypeError naming the option.
 */
import { generateKeyPairSync } from 'node:crypto';
import { MemoryStore, propagateIdentity } from '../src/index.js';
import type { TokenExchangeOptions } from '../src/index.js';

const base: TokenExchangeOptions = {
  issuer: 'https://login.example.com/realms/mcp',
  clientAuth: { method: 'client_secret_basic', clientId: 'mcp-gateway', clientSecret: 'secret' },
  audience: 'urn:example:tickets',
};

function build(tokenExchange: unknown): void {
  propagateIdentity({
    target: 'http://127.0.0.1:4000/mcp',
    audience: 'urn:mcp:tickets',
    issuer: 'https://gateway.example',
    signing: { secret: 'a-test-secret-of-at-least-32-bytes!!' },
    sessionStore: false,
    tokenExchange: tokenExchange as TokenExchangeOptions,
  });
}

describe('propagateIdentity tokenExchange options', () => {
  it('accepts each client authentication method', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => build(base)).not.toThrow();
    expect(() => build({ ...base, clientAuth: { method: 'client_secret_post', clientId: 'c', clientSecret: 's' } })).not.toThrow();
    expect(() => build({ ...base, clientAuth: { method: 'private_key_jwt', clientId: 'c', privateKey } })).not.toThrow();
    expect(() =>
      build({
        ...base,
        clientAuth: { method: 'private_key_jwt', clientId: 'c', privateKey: privateKey.export({ format: 'jwk' }), alg: 'ES256' },
      }),
    ).not.toThrow();
  });

  it.each([
    ['no authorization server', { ...base, issuer: undefined }, /tokenExchange\.issuer or tokenEndpoint is required/],
    ['an http issuer off loopback', { ...base, issuer: 'http://login.example.com' }, /tokenExchange\.issuer must be an https: URL/],
    ['a token endpoint that is no URL', { ...base, tokenEndpoint: 'token' }, /tokenExchange\.tokenEndpoint must be an absolute URL/],
    ['no target', { ...base, audience: undefined }, /tokenExchange\.audience or resource is required/],
    ['a resource that is no URI', { ...base, resource: 'tickets' }, /tokenExchange\.resource\[0\]/],
    ['an empty audience', { ...base, audience: [''] }, /tokenExchange\.audience\[0\]/],
    ['a scope with a space', { ...base, scope: ['a b'] }, /tokenExchange\.scope/],
    ['no clientAuth', { ...base, clientAuth: undefined }, /tokenExchange\.clientAuth is required/],
    ['an unknown method', { ...base, clientAuth: { method: 'tls_client_auth', clientId: 'c' } }, /tokenExchange\.clientAuth\.method/],
    [
      'a missing secret',
      { ...base, clientAuth: { method: 'client_secret_basic', clientId: 'c' } },
      /tokenExchange\.clientAuth\.clientSecret/,
    ],
    [
      'a public key for private_key_jwt',
      { ...base, clientAuth: { method: 'private_key_jwt', clientId: 'c', privateKey: generateKeyPairSync('ed25519').publicKey } },
      /tokenExchange\.clientAuth\.privateKey must be a private key/,
    ],
    [
      'an HMAC alg',
      {
        ...base,
        clientAuth: { method: 'private_key_jwt', clientId: 'c', privateKey: generateKeyPairSync('ed25519').privateKey, alg: 'HS256' },
      },
      /tokenExchange\.clientAuth\.alg/,
    ],
    ['a zero timeout', { ...base, timeoutMs: 0 }, /tokenExchange\.timeoutMs/],
    ['an unknown onMissingToken', { ...base, onMissingToken: 'allow' }, /tokenExchange\.onMissingToken/],
    ['a store without a key', { ...base, cache: { store: new MemoryStore() } }, /tokenExchange\.cache\.encryptionKey is required/],
    [
      'a short key',
      { ...base, cache: { store: new MemoryStore(), encryptionKey: 'abcd' } },
      /tokenExchange\.cache\.encryptionKey must be 32 bytes/,
    ],
    [
      'a key without a store',
      { ...base, cache: { encryptionKey: Buffer.alloc(32) } },
      /tokenExchange\.cache\.encryptionKey needs cache\.store/,
    ],
    ['a zero cache size', { ...base, cache: { maxEntries: 0 } }, /tokenExchange\.cache\.maxEntries/],
    ['a non-function actorToken', { ...base, actorToken: 'token' }, /tokenExchange\.actorToken/],
  ])('throws naming the option for %s', (_name, options, message) => {
    expect(() => build(options)).toThrow(TypeError);
    expect(() => build(options)).toThrow(message);
  });
});
