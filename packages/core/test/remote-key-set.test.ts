/**
 * createRemoteKeySet against a real JWKS endpoint on loopback, whose keys and behaviour each
 * test changes, and which counts what it is asked. Time is the `clock` option: no sleeps.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import type http from 'node:http';
import { calculateJwkThumbprint } from 'jose';
import { createRemoteKeySet, IdentityError } from '../src/internal.js';
import type { Algorithm, ImportedKey, JwsHeader, RemoteKeySet, RemoteKeySetOptions } from '../src/internal.js';
import { closedPortUrl, countingServer } from '../../../test/counting-server.js';
import type { CountingServer } from '../../../test/counting-server.js';
import { ed25519, NOW_MS, p256 } from './fixtures.js';

const COOLDOWN = 30_000;
/** `timeoutMs` for endpoints that never answer: short, yet ample for a loopback answer once fetch is loaded. */
const HANG_TIMEOUT = 200;
const MAX_AGE = 300_000;
const typ = 'user-context+jwt' as const;
const header = (alg: Algorithm, kid?: string): JwsHeader => (kid === undefined ? { alg, typ } : { alg, kid, typ });
const jwkOf = (key: KeyObject): JsonWebKey => key.export({ format: 'jwk' });

const ed = ed25519();
const ec = p256();
const next = ed25519();
const edEntry = { ...jwkOf(ed.publicKey), kid: 'ed-1', alg: 'EdDSA', use: 'sig' };
const ecEntry = { ...jwkOf(ec.publicKey), kid: 'ec-1', alg: 'ES256', use: 'sig' };
const nextEntry = { ...jwkOf(next.publicKey), kid: 'ed-2', alg: 'EdDSA', use: 'sig' };

/** How the endpoint answers the next request. */
type Behaviour =
  | 'serve'
  | 'hold'
  | 'answers 500'
  | 'answers invalid JSON'
  | 'answers without a keys array'
  | 'never answers'
  | 'stalls the body'
  | 'redirects'
  | 'sends 600 KiB'
  | 'sends 600 KiB chunked';

interface Endpoint {
  readonly server: CountingServer;
  /** The JWKS URL (`/jwks`); `/elsewhere` serves the same set, for redirects. */
  readonly url: string;
  /** Requests to `/jwks` only. */
  readonly fetches: () => number;
  keys: unknown[];
  behaviour: Behaviour;
  /** Answers every held request with the current keys. */
  release(): void;
}

// Private key material that must never surface in a reported error.
const privateD = String(jwkOf(ed.privateKey).d);
const servers: CountingServer[] = [];

async function startEndpoint(keys: unknown[] = [edEntry, ecEntry]): Promise<Endpoint> {
  const held: http.ServerResponse[] = [];
  const serve = (res: http.ServerResponse): void => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: endpoint.keys }));
  };
  const server = await countingServer((req, res) => {
    if (req.url === '/elsewhere') {
      serve(res);
      return;
    }
    switch (endpoint.behaviour) {
      case 'serve':
        serve(res);
        return;
      case 'hold':
        held.push(res);
        return;
      case 'answers 500':
        res.statusCode = 500;
        res.end(JSON.stringify({ keys: endpoint.keys }));
        return;
      case 'answers invalid JSON':
        res.end(`d=${privateD}; {"keys":[`);
        return;
      case 'answers without a keys array':
        res.end(JSON.stringify({ key: endpoint.keys }));
        return;
      case 'never answers':
        return;
      case 'stalls the body':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"keys":[');
        return;
      case 'redirects':
        res.writeHead(302, { location: '/elsewhere' }).end();
        return;
      case 'sends 600 KiB':
        res.end(JSON.stringify({ keys: endpoint.keys, padding: 'x'.repeat(600 * 1024) }));
        return;
      case 'sends 600 KiB chunked':
        res.write(JSON.stringify({ keys: endpoint.keys, padding: '' }).slice(0, -2));
        for (let i = 0; i < 600; i++) res.write('x'.repeat(1024));
        res.end('"}');
        return;
    }
  });
  servers.push(server);
  const endpoint: Endpoint = {
    server,
    url: `${server.url}/jwks`,
    fetches: () => server.requests.filter((path) => path === '/jwks').length,
    keys,
    behaviour: 'serve',
    release() {
      for (const res of held.splice(0)) serve(res);
    },
  };
  return endpoint;
}

const timeoutFor = (behaviour: string): RemoteKeySetOptions =>
  behaviour === 'never answers' || behaviour === 'stalls the body' ? { timeoutMs: HANG_TIMEOUT } : {};

beforeAll(async () => {
  // Node loads its fetch implementation on first use; do that before any short timeout runs.
  const endpoint = await startEndpoint();
  await (await fetch(endpoint.url)).text();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** Records `onError` calls; `reported(n)` resolves once n have arrived. */
function errorRecorder() {
  const errors: Error[] = [];
  const waiters: (() => void)[] = [];
  return {
    errors,
    onError: (error: Error): void => {
      errors.push(error);
      for (const wake of waiters.splice(0)) wake();
    },
    reported: async (count: number): Promise<void> => {
      while (errors.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

interface Subject {
  readonly set: RemoteKeySet;
  readonly errors: ReturnType<typeof errorRecorder>;
  /** Fetches started so far: known at once, even for a background refresh still on its way. */
  readonly started: () => number;
  /** Moves the clock to `NOW_MS + ms`. */
  readonly at: (ms: number) => void;
}

function subject(url: string, options: RemoteKeySetOptions = {}): Subject {
  let now = NOW_MS;
  let started = 0;
  const errors = errorRecorder();
  const countingFetch: typeof fetch = (input, init) => {
    started++;
    return fetch(input, init);
  };
  const set = createRemoteKeySet(url, { clock: () => now, onError: errors.onError, fetch: countingFetch, ...options });
  return {
    set,
    errors,
    started: () => started,
    at: (ms) => {
      now = NOW_MS + ms;
    },
  };
}

const kidsOf = (keys: readonly ImportedKey[]): (string | undefined)[] => keys.map((key) => key.kid);

describe('createRemoteKeySet', () => {
  describe('fetching and caching', () => {
    it('fetches nothing until the first lookup', async () => {
      const endpoint = await startEndpoint();
      const { set } = subject(endpoint.url);

      expect(set.kids).toEqual([]);
      expect(endpoint.server.requests).toEqual([]);
    });

    it('fetches the set on first use, once, and serves every later lookup from the cache', async () => {
      const endpoint = await startEndpoint();
      const { set, at } = subject(endpoint.url);

      const first = await set.keysFor(header('EdDSA', 'ed-1'));
      at(MAX_AGE - 1);
      for (let i = 0; i < 5; i++) await set.keysFor(header('EdDSA', 'ed-1'));
      await set.keysFor(header('ES256', 'ec-1'));

      expect(first).toHaveLength(1);
      expect(first[0]?.key.equals(ed.publicKey)).toBe(true);
      expect(set.kids).toEqual(['ed-1', 'ec-1']);
      expect(endpoint.server.requests).toEqual(['/jwks']);
    });

    it('joins concurrent first lookups into one fetch', async () => {
      const endpoint = await startEndpoint();
      const { set } = subject(endpoint.url);

      const results = await Promise.all(Array.from({ length: 10 }, () => set.keysFor(header('EdDSA', 'ed-1'))));

      expect(results.every((keys) => kidsOf(keys).join() === 'ed-1')).toBe(true);
      expect(endpoint.fetches()).toBe(1);
    });

    it('returns only keys of the header algorithm, by kid, or all of that algorithm without a kid', async () => {
      const endpoint = await startEndpoint([edEntry, ecEntry, nextEntry]);
      const { set } = subject(endpoint.url);

      expect(kidsOf(await set.keysFor(header('EdDSA', 'ed-2')))).toEqual(['ed-2']);
      expect(kidsOf(await set.keysFor(header('ES256', 'ec-1')))).toEqual(['ec-1']);
      expect(kidsOf(await set.keysFor(header('EdDSA')))).toEqual(['ed-1', 'ed-2']);
      expect(kidsOf(await set.keysFor(header('ES256')))).toEqual(['ec-1']);
      // A kid that exists, under the other algorithm: no key.
      expect(await set.keysFor(header('ES256', 'ed-1'))).toEqual([]);
      expect(await set.keysFor(header('EdDSA', 'ec-1'))).toEqual([]);
      expect(endpoint.fetches()).toBe(1);
    });

    it('answers an HS256 header with no key and no fetch, before and after the first fetch', async () => {
      const endpoint = await startEndpoint();
      const { set, at, started } = subject(endpoint.url);

      expect(await set.keysFor(header('HS256', 'ed-1'))).toEqual([]);
      expect(endpoint.fetches()).toBe(0);
      await set.keysFor(header('EdDSA', 'ed-1'));
      at(MAX_AGE + COOLDOWN);
      expect(await set.keysFor(header('HS256', 'ed-1'))).toEqual([]);
      expect(await set.keysFor(header('HS256', 'unknown'))).toEqual([]);
      expect(started()).toBe(1);
    });
  });

  describe('an unknown kid', () => {
    it.each([
      ['just inside the cool-down', COOLDOWN - 1, 1],
      ['when the cool-down has passed', COOLDOWN, 2],
    ])('re-fetches %s only (%i ms after the last fetch)', async (_label, elapsed, fetches) => {
      const endpoint = await startEndpoint();
      const { set, at } = subject(endpoint.url);
      await set.keysFor(header('EdDSA', 'ed-1'));
      endpoint.keys = [edEntry, nextEntry];

      at(elapsed);
      const found = await set.keysFor(header('EdDSA', 'ed-2'));

      expect(endpoint.fetches()).toBe(fetches);
      expect(kidsOf(found)).toEqual(fetches === 2 ? ['ed-2'] : []);
    });

    it('causes no fetch at all inside the cool-down, however many unknown kids arrive', async () => {
      const endpoint = await startEndpoint();
      const { set, at, started } = subject(endpoint.url);
      await set.keysFor(header('EdDSA', 'ed-1'));

      for (let i = 0; i < 50; i++) {
        at(i * 100);
        expect(await set.keysFor(header('EdDSA', `forged-${i}`))).toEqual([]);
      }
      await Promise.all(Array.from({ length: 50 }, (_, i) => set.keysFor(header('ES256', `forged-ec-${i}`))));

      expect(started()).toBe(1);
      expect(endpoint.fetches()).toBe(1);
    });

    it('re-fetches at most once per cool-down, however many unknown kids arrive', async () => {
      const endpoint = await startEndpoint();
      const { set, at } = subject(endpoint.url);
      await set.keysFor(header('EdDSA', 'ed-1'));

      at(COOLDOWN);
      await Promise.all(Array.from({ length: 20 }, (_, i) => set.keysFor(header('EdDSA', `forged-${i}`))));
      expect(endpoint.fetches()).toBe(2);
      at(2 * COOLDOWN - 1);
      await set.keysFor(header('EdDSA', 'forged-again'));
      expect(endpoint.fetches()).toBe(2);
      at(2 * COOLDOWN);
      await set.keysFor(header('EdDSA', 'forged-again'));
      expect(endpoint.fetches()).toBe(3);
    });

    it('joins a fetch already in flight instead of waiting for the cool-down', async () => {
      const endpoint = await startEndpoint();
      const { set, at } = subject(endpoint.url);
      await set.keysFor(header('EdDSA', 'ed-1'));
      endpoint.keys = [edEntry, nextEntry];
      endpoint.behaviour = 'hold';

      at(MAX_AGE); // stale: the next lookup starts a background refresh, which the endpoint holds
      await set.keysFor(header('EdDSA', 'ed-1'));
      await endpoint.server.requested(2);
      const lookup = set.keysFor(header('EdDSA', 'ed-2'));
      endpoint.release();

      expect(kidsOf(await lookup)).toEqual(['ed-2']);
      expect(endpoint.fetches()).toBe(2);
    });

    it('does not re-fetch for a header without kid that matches no key', async () => {
      const endpoint = await startEndpoint([edEntry]);
      const { set, at, started } = subject(endpoint.url);
      await set.keysFor(header('EdDSA', 'ed-1'));

      at(COOLDOWN);
      expect(await set.keysFor(header('ES256'))).toEqual([]);
      expect(started()).toBe(1);
    });
  });

  describe('maxAgeMs', () => {
    it.each([
      ['just before maxAgeMs', MAX_AGE - 1, 1],
      ['at maxAgeMs', MAX_AGE, 2],
    ])('refreshes a set that is old enough: %s', async (_label, elapsed, fetches) => {
      const endpoint = await startEndpoint();
      const { set, at, started } = subject(endpoint.url);
      await set.keysFor(header('EdDSA', 'ed-1'));

      at(elapsed);
      await set.keysFor(header('EdDSA', 'ed-1'));
      expect(started()).toBe(fetches);
      await endpoint.server.requested(fetches);
      expect(endpoint.fetches()).toBe(fetches);
    });

    it('refreshes in the background while the cached keys keep serving', async () => {
      const endpoint = await startEndpoint([edEntry]);
      const { set, at } = subject(endpoint.url);
      await set.keysFor(header('EdDSA', 'ed-1'));
      endpoint.behaviour = 'hold';
      endpoint.keys = [nextEntry];

      at(MAX_AGE);
      // Resolves while the endpoint still holds the refresh: the lookup did not wait for it.
      const during = await set.keysFor(header('EdDSA', 'ed-1'));
      await endpoint.server.requested(2);
      const joined = set.refresh();
      endpoint.release();
      await joined;

      expect(kidsOf(during)).toEqual(['ed-1']);
      expect(set.kids).toEqual(['ed-2']);
      expect(await set.keysFor(header('EdDSA', 'ed-1'))).toEqual([]); // retired, and inside the cool-down
      expect(endpoint.fetches()).toBe(2);
    });
  });

  describe('when the endpoint is down', () => {
    const failures: [Behaviour, RegExp][] = [
      ['answers 500', /^the JWKS endpoint answered 500$/],
      ['answers invalid JSON', /^the JWKS is not valid JSON$/],
      ['answers without a keys array', /^the JWKS has no keys array$/],
      ['never answers', new RegExp(`^the JWKS endpoint did not answer within ${HANG_TIMEOUT} ms$`)],
      ['stalls the body', new RegExp(`^the JWKS endpoint did not answer within ${HANG_TIMEOUT} ms$`)],
      ['redirects', /^the JWKS endpoint could not be reached: unexpected redirect$/],
      ['sends 600 KiB', /^the JWKS is too large$/],
      ['sends 600 KiB chunked', /^the JWKS is too large$/],
    ];

    it.each(failures)('keeps serving the cached keys and tells onError when it %s', async (behaviour, message) => {
      const endpoint = await startEndpoint();
      const { set, errors, at } = subject(endpoint.url, timeoutFor(behaviour));
      await set.keysFor(header('EdDSA', 'ed-1'));
      endpoint.behaviour = behaviour;

      at(MAX_AGE);
      const stale = await set.keysFor(header('EdDSA', 'ed-1'));
      await errors.reported(1);
      at(MAX_AGE + COOLDOWN);
      const unknown = await set.keysFor(header('EdDSA', 'ed-2')); // a re-fetch for an unknown kid fails too
      const after = await set.keysFor(header('ES256', 'ec-1'));

      expect(kidsOf(stale)).toEqual(['ed-1']);
      expect(unknown).toEqual([]);
      expect(kidsOf(after)).toEqual(['ec-1']);
      expect(set.kids).toEqual(['ed-1', 'ec-1']);
      expect(errors.errors).toHaveLength(2);
      for (const error of errors.errors) expect(error.message).toMatch(message);
    });

    it('keeps serving the cached keys when nothing listens any more', async () => {
      const endpoint = await startEndpoint();
      const { set, errors, at } = subject(endpoint.url);
      await set.keysFor(header('EdDSA', 'ed-1'));
      await endpoint.server.close();

      at(MAX_AGE);
      const stale = await set.keysFor(header('EdDSA', 'ed-1'));
      await errors.reported(1);

      expect(kidsOf(stale)).toEqual(['ed-1']);
      expect(errors.errors[0]?.message).toBe('the JWKS endpoint could not be reached: ECONNREFUSED');
    });

    it('waits a cool-down after a failed background refresh before fetching again', async () => {
      const endpoint = await startEndpoint();
      const { set, errors, at, started } = subject(endpoint.url);
      await set.keysFor(header('EdDSA', 'ed-1'));
      endpoint.behaviour = 'answers 500';

      at(MAX_AGE);
      await set.keysFor(header('EdDSA', 'ed-1'));
      await errors.reported(1);
      for (let i = 0; i < 20; i++) {
        at(MAX_AGE + i * 1000);
        expect(kidsOf(await set.keysFor(header('EdDSA', 'ed-1')))).toEqual(['ed-1']);
      }
      expect(started()).toBe(2);
      expect(endpoint.fetches()).toBe(2);

      endpoint.behaviour = 'serve';
      endpoint.keys = [edEntry, nextEntry];
      at(MAX_AGE + COOLDOWN);
      await set.keysFor(header('EdDSA', 'ed-1'));
      await set.refresh();
      expect(set.kids).toEqual(['ed-1', 'ed-2']);
      expect(errors.errors).toHaveLength(1);
    });

    it.each([...failures.map(([behaviour]) => behaviour), 'is not listening' as const])(
      'rejects with 503 keys_unavailable when the set was never fetched (the endpoint %s), and tries again after the cool-down',
      async (behaviour) => {
        const endpoint = await startEndpoint();
        const url = behaviour === 'is not listening' ? await closedPortUrl('/jwks') : endpoint.url;
        if (behaviour !== 'is not listening') endpoint.behaviour = behaviour;
        const { set, errors, started, at } = subject(url, timeoutFor(behaviour));

        const error: unknown = await set.keysFor(header('EdDSA', 'ed-1')).then(
          () => 'resolved',
          (rejection: unknown) => rejection,
        );

        expect(error).toBeInstanceOf(IdentityError);
        expect(error).toMatchObject({ code: 'keys_unavailable', status: 503 });
        expect(errors.errors).toHaveLength(1);
        at(COOLDOWN);
        if (behaviour === 'is not listening') {
          await expect(set.keysFor(header('EdDSA', 'ed-1'))).rejects.toMatchObject({ code: 'keys_unavailable' });
        } else {
          endpoint.behaviour = 'serve';
          expect(kidsOf(await set.keysFor(header('EdDSA', 'ed-1')))).toEqual(['ed-1']);
        }
        expect(started()).toBe(2);
      },
    );

    it('fetches a failing endpoint once for 100 forged lookups before the first success, warns once, and answers each 503 keys_unavailable', async () => {
      const endpoint = await startEndpoint();
      endpoint.behaviour = 'answers 500';
      const { set, errors, started, at } = subject(endpoint.url);

      const outcomes = await Promise.allSettled(Array.from({ length: 100 }, () => set.keysFor(header('EdDSA', 'forged'))));
      for (let i = 0; i < 100; i++)
        await expect(set.keysFor(header('EdDSA', 'forged'))).rejects.toMatchObject({ code: 'keys_unavailable' });
      at(COOLDOWN - 1);
      await expect(set.keysFor(header('EdDSA', 'forged'))).rejects.toMatchObject({ code: 'keys_unavailable', status: 503 });

      expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
      expect(started()).toBe(1);
      expect(endpoint.fetches()).toBe(1);
      expect(errors.errors).toHaveLength(1);
      endpoint.behaviour = 'serve';
      at(COOLDOWN);
      expect(kidsOf(await set.keysFor(header('EdDSA', 'ed-1')))).toEqual(['ed-1']);
      expect(started()).toBe(2);
    });

    it('does not follow a redirect, even to a path of the same server', async () => {
      const endpoint = await startEndpoint();
      endpoint.behaviour = 'redirects';
      const { set, errors } = subject(endpoint.url);

      await expect(set.keysFor(header('EdDSA', 'ed-1'))).rejects.toMatchObject({ code: 'keys_unavailable' });
      expect(endpoint.server.requests).toEqual(['/jwks']);
      expect(errors.errors[0]?.message).toBe('the JWKS endpoint could not be reached: unexpected redirect');
    });

    it('never puts the response text in the error it reports', async () => {
      const endpoint = await startEndpoint();
      endpoint.behaviour = 'answers invalid JSON';
      const { set, errors } = subject(endpoint.url);

      await expect(set.keysFor(header('EdDSA', 'ed-1'))).rejects.toMatchObject({ code: 'keys_unavailable' });
      expect(errors.errors[0]?.message).not.toContain(privateD.slice(0, 12));
      expect(String(errors.errors[0]?.cause)).not.toContain(privateD.slice(0, 12));
    });

    it('survives an onError that throws', async () => {
      const endpoint = await startEndpoint();
      endpoint.behaviour = 'answers 500';
      const set = createRemoteKeySet(endpoint.url, {
        clock: () => NOW_MS,
        onError: () => {
          throw new Error('the logger is broken');
        },
      });

      await expect(set.keysFor(header('EdDSA', 'ed-1'))).rejects.toMatchObject({ code: 'keys_unavailable' });
      await expect(set.refresh()).resolves.toBeUndefined();
    });
  });

  describe('JWKS entries', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const ed448 = generateKeyPairSync('ed448');
    const x25519 = generateKeyPairSync('x25519');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

    const ignored: [label: string, entry: unknown][] = [
      ['holds a private key (d)', { ...jwkOf(ed.privateKey), kid: 'private-ed' }],
      ['holds a private P-256 key (d)', { ...jwkOf(ec.privateKey), kid: 'private-ec' }],
      ['is symmetric (k)', { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA', kid: 'symmetric', alg: 'HS256' }],
      ['carries k next to a public key', { ...jwkOf(next.publicKey), k: 'c2VjcmV0', kid: 'with-k' }],
      ['is for encryption (use enc)', { ...jwkOf(next.publicKey), kid: 'enc', use: 'enc' }],
      ['says alg ES256 for an Ed25519 key', { ...jwkOf(next.publicKey), kid: 'mismatch-ed', alg: 'ES256' }],
      ['says alg EdDSA for a P-256 key', { ...jwkOf(p256().publicKey), kid: 'mismatch-ec', alg: 'EdDSA' }],
      ['says alg HS256', { ...jwkOf(next.publicKey), kid: 'mismatch-hs', alg: 'HS256' }],
      ['is on P-384', { ...jwkOf(p384.publicKey), kid: 'p384' }],
      ['is on secp256k1', { ...jwkOf(secp256k1.publicKey), kid: 'secp256k1' }],
      ['is Ed448', { ...jwkOf(ed448.publicKey), kid: 'ed448' }],
      ['is X25519', { ...jwkOf(x25519.publicKey), kid: 'x25519' }],
      ['is RSA', { ...jwkOf(rsa.publicKey), kid: 'rsa', alg: 'RS256' }],
      ['has no x', { kty: 'OKP', crv: 'Ed25519', kid: 'no-x' }],
      ['has an x that is no point', { kty: 'OKP', crv: 'Ed25519', x: 'AAAA', kid: 'bad-x' }],
      ['has no y on P-256', { kty: 'EC', crv: 'P-256', x: jwkOf(ec.publicKey).x, kid: 'no-y' }],
      ['is null', null],
      ['is a string', 'ed-1'],
    ];

    it('keeps the valid key and ignores every entry that is private, symmetric, for encryption, mismatched or unsupported', async () => {
      const endpoint = await startEndpoint([...ignored.map(([, entry]) => entry), edEntry]);
      const { set } = subject(endpoint.url);

      expect(kidsOf(await set.keysFor(header('EdDSA', 'ed-1')))).toEqual(['ed-1']);
      expect(set.kids).toEqual(['ed-1']);
    });

    it.each(ignored.filter(([, entry]) => typeof entry === 'object' && entry !== null))(
      'ignores an entry that %s: its kid finds no key',
      async (_label, entry) => {
        const endpoint = await startEndpoint([entry, edEntry]);
        const { set } = subject(endpoint.url);
        const { kid } = entry as { kid: string };

        expect(await set.keysFor(header('EdDSA', kid))).toEqual([]);
        expect(await set.keysFor(header('ES256', kid))).toEqual([]);
        expect(set.kids).toEqual(['ed-1']);
      },
    );

    it('names an entry without kid by its RFC 7638 thumbprint', async () => {
      const edWithoutKid = { ...jwkOf(ed.publicKey), alg: 'EdDSA', use: 'sig' };
      const ecBare = jwkOf(ec.publicKey);
      const endpoint = await startEndpoint([edWithoutKid, ecBare]);
      const { set } = subject(endpoint.url);
      const edThumbprint = await calculateJwkThumbprint(jwkOf(ed.publicKey));
      const ecThumbprint = await calculateJwkThumbprint(jwkOf(ec.publicKey));

      const found = await set.keysFor(header('ES256', ecThumbprint));

      expect(set.kids).toEqual([edThumbprint, ecThumbprint]);
      expect(found[0]?.key.equals(ec.publicKey)).toBe(true);
    });
  });

  describe('options', () => {
    it.each<[string, string, RemoteKeySetOptions, RegExp]>([
      ['a relative URL', '/jwks', {}, /^jwksUrl must be an absolute http\(s\) URL$/],
      ['an ftp URL', 'ftp://127.0.0.1/jwks', {}, /^jwksUrl must be an absolute http\(s\) URL$/],
      ['a file URL', 'file:///etc/jwks.json', {}, /^jwksUrl must be an absolute http\(s\) URL$/],
      ['a fractional timeoutMs', 'http://127.0.0.1/jwks', { timeoutMs: 1.5 }, /^jwks\.timeoutMs /],
      ['a zero timeoutMs', 'http://127.0.0.1/jwks', { timeoutMs: 0 }, /^jwks\.timeoutMs /],
      ['a timeoutMs beyond what timers hold', 'http://127.0.0.1/jwks', { timeoutMs: 3e9 }, /^jwks\.timeoutMs /],
      ['a string timeoutMs', 'http://127.0.0.1/jwks', { timeoutMs: '100' as never }, /^jwks\.timeoutMs /],
      ['a negative cooldownMs', 'http://127.0.0.1/jwks', { cooldownMs: -1 }, /^jwks\.cooldownMs /],
      ['a NaN maxAgeMs', 'http://127.0.0.1/jwks', { maxAgeMs: Number.NaN }, /^jwks\.maxAgeMs /],
      ['an infinite maxAgeMs', 'http://127.0.0.1/jwks', { maxAgeMs: Infinity }, /^jwks\.maxAgeMs /],
      ['a fetch that is not a function', 'http://127.0.0.1/jwks', { fetch: 'fetch' as never }, /^jwks\.fetch /],
    ])('refuses %s at construction, naming the option', (_label, url, options, message) => {
      expect(() => createRemoteKeySet(url, options)).toThrow(message);
    });

    it('refuses a URL with credentials without echoing them', () => {
      const error = (() => {
        try {
          createRemoteKeySet('https://gateway:hunter2-password@gateway.test/jwks');
        } catch (caught) {
          return caught as Error;
        }
        throw new Error('expected createRemoteKeySet to throw');
      })();

      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toBe('jwksUrl must not contain credentials');
    });

    it('accepts explicit undefined options', () => {
      expect(() =>
        createRemoteKeySet('https://gateway.test/jwks', { timeoutMs: undefined, cooldownMs: undefined, maxAgeMs: undefined }),
      ).not.toThrow();
    });
  });
});
