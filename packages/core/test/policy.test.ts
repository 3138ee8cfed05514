import { createPolicy, normalizeUserContext } from '../src/internal.js';
import type { PolicyConfig, UserContext } from '../src/internal.js';

const user = (fields: Partial<UserContext> & { attributes?: Record<string, string> } = {}): UserContext =>
  normalizeUserContext({ id: 'alice', authMethod: 'jwt', groups: ['eng'], roles: ['reader'], teams: ['platform'], ...fields });

const call = (name: string) => ({ method: 'tools/call', name });

describe('createPolicy', () => {
  it('decides by the first matching rule, in order', () => {
    const policy = createPolicy({
      rules: [
        { id: 'deny-deploy', effect: 'deny', tools: 'deploy' },
        { id: 'eng', effect: 'allow', groups: 'eng' },
      ],
    });
    expect(policy.evaluate(user(), call('deploy'))).toEqual({ effect: 'deny', rule: 'deny-deploy' });
    expect(policy.evaluate(user(), call('read'))).toEqual({ effect: 'allow', rule: 'eng' });
  });

  it.each([
    ['read_*', 'read_file', true],
    ['read_*', 'write_file', false],
    ['read_?', 'read_a', true],
    ['read_?', 'read_ab', false],
    ['a.b', 'aXb', false],
    ['*', '', true],
    ['deploy-prod/[eu]*', 'deploy-prod/[eu]-1', true],
    ['a+(b)|{c}^$\\*', 'a+(b)|{c}^$\\z', true],
    ['a+(b)*', 'aab', false],
  ])('matches tool glob %s against %s: %s', (glob, name, allowed) => {
    const policy = createPolicy({ rules: [{ id: 'r', effect: 'allow', tools: glob }] });
    expect(policy.allows(user(), call(name))).toBe(allowed);
  });

  it('denies named operations no rule matched by default, and allows other methods', () => {
    const policy = createPolicy({ rules: [] });
    expect(policy.evaluate(user(), call('x'))).toEqual({ effect: 'deny', rule: 'default' });
    expect(policy.evaluate(user(), { method: 'resources/read', uri: 'file:///a' }).effect).toBe('deny');
    expect(policy.evaluate(user(), { method: 'initialize' })).toEqual({ effect: 'allow', rule: 'default' });
    expect(createPolicy({ rules: [], default: 'allow' }).allows(user(), call('x'))).toBe(true);
  });

  it('matches resources by URI, prompts by name and any method by name', () => {
    const policy = createPolicy({
      rules: [
        { id: 'docs', effect: 'allow', resources: 'file:///docs/*' },
        { id: 'greet', effect: 'allow', prompts: ['greet'] },
        { id: 'no-completion', effect: 'deny', methods: 'completion/*' },
      ],
    });
    expect(policy.allows(user(), { method: 'resources/subscribe', uri: 'file:///docs/a/b.md' })).toBe(true);
    expect(policy.allows(user(), { method: 'resources/read', uri: 'file:///etc/passwd' })).toBe(false);
    expect(policy.allows(user(), { method: 'prompts/get', name: 'greet' })).toBe(true);
    expect(policy.evaluate(user(), { method: 'completion/complete' })).toEqual({ effect: 'deny', rule: 'no-completion' });
  });

  it('matches users, roles, teams, authMethods, admin and scopes', () => {
    const config: PolicyConfig = {
      rules: [
        { id: 'admin', effect: 'allow', admin: true, tools: 'admin' },
        { id: 'scope', effect: 'allow', scopes: 'reports:write', tools: 'write' },
        { id: 'role-team', effect: 'allow', roles: 'reader', teams: 'platform', authMethods: ['jwt', 'sso'], tools: 'read' },
        { id: 'bob', effect: 'allow', users: 'bob@*', tools: 'bob' },
      ],
    };
    const policy = createPolicy(config);
    expect(policy.allows(user(), call('admin'))).toBe(false);
    expect(policy.allows(user({ isAdmin: true }), call('admin'))).toBe(true);
    expect(policy.allows(user(), call('write'))).toBe(false);
    expect(policy.allows(user({ attributes: { scope: 'reports:read reports:write' } }), call('write'))).toBe(true);
    expect(policy.allows(user(), call('read'))).toBe(true);
    expect(policy.allows(user({ authMethod: 'api_key' }), call('read'))).toBe(false);
    expect(policy.allows(user({ teams: [] }), call('read'))).toBe(false);
    expect(policy.allows(user({ id: 'bob@corp' }), call('bob'))).toBe(true);
  });

  it('matches delegation: delegated, actors and chain depth', () => {
    const policy = createPolicy({
      rules: [
        { id: 'no-deep', effect: 'deny', minChainDepth: 2 },
        { id: 'reporter', effect: 'allow', actors: 'svc-reporter', tools: 'report' },
        { id: 'direct', effect: 'allow', delegated: false },
      ],
    });
    const viaReporter = user({ delegationChain: ['svc-reporter'] });
    expect(policy.evaluate(viaReporter, call('report'))).toEqual({ effect: 'allow', rule: 'reporter' });
    expect(policy.evaluate(viaReporter, call('deploy'))).toEqual({ effect: 'deny', rule: 'default' });
    expect(policy.evaluate(user(), call('deploy'))).toEqual({ effect: 'allow', rule: 'direct' });
    expect(policy.evaluate(user({ delegationChain: ['agent', 'svc-reporter'] }), call('report'))).toEqual({
      effect: 'deny',
      rule: 'no-deep',
    });
  });

  it('consults when and decide, and denies when either throws', () => {
    const policy = createPolicy({
      rules: [{ id: 'weekday', effect: 'allow', tools: 'x', when: (_user, op) => op.name === 'x' }],
      decide: (_user, op) =>
        op.name === 'hooked'
          ? 'allow'
          : op.name === 'boom'
            ? (() => {
                throw new Error('boom');
              })()
            : undefined,
    });
    expect(policy.evaluate(user(), call('x'))).toEqual({ effect: 'allow', rule: 'weekday' });
    expect(policy.evaluate(user(), call('hooked'))).toEqual({ effect: 'allow', rule: 'decide' });
    expect(policy.evaluate(user(), call('boom'))).toEqual({ effect: 'deny', rule: 'decide' });
    const failing = createPolicy({
      rules: [
        {
          id: 'bad',
          effect: 'allow',
          when: () => {
            throw new Error('x');
          },
        },
      ],
    });
    expect(failing.evaluate(user(), call('x'))).toEqual({ effect: 'deny', rule: 'bad' });
  });

  it.each([
    [{ rules: 'x' }, 'policy.rules must be an array of rules'],
    [{ rules: [], default: 'maybe' }, 'policy.default must be "allow" or "deny"'],
    [{ rule: [] }, 'policy: unknown key "rule" (did you mean "rules"?)'],
    [{ rules: [{ effect: 'allow' }] }, 'policy.rules[0]: id must be 1-64 characters of A-Z a-z 0-9 _ . : -'],
    [
      {
        rules: [
          { id: 'a', effect: 'allow' },
          { id: 'a', effect: 'deny' },
        ],
      },
      'policy.rules[1] ("a"): id "a" is used by an earlier rule',
    ],
    [{ rules: [{ id: 'default', effect: 'allow' }] }, 'policy.rules[0] ("default"): id "default" is reserved'],
    [
      {
        rules: [
          { id: 'x', effect: 'allow' },
          { id: 'x2', effect: 'allow' },
          { id: 'x3', effect: 'allow' },
          { id: 'deploy-admins', effect: 'allow', groups: [] },
        ],
      },
      'policy.rules[3] ("deploy-admins"): groups must be a non-empty string or a non-empty array of non-empty strings',
    ],
    [{ rules: [{ id: 'r', effect: 'allow', tool: 'x' }] }, 'policy.rules[0] ("r"): unknown key "tool" (did you mean "tools"?)'],
    [{ rules: [{ id: 'r', effect: 'allow', admin: 'yes' }] }, 'policy.rules[0] ("r"): admin must be true or false'],
    [{ rules: [{ id: 'r', effect: 'allow', maxChainDepth: -1 }] }, 'policy.rules[0] ("r"): maxChainDepth must be a non-negative integer'],
  ])('throws a TypeError naming the rule for %j', (config, message) => {
    expect(() => createPolicy(config as unknown as PolicyConfig)).toThrow(new TypeError(message));
  });

  it('keeps the rules in force when replace is given a bad configuration', () => {
    const policy = createPolicy({ rules: [{ id: 'all', effect: 'allow' }] });
    expect(() => policy.replace({ rules: [{ id: 'x', effect: 'nope' as 'allow' }] })).toThrow(/effect/);
    expect(policy.version).toBe(0);
    expect(policy.allows(user(), call('x'))).toBe(true);
    policy.replace({ rules: [] });
    expect(policy.version).toBe(1);
    expect(policy.allows(user(), call('x'))).toBe(false);
  });
});
