/**
 * What is computed once per normalized user (its claims JSON in an assertion, its identity
 * headers, its JSON and canonical JSON in a body) is what computing it each time gives, and
 * nothing is kept for a user object that could still change.
 */
import canonicalize from 'canonicalize';
import { decodeJwt } from 'jose';
import {
  canonicalJson,
  createAssertionSigner,
  identityHeadersOf,
  jsonBodyDigest,
  META_USER,
  normalizeUserContext,
  parseJsonRpcBody,
  serializeJsonRpcBody,
  setIdentityMeta,
  userToHeaders,
} from '../src/internal.js';
import type { UserContext } from '../src/internal.js';

const input = {
  id: 'alice',
  email: 'alice@example.com',
  name: 'Zoë "A" Example',
  groups: ['eng', 'ops,sre', 'équipe-🚀'],
  teams: [],
  roles: ['reader'],
  isAdmin: true,
  authMethod: 'jwt',
  attributes: { region: 'eu', 'b-key': 'x' },
  serviceAccount: 'bot',
};

const signer = createAssertionSigner({
  signing: { secret: 'user-derived tests: a 32+ byte HS256 secret 0123456789' },
  issuer: 'https://gateway.test',
  audience: 'urn:mcp:upstream',
});
const binding = { method: 'POST', path: '/mcp', bodySha256: 'x' };
const PER_ASSERTION = new Set(['v', 'iss', 'aud', 'iat', 'exp', 'jti', 'req']);
const userClaimsOf = (token: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(decodeJwt(token)).filter(([name]) => !PER_ASSERTION.has(name)));

describe('values kept with a normalized user', () => {
  it('signs the same user claims for a normalized user as for a plain copy of it, every time', () => {
    const user = normalizeUserContext(input);
    const plain = JSON.parse(JSON.stringify(user)) as UserContext;
    const first = userClaimsOf(signer.sign(user, binding).token);
    expect(userClaimsOf(signer.sign(user, binding).token)).toEqual(first);
    expect(userClaimsOf(signer.sign(plain, binding).token)).toEqual(first);
    expect(first).toMatchObject({ sub: 'alice', groups: input.groups, admin: true });
  });

  it('signs a user object that is not normalized as it is at each call (nothing kept for it)', () => {
    const plain = { ...normalizeUserContext(input), groups: ['eng'] };
    expect(userClaimsOf(signer.sign(plain, binding).token).groups).toEqual(['eng']);
    plain.groups = ['eng', 'admins'];
    expect(userClaimsOf(signer.sign(plain, binding).token).groups).toEqual(['eng', 'admins']);
  });

  it('gives the identity headers userToHeaders gives, for each prefix in turn, frozen', () => {
    const user = normalizeUserContext(input);
    for (const prefix of ['x-forwarded-user', 'x-user', 'x-forwarded-user']) {
      const headers = identityHeadersOf(user, prefix);
      expect(headers).toEqual(userToHeaders(user, prefix));
      expect(Object.isFrozen(headers)).toBe(true);
    }
    const plain = { ...user, groups: ['eng'] };
    expect(identityHeadersOf(plain, 'x-forwarded-user')['x-forwarded-user-groups']).toBe('eng');
    plain.groups = ['ops'];
    expect(identityHeadersOf(plain, 'x-forwarded-user')['x-forwarded-user-groups']).toBe('ops');
  });

  it('digests and serializes a body holding a normalized user exactly as one holding a plain copy', () => {
    const user = normalizeUserContext(input);
    const text = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","_meta":{"progressToken":7}}}';
    const withUser = (value: unknown) => {
      const rpc = parseJsonRpcBody(Buffer.from(text));
      setIdentityMeta(rpc.messages[0]!, { [META_USER]: value });
      return rpc;
    };
    const plain = JSON.parse(JSON.stringify(user)) as unknown;
    for (let i = 0; i < 2; i++) {
      const normalized = withUser(user);
      const copied = withUser(plain);
      expect(jsonBodyDigest(normalized.value)).toBe(jsonBodyDigest(copied.value));
      expect(serializeJsonRpcBody(normalized).toString()).toBe(serializeJsonRpcBody(copied).toString());
      expect(canonicalJson(normalized.value)).toBe(canonicalize(copied.value));
    }
  });
});
