/**
 * `npm run bench`: throughput and latency of the gateway and receiver against baselines
 * measured in the same run, sign/verify micro-benchmarks beside jose, SSE time to first
 * event, replay-store memory, peak RSS. Prints a table and writes bench/results.json.
 *
 * Load comes from autocannon in this process; the systems under test run in child
 * processes. Every scenario runs a warm-up, then ROUNDS rounds interleaved across
 * scenarios (so drift hits all alike); the median round is reported.
 */
import { execFileSync, fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import autocannon from 'autocannon';
import { createAssertionSigner, jsonBodyDigest, normalizeUserContext, userToHeaders } from '@mcp-identity/core/internal';
import { AUDIENCE, benchUser, eddsaKeyPem, ISSUER, LARGE_BODY, SECRET, TYPICAL_BODY } from './fixtures.js';
import { microBenchmarks } from './micro.js';
import { policyBenchmarks } from './policy-micro.js';
import { tokenExchangeBenchmarks } from './token-exchange-micro.js';
import type { MicroResult } from './micro.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION = Number(process.env.BENCH_DURATION ?? 2);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);

interface Scenario {
  readonly key: string;
  readonly label: string;
  readonly port: number;
  readonly body: string;
  /** Sign a fresh, bound assertion per request (the receiver scenarios). */
  readonly signed: boolean;
  readonly baseline?: string;
}

interface Round {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
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
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
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
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

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
  for (let i = 0; i < 40; i++) {
    d.push(await firstEvent(direct));
    p.push(await firstEvent(proxy));
    g.push(await firstEvent(gateway));
  }
  const directMs = median(d);
  const proxyMs = median(p);
  const gatewayMs = median(g);
  return { directMs, proxyMs, gatewayMs, addedMs: gatewayMs - directMs, identityMs: gatewayMs - proxyMs };
}

const fmt = (n: number, digits = 0): string => n.toFixed(digits);

async function main(): Promise<void> {
  const began = Date.now();
  const eddsaPem = eddsaKeyPem();
  const upstream = await start('./upstream-process.js', [], [], 0);
  const upPorts = upstream.message.ports as Record<string, number>;
  const gateway = await start('./gateway-process.js', [String(upPorts.upstream), eddsaPem], [], 1);
  const receiver = await start('./receiver-process.js', [], [], 1);
  const rxPorts = receiver.message.ports as Record<string, number>;
  const gwPorts = gateway.message.ports as Record<string, number>;

  const scenarios: Scenario[] = [
    { key: 'baseline', label: '1  baseline: plain createProxyMiddleware', port: gwPorts.baseline!, body: TYPICAL_BODY, signed: false },
    {
      key: 'headers',
      label: '2  propagateIdentity, headers only, HS256',
      port: gwPorts.headers!,
      body: TYPICAL_BODY,
      signed: false,
      baseline: 'baseline',
    },
    {
      key: 'meta',
      label: '3  headers + _meta, HS256, tools/call',
      port: gwPorts.meta!,
      body: TYPICAL_BODY,
      signed: false,
      baseline: 'baseline',
    },
    {
      key: 'eddsa',
      label: '4  headers + _meta, EdDSA, tools/call',
      port: gwPorts.eddsa!,
      body: TYPICAL_BODY,
      signed: false,
      baseline: 'baseline',
    },
    { key: 'baselineLarge', label: '1b baseline, 256 KiB body', port: gwPorts.baseline!, body: LARGE_BODY, signed: false },
    {
      key: 'metaLarge',
      label: '3b headers + _meta, HS256, 256 KiB body',
      port: gwPorts.meta!,
      body: LARGE_BODY,
      signed: false,
      baseline: 'baselineLarge',
    },
    { key: 'bare', label: '5a upstream handler (express.json)', port: rxPorts.bare!, body: TYPICAL_BODY, signed: true },
    {
      key: 'verified',
      label: '5b same handler behind verifyIdentity',
      port: rxPorts.verified!,
      body: TYPICAL_BODY,
      signed: true,
      baseline: 'bare',
    },
  ];

  process.stdout.write(
    `warm-up (${WARMUP}s each), then ${ROUNDS} rounds of ${DURATION}s, ${CONNECTIONS} connections; ${PIN ? 'gateway and receiver pinned to CPU 1, load generator and upstream to CPU 0' : 'no CPU pinning'}\n`,
  );
  for (const scenario of scenarios) await load(scenario, WARMUP);
  const rounds = new Map<string, Round[]>(scenarios.map((s) => [s.key, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const scenario of scenarios) rounds.get(scenario.key)!.push(await load(scenario, DURATION));
    process.stdout.write(`  round ${r + 1}/${ROUNDS} done\n`);
  }

  const summary = scenarios.map((scenario) => {
    const list = rounds.get(scenario.key)!;
    return {
      key: scenario.key,
      label: scenario.label,
      rps: median(list.map((x) => x.rps)),
      p50: median(list.map((x) => x.p50)),
      p99: median(list.map((x) => x.p99)),
      non2xx: list.reduce((n, x) => n + x.non2xx, 0),
      errors: list.reduce((n, x) => n + x.errors, 0),
      baseline: scenario.baseline,
    };
  });
  const rpsOf = (key: string): number => summary.find((s) => s.key === key)?.rps ?? NaN;

  const sse = await sseFirstEvent(upPorts.upstream!, gwPorts.baseline!, gwPorts.headers!);
  const micro: MicroResult[] = [...(await microBenchmarks(eddsaPem)), ...policyBenchmarks(), ...(await tokenExchangeBenchmarks())];
  const replayChild = await start('./replay-memory-process.js', [], ['--expose-gc']);
  const replay = replayChild.message as { entries: number; bytesPerEntry: number };
  const gatewayRss = Number((await ask(gateway.child, 'rss')).maxRssKb) * 1024;
  const upstreamRss = Number((await ask(receiver.child, 'rss')).maxRssKb) * 1024;
  gateway.child.kill();
  upstream.child.kill();
  receiver.child.kill();
  replayChild.child.kill();

  const microOf = (name: string): number => micro.find((m) => m.name === name)?.opsPerSecond ?? NaN;
  const targets = [
    { name: '(2) headers-only / baseline', value: rpsOf('headers') / rpsOf('baseline'), target: 0.92, unit: 'ratio' },
    { name: '(3) headers + _meta (tools/call) / baseline', value: rpsOf('meta') / rpsOf('baseline'), target: 0.85, unit: 'ratio' },
    { name: '(5) verifyIdentity / bare handler', value: rpsOf('verified') / rpsOf('bare'), target: 0.9, unit: 'ratio' },
    {
      name: 'HS256 sign vs jose SignJWT',
      value: microOf('HS256 sign (mcp-identity)') / microOf('HS256 sign (jose SignJWT)'),
      target: 5,
      unit: '×',
    },
    {
      name: 'HS256 verify vs jose jwtVerify',
      value: microOf('HS256 verify (mcp-identity)') / microOf('HS256 verify (jose jwtVerify)'),
      target: 5,
      unit: '×',
    },
    { name: 'replay store bytes per live entry (100k)', value: replay.bytesPerEntry, target: 200, unit: 'bytes', atMost: true },
    { name: 'SSE first event: added by the gateway (vs direct)', value: sse.addedMs, target: 1, unit: 'ms', atMost: true },
  ].map((t) => ({ ...t, met: t.atMost === true ? t.value <= t.target : t.value >= t.target }));

  const lines: string[] = [];
  lines.push('', `| scenario | req/s | p50 ms | p99 ms | vs baseline |`, `|---|---:|---:|---:|---:|`);
  for (const s of summary) {
    const ratio = s.baseline === undefined ? '' : fmt(s.rps / rpsOf(s.baseline), 2);
    const bad = s.non2xx + s.errors > 0 ? ` (non-2xx ${s.non2xx}, errors ${s.errors})` : '';
    lines.push(`| ${s.label}${bad} | ${fmt(s.rps)} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${ratio} |`);
  }
  lines.push('', '| micro-benchmark | ops/s | µs/op |', '|---|---:|---:|');
  for (const m of micro) lines.push(`| ${m.name} | ${m.opsPerSecond} | ${m.microsPerOp} |`);
  lines.push(
    '',
    `SSE time to first event (median of 40, new connection each): direct ${fmt(sse.directMs, 2)} ms, plain proxy ${fmt(sse.proxyMs, 2)} ms, gateway ${fmt(sse.gatewayMs, 2)} ms: identity adds ${fmt(sse.identityMs, 2)} ms to proxying`,
    `replay store: ${replay.entries} entries, ${fmt(replay.bytesPerEntry)} bytes per entry`,
    `peak RSS: gateway process ${fmt(gatewayRss / 2 ** 20)} MiB, receiver process ${fmt(upstreamRss / 2 ** 20)} MiB, load generator ${fmt((process.resourceUsage().maxRSS * 1024) / 2 ** 20)} MiB`,
    '',
    '| target | measured | goal | |',
    '|---|---:|---:|---|',
  );
  for (const t of targets)
    lines.push(`| ${t.name} | ${fmt(t.value, 2)} ${t.unit} | ${t.atMost === true ? '≤' : '≥'} ${t.target} | ${t.met ? 'met' : 'MISSED'} |`);
  const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${fmt(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
  lines.push('', `machine: ${machine}`, `took ${fmt((Date.now() - began) / 1000)} s`);
  process.stdout.write(`${lines.join('\n')}\n`);

  const results = {
    date: new Date().toISOString(),
    machine,
    settings: { ROUNDS, DURATION, WARMUP, CONNECTIONS, pinned: PIN },
    scenarios: summary,
    micro,
    sse,
    replay,
    rss: { gatewayRss, upstreamRss },
    targets,
  };
  writeFileSync(new URL('../results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write('written: bench/results.json\n');
}

await main();
