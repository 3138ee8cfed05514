/**
 * `npm run bench`: throughput and latency of the gateway and receiver against baselines
 * measured in the same run, sign/verify micro-benchmarks beside jose, SSE time to first
 * event, replay-store memory, peak RSS. Prints a table and writes bench/results.json.
 *
 * Load comes from autocannon in this process; the systems under test run in child
 * processes. Every scenario runs a warm-up, then ROUNDS rounds interleaved across
 * scenarios. In each round a row with a baseline is measured right beside it (the baseline
 * first in even rounds, the row first in odd ones), so a slow spell of the shared machine hits
 * both halves of a pair alike; each ratio is computed per round within its pair and reported
 * as the median with its min–max over rounds.
 *
 * `node bench/dist/run.js --markdown` prints the tables of the last bench/results.json;
 * `--markdown --write docs/performance.md` puts them between the file's bench markers.
 */
import { execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import {
  createAssertionSigner,
  jsonBodyDigest,
  normalizeUserContext,
  randomId,
  RedisStore,
  userToHeaders,
} from '@mcp-identity/core/internal';
import {
  AUDIENCE,
  benchUser,
  bodyOfSize,
  eddsaKeyPem,
  ISSUER,
  LARGE_BODY,
  loginToken,
  oauthAccessToken,
  SECRET,
  TYPICAL_BODY,
} from './fixtures.js';
import { microBenchmarks } from './micro.js';
import { policyBenchmarks } from './policy-micro.js';
import { bodyBenchmarks } from './body-micro.js';
import { tokenExchangeBenchmarks } from './token-exchange-micro.js';
import type { MicroResult } from './micro.js';
import { renderMarkdown } from './markdown.js';
import type { BenchResults } from './markdown.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION = Number(process.env.BENCH_DURATION ?? 2);
/** Seconds per round of the groups and Redis rows, to keep the run near two and a half minutes. */
const EXTRA_DURATION = Number(process.env.BENCH_EXTRA_DURATION ?? 1);
// A process takes about 10 s of load to settle (docs/performance.md); pairing evens out the rest.
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);

type Section = 'main' | 'groups' | 'body' | 'policy' | 'redis';

interface Scenario {
  readonly key: string;
  readonly label: string;
  readonly section: Section;
  readonly port: number;
  readonly body: string;
  /** Sign a fresh, bound assertion per request (the receiver scenarios). */
  readonly signed: boolean;
  readonly baseline?: string;
  /** Extra request headers (the login token of the authenticated pair). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The process serving it, whose CPU time per request is reported. */
  readonly system: ChildProcess;
}

interface Round {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
  /** CPU time (user + system) of the serving process per completed request, µs. */
  readonly cpuUs: number;
}

// On a machine with two or more cores, the systems under test (gateway, receiver) get a core
// of their own and the load generator and the trivial upstream share another, so the ratios
// measure the systems under test rather than their fight with autocannon for the CPU.
const PIN = process.env.BENCH_PIN !== '0' && os.cpus().length >= 2 && hasTaskset();

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function start(
  file: string,
  args: string[] = [],
  execArgv: string[] = [],
  core?: number,
): Promise<{ child: ChildProcess; message: Record<string, unknown> }> {
  const pinned = PIN && core !== undefined;
  const child = fork(new URL(file, import.meta.url), args, {
    ...(pinned ? { execPath: 'taskset', execArgv: ['-c', String(core), process.execPath, ...execArgv] } : { execArgv }),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ child, message: message as Record<string, unknown> }));
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
}

function ask(child: ChildProcess, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    child.once('message', (message) => resolve(message as Record<string, unknown>));
    child.send({ type });
  });
}

const signer = createAssertionSigner({ signing: { secret: SECRET }, issuer: ISSUER, audience: AUDIENCE });
const signedUser = normalizeUserContext(benchUser());
const typicalDigest = jsonBodyDigest(JSON.parse(TYPICAL_BODY));

function signedHeaders(): Record<string, string> {
  const { token } = signer.sign(signedUser, { method: 'POST', path: '/mcp', bodySha256: typicalDigest });
  return { ...userToHeaders(signedUser, 'x-forwarded-user'), 'x-forwarded-user-assertion': token };
}

async function load(scenario: Scenario, seconds: number): Promise<Round> {
  const cpuBefore = await cpuMs(scenario.system);
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...scenario.headers };
  const result = await autocannon({
    url: `http://127.0.0.1:${scenario.port}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/mcp',
        headers,
        body: scenario.body,
        ...(scenario.signed
          ? { setupRequest: (req: autocannon.Request) => ({ ...req, headers: { ...headers, ...signedHeaders() } }) }
          : {}),
      },
    ],
  });
  const cpuUs = ((await cpuMs(scenario.system)) - cpuBefore) * 1000;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    cpuUs: result.requests.total > 0 ? cpuUs / result.requests.total : NaN,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Median and min–max of per-round ratios. */
function spread(values: number[]): { median: number; min: number; max: number } {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** SSE first-event samples per system (a new connection each). */
const SSE_SAMPLES = 100;

function firstEvent(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.get({ host: '127.0.0.1', port, path: '/sse', headers: { accept: 'text/event-stream' } }, (res) => {
      res.once('data', () => {
        resolve(Number(process.hrtime.bigint() - started) / 1e6);
        res.destroy();
      });
    });
    req.on('error', reject);
  });
}

async function sseFirstEvent(
  direct: number,
  proxy: number,
  gateway: number,
): Promise<{ directMs: number; proxyMs: number; gatewayMs: number; addedMs: number; identityMs: number }> {
  const d: number[] = [];
  const p: number[] = [];
  const g: number[] = [];
  for (let i = 0; i < SSE_SAMPLES; i++) {
    d.push(await firstEvent(direct));
    p.push(await firstEvent(proxy));
    g.push(await firstEvent(gateway));
  }
  const directMs = median(d);
  const proxyMs = median(p);
  const gatewayMs = median(g);
  return { directMs, proxyMs, gatewayMs, addedMs: gatewayMs - directMs, identityMs: gatewayMs - proxyMs };
}

/** CPU time a child has used, in ms. */
async function cpuMs(child: ChildProcess): Promise<number> {
  const { usage } = (await ask(child, 'cpu')) as { usage: { user: number; system: number } };
  return (usage.user + usage.system) / 1000;
}

/** Waits (at most 5 s) until the children use under 5% of a core over 100 ms. */
async function settle(children: readonly ChildProcess[]): Promise<void> {
  const deadline = Date.now() + 5000;
  let before = await Promise.all(children.map(cpuMs));
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await Promise.all(children.map(cpuMs));
    const busiest = Math.max(...after.map((ms, i) => ms - (before[i] ?? 0)));
    if (busiest < 5) return;
    before = after;
  }
}

/** A free loopback port (just released by the OS). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A redis-server of the bench's own, in memory only (as test/redis.ts starts one), or undefined without the binary. */
async function startRedis(): Promise<{ port: number; child: ChildProcess } | undefined> {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error !== undefined) return undefined;
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', os.tmpdir(), '--loglevel', 'warning'],
    { stdio: 'ignore' },
  );
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  for (let attempt = 0; attempt < 250; attempt++) {
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return { port, child };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  child.kill();
  return undefined;
}

/** The replay check itself against Redis: µs per `SET NX PX` round trip, and that a replay is refused. */
async function redisReplayMicro(port: number): Promise<MicroResult[]> {
  const client = new Redis({ host: '127.0.0.1', port });
  const store = new RedisStore(client, { prefix: 'bench-micro:' });
  const results: MicroResult[] = [];
  const key = `jti:${randomId()}`;
  if (!(await store.setIfAbsent(key, '', 60_000)) || (await store.setIfAbsent(key, '', 60_000))) {
    throw new Error('RedisStore did not refuse a replayed jti');
  }
  for (const inFlight of [1, 16]) {
    let count = 0;
    const began = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < 500) {
      await Promise.all(Array.from({ length: inFlight }, () => store.setIfAbsent(`jti:${randomId()}`, '', 60_000)));
      count += inFlight;
      elapsed = Number(process.hrtime.bigint() - began) / 1e6;
    }
    results.push({
      name: `RedisStore replay check (SET NX PX), ${inFlight} in flight`,
      opsPerSecond: Math.round((count / elapsed) * 1000),
      microsPerOp: Math.round(((elapsed * 1000) / count) * 100) / 100,
    });
  }
  client.disconnect();
  return results;
}

const fmt = (n: number, digits = 0): string => n.toFixed(digits);

async function main(): Promise<void> {
  const began = Date.now();
  const eddsaPem = eddsaKeyPem();
  const redis = await startRedis();
  const upstream = await start('./upstream-process.js', [], [], 0);
  const upPorts = upstream.message.ports as Record<string, number>;
  const gateway = await start('./gateway-process.js', [String(upPorts.upstream), eddsaPem], [], 1);
  const bodies = await start('./gateway-process.js', [String(upPorts.upstream), eddsaPem, 'bodies'], [], 1);
  const bodyPorts = bodies.message.ports as Record<string, number>;
  const extras = await start('./gateway-process.js', [String(upPorts.upstream), eddsaPem, 'extras'], [], 1);
  const extraPorts = extras.message.ports as Record<string, number>;
  const receiver = await start('./receiver-process.js', redis === undefined ? [] : [String(redis.port)], [], 1);
  const rxPorts = receiver.message.ports as Record<string, number>;
  const gwPorts = gateway.message.ports as Record<string, number>;

  const login = { authorization: `Bearer ${await loginToken()}` };
  const oauth = {
    authorization: `Bearer ${await oauthAccessToken(eddsaPem, `http://127.0.0.1:${extraPorts.authorizationServer}`)}`,
  };
  const gw = (
    key: string,
    label: string,
    section: Section,
    [system, port]: readonly [ChildProcess, number],
    body: string,
    baseline?: string,
  ): Scenario => ({
    key,
    label,
    section,
    port,
    body,
    signed: false,
    system,
    ...(baseline === undefined ? {} : { baseline }),
  });
  const on = (process: { child: ChildProcess }, ports: Record<string, number>, key: string): readonly [ChildProcess, number] => [
    process.child,
    ports[key]!,
  ];
  /** A row served by the extras process (calibration, floors), with the typical body; against the plain proxy unless told. */
  const extraRow = (key: string, label: string, section: Section, baseline = 'baseline'): Scenario =>
    gw(key, label, section, on(extras, extraPorts, key), TYPICAL_BODY, baseline);
  const sizes: [string, string, number][] = [
    ['1k', '1 KiB', 1024],
    ['64k', '64 KiB', 64 * 1024],
    ['Large', '256 KiB', 256 * 1024],
    ['1m', '1 MiB', 1024 * 1024],
  ];
  const scenarios: Scenario[] = [
    gw('baseline', '1  baseline: plain createProxyMiddleware', 'main', on(gateway, gwPorts, 'baseline'), TYPICAL_BODY),
    extraRow('calibration', '1c calibration: (1) plus 25 µs of CPU per request', 'main'),
    gw('headers', '2  propagateIdentity, headers only, HS256', 'main', on(gateway, gwPorts, 'headers'), TYPICAL_BODY, 'baseline'),
    gw('meta', '3  headers + _meta, HS256, tools/call', 'main', on(gateway, gwPorts, 'meta'), TYPICAL_BODY, 'baseline'),
    gw('eddsa', '4  headers + _meta, EdDSA, tools/call', 'main', on(gateway, gwPorts, 'eddsa'), TYPICAL_BODY, 'baseline'),
    // Next to row 3, which it is compared with: the body-size rows leave the load generator busy for a while.
    gw('policy', '8  (3) with a 100-rule policy (rule 101 allows)', 'policy', on(gateway, gwPorts, 'policy'), TYPICAL_BODY, 'meta'),
    // After the rows they bound, with a pause after each (below).
    extraRow('floorHeaders', "2f floor of (2): (1) holding the body, with (2)'s identity headers precomputed", 'main'),
    extraRow('floorMeta', "3f floor of (3): (1) holding the body, with (3)'s headers and body bytes precomputed", 'main'),
    {
      ...gw(
        'jwtBaseline',
        '1j baseline with a passport-jwt login (KeyObject secret)',
        'main',
        on(extras, extraPorts, 'jwtBaseline'),
        TYPICAL_BODY,
      ),
      headers: login,
    },
    {
      ...gw('jwtMeta', '3j (3) with the same login (authenticate)', 'main', on(extras, extraPorts, 'jwtMeta'), TYPICAL_BODY, 'jwtBaseline'),
      headers: login,
    },
    {
      ...gw(
        'oauthMeta',
        '3o (3) behind an OAuth access-token login (authenticate, EdDSA JWT)',
        'main',
        on(extras, extraPorts, 'oauthMeta'),
        TYPICAL_BODY,
      ),
      headers: oauth,
    },
    {
      ...gw(
        'oauthExchange',
        '10 (3o) with a token exchange for the upstream (cache hit)',
        'main',
        on(extras, extraPorts, 'oauthExchange'),
        TYPICAL_BODY,
        'oauthMeta',
      ),
      headers: oauth,
    },
    {
      key: 'bare',
      label: '5a upstream handler (express.json)',
      section: 'main',
      port: rxPorts.bare!,
      body: TYPICAL_BODY,
      signed: true,
      system: receiver.child,
    },
    {
      key: 'verified',
      label: '5b same handler behind verifyIdentity (MemoryStore)',
      section: 'main',
      port: rxPorts.verified!,
      body: TYPICAL_BODY,
      signed: true,
      system: receiver.child,
      baseline: 'bare',
    },
    gw('groups1', '6a (3) with a user of 1 group', 'groups', on(gateway, gwPorts, 'groups1'), TYPICAL_BODY, 'baseline'),
    gw('groups32', '6b (3) with a user of 32 groups', 'groups', on(gateway, gwPorts, 'groups32'), TYPICAL_BODY, 'groups1'),
    gw('groups256', '6c (3) with a user of 256 groups', 'groups', on(gateway, gwPorts, 'groups256'), TYPICAL_BODY, 'groups1'),
    extraRow('floorGroups1', "6f floor of (6a): (3f) with (6a)'s bytes", 'groups'),
    extraRow('floorGroups256', "6g floor of (6c): (3f) with (6c)'s bytes", 'groups', 'floorGroups1'),
    ...sizes.flatMap(([suffix, size, bytes], i): Scenario[] => {
      const body = suffix === 'Large' ? LARGE_BODY : bodyOfSize(bytes);
      // 7a/7b, 7c/7d, ...: each ratio names the baseline row it is against.
      const [base, row] = [2 * i, 2 * i + 1].map((n) => `7${String.fromCharCode(0x61 + n)}`);
      return [
        gw(`baseline${suffix}`, `${base} baseline, ${size} body`, 'body', on(bodies, bodyPorts, 'baseline'), body),
        gw(
          `meta${suffix}`,
          `${row} headers + _meta, HS256, ${size} body`,
          'body',
          on(bodies, bodyPorts, 'meta'),
          body,
          `baseline${suffix}`,
        ),
      ];
    }),
    ...(rxPorts.redis === undefined
      ? []
      : [
          {
            key: 'verifiedRedis',
            label: '9  (5b) with the replay check in RedisStore (local redis-server)',
            section: 'redis' as const,
            port: rxPorts.redis,
            body: TYPICAL_BODY,
            signed: true,
            system: receiver.child,
            baseline: 'bare',
          },
        ]),
  ];
  // Body-size rows keep full rounds: at 1 MiB a request can take most of a second under load.
  // The policy row too: it is compared with row 3, and a shorter round would weigh connection set-up more.
  const seconds = (s: Scenario): number => (s.section === 'groups' || s.section === 'redis' ? EXTRA_DURATION : DURATION);

  process.stdout.write(
    `warm-up (${WARMUP}s each), then ${ROUNDS} rounds of ${DURATION}s (groups and Redis rows ${EXTRA_DURATION}s), ${CONNECTIONS} connections; ${PIN ? 'gateway and receiver pinned to CPU 1, load generator and upstream to CPU 0' : 'no CPU pinning'}\n`,
  );
  if (redis === undefined)
    process.stdout.write('redis-server not found: the RedisStore rows are skipped (apt-get install -y redis-server)\n');
  const systems = [gateway.child, bodies.child, extras.child, receiver.child];
  for (const scenario of scenarios) {
    await load(scenario, WARMUP);
    await settle(systems);
  }
  const byKey = new Map(scenarios.map((s) => [s.key, s]));
  const rounds = new Map<string, Round[]>(scenarios.map((s) => [s.key, []]));
  /** For each row with a baseline: the baseline's req/s measured beside it, one per round. */
  const besideRounds = new Map<string, number[]>(scenarios.map((s) => [s.key, []]));
  let lastSystem: ChildProcess | undefined;
  const measure = async (scenario: Scenario, secs: number): Promise<Round> => {
    // A process left idle while another served its rows is 7–15% slower for its first second of
    // load again (measured), which used to count against whichever half of a pair ran in it: the
    // first second after a switch of process is load, not measurement.
    if (scenario.system !== lastSystem) {
      await load(scenario, 1);
      await settle(systems);
      lastSystem = scenario.system;
    }
    const round = await load(scenario, secs);
    // A scenario ends when autocannon stops sending, not when the system under test has finished
    // with what it accepted (a 1 MiB round leaves up to a second of work queued): the next
    // scenario, on the same core, starts once every system under test is idle again.
    await settle(systems);
    // Run just before another row, the fast floor rows slowed that row's gateway by up to
    // 200 µs of CPU per request in two runs; a pause of a second after them did not.
    if (scenario.key.startsWith('floor')) await new Promise((resolve) => setTimeout(resolve, 1000));
    return round;
  };
  for (let r = 0; r < ROUNDS; r++) {
    for (const scenario of scenarios) {
      const base = scenario.baseline === undefined ? undefined : byKey.get(scenario.baseline);
      if (base === undefined) {
        rounds.get(scenario.key)!.push(await measure(scenario, seconds(scenario)));
        continue;
      }
      // The pair, for as long as the row runs; in odd rounds the row goes first, so neither
      // position (after a settle, after the other half) favours one side.
      const rowFirst = r % 2 === 1;
      const first = await measure(rowFirst ? scenario : base, seconds(scenario));
      const second = await measure(rowFirst ? base : scenario, seconds(scenario));
      rounds.get(scenario.key)!.push(rowFirst ? first : second);
      besideRounds.get(scenario.key)!.push((rowFirst ? second : first).rps);
    }
    process.stdout.write(`  round ${r + 1}/${ROUNDS} done\n`);
  }
  /** Per-round ratio of a row to its baseline measured beside it. */
  const ratioRounds = (key: string): number[] => {
    const beside = besideRounds.get(key) ?? [];
    return (rounds.get(key) ?? []).map((x, i) => x.rps / (beside[i] ?? NaN));
  };

  const summary = scenarios.map((scenario) => {
    const list = rounds.get(scenario.key)!;
    return {
      key: scenario.key,
      label: scenario.label,
      section: scenario.section,
      seconds: seconds(scenario),
      rps: median(list.map((x) => x.rps)),
      p50: median(list.map((x) => x.p50)),
      p99: median(list.map((x) => x.p99)),
      non2xx: list.reduce((n, x) => n + x.non2xx, 0),
      errors: list.reduce((n, x) => n + x.errors, 0),
      cpuUs: median(list.map((x) => x.cpuUs)),
      baseline: scenario.baseline,
      ratio: scenario.baseline === undefined ? undefined : spread(ratioRounds(scenario.key)),
    };
  });

  const sse = await sseFirstEvent(upPorts.upstream!, gwPorts.baseline!, gwPorts.headers!);
  const micro: MicroResult[] = [
    ...(await microBenchmarks(eddsaPem)),
    ...policyBenchmarks(),
    ...bodyBenchmarks(),
    ...(await tokenExchangeBenchmarks()),
    ...(redis === undefined ? [] : await redisReplayMicro(redis.port)),
  ];
  const replayChild = await start('./replay-memory-process.js', [], ['--expose-gc']);
  const replay = replayChild.message as { entries: number; bytesPerEntry: number };
  const gatewayRss = Number((await ask(gateway.child, 'rss')).maxRssKb) * 1024;
  const bodiesRss = Number((await ask(bodies.child, 'rss')).maxRssKb) * 1024;
  const upstreamRss = Number((await ask(receiver.child, 'rss')).maxRssKb) * 1024;
  gateway.child.kill();
  bodies.child.kill();
  extras.child.kill();
  upstream.child.kill();
  receiver.child.kill();
  replayChild.child.kill();
  redis?.child.kill();

  const microOf = (name: string): number => micro.find((m) => m.name === name)?.opsPerSecond ?? NaN;
  const ratioOf = (key: string): { median: number; min: number; max: number } =>
    summary.find((s) => s.key === key)?.ratio ?? { median: NaN, min: NaN, max: NaN };
  const targets = [
    { name: '(2) headers-only / baseline', ...ratioOf('headers'), target: 0.92, unit: 'ratio' },
    { name: '(3) headers + _meta (tools/call) / baseline', ...ratioOf('meta'), target: 0.88, unit: 'ratio' },
    { name: '(3j) the same, both behind a passport-jwt login', ...ratioOf('jwtMeta'), target: 0.88, unit: 'ratio' },
    { name: '(5) verifyIdentity / bare handler', ...ratioOf('verified'), target: 0.9, unit: 'ratio' },
    { name: '(7) 256 KiB body / baseline', ...ratioOf('metaLarge'), target: 0.6, unit: 'ratio' },
    { name: '(7) 1 MiB body / baseline', ...ratioOf('meta1m'), target: 0.5, unit: 'ratio' },
    { name: '(6) 256 groups / 1 group', ...ratioOf('groups256'), target: 0.95, unit: 'ratio' },
    // What the stack allows: the floor rows send the same bytes with no identity work at all.
    { name: '(2f) floor of (2) / baseline', ...ratioOf('floorHeaders'), target: 0.92, unit: 'ratio' },
    { name: '(3f) floor of (3) / baseline', ...ratioOf('floorMeta'), target: 0.88, unit: 'ratio' },
    { name: '(6g/6f) floor: 256 groups / 1 group', ...ratioOf('floorGroups256'), target: 0.95, unit: 'ratio' },
    { name: '(8) 100-rule policy / the same without (3)', ...ratioOf('policy'), target: 0.95, unit: 'ratio' },
    { name: '(10) token-exchange cache hit / the same without (3o)', ...ratioOf('oauthExchange'), target: 0.95, unit: 'ratio' },
    {
      name: 'HS256 sign vs jose SignJWT',
      median: microOf('HS256 sign (mcp-identity)') / microOf('HS256 sign (jose SignJWT)'),
      target: 5,
      unit: '×',
    },
    {
      name: 'HS256 verify vs jose jwtVerify',
      median: microOf('HS256 verify (mcp-identity)') / microOf('HS256 verify (jose jwtVerify)'),
      target: 5,
      unit: '×',
    },
    { name: 'replay store bytes per live entry (100k)', median: replay.bytesPerEntry, target: 200, unit: 'bytes', atMost: true },
    { name: 'SSE first event: added over the plain proxy', median: sse.identityMs, target: 0.3, unit: 'ms', atMost: true },
    { name: 'gateway process peak RSS (small bodies)', median: gatewayRss / 2 ** 20, target: 150, unit: 'MiB', atMost: true },
  ].map((t) => ({ ...t, met: t.atMost === true ? t.median <= t.target : t.median >= t.target }));

  const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${fmt(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
  const results: BenchResults = {
    date: new Date().toISOString(),
    machine,
    settings: { ROUNDS, DURATION, EXTRA_DURATION, WARMUP, CONNECTIONS, pinned: PIN, redis: redis !== undefined },
    scenarios: summary,
    micro,
    sse,
    replay,
    rss: { gatewayRss, bodiesRss, upstreamRss, loadGeneratorRss: process.resourceUsage().maxRSS * 1024 },
    targets,
    tookSeconds: (Date.now() - began) / 1000,
  };
  process.stdout.write(`\n${renderMarkdown(results)}\n`);
  writeFileSync(new URL('../results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write('written: bench/results.json\n');
}

const BEGIN = '<!-- bench-results:begin (npm run bench, then node bench/dist/run.js --markdown --write docs/performance.md) -->';
const END = '<!-- bench-results:end -->';

/** `--markdown [--write FILE]`: the tables of the last results.json, printed or put between FILE's markers. */
async function markdown(): Promise<void> {
  const results = JSON.parse(readFileSync(new URL('../results.json', import.meta.url), 'utf8')) as BenchResults;
  const table = renderMarkdown(results);
  const at = process.argv.indexOf('--write');
  if (at === -1) {
    process.stdout.write(`${table}\n`);
    return;
  }
  const file = process.argv[at + 1];
  if (file === undefined) throw new Error('--write needs a file name');
  const text = readFileSync(file, 'utf8');
  const from = text.indexOf(BEGIN);
  const to = text.indexOf(END);
  if (from === -1 || to < from) throw new Error(`${file} has no bench markers: add the lines\n${BEGIN}\n${END}`);
  const { format } = await import('prettier');
  const updated = `${text.slice(0, from + BEGIN.length)}\n\n${table}\n\n${text.slice(to)}`;
  writeFileSync(file, await format(updated, { filepath: file, ...(await prettierConfig()) }));
  process.stdout.write(`written: ${file}\n`);
}

async function prettierConfig(): Promise<Record<string, unknown>> {
  const { resolveConfig } = await import('prettier');
  return (await resolveConfig(new URL('../../package.json', import.meta.url).pathname)) ?? {};
}

if (process.argv.includes('--markdown')) await markdown();
else await main();
