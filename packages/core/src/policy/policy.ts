/**
 * The tool-level policy, framework-free: ordered rules matching the user and the MCP
 * operation, each deciding `allow` or `deny`, then an optional hook, then a default.
 * Rules are validated and compiled once; evaluating one operation allocates nothing.
 */
import { nonNegativeInteger } from '../options.js';
import { isRecord } from '../user-context.js';
import type { UserContext } from '../user-context.js';
import { anyMatches, compileMatcher } from './matcher.js';
import type { StringMatcher } from './matcher.js';
import { NAMED_METHODS } from './operation.js';
import type { McpOperation } from './operation.js';

/** What a rule, the hook or the default decides. */
export type PolicyEffect = 'allow' | 'deny';

/** One name or glob, or a list of them (any of which may match). */
export type PatternList = string | readonly string[];

/**
 * One rule. Every condition given must hold (a list matches when any entry matches); a rule
 * with no operation condition matches every operation, one with no user condition every user.
 */
export interface PolicyRule {
  /** Names the rule in audit events, the assertion and error messages: 1-64 of `A-Z a-z 0-9 _ . : -`. Required. */
  readonly id: string;
  /** What the rule decides. Required. */
  readonly effect: PolicyEffect;
  /** JSON-RPC methods (names or globs), e.g. `"tools/list"`, `"notifications/*"`. */
  readonly methods?: PatternList;
  /** Tool names or globs: matches `tools/call` of those tools (and keeps them in `tools/list`). */
  readonly tools?: PatternList;
  /** Resource URIs or globs: matches `resources/read`, `resources/subscribe` and `resources/unsubscribe`. */
  readonly resources?: PatternList;
  /** Prompt names or globs: matches `prompts/get`. */
  readonly prompts?: PatternList;
  /** User ids (`UserContext.id`) or globs. */
  readonly users?: PatternList;
  /** Any of these groups. */
  readonly groups?: PatternList;
  /** Any of these roles. */
  readonly roles?: PatternList;
  /** Any of these teams. */
  readonly teams?: PatternList;
  /** Any of these OAuth scopes (read from the user's `scopes`, else its `scope` attribute, space-separated). */
  readonly scopes?: PatternList;
  /** Any of these authentication methods (`jwt`, `basic`, `api_key`, ...). */
  readonly authMethods?: PatternList;
  /** `true`: only admins; `false`: only non-admins. */
  readonly admin?: boolean;
  /** `true`: only delegated calls (someone acts for the user); `false`: only direct calls. */
  readonly delegated?: boolean;
  /** The current actor (`UserContext.serviceAccount`) is one of these; implies a delegated call. */
  readonly actors?: PatternList;
  /** The delegation chain is at most this long (0: direct calls only). */
  readonly maxChainDepth?: number;
  /** The chain is at least this long. */
  readonly minChainDepth?: number;
  /** A further condition in code (not available in policy files). */
  readonly when?: (user: UserContext, operation: McpOperation) => boolean;
}

/** A hook deciding what rules cannot say; `undefined` leaves it to the `default`. */
export type PolicyHook = (user: UserContext, operation: McpOperation) => PolicyEffect | undefined;

/** A policy as written: in code, or in a JSON/YAML file (without the functions). */
export interface PolicyConfig {
  /** Evaluated in order; the first that matches decides. */
  readonly rules: readonly PolicyRule[];
  /**
   * What happens to a named operation (`tools/call`, `prompts/get`, `resources/read`,
   * `resources/subscribe`, `resources/unsubscribe`) no rule matched. Default `"deny"`.
   * Other methods no rule matched (`initialize`, `ping`, the list methods, notifications,
   * `completion/complete`, ...) are allowed: write a rule with `methods` to deny one.
   */
  readonly default?: PolicyEffect;
  /** Consulted when no rule matched, before the default. Default: none. */
  readonly decide?: PolicyHook;
}

/** A decision and what made it: a rule id, `"decide"` (the hook) or `"default"`. */
export interface PolicyDecision {
  readonly effect: PolicyEffect;
  readonly rule: string;
}

/** A compiled policy. */
export interface Policy {
  /** Decides one operation for one user. */
  evaluate(user: UserContext, operation: McpOperation): PolicyDecision;
  /** Tells whether the operation is allowed (shorthand of `evaluate(...).effect === "allow"`). */
  allows(user: UserContext, operation: McpOperation): boolean;
  /**
   * Replaces the rules with a new configuration, validated first: a bad one throws a
   * `TypeError` naming the rule and the old rules stay in force.
   */
  replace(config: PolicyConfig): void;
  /** How many times the rules were replaced (0 at creation). */
  readonly version: number;
}

const RULE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const RESERVED_IDS = new Set(['default', 'decide']);
const LIST_KEYS = [
  'methods',
  'tools',
  'resources',
  'prompts',
  'users',
  'groups',
  'roles',
  'teams',
  'scopes',
  'authMethods',
  'actors',
] as const;
const RULE_KEYS = new Set<string>([
  'id',
  'effect',
  ...LIST_KEYS,
  'admin',
  'delegated',
  'maxChainDepth',
  'minChainDepth',
  'when',
  'description',
]);
const POLICY_KEYS = new Set(['rules', 'default', 'decide']);
const RESOURCE_METHODS = new Set(['resources/read', 'resources/subscribe', 'resources/unsubscribe']);

interface CompiledRule {
  readonly decision: PolicyDecision;
  /** The deny decision when the rule's `when` throws. */
  readonly failed: PolicyDecision;
  readonly matchesOperation: ((operation: McpOperation) => boolean) | undefined;
  /** Whether the rule can match some operation of this method. */
  readonly mayMatchMethod: (method: string) => boolean;
  readonly users: StringMatcher | undefined;
  readonly groups: StringMatcher | undefined;
  readonly roles: StringMatcher | undefined;
  readonly teams: StringMatcher | undefined;
  readonly scopes: StringMatcher | undefined;
  readonly authMethods: StringMatcher | undefined;
  readonly actors: StringMatcher | undefined;
  readonly admin: boolean | undefined;
  readonly delegated: boolean | undefined;
  readonly maxChainDepth: number | undefined;
  readonly minChainDepth: number | undefined;
  readonly when: PolicyRule['when'];
}

interface Compiled {
  readonly rules: readonly CompiledRule[];
  readonly byMethod: Map<string, readonly CompiledRule[]>;
  readonly decide: PolicyHook | undefined;
  readonly namedDefault: PolicyDecision;
}

const ALLOW_DEFAULT: PolicyDecision = Object.freeze({ effect: 'allow', rule: 'default' });
const DENY_DEFAULT: PolicyDecision = Object.freeze({ effect: 'deny', rule: 'default' });
const ALLOW_DECIDE: PolicyDecision = Object.freeze({ effect: 'allow', rule: 'decide' });
const DENY_DECIDE: PolicyDecision = Object.freeze({ effect: 'deny', rule: 'decide' });
const NO_SCOPES: readonly string[] = Object.freeze([]);

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function suggestion(key: string, known: ReadonlySet<string>): string {
  const lower = key.toLowerCase();
  const close = [...known].find((name) => distance(lower, name.toLowerCase()) <= 2);
  return close === undefined ? '' : ` (did you mean "${close}"?)`;
}

function patternList(value: unknown, where: string, key: string): readonly string[] {
  const list: unknown[] = typeof value === 'string' ? [value] : Array.isArray(value) ? (value as unknown[]) : [];
  if (list.length === 0 || list.some((entry) => typeof entry !== 'string' || entry.length === 0 || entry.length > 1024)) {
    throw new TypeError(`${where}: ${key} must be a non-empty string or a non-empty array of non-empty strings`);
  }
  return list as string[];
}

function depth(value: unknown, where: string, key: string): number | undefined {
  return value === undefined ? undefined : nonNegativeInteger(value, `${where}: ${key}`, 0);
}

function flag(value: unknown, where: string, key: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new TypeError(`${where}: ${key} must be true or false`);
  return value;
}

function operationMatcher(
  methods: StringMatcher | undefined,
  tools: StringMatcher | undefined,
  resources: StringMatcher | undefined,
  prompts: StringMatcher | undefined,
): ((operation: McpOperation) => boolean) | undefined {
  if (methods === undefined && tools === undefined && resources === undefined && prompts === undefined) return undefined;
  return function matchesOperation(operation) {
    const { method } = operation;
    if (methods !== undefined && methods(method)) return true;
    if (tools !== undefined && method === 'tools/call' && tools(operation.name ?? '')) return true;
    if (prompts !== undefined && method === 'prompts/get' && prompts(operation.name ?? '')) return true;
    return resources !== undefined && RESOURCE_METHODS.has(method) && resources(operation.uri ?? '');
  };
}

function methodFilter(
  methods: StringMatcher | undefined,
  tools: StringMatcher | undefined,
  resources: StringMatcher | undefined,
  prompts: StringMatcher | undefined,
): (method: string) => boolean {
  if (methods === undefined && tools === undefined && resources === undefined && prompts === undefined) return () => true;
  return (method) =>
    (methods !== undefined && methods(method)) ||
    (tools !== undefined && method === 'tools/call') ||
    (prompts !== undefined && method === 'prompts/get') ||
    (resources !== undefined && RESOURCE_METHODS.has(method));
}

function compileRule(input: unknown, index: number, seen: Set<string>): CompiledRule {
  const rawId = isRecord(input) && typeof input.id === 'string' ? input.id : undefined;
  const where = `policy.rules[${index}]${rawId === undefined ? '' : ` (${JSON.stringify(rawId.slice(0, 64))})`}`;
  if (!isRecord(input)) throw new TypeError(`${where}: a rule must be an object`);
  if (rawId === undefined || !RULE_ID.test(rawId)) throw new TypeError(`${where}: id must be 1-64 characters of A-Z a-z 0-9 _ . : -`);
  if (RESERVED_IDS.has(rawId)) throw new TypeError(`${where}: id "${rawId}" is reserved`);
  if (seen.has(rawId)) throw new TypeError(`${where}: id "${rawId}" is used by an earlier rule`);
  seen.add(rawId);
  for (const key of Object.keys(input)) {
    if (!RULE_KEYS.has(key)) throw new TypeError(`${where}: unknown key "${key.slice(0, 40)}"${suggestion(key, RULE_KEYS)}`);
  }
  if (input.effect !== 'allow' && input.effect !== 'deny') throw new TypeError(`${where}: effect must be "allow" or "deny"`);
  if (input.description !== undefined && typeof input.description !== 'string')
    throw new TypeError(`${where}: description must be a string`);
  if (input.when !== undefined && typeof input.when !== 'function')
    throw new TypeError(`${where}: when must be a function (user, operation) => boolean`);
  const lists: Partial<Record<(typeof LIST_KEYS)[number], StringMatcher>> = {};
  for (const key of LIST_KEYS) {
    if (input[key] !== undefined) lists[key] = compileMatcher(patternList(input[key], where, key));
  }
  const maxChainDepth = depth(input.maxChainDepth, where, 'maxChainDepth');
  const minChainDepth = depth(input.minChainDepth, where, 'minChainDepth');
  if (maxChainDepth !== undefined && minChainDepth !== undefined && minChainDepth > maxChainDepth) {
    throw new TypeError(`${where}: minChainDepth is greater than maxChainDepth, so the rule never matches`);
  }
  return {
    decision: Object.freeze({ effect: input.effect, rule: rawId }),
    failed: Object.freeze({ effect: 'deny', rule: rawId }),
    matchesOperation: operationMatcher(lists.methods, lists.tools, lists.resources, lists.prompts),
    mayMatchMethod: methodFilter(lists.methods, lists.tools, lists.resources, lists.prompts),
    users: lists.users,
    groups: lists.groups,
    roles: lists.roles,
    teams: lists.teams,
    scopes: lists.scopes,
    authMethods: lists.authMethods,
    actors: lists.actors,
    admin: flag(input.admin, where, 'admin'),
    delegated: flag(input.delegated, where, 'delegated'),
    maxChainDepth,
    minChainDepth,
    when: input.when as PolicyRule['when'],
  };
}

/** Validates and compiles a configuration; a `TypeError` names the first bad rule or option. */
function compile(config: unknown): Compiled {
  if (!isRecord(config)) throw new TypeError('policy must be an object: { rules, default? }');
  for (const key of Object.keys(config)) {
    if (!POLICY_KEYS.has(key)) throw new TypeError(`policy: unknown key "${key.slice(0, 40)}"${suggestion(key, POLICY_KEYS)}`);
  }
  if (!Array.isArray(config.rules)) throw new TypeError('policy.rules must be an array of rules');
  if (config.default !== undefined && config.default !== 'allow' && config.default !== 'deny') {
    throw new TypeError('policy.default must be "allow" or "deny"');
  }
  if (config.decide !== undefined && typeof config.decide !== 'function') {
    throw new TypeError('policy.decide must be a function (user, operation) => "allow" | "deny" | undefined');
  }
  const seen = new Set<string>();
  return {
    rules: (config.rules as unknown[]).map((rule, index) => compileRule(rule, index, seen)),
    byMethod: new Map(),
    decide: config.decide as PolicyHook | undefined,
    namedDefault: config.default === 'allow' ? ALLOW_DEFAULT : DENY_DEFAULT,
  };
}

/** The user's OAuth scopes: a `scopes` list when the user has one, else the `scope` attribute split on spaces. */
function scopesOf(user: UserContext): readonly string[] {
  const list = (user as { scopes?: unknown }).scopes;
  if (Array.isArray(list)) return list.filter((scope): scope is string => typeof scope === 'string');
  const attribute = user.attributes?.scope;
  return attribute === undefined ? NO_SCOPES : attribute.split(' ').filter((scope) => scope.length > 0);
}

function matchesUser(rule: CompiledRule, user: UserContext): boolean {
  if (rule.users !== undefined && !rule.users(user.id)) return false;
  if (rule.admin !== undefined && rule.admin !== user.isAdmin) return false;
  if (rule.authMethods !== undefined && !rule.authMethods(user.authMethod)) return false;
  if (rule.groups !== undefined && !anyMatches(rule.groups, user.groups)) return false;
  if (rule.roles !== undefined && !anyMatches(rule.roles, user.roles)) return false;
  if (rule.teams !== undefined && !anyMatches(rule.teams, user.teams)) return false;
  if (rule.scopes !== undefined && !anyMatches(rule.scopes, scopesOf(user))) return false;
  const chain = user.delegationChain?.length ?? 0;
  if (rule.delegated !== undefined && rule.delegated !== chain > 0) return false;
  if (rule.actors !== undefined && (user.serviceAccount === undefined || !rule.actors(user.serviceAccount))) return false;
  if (rule.maxChainDepth !== undefined && chain > rule.maxChainDepth) return false;
  if (rule.minChainDepth !== undefined && chain < rule.minChainDepth) return false;
  return true;
}

// Candidate rules per JSON-RPC method, cached for the methods seen (bounded: methods are client-chosen).
const MAX_CACHED_METHODS = 256;

function candidatesFor(compiled: Compiled, method: string): readonly CompiledRule[] {
  let candidates = compiled.byMethod.get(method);
  if (candidates === undefined) {
    candidates = compiled.rules.filter((rule) => rule.mayMatchMethod(method));
    if (compiled.byMethod.size < MAX_CACHED_METHODS) compiled.byMethod.set(method, candidates);
  }
  return candidates;
}

function evaluateCompiled(compiled: Compiled, user: UserContext, operation: McpOperation): PolicyDecision {
  for (const rule of candidatesFor(compiled, operation.method)) {
    // The user conditions are Set lookups: checked before the operation's globs.
    if (!matchesUser(rule, user)) continue;
    if (rule.matchesOperation !== undefined && !rule.matchesOperation(operation)) continue;
    if (rule.when === undefined) return rule.decision;
    let when: unknown;
    try {
      when = rule.when(user, operation);
    } catch {
      // A condition that fails denies: the rule's id tells which one.
      return rule.failed;
    }
    if (when === true) return rule.decision;
  }
  if (compiled.decide !== undefined) {
    let effect: unknown;
    try {
      effect = compiled.decide(user, operation);
    } catch {
      return DENY_DECIDE;
    }
    if (effect === 'allow') return ALLOW_DECIDE;
    if (effect === 'deny') return DENY_DECIDE;
    if (effect !== undefined) return DENY_DECIDE;
  }
  return NAMED_METHODS.has(operation.method) ? compiled.namedDefault : ALLOW_DEFAULT;
}

/**
 * Builds a policy from rules, validated now: a mistake throws a `TypeError` naming the rule,
 * e.g. `policy.rules[3] ("deploy-admins"): groups must be ...`.
 * @param config - The rules, the default effect and an optional `decide` hook.
 * @returns A policy for `createGateway().upstream({ policy })`; its rules can be replaced later.
 * @example
 * const policy = createPolicy({
 *   rules: [
 *     { id: 'admins', effect: 'allow', admin: true },
 *     { id: 'readers', effect: 'allow', groups: 'readers', tools: 'read_*' },
 *   ],
 *   default: 'deny',
 * });
 */
export function createPolicy(config: PolicyConfig): Policy {
  let compiled = compile(config);
  let version = 0;
  return {
    evaluate(user, operation) {
      return evaluateCompiled(compiled, user, operation);
    },
    allows(user, operation) {
      return evaluateCompiled(compiled, user, operation).effect === 'allow';
    },
    replace(next) {
      compiled = compile(next);
      version += 1;
    },
    get version() {
      return version;
    },
  };
}

/** Tells whether a value is a {@link Policy} (built by `createPolicy` or `loadPolicy`). */
export function isPolicy(value: unknown): value is Policy {
  return (
    isRecord(value) && typeof (value as Partial<Policy>).evaluate === 'function' && typeof (value as Partial<Policy>).replace === 'function'
  );
}
