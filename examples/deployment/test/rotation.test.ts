/**
 * Key rotation, end to end on loopback, with clients sending requests the whole time:
 * a gateway whose signing keys change between steps (a new `propagateIdentity` and `jwks()`
 * per step behind stable routes, as a config reload would do) in front of a receiver.
 *
 * EdDSA: (1) publish the new key inactive, (2) receivers pick it up from the JWKS,
 * (3) make it active, (4) retire the old one after the longest assertion lifetime.
 * HS256: (1) receivers accept both secrets by kid, (2) the gateway signs with the new one,
 * (3) receivers drop the old one after the longest assertion lifetime.
 *
 * Time is one injected clock, moved in jumps shorter than the assertion lifetime, and every
 * client finishes a request between two jumps: no request ever outlives its assertion.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { jwks, normalizeUserContext, propagateIdentity } from '@mcp-identity/gateway';
import type { SigningKey } from '@mcp-identity/gateway';
import { verifyIdentity } from '@mcp-identity/receiver';
import type { VerifyIdentityOptions } from '@mcp-identity/receiver';
import { listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';

const ISSUER = 'urn:test:gateway';
const AUDIENCE = 'urn:test:notes';
const JWKS_PATH = '/.well-known/mcp-identity/jwks.json';
const TTL_SECONDS = 60;
/** One clock jump: half the assertion lifetime, and the receivers' JWKS `maxAgeMs`. */
const JUMP_MS = 30_000;
const COOLDOWN_MS = 10_000;
const T0 = Date.UTC(2030, 5, 1, 8, 0, 0);
const user = normalizeUserContext({ id: 'rotation-user', email: 'rot@example.test', authMethod: 'jwt' });

/** The `kid` in an assertion's protected header. */
function kidOf(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  return (JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid?: string }).kid;
}

/** Routes to whatever handler is current: what a hot config reload swaps. */
function swappable(initial: RequestHandler): { readonly handler: RequestHandler; swap(next: RequestHandler): void } {
  let current = initial;
  return {
    handler: (req: Request, res: Response, next: NextFunction) => current(req, res, next),
    swap(next) {
      current = next;
    },
  };
}

// ---- Traffic: clients sending requests back to back, recording every answer ----------------

interface Result {
  readonly client: number;
  readonly status: number;
  /** The kid of the assertion the receiver verified. */
  readonly kid: string | undefined;
  readonly code?: unknown;
}

interface Traffic {
  readonly results: readonly Result[];
  /** Resolves once every client has had `count` more answers: a request in flight now has finished. */
  settle(count?: number): Promise<void>;
  /** Resolves once `count` more answers carry an assertion signed with `kid` (or 500 more answers, whatever they are). */
  signedWith(kid: string | undefined, count?: number): Promise<void>;
  stop(): Promise<void>;
}

function startTraffic(url: string, clients = 3): Traffic {
  const results: Result[] = [];
  const waiters: { readonly done: () => boolean; readonly resolve: () => void }[] = [];
  let stopped = false;

  const record = (result: Result): void => {
    results.push(result);
    for (const waiter of waiters.filter((entry) => entry.done())) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  const until = (done: () => boolean): Promise<void> =>
    done() ? Promise.resolve() : new Promise((resolve) => waiters.push({ done, resolve }));

  async function client(id: number): Promise<void> {
    for (let n = 0; !stopped; n++) {
      const body = JSON.stringify({ jsonrpc: '2.0', id: `${id}-${n}`, method: 'tools/call', params: { name: 'whoami', arguments: {} } });
      try {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const answer = (await res.json().catch(() => ({}))) as { kid?: string; error?: { data?: { code?: unknown } } };
        record({ client: id, status: res.status, kid: answer.kid, code: answer.error?.data?.code });
      } catch (error) {
        record({ client: id, status: 0, kid: undefined, code: String(error) });
      }
    }
  }

  const running = Promise.all(Array.from({ length: clients }, (_, id) => client(id)));
  const countOf = (id: number): number => results.filter((result) => result.client === id).length;
  return {
    results,
    settle(count = 2) {
      const targets = Array.from({ length: clients }, (_, id) => countOf(id) + count);
      return until(() => targets.every((target, id) => countOf(id) >= target));
    },
    signedWith(kid, count = 10) {
      const start = results.length;
      return until(() => {
        const since = results.slice(start);
        return since.filter((result) => result.kid === kid).length >= count || since.length >= 500;
      });
    },
    async stop() {
      stopped = true;
      await running;
    },
  };
}

// ---- The deployment under rotation -----------------------------------------------------------

/** What a receiver needs to reach the gateway's JWKS: its URL and the observed fetch. */
interface JwksAccess {
  readonly url: string;
  readonly fetch: typeof fetch;
}

interface Stack {
  readonly gateway: Running;
  readonly receiver: Running;
  readonly jwks: JwksAccess;
  /** Reconfigures the gateway: a new `propagateIdentity` and `jwks()` for `keys`. */
  deployGateway(keys: readonly SigningKey[]): void;
  /** Reconfigures the receiver (a rolling restart of the MCP server). */
  deployReceiver(keys: Partial<VerifyIdentityOptions>): void;
  /** Moves the shared clock forward. */
  advance(ms: number): void;
  /** JWKS fetches the receiver has started. */
  receiverFetches(): number;
  /** Resolves once the receiver has parsed the answers of `count` JWKS fetches. */
  jwksLanded(count: number): Promise<void>;
  /** The kids the gateway publishes now. */
  published(): Promise<string[]>;
  /** Sends one request to the receiver through a one-off gateway that signs with `key` only. */
  probe(key: SigningKey): Promise<{ status: number; code: unknown }>;
  readonly warnings: readonly string[];
  close(): Promise<void>;
}

async function startStack(
  gatewayKeys: readonly SigningKey[],
  receiverKeys: (jwks: JwksAccess) => Partial<VerifyIdentityOptions>,
): Promise<Stack> {
  let now = T0;
  const clock = (): number => now;
  const warnings: string[] = [];
  const logger = { warn: (message: string) => void warnings.push(message) };
  const notYet: RequestHandler = (_req, res) => void res.status(503).end();

  // The gateway: its JWKS and its proxy, both rebuilt from the same keys on every deploy.
  const proxy = swappable(notYet);
  const publish = swappable(notYet);
  const gatewayApp = express();
  gatewayApp.get(JWKS_PATH, publish.handler);
  gatewayApp.use((req, _res, next) => {
    req.userContext = user;
    next();
  }, proxy.handler);
  const gateway = await listen(gatewayApp);

  // The receiver: verifyIdentity in front of a handler that says which key signed. Its JWKS
  // fetches go through `observedFetch`, which hands the key set over in one piece: the set is
  // parsed in the same turn of the event loop, so by the next setImmediate it is in use.
  let started = 0;
  let landed = 0;
  const landedWaiters: (() => void)[] = [];
  const observedFetch: typeof fetch = async (input, init) => {
    started++;
    const response = await fetch(input, init);
    const bytes = new Uint8Array(await response.arrayBuffer());
    setImmediate(() => {
      landed++;
      for (const wake of landedWaiters.splice(0)) wake();
    });
    return new Response(bytes, { status: response.status, headers: response.headers });
  };
  const jwksAccess: JwksAccess = { url: `${gateway.url}${JWKS_PATH}`, fetch: observedFetch };
  const receiverFor = (keys: Partial<VerifyIdentityOptions>): RequestHandler =>
    verifyIdentity({ audience: AUDIENCE, issuer: ISSUER, clock, logger, ...keys });
  const verify = swappable(receiverFor(receiverKeys(jwksAccess)));
  const receiverApp = express();
  receiverApp.post('/mcp', verify.handler, (req: Request, res: Response) => {
    res.json({ user: req.user?.id, kid: kidOf(req.auth?.token) });
  });
  const receiver = await listen(receiverApp);

  const deployGateway = (keys: readonly SigningKey[]): void => {
    proxy.swap(
      propagateIdentity({ target: receiver.url, audience: AUDIENCE, issuer: ISSUER, signing: keys, ttlSeconds: TTL_SECONDS, clock }),
    );
    publish.swap(keys.some((key) => key.alg === 'EdDSA' || key.alg === 'ES256') ? jwks(keys) : notYet);
  };
  deployGateway(gatewayKeys);

  return {
    gateway,
    receiver,
    jwks: jwksAccess,
    deployGateway,
    deployReceiver(keys) {
      verify.swap(receiverFor(keys));
    },
    advance(ms) {
      now += ms;
    },
    receiverFetches: () => started,
    async jwksLanded(count) {
      while (landed < count) await new Promise<void>((resolve) => landedWaiters.push(resolve));
    },
    async published() {
      const set = (await (await fetch(jwksAccess.url)).json()) as { keys: { kid: string }[] };
      return set.keys.map((key) => key.kid);
    },
    async probe(key) {
      const probeApp = express();
      probeApp.use(
        (req, _res, next) => {
          req.userContext = user;
          next();
        },
        propagateIdentity({ target: receiver.url, audience: AUDIENCE, issuer: ISSUER, signing: key, ttlSeconds: TTL_SECONDS, clock }),
      );
      const probeGateway = await listen(probeApp);
      try {
        const res = await fetch(`${probeGateway.url}/mcp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 'probe', method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
        });
        const answer = (await res.json()) as { error?: { data?: { code?: unknown } } };
        return { status: res.status, code: answer.error?.data?.code };
      } finally {
        await probeGateway.close();
      }
    },
    warnings,
    async close() {
      await Promise.all([gateway.close(), receiver.close()]);
    },
  };
}

const failuresOf = (results: readonly Result[]): Result[] => results.filter((result) => result.status !== 200);
const kidsIn = (results: readonly Result[]): Set<string | undefined> => new Set(results.map((result) => result.kid));
/** Clock jumps covering the longest assertion lifetime plus the receivers' 5 s tolerance. */
const LIFETIME_JUMPS = Math.ceil(((TTL_SECONDS + 5) * 1000) / JUMP_MS);

describe('key rotation with requests in flight', () => {
  it('rotates EdDSA keys published through the JWKS, with zero failed requests', async () => {
    const old: SigningKey = { alg: 'EdDSA', privateKey: generateKeyPairSync('ed25519').privateKey, kid: 'gw-2030-05' };
    const next: SigningKey = { alg: 'EdDSA', privateKey: generateKeyPairSync('ed25519').privateKey, kid: 'gw-2030-06' };
    const stack = await startStack([{ ...old, active: true }], (jwks) => ({
      jwksUrl: jwks.url,
      jwks: { maxAgeMs: JUMP_MS, cooldownMs: COOLDOWN_MS, fetch: jwks.fetch },
    }));
    const traffic = startTraffic(`${stack.gateway.url}/mcp`);
    const marks = { step1: 0, step3: 0, step4: 0 };

    try {
      await traffic.settle();
      expect(stack.receiverFetches()).toBe(1); // the first request fetched the set; the rest used the cache

      // (1) Publish the new key, inactive: the JWKS has both; the old key still signs.
      marks.step1 = traffic.results.length;
      stack.deployGateway([{ ...old, active: true }, next]);
      expect(await stack.published()).toEqual(['gw-2030-05', 'gw-2030-06']);
      await traffic.settle();

      // (2) Receivers pick it up: once their copy is maxAgeMs old, the next request refreshes it.
      stack.advance(JUMP_MS);
      await traffic.settle();
      expect(stack.receiverFetches()).toBe(2);
      await stack.jwksLanded(2);

      // (3) Make the new key active. The receiver already has it: not one more JWKS fetch.
      marks.step3 = traffic.results.length;
      stack.deployGateway([old, { ...next, active: true }]);
      await traffic.signedWith('gw-2030-06');
      await traffic.settle();
      expect(stack.receiverFetches()).toBe(2);

      // (4) Retire the old key once everything it signed has expired.
      for (let jump = 0; jump < LIFETIME_JUMPS; jump++) {
        stack.advance(JUMP_MS);
        await traffic.settle();
      }
      marks.step4 = traffic.results.length;
      stack.deployGateway([{ ...next, active: true }]);
      expect(await stack.published()).toEqual(['gw-2030-06']);
      const fetches = stack.receiverFetches();
      stack.advance(JUMP_MS);
      await traffic.settle();
      await stack.jwksLanded(fetches + 1);
      await traffic.settle();

      // The receiver has dropped the old key: an assertion it signs is refused; the new key's is not.
      expect(await stack.probe({ ...old, active: true })).toEqual({ status: 401, code: 'identity_invalid' });
      expect(await stack.probe({ ...next, active: true })).toEqual({ status: 200, code: undefined });
    } finally {
      await traffic.stop();
      await stack.close();
    }

    const { results } = traffic;
    expect(failuresOf(results)).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(30);
    expect(results.slice(marks.step1, marks.step3).length).toBeGreaterThan(0);
    expect(kidsIn(results.slice(0, marks.step3))).toEqual(new Set(['gw-2030-05']));
    expect(kidsIn(results.slice(marks.step4))).toEqual(new Set(['gw-2030-06']));
    expect(stack.warnings).toEqual([]);
  });

  it('rotates HS256 secrets told apart by kid, with zero failed requests', async () => {
    const old = { secret: randomBytes(32).toString('base64url'), kid: 'hs-old' };
    const next = { secret: randomBytes(32).toString('base64url'), kid: 'hs-new' };
    const stack = await startStack([old], () => ({ secrets: [old] }));
    const traffic = startTraffic(`${stack.gateway.url}/mcp`);
    const marks = { step2: 0, step3: 0 };

    try {
      await traffic.settle();

      // (1) Every receiver accepts both secrets.
      stack.deployReceiver({ secrets: [old, next] });
      await traffic.settle();

      // (2) The gateway signs with the new secret.
      marks.step2 = traffic.results.length;
      stack.deployGateway([old, { ...next, active: true }]);
      await traffic.signedWith('hs-new');
      await traffic.settle();

      // (3) After the longest assertion lifetime, the old secret goes, from the gateway and the receivers.
      for (let jump = 0; jump < LIFETIME_JUMPS; jump++) {
        stack.advance(JUMP_MS);
        await traffic.settle();
      }
      marks.step3 = traffic.results.length;
      stack.deployGateway([next]);
      stack.deployReceiver({ secrets: [next] });
      await traffic.settle(3);

      expect(await stack.probe(old)).toEqual({ status: 401, code: 'identity_invalid' });
      expect(await stack.probe(next)).toEqual({ status: 200, code: undefined });
    } finally {
      await traffic.stop();
      await stack.close();
    }

    const { results } = traffic;
    expect(failuresOf(results)).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(30);
    expect(kidsIn(results.slice(0, marks.step2))).toEqual(new Set(['hs-old']));
    expect(kidsIn(results.slice(marks.step3))).toEqual(new Set(['hs-new']));
    expect(stack.warnings).toEqual([]);
  });
});
