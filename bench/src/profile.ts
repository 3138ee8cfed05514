/**
 * CPU profile of one gateway scenario under load: `node bench/dist/profile.js [port-key] [body-bytes] [seconds]`
 * (port keys as in gateway-process.ts: baseline, headers, meta, eddsa, policy, groups1, groups32, groups256).
 * Writes a .cpuprofile of the gateway process into bench/profiles/ and prints the top self-time functions.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { bodyOfSize, eddsaKeyPem, TYPICAL_BODY } from './fixtures.js';

const key = process.argv[2] ?? 'meta';
const bytes = Number(process.argv[3] ?? 0);
const seconds = Number(process.argv[4] ?? 5);
const dir = new URL('../profiles/', import.meta.url).pathname;
mkdirSync(dir, { recursive: true });

function start(file: string, args: string[], execArgv: string[] = []): Promise<{ child: ChildProcess; ports: Record<string, number> }> {
  const child = fork(new URL(file, import.meta.url), args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve) => child.once('message', (m) => resolve({ child, ports: (m as { ports: Record<string, number> }).ports })));
}

const upstream = await start('./upstream-process.js', []);
const before = new Set(readdirSync(dir));
const gateway = await start(
  './gateway-process.js',
  [String(upstream.ports.upstream), eddsaKeyPem()],
  ['--cpu-prof', `--cpu-prof-dir=${dir}`],
);
const body = bytes > 0 ? bodyOfSize(bytes) : TYPICAL_BODY;
// The first refused answer, to say why (a gateway that answers 4xx/5xx fast is not fast).
let refused: string | undefined;
const result = await autocannon({
  url: `http://127.0.0.1:${gateway.ports[key]}`,
  connections: 16,
  duration: seconds,
  requests: [
    {
      method: 'POST',
      path: '/mcp',
      headers: { 'content-type': 'application/json' },
      body,
      onResponse: (status: number, response: string) => {
        if (status >= 300) refused ??= `${status} ${response.slice(0, 200)}`;
      },
    },
  ],
});
console.log(
  `${key}, ${body.length} bytes: ${Math.round(result.requests.average)} req/s, non-2xx ${result.non2xx}, errors ${result.errors}`,
);
if (refused !== undefined) console.log(`first non-2xx: ${refused}`);
gateway.child.send({ type: 'exit' });
await new Promise((resolve) => gateway.child.once('exit', resolve));
upstream.child.kill();

const file = readdirSync(dir).find((name) => !before.has(name) && name.endsWith('.cpuprofile'));
if (file === undefined) throw new Error('no profile written');
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
const profile = JSON.parse(readFileSync(dir + file, 'utf8')) as { nodes: Node[] };
const self = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  total += hits;
  const where = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/packages\//, '')}:${node.callFrame.lineNumber + 1}`;
  self.set(where, (self.get(where) ?? 0) + hits);
}
console.log(`profile: ${dir}${file}`);
for (const [where, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30))
  console.log(`${((hits / total) * 100).toFixed(1).padStart(5)}%  ${where}`);
