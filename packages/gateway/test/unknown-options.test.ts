/**
 * A misspelt option is refused at start-up, naming it: ignored, it could silently turn a check
 * off (`requiredScope` for `requiredScopes` left every scope unchecked). TypeScript only catches
 * it in object literals; options read from configuration reach these checks.
 */
import { generateKeyPairSync } from 'node:crypto';
import { Passport } from 'passport';
import {
  ApiKeyStrategy,
  authenticate,
  identityPlugin,
  jwks,
  OAuthTokenStrategy,
  propagateIdentity,
  protectedResource,
} from '../src/index.js';

const secret = 'a-test-secret-of-at-least-32-bytes!!';
const identity = { audience: 'urn:mcp:files', issuer: 'https://gateway.example', signing: { secret } };
const upstream = { ...identity, target: 'http://127.0.0.1:4000/mcp', sessionStore: false as const };
const resource = { publicUrl: 'https://mcp.example.com', path: '/mcp/notes', authorizationServers: ['https://login.example.com'] };
const exchange = {
  issuer: 'https://login.example.com/realms/mcp',
  clientAuth: { method: 'client_secret_basic', clientId: 'mcp-gateway', clientSecret: 'secret' },
  audience: 'urn:example:tickets',
};
const strategy = { issuers: [{ issuer: 'https://login.example.com' }], audience: ['https://mcp.example.com/mcp/notes'] };
const passport = new Passport();
passport.use(new ApiKeyStrategy({ verify: () => false }));
const eddsa = {
  alg: 'EdDSA' as const,
  privateKey: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
};
const introspection = { endpoint: 'https://login.example.com/introspect', clientId: 'gateway', clientSecret: 's3cret' };

describe('options a constructor does not take', () => {
  it.each<[string, () => unknown, RegExp]>([
    [
      'protectedResource with requiredScope (for requiredScopes)',
      () => protectedResource({ ...resource, requiredScope: ['notes:read'] } as never),
      /^requiredScope is not an option of protectedResource \(it takes publicUrl, .*requiredScopes/,
    ],
    [
      'propagateIdentity with polcy (for policy)',
      () => propagateIdentity({ ...upstream, polcy: { rules: [] } } as never),
      /^polcy is not an option of propagateIdentity \(it takes .*policy/,
    ],
    [
      'identityPlugin with carrier (for carriers)',
      () => identityPlugin({ ...identity, carrier: ['meta'] } as never),
      /^carrier is not an option of identityPlugin \(it takes .*carriers/,
    ],
    [
      'tokenExchange with scopes (for scope)',
      () => propagateIdentity({ ...upstream, tokenExchange: { ...exchange, scopes: ['tickets'] } } as never),
      /^tokenExchange\.scopes is not an option of tokenExchange \(it takes .*scope,/,
    ],
    [
      'tokenExchange.cache with maxEntry (for maxEntries)',
      () => propagateIdentity({ ...upstream, tokenExchange: { ...exchange, cache: { maxEntry: 3 } } } as never),
      /^tokenExchange\.cache\.maxEntry is not an option of tokenExchange\.cache \(it takes maxEntries/,
    ],
    [
      'OAuthTokenStrategy with algorithm (for algorithms)',
      () => new OAuthTokenStrategy({ ...strategy, algorithm: ['RS256'] } as never),
      /^algorithm is not an option of OAuthTokenStrategy \(it takes .*algorithms/,
    ],
    [
      'OAuthTokenStrategy introspection with cacheTtl (for cacheTtlSeconds)',
      () => new OAuthTokenStrategy({ ...strategy, introspection: { ...introspection, cacheTtl: 5 } } as never),
      /^introspection\.cacheTtl is not an option of OAuthTokenStrategy introspection \(it takes .*cacheTtlSeconds/,
    ],
    [
      'authenticate with reaml (for realm)',
      () => authenticate(['api-key'], { passport, reaml: 'mcp' } as never),
      /^reaml is not an option of authenticate \(it takes passport, realm/,
    ],
    [
      'authenticate delegation with headr (for header)',
      () => authenticate(['api-key'], { passport, delegation: { allowedActors: ['svc'], headr: 'x-on-behalf-of' } } as never),
      /^delegation\.headr is not an option of authenticate delegation \(it takes header, allowedActors, resolveSubject\)/,
    ],
    [
      'jwks with maxAge (for maxAgeSeconds)',
      () => jwks(eddsa, { maxAge: 60 } as never),
      /^maxAge is not an option of jwks \(it takes maxAgeSeconds\)/,
    ],
    [
      'ApiKeyStrategy with headerName (for header)',
      () => new ApiKeyStrategy({ verify: () => false, headerName: 'x-key' } as never),
      /^headerName is not an option of ApiKeyStrategy \(it takes header, verify\)/,
    ],
  ])('throws a TypeError at start-up for %s', (_case, construct, message) => {
    expect(construct).toThrow(TypeError);
    expect(construct).toThrow(message);
  });

  it.each(['policy', 'tokenExchange', 'listResponseLimit', 'target', 'audit'])(
    'tells identityPlugin given %s (which only propagateIdentity applies) where it belongs instead of ignoring it',
    (key) => {
      expect(() => identityPlugin({ ...identity, [key]: {} })).toThrow(
        new TypeError(
          `${key} is not an option of identityPlugin: a plugin in your own proxy cannot apply it; use propagateIdentity or createGateway().upstream`,
        ),
      );
    },
  );

  it('takes every documented option, and a key set to undefined as one left unset', () => {
    expect(() => protectedResource({ ...resource, requiredScopes: ['notes:read'], resourceName: 'Notes', path: undefined })).not.toThrow();
    expect(() =>
      propagateIdentity({ ...upstream, policy: undefined, tokenExchange: { ...exchange, cache: { maxEntries: 3 } } } as never),
    ).not.toThrow();
    expect(
      () => new OAuthTokenStrategy({ ...strategy, algorithms: ['RS256'], introspection: { ...introspection, cacheTtlSeconds: 5 } }),
    ).not.toThrow();
    expect(() =>
      authenticate(['api-key'], { passport, realm: 'mcp', delegation: { allowedActors: ['svc'], header: 'x-on-behalf-of' } }),
    ).not.toThrow();
    expect(() => jwks(eddsa, { maxAgeSeconds: 60 })).not.toThrow();
    expect(() => new ApiKeyStrategy({ verify: () => false, header: 'x-key' })).not.toThrow();
  });
});
