import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  IdentityError,
  limits,
  normalizeUserContext,
  selectUserFields,
  userContextFields,
  userContextSchema,
  userToClaims,
  userToHeaders,
} from '../src/internal.js';
import { thrownBy } from './fixtures.js';

const list = (n: number): string[] => Array.from({ length: n }, (_, i) => `v${i}`);

describe('normalizeUserContext', () => {
  it('fills empty lists, defaults isAdmin to false and authMethod to "unknown"', () => {
    expect(normalizeUserContext({ id: 'u-1' })).toStrictEqual({
      id: 'u-1',
      groups: [],
      teams: [],
      roles: [],
      isAdmin: false,
      authMethod: 'unknown',
    });
  });

  it('keeps every known field of a full user', () => {
    const input = {
      id: 'José',
      email: 'jose@example.com',
      name: 'José Ñúñez',
      groups: ['eng,ops', 'équipe-🚀'],
      teams: ['core'],
      roles: ['reader'],
      isAdmin: true,
      authMethod: 'sso',
      serviceAccount: 'agent-2',
      delegationChain: ['agent-1', 'agent-2'],
      issuer: 'https://idp.example',
      attributes: { department: 'R&D', empty: '' },
    };
    expect(normalizeUserContext(input)).toEqual(input);
  });

  it('treats null, undefined and empty optional strings as absent', () => {
    const user = normalizeUserContext({ id: 'u', email: null, name: '', issuer: undefined, groups: null, attributes: null });
    expect(Object.keys(user).sort()).toEqual(['authMethod', 'groups', 'id', 'isAdmin', 'roles', 'teams']);
    expect(user.groups).toEqual([]);
  });

  it('drops unknown fields', () => {
    const user = normalizeUserContext({ id: 'u', password: 'hunter2', sub: 'other', admin: true, is_admin: true });
    expect(user).toStrictEqual({ id: 'u', groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'unknown' });
  });

  it('accepts a null-prototype object', () => {
    const input = Object.assign(Object.create(null) as Record<string, unknown>, { id: 'u', groups: ['g'] });
    expect(normalizeUserContext(input).groups).toEqual(['g']);
  });

  it('reads own properties only, so an inherited isAdmin or roles (a polluted prototype) grants nothing', () => {
    const input = Object.create({ isAdmin: true, roles: ['admin'], email: 'x@y' }, { id: { value: 'u', enumerable: true } }) as Record<
      string,
      unknown
    >;
    const user = normalizeUserContext(input);
    expect(user.isAdmin).toBe(false);
    expect(user.roles).toEqual([]);
    expect(Object.keys(user)).not.toContain('email');
    expect(user.email).toBeUndefined();
  });

  it('grants nothing from a polluted Object.prototype, to the user or to anything read from it', () => {
    const polluted = Object.prototype as Record<string, unknown>;
    const planted = {
      isAdmin: true,
      groups: ['root'],
      email: 'ceo@corp.example',
      serviceAccount: 'svc-root',
      delegationChain: ['svc-root'],
      scopes: ['admin:write'],
      clientId: 'evil',
      resource: 'https://evil.example',
      issuer: 'https://evil.example',
      attributes: { tier: 'gold' },
    };
    Object.assign(polluted, planted);
    try {
      const user = normalizeUserContext({ id: 'u' });
      expect(user.isAdmin).toBe(false);
      expect(user.groups).toEqual([]);
      for (const field of ['email', 'serviceAccount', 'delegationChain', 'scopes', 'clientId', 'resource', 'issuer', 'attributes'] as const)
        expect(user[field]).toBeUndefined();
      const visible = selectUserFields(user, new Set(userContextFields), () => false);
      expect(visible.scopes).toBeUndefined();
      expect({ ...userToClaims(visible) }).toEqual({ sub: 'u', auth_method: 'unknown' });
      expect(Object.keys(userToHeaders(visible, 'x-forwarded-user')).sort()).toEqual([
        'x-forwarded-user-admin',
        'x-forwarded-user-auth-method',
        'x-forwarded-user-id',
      ]);
    } finally {
      for (const name of Object.keys(planted)) Reflect.deleteProperty(polluted, name);
    }
  });

  it('drops an empty attributes object', () => {
    expect(Object.keys(normalizeUserContext({ id: 'u', attributes: {} }))).not.toContain('attributes');
  });

  it('keeps an attribute named __proto__ as data', () => {
    const user = normalizeUserContext(JSON.parse('{"id":"u","attributes":{"__proto__":"x","team":"y"}}'));
    expect(Object.hasOwn(user.attributes!, '__proto__')).toBe(true);
    expect(user.attributes!.__proto__).toBe('x');
    expect(Object.getPrototypeOf(user.attributes)).toBeNull();
    expect(({} as Record<string, unknown>).team).toBeUndefined();
  });

  describe('serviceAccount and delegationChain', () => {
    it('makes a lone serviceAccount a one-entry delegation chain', () => {
      const user = normalizeUserContext({ id: 'u', serviceAccount: 'bot' });
      expect(user.delegationChain).toEqual(['bot']);
      expect(user.serviceAccount).toBe('bot');
    });

    it('makes a lone serviceAccount with an empty chain a one-entry chain', () => {
      expect(normalizeUserContext({ id: 'u', serviceAccount: 'bot', delegationChain: [] }).delegationChain).toEqual(['bot']);
    });

    it('takes the last entry of the chain as serviceAccount', () => {
      expect(normalizeUserContext({ id: 'u', delegationChain: ['first', 'current'] }).serviceAccount).toBe('current');
    });

    it('accepts a serviceAccount equal to the last entry', () => {
      const user = normalizeUserContext({ id: 'u', serviceAccount: 'current', delegationChain: ['first', 'current'] });
      expect(user.delegationChain).toEqual(['first', 'current']);
    });

    it('refuses a serviceAccount that is not the last entry', () => {
      const error = thrownBy(() => normalizeUserContext({ id: 'u', serviceAccount: 'first', delegationChain: ['first', 'current'] }));
      expect(error).toMatchObject({ code: 'user_context_invalid', message: expect.stringMatching(/serviceAccount/) });
    });

    it('omits both for an empty chain', () => {
      const user = normalizeUserContext({ id: 'u', delegationChain: [] });
      expect(Object.keys(user)).not.toContain('delegationChain');
      expect(Object.keys(user)).not.toContain('serviceAccount');
    });
  });

  describe('immutability', () => {
    it('returns a frozen object with frozen lists and attributes', () => {
      const user = normalizeUserContext({ id: 'u', groups: ['g'], delegationChain: ['a'], attributes: { k: 'v' } });
      expect(Object.isFrozen(user)).toBe(true);
      expect(Object.isFrozen(user.groups)).toBe(true);
      expect(Object.isFrozen(user.teams)).toBe(true);
      expect(Object.isFrozen(user.delegationChain)).toBe(true);
      expect(Object.isFrozen(user.attributes)).toBe(true);
      expect(() => {
        (user as { id: string }).id = 'admin';
      }).toThrow(TypeError);
      expect(() => (user.groups as string[]).push('admins')).toThrow(TypeError);
      expect(() => (user.roles as string[]).push('admin')).toThrow(TypeError);
      expect(normalizeUserContext({ id: 'other' }).roles).toEqual([]);
    });

    it('copies the input: later changes to it do not reach the user', () => {
      const input = { id: 'u', groups: ['g'], attributes: { k: 'v' } };
      const user = normalizeUserContext(input);
      input.groups.push('admins');
      input.attributes.k = 'changed';
      expect(user.groups).toEqual(['g']);
      expect(user.attributes).toEqual({ k: 'v' });
    });

    it('returns an already normalized user as is', () => {
      const user = normalizeUserContext({ id: 'u' });
      expect(normalizeUserContext(user)).toBe(user);
    });

    it('validates a frozen look-alike that it did not produce', () => {
      const lookalike = Object.freeze({ id: '', groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'jwt' });
      expect(thrownBy(() => normalizeUserContext(lookalike))).toMatchObject({ code: 'user_context_invalid' });
    });
  });

  describe('limits', () => {
    it.each([
      ['id at the string limit', { id: 'x'.repeat(limits.maxStringLength) }],
      ['groups at the list limit', { id: 'u', groups: list(limits.maxListLength) }],
      ['a delegation chain at the depth limit', { id: 'u', delegationChain: list(limits.maxDelegationDepth) }],
      ['attributes at the count limit', { id: 'u', attributes: Object.fromEntries(list(limits.maxAttributes).map((k) => [k, k])) }],
      ['an attribute name at the length limit', { id: 'u', attributes: { ['k'.repeat(limits.maxAttributeNameLength)]: 'v' } }],
      ['authMethod of 64 characters', { id: 'u', authMethod: 'm'.repeat(64) }],
      ['authMethod with every allowed punctuation', { id: 'u', authMethod: 'oidc:corp_sso.v2-x' }],
    ])('accepts %s', (_label, input) => {
      expect(() => normalizeUserContext(input)).not.toThrow();
    });
  });

  it.each<[string, unknown, RegExp]>([
    ['null', null, /not an object/],
    ['undefined', undefined, /not an object/],
    ['a string', 'u-1', /not an object/],
    ['an array', [{ id: 'u' }], /not an object/],
    ['no id', {}, /\bid\b/],
    ['an explicit undefined id', { id: undefined }, /\bid\b/],
    ['an empty id', { id: '' }, /\bid\b/],
    ['a numeric id', { id: 42 }, /\bid\b/],
    ['an id over the limit', { id: 'x'.repeat(limits.maxStringLength + 1) }, /\bid\b/],
    ['an id with a lone surrogate', { id: 'a\uD800' }, /\bid\b/],
    ['an authMethod with a space', { id: 'u', authMethod: 'single sign on' }, /authMethod/],
    ['an authMethod of 65 characters', { id: 'u', authMethod: 'm'.repeat(65) }, /authMethod/],
    ['an empty authMethod', { id: 'u', authMethod: '' }, /authMethod/],
    ['a numeric authMethod', { id: 'u', authMethod: 1 }, /authMethod/],
    ['an isAdmin string', { id: 'u', isAdmin: 'true' }, /isAdmin/],
    ['an isAdmin number', { id: 'u', isAdmin: 1 }, /isAdmin/],
    ['an isAdmin null', { id: 'u', isAdmin: null }, /isAdmin/],
    ['groups as a string', { id: 'u', groups: 'eng' }, /groups/],
    ['groups with a number', { id: 'u', groups: ['eng', 1] }, /groups\[1\]/],
    ['groups with an empty entry', { id: 'u', groups: [''] }, /groups\[0\]/],
    ['teams as an object', { id: 'u', teams: { 0: 'a' } }, /teams/],
    ['roles with null', { id: 'u', roles: [null] }, /roles\[0\]/],
    ['a delegation chain entry that is empty', { id: 'u', delegationChain: ['a', ''] }, /delegationChain\[1\]/],
    ['a numeric serviceAccount', { id: 'u', serviceAccount: 5 }, /serviceAccount/],
    ['a numeric email', { id: 'u', email: 5 }, /email/],
    ['an object name', { id: 'u', name: {} }, /name/],
    ['an array issuer', { id: 'u', issuer: [] }, /issuer/],
    ['an email over the limit', { id: 'u', email: 'e'.repeat(limits.maxStringLength + 1) }, /email/],
    ['attributes as a string', { id: 'u', attributes: 'k=v' }, /attributes/],
    ['attributes as an array', { id: 'u', attributes: ['v'] }, /attributes/],
    ['a numeric attribute value', { id: 'u', attributes: { level: 3 } }, /attributes\.level/],
    ['an attribute value over the limit', { id: 'u', attributes: { k: 'v'.repeat(limits.maxStringLength + 1) } }, /attributes\.k/],
    ['an empty attribute name', { id: 'u', attributes: { '': 'v' } }, /attribute names/],
    [
      'an attribute name over the limit',
      { id: 'u', attributes: { ['k'.repeat(limits.maxAttributeNameLength + 1)]: 'v' } },
      /attribute names/,
    ],
    ['too many attributes', { id: 'u', attributes: Object.fromEntries(list(limits.maxAttributes + 1).map((k) => [k, k])) }, /attributes/],
  ])('refuses %s with user_context_invalid naming the field', (_label, input, field) => {
    const error = thrownBy(() => normalizeUserContext(input));
    expect(error).toBeInstanceOf(IdentityError);
    expect(error).toMatchObject({ code: 'user_context_invalid', status: 500, message: expect.stringMatching(field) });
  });

  it.each<[string, unknown, RegExp]>([
    ['groups over the list limit', { id: 'u', groups: list(limits.maxListLength + 1) }, /^groups has more than 256 entries$/],
    ['a delegation chain over the depth limit', { id: 'u', delegationChain: list(limits.maxDelegationDepth + 1) }, /delegationChain/],
  ])('refuses %s with 403 claims_limit_exceeded naming the field', (_label, input, field) => {
    const error = thrownBy(() => normalizeUserContext(input));
    expect(error).toBeInstanceOf(IdentityError);
    expect(error).toMatchObject({ code: 'claims_limit_exceeded', status: 403, message: expect.stringMatching(field) });
  });
});

describe('userContextSchema', () => {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const validate = ajv.compile(userContextSchema);

  it('compiles under ajv strict mode, so ajv defaults log no warning', () => {
    expect(() => new Ajv2020({ strict: true }).compile(userContextSchema)).not.toThrow();
  });

  it.each([
    ['a minimal user', { id: 'u' }],
    [
      'a full user',
      {
        id: 'José',
        email: 'j@example.com',
        name: 'José',
        groups: ['eng,ops'],
        teams: ['t'],
        roles: ['r'],
        isAdmin: true,
        authMethod: 'sso',
        delegationChain: ['a', 'b'],
        issuer: 'https://idp.example',
        attributes: { k: 'v', empty: '' },
      },
    ],
    ['a service account user', { id: 'u', serviceAccount: 'bot', authMethod: 'api_key' }],
    [
      'a user with lists at their limits',
      { id: 'u', groups: list(limits.maxListLength), delegationChain: list(limits.maxDelegationDepth) },
    ],
  ])('accepts %s after normalization, and after a JSON round trip', (_label, input) => {
    const user = normalizeUserContext(input);
    expect(validate(user)).toBe(true);
    expect(validate(JSON.parse(JSON.stringify(user)))).toBe(true);
  });

  it.each([
    ['a missing groups list', { id: 'u', teams: [], roles: [], isAdmin: false, authMethod: 'jwt' }],
    ['isAdmin as a string', { id: 'u', groups: [], teams: [], roles: [], isAdmin: 'false', authMethod: 'jwt' }],
    ['an unknown field', { id: 'u', groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'jwt', password: 'x' }],
    ['an empty id', { id: '', groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'jwt' }],
    ['an empty email', { id: 'u', email: '', groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'jwt' }],
    ['an empty group', { id: 'u', groups: [''], teams: [], roles: [], isAdmin: false, authMethod: 'jwt' }],
    ['null lists', { id: 'u', groups: null, teams: [], roles: [], isAdmin: false, authMethod: 'jwt' }],
    ['an authMethod with a space', { id: 'u', groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'a b' }],
    ['an empty delegation chain', { id: 'u', groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'jwt', delegationChain: [] }],
    [
      'a chain over the depth limit',
      {
        id: 'u',
        groups: [],
        teams: [],
        roles: [],
        isAdmin: false,
        authMethod: 'jwt',
        delegationChain: list(limits.maxDelegationDepth + 1),
      },
    ],
    ['a numeric attribute', { id: 'u', groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'jwt', attributes: { k: 1 } }],
    ['an empty attribute name', { id: 'u', groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'jwt', attributes: { '': 'v' } }],
  ])('rejects %s', (_label, value) => {
    expect(validate(value)).toBe(false);
  });

  it('rejects, like normalization, an id over the string limit', () => {
    const id = 'x'.repeat(limits.maxStringLength + 1);
    expect(validate({ id, groups: [], teams: [], roles: [], isAdmin: false, authMethod: 'jwt' })).toBe(false);
    expect(thrownBy(() => normalizeUserContext({ id }))).toMatchObject({ code: 'user_context_invalid' });
  });
});
