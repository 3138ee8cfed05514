import { randomFillSync } from 'node:crypto';

// One randomFillSync call per 256 ids instead of one per request.
const ID_BYTES = 16;
const pool = Buffer.alloc(ID_BYTES * 256);
let offset = pool.length;

/** A fresh 128-bit random identifier, base64url (22 characters). */
export function randomId(): string {
  if (offset >= pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return id;
}
