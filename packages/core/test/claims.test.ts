import {
  actorToChain,
  chainToActor,
  claimsToUser,
  defaultSensitiveAttributes,
  IdentityError,
  limits,
  normalizeUserContext,
  parseFieldList,
  selectUserFields,
  sensitiveAttributeMatcher,
  userContextFields,
  userToClaims,
} from '../src/internal.js';
import type { UserContextField } from '../src/internal.js';
import { messageOf, thrownBy } from './fixtures.js';

const fullUser = normalizeUserContext({
  id: 'user-42',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  groups: ['eng,ops', 'équipe-🚀'],
  teams: ['core'],
  roles: ['reader', 'writer'],
  isAdmin: true,
  authMethod: 'sso',
  delegationChain: ['agent-1', 'agent-2', 'agent-3'],
  issuer: 'https://idp.example',
  attributes: { department: 'R&D', password_hint: 'first pet', 'X-Api-Key': 'k', cost_center: '42' },
});

describe('the OAuth claims', () => {
  it('writes scopes as a space-separated scope, clientId as client_id and resource as resource, and reads them back', () => {
    const user = normalizeUserContext({
      id: 'u',
      authMethod: 'oauth',
      scopes: ['notes:read', 'profile'],
      clientId: 'c-1',
      resource: 'https://mcp.example/mcp',
    });
    const claims = userToClaims(user);
    expect(claims).toMatchObject({ scope: 'notes:read profile', client_id: 'c-1', resource: 'https://mcp.example/mcp' });
    expect(claimsToUser({ ...claims })).toEqual(user);
  });

  it('refuses a scope claim that is not a string', () => {
    expect(() => claimsToUser({ sub: 'u', auth_method: 'oauth', scope: ['a'] })).toThrow(
      expect.objectContaining({ code: 'identity_invalid' }),
    );
  });

  it('refuses a scope with a quote, which would break a challenge', () => {
    expect(() => normalizeUserContext({ id: 'u', scopes: ['a"b'] })).toThrow(/scopes/);
  });

  it('keeps the OAuth fields only when the allow-list names them', () => {
    const user = normalizeUserContext({ id: 'u', authMethod: 'oauth', scopes: ['s'], clientId: 'c', resource: 'https://r.example' });
    const isSensitive = sensitiveAttributeMatcher(defaultSensitiveAttributes);
    expect(Object.keys(selectUserFields(user, new Set<UserContextField>(['email']), isSensitive))).not.toContain('scopes');
    expect(selectUserFields(user, new Set<UserContextField>(['scopes', 'clientId', 'resource']), isSensitive)).toMatchObject({
      scopes: ['s'],
      clientId: 'c',
      resource: 'https://r.example',
    });
  });
});

describe('userToClaims', () => {
  it('writes every field under its claim name, the chain as nested act with the current actor outermost', () => {
    expect(userToClaims(fullUser)).toEqual({
      sub: 'user-42',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      groups: ['eng,ops', 'équipe-🚀'],
      teams: ['core'],
      roles: ['reader', 'writer'],
      admin: true,
      auth_method: 'sso',
      act: { sub: 'agent-3', act: { sub: 'agent-2', act: { sub: 'agent-1' } } },
      idp: 'https://idp.example',
      attrs: { department: 'R&D', password_hint: 'first pet', 'X-Api-Key': 'k', cost_center: '42' },
    });
  });

  it('omits empty lists, a false admin and absent fields', () => {
    expect(userToClaims(normalizeUserContext({ id: 'u', authMethod: 'basic' }))).toStrictEqual({ sub: 'u', auth_method: 'basic' });
  });

  it('writes a lone service account as a single act', () => {
    expect(userToClaims(normalizeUserContext({ id: 'u', serviceAccount: 'bot' })).act).toStrictEqual({ sub: 'bot' });
  });
});

describe('claimsToUser', () => {
  it.each([
    ['a full user', fullUser],
    ['a minimal user', normalizeUserContext({ id: 'u', authMethod: 'jwt' })],
    ['a service account', normalizeUserContext({ id: 'u', serviceAccount: 'bot', authMethod: 'api_key' })],
    ['a chain at the depth limit', normalizeUserContext({ id: 'u', delegationChain: Array.from({ length: 16 }, (_, i) => `a${i}`) })],
  ])('reads back %s written by userToClaims, also after a JSON round trip', (_label, user) => {
    expect(claimsToUser({ ...userToClaims(user) })).toEqual(user);
    expect(claimsToUser(JSON.parse(JSON.stringify(userToClaims(user))))).toEqual(user);
  });

  it('reads the RFC 8693 section 4.1 example: the outermost act is the current actor', () => {
    const user = claimsToUser({
      sub: 'user@example.com',
      auth_method: 'jwt',
      act: { sub: 'https://service16.example.com', act: { sub: 'https://service77.example.com' } },
    });
    expect(user.delegationChain).toEqual(['https://service77.example.com', 'https://service16.example.com']);
    expect(user.serviceAccount).toBe('https://service16.example.com');
  });

  it('ignores other members of an act claim', () => {
    const user = claimsToUser({ sub: 'u', auth_method: 'jwt', act: { sub: 'bot', iss: 'https://other.example', client_id: 'x' } });
    expect(user.delegationChain).toEqual(['bot']);
  });

  it('returns a frozen, normalized user and drops unknown claims', () => {
    const user = claimsToUser({ sub: 'u', auth_method: 'jwt', iss: 'x', permissions: 'admin', is_admin: true });
    expect(Object.isFrozen(user)).toBe(true);
    expect(user).toStrictEqual({ id: 'u', groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'jwt' });
  });

  const nest = (depth: number): unknown =>
    Array.from({ length: depth }, (_, i) => `a${i}`).reduce<unknown>((act, sub) => ({ sub, act }), undefined);

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['act null', { act: null }, /act/],
    ['act as a string', { act: 'bot' }, /act/],
    ['act as an array', { act: [{ sub: 'bot' }] }, /act/],
    ['act without sub', { act: {} }, /act/],
    ['act with a numeric sub', { act: { sub: 7 } }, /act/],
    ['a nested act that is a string', { act: { sub: 'a', act: 'b' } }, /act/],
    ['a nested act that is null', { act: { sub: 'a', act: null } }, /act/],
    [`act nested ${limits.maxDelegationDepth + 1} deep`, { act: nest(limits.maxDelegationDepth + 1) }, /act/],
    ['act with an empty sub', { act: { sub: '' } }, /valid user/],
    ['admin as a string', { admin: 'true' }, /admin/],
    ['admin as 1', { admin: 1 }, /admin/],
    ['no auth_method', { auth_method: undefined }, /auth_method/],
    ['a numeric auth_method', { auth_method: 3 }, /auth_method/],
    ['no sub', { sub: undefined }, /valid user/],
    ['a numeric sub', { sub: 42 }, /valid user/],
    ['groups as a string', { groups: 'eng' }, /valid user/],
    ['an empty group', { groups: [''] }, /valid user/],
    ['attrs with a number', { attrs: { level: 3 } }, /valid user/],
  ])('refuses %s with identity_invalid', (_label, override, message) => {
    const error = thrownBy(() => claimsToUser({ sub: 'u', auth_method: 'jwt', ...override }));
    expect(error).toBeInstanceOf(IdentityError);
    expect(error).toMatchObject({ code: 'identity_invalid', status: 401, message: expect.stringMatching(message) });
  });

  it('keeps the normalization error as cause', () => {
    const error = thrownBy(() => claimsToUser({ sub: '', auth_method: 'jwt' }));
    expect((error as IdentityError).cause).toMatchObject({ code: 'user_context_invalid' });
  });

  it('keeps an attrs member named __proto__ as data without touching Object.prototype', () => {
    const user = claimsToUser(JSON.parse('{"sub":"u","auth_method":"jwt","attrs":{"__proto__":"yes","isAdmin":"true"}}'));
    expect(Object.entries(user.attributes!)).toEqual([
      ['__proto__', 'yes'],
      ['isAdmin', 'true'],
    ]);
    expect(user.isAdmin).toBe(false);
    expect(Object.hasOwn(Object.prototype, 'isAdmin')).toBe(false);
  });
});

describe('claimsToUser with a polluted Object.prototype', () => {
  it('reads only the claims the assertion has: an inherited admin, groups, roles or act grants nothing', () => {
    const polluted = Object.prototype as Record<string, unknown>;
    const planted = { admin: true, groups: ['root'], roles: ['admin'], act: { sub: 'svc-root' }, idp: 'https://evil.example' };
    Object.assign(polluted, planted);
    try {
      const user = claimsToUser(JSON.parse('{"sub":"u","auth_method":"jwt","act":{"sub":"agent"}}') as Record<string, unknown>);
      expect(user.isAdmin).toBe(false);
      expect(user.groups).toEqual([]);
      expect(user.roles).toEqual([]);
      expect(user.delegationChain).toEqual(['agent']);
      expect(Object.hasOwn(user, 'issuer')).toBe(false);
    } finally {
      for (const name of Object.keys(planted)) Reflect.deleteProperty(polluted, name);
    }
  });
});

describe('chainToActor / actorToChain', () => {
  it('nests earliest first into a chain whose outermost act is the last entry', () => {
    expect(chainToActor(['first', 'second'])).toStrictEqual({ sub: 'second', act: { sub: 'first' } });
  });

  it('flattens back earliest first', () => {
    expect(actorToChain({ sub: 'second', act: { sub: 'first' } })).toEqual(['first', 'second']);
  });

  it('refuses an empty chain', () => {
    expect(() => chainToActor([])).toThrow(TypeError);
  });

  it.each([
    ['the depth limit', limits.maxDelegationDepth],
    ['one', 1],
  ])('round-trips a chain at %s', (_label, depth) => {
    const chain = Array.from({ length: depth }, (_, i) => `actor-${i}`);
    expect(actorToChain(chainToActor(chain))).toEqual(chain);
  });

  it('refuses a chain one deeper than the limit', () => {
    const chain = Array.from({ length: limits.maxDelegationDepth + 1 }, (_, i) => `actor-${i}`);
    expect(actorToChain(chainToActor(chain))).toBeUndefined();
  });

  it('stops at a self-referencing act instead of looping', () => {
    const act: { sub: string; act?: unknown } = { sub: 'loop' };
    act.act = act;
    expect(actorToChain(act)).toBeUndefined();
  });
});

describe('selectUserFields', () => {
  const isSensitive = sensitiveAttributeMatcher(defaultSensitiveAttributes);

  it('keeps id, authMethod and delegation even with no field allowed', () => {
    expect(selectUserFields(fullUser, new Set(), isSensitive)).toStrictEqual({
      id: 'user-42',
      groups: [],
      teams: [],
      roles: [],
      isAdmin: false,
      authMethod: 'sso',
      delegationChain: ['agent-1', 'agent-2', 'agent-3'],
      serviceAccount: 'agent-3',
    });
  });

  it('keeps exactly the allowed fields', () => {
    const selected = selectUserFields(fullUser, new Set<UserContextField>(['email', 'roles']), isSensitive);
    expect(selected.email).toBe('ada@example.com');
    expect(selected.roles).toEqual(['reader', 'writer']);
    expect(selected.groups).toEqual([]);
    expect(selected.isAdmin).toBe(false);
    expect(Object.keys(selected)).not.toContain('name');
    expect(Object.keys(selected)).not.toContain('issuer');
    expect(Object.keys(selected)).not.toContain('attributes');
  });

  it('drops sensitive attribute names by default, case-insensitively', () => {
    const selected = selectUserFields(fullUser, parseFieldList(undefined, 'claims'), isSensitive);
    expect({ ...selected.attributes }).toStrictEqual({ department: 'R&D', cost_center: '42' });
  });

  it.each([
    'password',
    'PASSWD_old',
    'client_secret',
    'refreshToken',
    'aws_credentials',
    'APIKEY',
    'my_api_key',
    'x-api-key',
    'private_email',
    'Cookie',
    'session_id',
    'SSN',
  ])('treats %s as sensitive by default', (name) => {
    expect(isSensitive(name)).toBe(true);
  });

  it.each(['department', 'team', 'locale', 'cost_center'])('does not treat %s as sensitive by default', (name) => {
    expect(isSensitive(name)).toBe(false);
  });

  it('honours a custom deny-list of words and patterns', () => {
    const custom = sensitiveAttributeMatcher(['Salary', /^x-/i]);
    expect(custom('base_salary')).toBe(true);
    expect(custom('X-Internal')).toBe(true);
    expect(custom('prefix-x-internal')).toBe(false);
    expect(custom('password')).toBe(false);
  });

  it('omits attributes when every name is sensitive', () => {
    const user = normalizeUserContext({ id: 'u', attributes: { password: 'p', token: 't' } });
    expect(Object.keys(selectUserFields(user, new Set<UserContextField>(['attributes']), isSensitive))).not.toContain('attributes');
  });

  it('returns a frozen user that normalizes to itself', () => {
    const selected = selectUserFields(fullUser, parseFieldList(undefined, 'claims'), isSensitive);
    expect(Object.isFrozen(selected)).toBe(true);
    expect(Object.isFrozen(selected.attributes)).toBe(true);
    expect(normalizeUserContext(selected)).toEqual(selected);
  });

  it('returns frozen empty lists for the fields it leaves out', () => {
    const selected = selectUserFields(fullUser, new Set(), isSensitive);
    expect(() => (selected.roles as string[]).push('admin')).toThrow(TypeError);
  });
});

describe('parseFieldList', () => {
  it('allows every field when the option is undefined', () => {
    expect([...parseFieldList(undefined, 'claims')]).toEqual([...userContextFields]);
  });

  it('returns the listed fields', () => {
    expect([...parseFieldList(['email', 'groups'], 'claims')].sort()).toEqual(['email', 'groups']);
  });

  it('accepts an empty list', () => {
    expect(parseFieldList([], 'claims').size).toBe(0);
  });

  it.each<[string, unknown, RegExp]>([
    ['a string', 'email', /must be an array/],
    ['null', null, /must be an array/],
    ['a Set', new Set(['email']), /must be an array/],
    ['an unknown field', ['email', 'password'], /unknown field "password"/],
    ['a mixed-case field', ['Email'], /unknown field "Email"/],
    ['a number', [42], /unknown field "42"/],
    ['id', ['id'], /"id" is always sent/],
    ['authMethod', ['authMethod'], /"authMethod" is always sent/],
    ['serviceAccount', ['serviceAccount'], /always sent/],
    ['delegationChain', ['delegationChain'], /always sent/],
  ])('refuses %s with a TypeError naming the option', (_label, value, reason) => {
    const error = thrownBy(() => parseFieldList(value, 'upstreams[2].claims'));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^upstreams\[2\]\.claims/);
    expect((error as Error).message).toMatch(reason);
  });

  it('keeps the message short for a huge unknown field name', () => {
    expect(messageOf(() => parseFieldList(['x'.repeat(10_000)], 'claims')).length).toBeLessThan(300);
  });
});
