/**
 * The receiver's authorization hook: after an assertion is fully verified (its `jti`
 * recorded too), an upstream may still refuse the user, delegated calls, or chains longer
 * than it accepts. A refusal is 403 `identity_forbidden`.
 */
import { IdentityError, isRecord, nonNegativeInteger, operationOf } from '@mcp-identity/core/internal';
import type { McpOperation, UserContext } from '@mcp-identity/core/internal';
import type { Request } from 'express';

/** One MCP operation of the request, with the gateway policy's rule that allowed it. */
export interface ReceivedOperation extends McpOperation {
  /** The id of the gateway policy rule that allowed it (`policy_rules` claim), when the gateway has a policy. */
  readonly rule?: string;
}

/** What the request asks for, as the receiver's policy sees it. */
export interface ReceiverPolicyContext {
  /** The first operation (the only one outside legacy batches); undefined for a request without a JSON-RPC body (GET, DELETE). */
  readonly operation: ReceivedOperation | undefined;
  /** Every message with a `method`, in body order. */
  readonly operations: readonly ReceivedOperation[];
}

/**
 * Decides whether this upstream serves a verified user for this request; anything but `true`
 * refuses. The third argument names the operation (method, tool name, resource URI) and the
 * gateway rule that allowed it.
 */
export type ReceiverPolicy = (user: UserContext, req: Request, context: ReceiverPolicyContext) => boolean | Promise<boolean>;

/** The grouped `policy` option of `verifyIdentity`: `{ allow?, maxDelegationDepth? }`. */
export interface ReceiverPolicyGroup {
  /** Runs after full verification, replay check included; anything but `true` is 403 `identity_forbidden`. Default: none. */
  readonly allow?: ReceiverPolicy;
  /** Longest `delegationChain` accepted; `0` refuses every delegated call. Default: no cap beyond the format's 16. */
  readonly maxDelegationDepth?: number;
}

/** The policy options of `verifyIdentity` (the older, flat form). */
export interface ReceiverPolicyOptions {
  /**
   * Longest `delegationChain` accepted; `0` refuses every delegated call. Default: no cap
   * beyond the format's own limit of 16.
   */
  readonly maxDelegationDepth?: number;
  /** Runs after full verification, replay check included; anything but `true` is 403 `identity_forbidden`. Default: none. */
  readonly policy?: ReceiverPolicy;
}

/** Checks a verified user; throws `identity_forbidden`. */
export type CheckPolicy = (user: UserContext, req: Request, claims?: Readonly<Record<string, unknown>>) => Promise<void>;

const RULE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The operations of a parsed body, each with its rule from the assertion's `policy_rules` claim. */
export function operationsOf(body: unknown, claims: Readonly<Record<string, unknown>> | undefined): ReceiverPolicyContext {
  const messages: unknown[] = Array.isArray(body) ? (body as unknown[]) : [body];
  // Own claims only: an assertion without policy_rules never reads one from a polluted Object.prototype.
  const listed = claims !== undefined && Object.hasOwn(claims, 'policy_rules') ? claims.policy_rules : undefined;
  const rules = Array.isArray(listed) ? (listed as unknown[]) : [];
  const operations: ReceivedOperation[] = [];
  for (const message of messages) {
    const operation = isRecord(message) ? operationOf(message) : undefined;
    if (operation === undefined) continue;
    const rule = rules[operations.length];
    operations.push(typeof rule === 'string' && RULE_ID.test(rule) ? { ...operation, rule } : operation);
  }
  return { operation: operations[0], operations };
}

/**
 * Validates the policy options; `undefined` when there is nothing to check. `policy` is a
 * function (the older form, with `maxDelegationDepth` beside it) or `{ allow?, maxDelegationDepth? }`.
 */
export function resolvePolicy(options: {
  readonly policy?: ReceiverPolicy | ReceiverPolicyGroup;
  readonly maxDelegationDepth?: number;
}): CheckPolicy | undefined {
  const grouped = isRecord(options.policy);
  if (grouped && options.maxDelegationDepth !== undefined) {
    throw new TypeError('maxDelegationDepth belongs in policy: { allow?, maxDelegationDepth? }');
  }
  const group: ReceiverPolicyGroup = grouped
    ? options.policy
    : { allow: options.policy as ReceiverPolicy | undefined, maxDelegationDepth: options.maxDelegationDepth };
  if (grouped) {
    for (const key of Object.keys(group)) {
      if (key !== 'allow' && key !== 'maxDelegationDepth')
        throw new TypeError(`policy.${key} is not an option (policy takes allow, maxDelegationDepth)`);
    }
  }
  const { maxDelegationDepth: max, allow: policy } = group;
  const maxName = grouped ? 'policy.maxDelegationDepth' : 'maxDelegationDepth';
  nonNegativeInteger(max, maxName, 0, '0 refuses delegated calls');
  if (policy !== undefined && typeof policy !== 'function')
    throw new TypeError(
      grouped
        ? 'policy.allow must be a function (user, req, { operation, operations }) => boolean'
        : 'policy must be a function (user, req, { operation, operations }) => boolean, or { allow?, maxDelegationDepth? }',
    );
  if (max === undefined && policy === undefined) return undefined;
  return async function checkPolicy(user, req, claims) {
    const depth = user.delegationChain?.length ?? 0;
    if (max !== undefined && depth > max) {
      throw new IdentityError(
        'identity_forbidden',
        max === 0 ? 'this upstream does not accept delegated calls' : 'the delegation chain is longer than this upstream accepts',
      );
    }
    // Only `true` allows: a policy returning a truthy non-boolean (a JavaScript caller) still refuses.
    const allowed: unknown = policy === undefined ? true : await policy(user, req, operationsOf(req.body, claims));
    if (allowed !== true) {
      throw new IdentityError('identity_forbidden', 'this upstream does not serve this user');
    }
  };
}
