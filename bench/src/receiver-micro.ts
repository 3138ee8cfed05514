/**
 * The receiver middleware's own cost, in process: `node bench/dist/receiver-micro.js [requests] [rounds]`.
 * Each request is a real `IncomingMessage` with the bench's signed headers and typical body,
 * handed to `express.json()` (the bare handler's parser) and to `verifyIdentity` (as the bench
 * configures it) in turn; prints µs per request of the fastest batch (on a shared machine the
 * others were interrupted) and the median batch, and the difference of the fastest. No sockets, no response writing: what is left is the middleware itself.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { RequestHandler } from 'express';
import { createAssertionSigner, jsonBodyDigest, MemoryStore, normalizeUserContext, userToHeaders } from '@mcp-identity/core/internal';
import { verifyIdentity } from '@mcp-identity/receiver';
import { AUDIENCE, benchUser, ISSUER, SECRET, TYPICAL_BODY } from './fixtures.js';

const perRound = Number(process.argv[2] ?? 500);
const rounds = Number(process.argv[3] ?? 200);

const signer = createAssertionSigner({ signing: { secret: SECRET }, issuer: ISSUER, audience: AUDIENCE });
const user = normalizeUserContext(benchUser());
const digest = jsonBodyDigest(JSON.parse(TYPICAL_BODY));
const plain = userToHeaders(user, 'x-forwarded-user');
const body = Buffer.from(TYPICAL_BODY);
// What IncomingMessage and on-finished look at: a readable socket (none is read).
const socket = { readable: true, resume: () => undefined, destroy: () => undefined } as never;

function rawHeaders(): string[] {
  const { token } = signer.sign(user, { method: 'POST', path: '/mcp', bodySha256: digest });
  const headers: Record<string, string> = {
    host: '127.0.0.1',
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'content-length': String(body.length),
    ...plain,
    'x-forwarded-user-assertion': token,
  };
  return Object.entries(headers).flat();
}

function request(raw: string[]): IncomingMessage & { originalUrl: string } {
  const req = new IncomingMessage(socket) as IncomingMessage & { originalUrl: string };
  req.method = 'POST';
  req.url = '/mcp';
  req.originalUrl = '/mcp';
  req.rawHeaders = raw;
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) headers[raw[i]!.toLowerCase()] = raw[i + 1]!;
  req.headers = headers;
  req.push(body);
  req.push(null);
  req.complete = true;
  return req;
}

/** Runs `raws` through `middleware` one after the other; resolves the µs per request. */
function run(middleware: RequestHandler, raws: string[][]): Promise<number> {
  return new Promise((resolve, reject) => {
    let i = 0;
    const start = process.hrtime.bigint();
    const step = (error?: unknown): void => {
      if (error !== undefined) {
        reject(error instanceof Error ? error : new Error('the middleware passed on an error'));
        return;
      }
      if (i === raws.length) {
        resolve(Number(process.hrtime.bigint() - start) / 1000 / raws.length);
        return;
      }
      const req = request(raws[i++]!);
      const res = new ServerResponse(req);
      // Express would answer a refusal; here any refusal is a failure of the benchmark.
      res.end = (() => reject(new Error(`refused: ${res.statusCode}`))) as never;
      void middleware(req as never, res as never, step);
    };
    step();
  });
}

const json = express.json();
const verified = verifyIdentity({
  audience: AUDIENCE,
  issuer: ISSUER,
  secrets: [{ secret: SECRET }],
  replayStore: new MemoryStore({ maxEntries: 2_000_000 }),
  audit: () => undefined,
});
const results: Record<string, number[]> = { json: [], verified: [] };
const raws = Array.from({ length: perRound * (rounds + 1) }, rawHeaders);
for (let r = -1; r < rounds; r++) {
  // Wall time of small batches, the fastest batch counted: on a shared machine, the others were interrupted.
  const batch = raws.slice((r + 1) * perRound, (r + 2) * perRound);
  // RECEIVER_MICRO_ONLY=verified (or json) runs one side only, for a CPU profile of it.
  const a = process.env.RECEIVER_MICRO_ONLY === 'verified' ? 0 : await run(json, batch);
  const b = process.env.RECEIVER_MICRO_ONLY === 'json' ? 0 : await run(verified, batch);
  if (r >= 0) {
    results.json!.push(a);
    results.verified!.push(b);
  }
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const show = (values: number[]): string => `min ${Math.min(...values).toFixed(2)} µs, median ${median(values).toFixed(2)} µs`;
console.log(`express.json(): ${show(results.json!)}`);
console.log(`verifyIdentity: ${show(results.verified!)}`);
console.log(`difference:     min ${(Math.min(...results.verified!) - Math.min(...results.json!)).toFixed(2)} µs`);
