/**
 * The receiver's authorization hook: after an assertion is fully verified (its `jti`
 * recorded too), an upstream may still refuse the user, delegated calls, or chains longer
 * than it accepts. A refusal is 403 `identity_forbidden`.
 */
import { IdentityError } from '@mcp-identity/core';
import type { UserContext } from '@mcp-identity/core';
import type { Request } from 'express';

/** Decides whether this upstream serves a verified user; anything but `true` refuses. */
export type ReceiverPolicy = (user: UserContext, req: Request) => boolean | Promise<boolean>;

/** The policy options of `verifyIdentity`. */
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
export type CheckPolicy = (user: UserContext, req: Request) => Promise<void>;

/** Validates the policy options; `undefined` when there is nothing to check. */
export function resolvePolicy(options: ReceiverPolicyOptions): CheckPolicy | undefined {
  const { maxDelegationDepth: max, policy } = options;
  if (max !== undefined && (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 0)) {
    throw new TypeError('maxDelegationDepth must be a non-negative integer (0 refuses delegated calls)');
  }
  if (policy !== undefined && typeof policy !== 'function') throw new TypeError('policy must be a function (user, req) => boolean');
  if (max === undefined && policy === undefined) return undefined;
  return async function checkPolicy(user, req) {
    const depth = user.delegationChain?.length ?? 0;
    if (max !== undefined && depth > max) {
      throw new IdentityError(
        'identity_forbidden',
        max === 0 ? 'this upstream does not accept delegated calls' : 'the delegation chain is longer than this upstream accepts',
      );
    }
    // Only `true` allows: a policy returning a truthy non-boolean (a JavaScript caller) still refuses.
    const allowed: unknown = policy === undefined ? true : await policy(user, req);
    if (allowed !== true) {
      throw new IdentityError('identity_forbidden', 'this upstream does not serve this user');
    }
  };
}
