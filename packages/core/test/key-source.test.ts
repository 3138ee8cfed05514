import { firstKeySource, importVerificationPublicKeys, importVerificationSecrets, staticKeySource } from '../src/internal.js';
import type { ImportedKey, KeySource } from '../src/internal.js';
import { ed25519, p256, strongSecret } from './fixtures.js';

const typ = 'user-context+jwt' as const;
const [hsA, hsB] = importVerificationSecrets([{ secret: strongSecret(), kid: 'a' }, { secret: strongSecret() }]);
const [ed] = importVerificationPublicKeys([{ alg: 'EdDSA', publicKey: ed25519().publicKey, kid: 'a-ed' }]);
const [ec] = importVerificationPublicKeys([{ alg: 'ES256', publicKey: p256().publicKey }]);
const all = [hsA!, hsB!, ed!, ec!];

describe('staticKeySource', () => {
  const source = staticKeySource(all);

  it('returns the key with the header kid', () => {
    expect(source.keysFor({ alg: 'EdDSA', kid: 'a-ed', typ })).toEqual([ed]);
  });

  it('returns every key of the algorithm when the header has no kid', () => {
    expect(source.keysFor({ alg: 'HS256', typ })).toEqual([hsA, hsB]);
    expect(source.keysFor({ alg: 'ES256', typ })).toEqual([ec]);
  });

  it('never returns a key of another algorithm, even with its kid', () => {
    expect(source.keysFor({ alg: 'HS256', kid: 'a-ed', typ })).not.toContain(ed);
    expect(source.keysFor({ alg: 'EdDSA', kid: 'a', typ })).toEqual([]);
  });

  it('falls back, for an unknown kid, to the keys configured without a kid only', () => {
    expect(source.keysFor({ alg: 'HS256', kid: 'zzz', typ })).toEqual([hsB]);
    expect(source.keysFor({ alg: 'EdDSA', kid: 'zzz', typ })).toEqual([]);
  });

  it('does not read kids from the object prototype', () => {
    expect(source.keysFor({ alg: 'HS256', kid: 'constructor', typ })).toEqual([hsB]);
    expect(source.keysFor({ alg: 'HS256', kid: '__proto__', typ })).toEqual([hsB]);
    expect(staticKeySource([hsA!]).keysFor({ alg: 'HS256', kid: 'constructor', typ })).toEqual([]);
  });

  it('returns nothing from an empty set', () => {
    expect(staticKeySource([]).keysFor({ alg: 'HS256', typ })).toEqual([]);
  });
});

describe('firstKeySource', () => {
  const fixed = (keys: readonly ImportedKey[]): KeySource & { calls: number } => {
    const source = {
      calls: 0,
      keysFor() {
        source.calls++;
        return Promise.resolve(keys);
      },
    };
    return source;
  };

  it('returns the first non-empty answer and asks no further', async () => {
    const empty = fixed([]);
    const first = fixed([ed!]);
    const second = fixed([ec!]);
    await expect(firstKeySource([empty, first, second]).keysFor({ alg: 'EdDSA', typ })).resolves.toEqual([ed]);
    expect([empty.calls, first.calls, second.calls]).toEqual([1, 1, 0]);
  });

  it('returns an empty list when every source is empty', async () => {
    await expect(firstKeySource([fixed([]), fixed([])]).keysFor({ alg: 'HS256', typ })).resolves.toEqual([]);
    await expect(firstKeySource([]).keysFor({ alg: 'HS256', typ })).resolves.toEqual([]);
  });

  it('returns a single source as is', () => {
    const only = fixed([]);
    expect(firstKeySource([only])).toBe(only);
  });

  it('passes a rejection through', async () => {
    const failing: KeySource = { keysFor: () => Promise.reject(new Error('jwks down')) };
    await expect(firstKeySource([fixed([]), failing]).keysFor({ alg: 'HS256', typ })).rejects.toThrow('jwks down');
  });
});
