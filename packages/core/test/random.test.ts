import { randomId } from '../src/internal.js';

describe('randomId', () => {
  it('returns 128 random bits as 22 base64url characters', () => {
    const id = randomId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(id, 'base64url')).toHaveLength(16);
  });

  it('never repeats across several refills of its pool', () => {
    const ids = Array.from({ length: 2_000 }, () => randomId());
    expect(new Set(ids).size).toBe(ids.length);
  });
});
