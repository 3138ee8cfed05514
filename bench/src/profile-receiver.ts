/**
 * CPU profile of the receiver under load: `node bench/dist/profile-receiver.js [verified|bare] [seconds] [body-bytes]`
 * (a `tools/call` body of about that size; the typical small body without it).
 * Writes a .cpuprofile of the receiver process into bench/profiles/.
 */
import { fork } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import autocannon from 'autocannon';
import { createAssertionSigner, jsonBodyDigest, normalizeUserContext, userToHeaders } from '@mcp-identity/core/internal';
import { AUDIENCE, benchUser, bodyOfSize, ISSUER, SECRET, TYPICAL_BODY } from './fixtures.js';

const key = process.argv[2] ?? 'verified';
const seconds = Number(process.argv[3] ?? 5);
const bytes = Number(process.argv[4] ?? 0);
const body = bytes > 0 ? bodyOfSize(bytes) : TYPICAL_BODY;
const dir = new URL('../profiles/', import.meta.url).pathname;
mkdirSync(dir, { recursive: true });
const before = new Set(readdirSync(dir));
const child = fork(new URL('./receiver-process.js', import.meta.url), [], {
  execArgv: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const ports = await new Promise<Record<string, number>>((resolve) =>
  child.once('message', (m) => resolve((m as { ports: Record<string, number> }).ports)),
);
const signer = createAssertionSigner({ signing: { secret: SECRET }, issuer: ISSUER, audience: AUDIENCE });
const user = normalizeUserContext(benchUser());
const digest = jsonBodyDigest(JSON.parse(body));
const headers = { 'content-type': 'application/json' };
const result = await autocannon({
  url: `http://127.0.0.1:${ports[key]}`,
  connections: 16,
  duration: seconds,
  requests: [
    {
      method: 'POST',
      path: '/mcp',
      headers,
      body,
      setupRequest: (req: autocannon.Request) => ({
        ...req,
        headers: {
          ...headers,
          ...userToHeaders(user, 'x-forwarded-user'),
          'x-forwarded-user-assertion': signer.sign(user, { method: 'POST', path: '/mcp', bodySha256: digest }).token,
        },
      }),
    },
  ],
});
console.log(
  `${key}, ${body.length} bytes: ${Math.round(result.requests.average)} req/s, non-2xx ${result.non2xx}, errors ${result.errors}`,
);
child.send({ type: 'exit' });
await new Promise((resolve) => child.once('exit', resolve));
console.log(`profile: ${dir}${readdirSync(dir).find((name) => !before.has(name)) ?? '(none)'}`);
