/**
 * CPU per request of the receiver pair, measured in the receiver process (not throughput):
 * `node bench/dist/receiver-cpu.js [requests-per-round] [rounds] [connections]`.
 * Pre-signed requests are sent over a few keep-alive connections to `bare` and `verified` in
 * turn; the receiver process reports its own CPU time (user + system) before and after each
 * round, so the load generator's cost is not counted. Prints µs of CPU per request, the median
 * over rounds (and min–max), for each and their difference.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { createAssertionSigner, jsonBodyDigest, normalizeUserContext, userToHeaders } from '@mcp-identity/core/internal';
import { AUDIENCE, benchUser, ISSUER, SECRET, TYPICAL_BODY } from './fixtures.js';

const perRound = Number(process.argv[2] ?? 4000);
const rounds = Number(process.argv[3] ?? 5);
const connections = Number(process.argv[4] ?? 4);

const child = fork(new URL('./receiver-process.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const ports = await new Promise<Record<string, number>>((resolve) =>
  child.once('message', (m) => resolve((m as { ports: Record<string, number> }).ports)),
);

function cpu(): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m) => {
      const { usage } = m as { usage: NodeJS.CpuUsage };
      resolve(usage.user + usage.system);
    });
    child.send({ type: 'cpu' });
  });
}

const signer = createAssertionSigner({ signing: { secret: SECRET }, issuer: ISSUER, audience: AUDIENCE });
const user = normalizeUserContext(benchUser());
const digest = jsonBodyDigest(JSON.parse(TYPICAL_BODY));
const plain = userToHeaders(user, 'x-forwarded-user');

function headers(): Record<string, string> {
  const { token } = signer.sign(user, { method: 'POST', path: '/mcp', bodySha256: digest });
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'content-length': String(Buffer.byteLength(TYPICAL_BODY)),
    ...plain,
    'x-forwarded-user-assertion': token,
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: connections });

function send(port: number, head: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/mcp', headers: head, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(TYPICAL_BODY);
  });
}

async function round(port: number): Promise<number> {
  const prepared = Array.from({ length: perRound }, headers);
  let next = 0;
  let failures = 0;
  const start = await cpu();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < prepared.length) {
        const status = await send(port, prepared[next++]!);
        if (status !== 200) failures++;
      }
    }),
  );
  const used = (await cpu()) - start;
  if (failures > 0) throw new Error(`${failures} requests failed`);
  return used / perRound;
}

const results: Record<string, number[]> = { bare: [], verified: [] };
// Warm-up: both paths optimized before anything is counted.
await round(ports.bare!);
await round(ports.verified!);
for (let i = 0; i < rounds; i++) {
  results.bare!.push(await round(ports.bare!));
  results.verified!.push(await round(ports.verified!));
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const show = (values: number[]): string =>
  `${median(values).toFixed(1)} µs (${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)})`;
console.log(`bare:     ${show(results.bare!)}`);
console.log(`verified: ${show(results.verified!)}`);
const diffs = results.verified!.map((v, i) => v - results.bare![i]!);
console.log(`overhead: ${show(diffs)}  ratio (bare/verified CPU): ${(median(results.bare!) / median(results.verified!)).toFixed(3)}`);
agent.destroy();
child.send({ type: 'exit' });
