import request from 'supertest';
import { normalizeUserContext } from '@mcp-identity/core/internal';
import { IdentityError, verifyIdentity } from '../src/index.js';
import { operationsOf } from '../src/policy.js';
import type { ReceiverPolicy, UserContext } from '../src/index.js';
import { createTestApp, expectRefusal, identityHeaders, receiverOptions, signFor, toolCall, USER } from './helpers.js';
import type { TestAppOptions } from './helpers.js';

const body = toolCall();

/** USER without delegation, and with chains of one and two actors. */
const direct = normalizeUserContext({ ...USER, serviceAccount: undefined, delegationChain: undefined });
const oneActor = normalizeUserContext({ ...USER, serviceAccount: undefined, delegationChain: ['svc-reporter'] });

async function call(user: UserContext, receiver: TestAppOptions['receiver'], token = signFor({ body }, { user })) {
  const app = createTestApp({ receiver });
  const res = await request(app.app).post('/mcp').set(identityHeaders(token, user)).send(body);
  return { ...app, res, token };
}

describe('verifyIdentity policy', () => {
  describe('maxDelegationDepth', () => {
    const byDepth: Readonly<Record<number, UserContext>> = { 0: direct, 1: oneActor, 2: USER };

    it.each([
      [0, 0, 200],
      [0, 1, 403],
      [1, 1, 200],
      [1, 2, 403],
      [2, 2, 200],
      [16, 2, 200],
    ])('with maxDelegationDepth %i, answers a chain of %i actors with %i', async (max, depth, status) => {
      const user = byDepth[depth]!;
      const { res, calls } = await call(user, { maxDelegationDepth: max });

      if (status === 200) {
        expect(res.status).toBe(200);
        expect(calls[0]?.user).toEqual(user);
      } else {
        expectRefusal(res, 403, 'identity_forbidden', calls);
      }
    });

    it('exposes the delegation of an accepted call as req.user.delegationChain and req.user.serviceAccount', async () => {
      const { calls } = await call(USER, {});

      expect(calls[0]?.user?.delegationChain).toEqual(['agent-1', 'svc-reporter']);
      expect(calls[0]?.user?.serviceAccount).toBe('svc-reporter');
    });

    it('says why it refused a delegated call', async () => {
      const none = await call(oneActor, { maxDelegationDepth: 0 });
      const shorter = await call(USER, { maxDelegationDepth: 1 });

      expect(none.res.body.error.message).toBe('this upstream does not accept delegated calls');
      expect(shorter.res.body.error.message).toBe('the delegation chain is longer than this upstream accepts');
    });
  });

  describe('policy', () => {
    it('runs after full verification with the verified user and the request, and lets true through', async () => {
      const seen: unknown[] = [];
      const policy: ReceiverPolicy = (user, req) => {
        seen.push([user, req.method, req.originalUrl, req.body]);
        return true;
      };

      const { res, calls } = await call(USER, { policy });

      expect(res.status).toBe(200);
      expect(calls).toHaveLength(1);
      expect(seen).toEqual([[USER, 'POST', '/mcp', body]]);
    });

    it('awaits an async policy', async () => {
      const { res } = await call(USER, { policy: () => Promise.resolve(true) });

      expect(res.status).toBe(200);
    });

    it.each([
      ['false', false],
      ['a truthy non-boolean', 'yes'],
      ['undefined', undefined],
      ['a promise of false', Promise.resolve(false)],
    ])('responds 403 identity_forbidden when the policy returns %s', async (_case, answer) => {
      const { res, calls } = await call(USER, { policy: (() => answer) as unknown as ReceiverPolicy });

      expectRefusal(res, 403, 'identity_forbidden', calls);
    });

    it('can refuse delegated calls by actor', async () => {
      const policy: ReceiverPolicy = (user) => user.serviceAccount === undefined || user.serviceAccount === 'svc-reporter';
      const allowed = await call(USER, { policy });
      const other = normalizeUserContext({ ...USER, serviceAccount: undefined, delegationChain: ['agent-1', 'svc-unknown'] });
      const refused = await call(other, { policy });

      expect(allowed.res.status).toBe(200);
      expectRefusal(refused.res, 403, 'identity_forbidden', refused.calls);
    });

    it('answers with the code of an IdentityError the policy throws', async () => {
      const policy: ReceiverPolicy = () => {
        throw new IdentityError('identity_forbidden', 'reports are for the finance team');
      };

      const { res, calls } = await call(USER, { policy });

      expectRefusal(res, 403, 'identity_forbidden', calls);
      expect(res.body.error.message).toBe('reports are for the finance team');
    });

    it('hands any other error the policy throws to Express, and never runs the handler', async () => {
      const { res, calls } = await call(USER, { policy: () => Promise.reject(new Error('policy store down')) });

      expect(res.status).toBe(500);
      expect(res.body.error.data.code).toBe('unexpected');
      expect(calls).toHaveLength(0);
    });

    it('spends the jti of a refused call: the same assertion is then refused as replayed', async () => {
      const { app, calls } = createTestApp({ receiver: { maxDelegationDepth: 0 } });
      const token = signFor({ body });

      const first = await request(app).post('/mcp').set(identityHeaders(token)).send(body);
      const second = await request(app).post('/mcp').set(identityHeaders(token)).send(body);

      expectRefusal(first, 403, 'identity_forbidden', calls);
      expectRefusal(second, 401, 'identity_replayed', calls);
    });

    it('is not consulted for a request that fails verification', async () => {
      let consulted = 0;
      const { app, calls } = createTestApp({
        receiver: {
          policy: () => {
            consulted++;
            return true;
          },
        },
      });

      const res = await request(app).post('/mcp').send(body);

      expectRefusal(res, 401, 'identity_missing', calls);
      expect(consulted).toBe(0);
    });
  });

  describe('options', () => {
    it.each([
      ['a negative maxDelegationDepth', { maxDelegationDepth: -1 }, /^maxDelegationDepth must be a non-negative integer/],
      ['a fractional maxDelegationDepth', { maxDelegationDepth: 1.5 }, /^maxDelegationDepth/],
      ['a string maxDelegationDepth', { maxDelegationDepth: '1' }, /^maxDelegationDepth/],
      ['a NaN maxDelegationDepth', { maxDelegationDepth: Number.NaN }, /^maxDelegationDepth/],
      ['a policy that is not a function', { policy: true }, /^policy must be a function/],
    ])('throws a TypeError naming the option for %s', (_case, overrides, message) => {
      const build = (): unknown => verifyIdentity({ ...receiverOptions(), ...(overrides as any) });

      expect(build).toThrow(TypeError);
      expect(build).toThrow(message);
    });
  });
});

describe('operationsOf', () => {
  it('gives no rule to an operation whose assertion has no policy_rules claim, whatever a polluted Object.prototype holds', () => {
    const polluted = Object.prototype as Record<string, unknown>;
    polluted.policy_rules = ['admin-only-rule'];
    try {
      const { operations } = operationsOf(toolCall(), JSON.parse('{"sub":"u"}') as Record<string, unknown>);
      expect(operations).toHaveLength(1);
      expect(operations[0]?.rule).toBeUndefined();
    } finally {
      delete polluted.policy_rules;
    }
  });
});
