/**
 * A misspelt option is refused at start-up, naming it: ignored, it could silently turn a check
 * off (`requiredScope` for `requiredScopes` left every scope unchecked). TypeScript only catches
 * it in object literals; options read from configuration reach these checks.
 */
import { generateKeyPairSync } from 'node:crypto';
import { Passport } from 'passport';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiKeyStrategy,
  createGateway,
  jwtNormalizer,
  loadPolicy,
  TrustedProxyStrategy,
  userObjectNormalizer,
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
const policyDir = mkdtempSync(join(tmpdir(), 'unknown-options-'));
const policyFile = join(policyDir, 'policy.json');
writeFileSync(policyFile, JSON.stringify({ rules: [], default: 'deny' }));
const introspection = { endpoint: 'https://login.example.com/introspect', clientId: 'gateway', clientSecret: 's3cret' };

describe('options a constructor does not take', () => {
  afterAll(() => rmSync(policyDir, { recursive: true, force: true }));

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
    [
      'TrustedProxyStrategy headers.user (for headers.id): the default header would stay in use',
      () => new TrustedProxyStrategy({ trustedProxies: ['10.0.0.1'], headers: { user: 'x-auth-user' } } as never),
      /^headers\.user is not an option of TrustedProxyStrategy headers \(it takes id, email, name, groups\)/,
    ],
    [
      'TrustedProxyStrategy trustedProxy (for trustedProxies)',
      () => new TrustedProxyStrategy({ trustedProxies: ['10.0.0.1'], trustedProxy: ['10.0.0.2'] } as never),
      /^trustedProxy is not an option of TrustedProxyStrategy/,
    ],
    [
      'jwtNormalizer claims.userId (for claims.id): id would stay sub',
      () => jwtNormalizer({ claims: { userId: 'oid' } } as never),
      /^claims\.userId is not an option of jwtNormalizer claims \(it takes id, email, name, groups, teams, roles, isAdmin, issuer\)/,
    ],
    [
      'authenticate normalizers.claims.admin (for isAdmin): the default admin claims would stay in use',
      () => authenticate(['api-key'], { passport, normalizers: { claims: { admin: 'corp_admin' } } } as never),
      /^claims\.admin is not an option of authenticate normalizers claims/,
    ],
    [
      'userObjectNormalizer claims (it reads adminRoles only)',
      () => userObjectNormalizer({ claims: { id: 'uid' } } as never),
      /^claims is not an option of userObjectNormalizer \(it takes adminRoles\)/,
    ],
    [
      'an authenticate strategy spec with normaliser (for normalize)',
      () => authenticate([{ name: 'api-key', normaliser: () => ({ id: 'x' }) }] as never, { passport }),
      /^strategies\[0\]\.normaliser is not an option of authenticate strategies\[0\] \(it takes name, method, normalize\)/,
    ],
    [
      'OAuthTokenStrategy issuers[0].jwksUrl (for jwksUri): the pinned key set would give way to discovery',
      () =>
        new OAuthTokenStrategy({
          ...strategy,
          issuers: [{ issuer: 'https://login.example.com', jwksUrl: 'https://login.example.com/keys' }],
        } as never),
      /^issuers\[0\]\.jwksUrl is not an option of OAuthTokenStrategy issuers\[0\] \(it takes issuer, jwksUri\)/,
    ],
    [
      'tokenExchange.clientAuth.algorithm (for alg) with private_key_jwt',
      () =>
        propagateIdentity({
          ...upstream,
          tokenExchange: {
            ...exchange,
            clientAuth: { method: 'private_key_jwt', clientId: 'c', privateKey: eddsa.privateKey, algorithm: 'EdDSA' },
          },
        } as never),
      /^tokenExchange\.clientAuth\.algorithm is not an option of tokenExchange\.clientAuth \(it takes method, clientId, privateKey, alg, kid\)/,
    ],
    [
      'loadPolicy wach (for watch): edits to the file would never apply',
      () => loadPolicy(policyFile, { wach: true } as never),
      /^wach is not an option of loadPolicy \(it takes watch, logger, debounceMs\)/,
    ],
    [
      'a signing key with actve (for active)',
      () =>
        createGateway({
          issuer: 'https://gateway.example',
          signing: [
            { secret, kid: 'a', actve: true },
            { secret: `${secret}-2`, kid: 'b' },
          ],
        } as never),
      /^signing\[0\]\.actve is not an option of signing\[0\] \(it takes alg, secret, privateKey, kid, active\)/,
    ],
    [
      'contextforge with a second key',
      () => propagateIdentity({ ...upstream, contextforge: { secret, trustUnsignedFields: true } } as never),
      /^contextforge\.trustUnsignedFields is not an option of contextforge \(it takes secret\)/,
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
