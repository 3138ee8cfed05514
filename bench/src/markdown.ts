/** Renders bench/results.json as the Markdown tables of docs/performance.md (and the bench's own output). */
import type { MicroResult } from './micro.js';

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface BenchResults {
  readonly date: string;
  readonly machine: string;
  readonly settings: Readonly<Record<string, number | boolean>>;
  readonly scenarios: readonly {
    readonly key: string;
    readonly label: string;
    readonly section: string;
    readonly seconds: number;
    readonly rps: number;
    readonly p50: number;
    readonly p99: number;
    readonly non2xx: number;
    readonly errors: number;
    readonly baseline?: string | undefined;
    readonly ratio?: Spread | undefined;
    /** CPU µs of the serving process per request (median round); absent in results written before it was measured. */
    readonly cpuUs?: number;
  }[];
  readonly micro: readonly MicroResult[];
  readonly sse: { readonly directMs: number; readonly proxyMs: number; readonly gatewayMs: number; readonly identityMs: number };
  readonly replay: { readonly entries: number; readonly bytesPerEntry: number };
  readonly rss: {
    readonly gatewayRss: number;
    readonly bodiesRss?: number;
    readonly upstreamRss: number;
    readonly loadGeneratorRss: number;
  };
  readonly targets: readonly {
    readonly name: string;
    readonly median: number;
    readonly min?: number;
    readonly max?: number;
    readonly target: number;
    readonly unit: string;
    readonly atMost?: boolean;
    readonly met: boolean;
  }[];
  readonly tookSeconds: number;
}

const fmt = (n: number, digits = 0): string => n.toFixed(digits);
const mib = (bytes: number): string => fmt(bytes / 2 ** 20);

function spreadText(s: Spread | undefined): string {
  if (s === undefined) return '';
  return `${fmt(s.median, 2)} (${fmt(s.min, 2)}–${fmt(s.max, 2)})`;
}

/** The tables and notes, as Markdown. */
export function renderMarkdown(results: BenchResults): string {
  const { settings } = results;
  const lines: string[] = [
    `${results.date.slice(0, 10)}: ${results.machine}; ${String(settings.ROUNDS)} interleaved rounds of ${String(settings.DURATION)} s ` +
      `(groups and Redis rows ${String(settings.EXTRA_DURATION)} s), ${String(settings.CONNECTIONS)} connections, ` +
      `${settings.pinned === true ? 'systems under test pinned to CPU 1' : 'no CPU pinning'}, ${fmt(results.tookSeconds)} s in all. ` +
      'req/s, p50, p99 and CPU µs/req (user + system time of the process serving the row, per completed request) are the median round; ' +
      'each ratio is computed per round against its baseline measured right beside it (before it in even rounds, after it in odd ones): median (min–max), and the row it is against.',
    '',
    '| scenario | req/s | p50 ms | p99 ms | CPU µs/req | ratio to its baseline |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const s of results.scenarios) {
    const bad = s.non2xx + s.errors > 0 ? ` (non-2xx ${s.non2xx}, errors ${s.errors})` : '';
    const cpu = s.cpuUs === undefined || !Number.isFinite(s.cpuUs) ? '' : fmt(s.cpuUs);
    const against = results.scenarios.find((x) => x.key === s.baseline)?.label.split(' ')[0];
    const ratio = s.ratio === undefined ? '' : `${spreadText(s.ratio)}${against === undefined ? '' : ` vs ${against}`}`;
    lines.push(`| ${s.label}${bad} | ${fmt(s.rps)} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${cpu} | ${ratio} |`);
  }
  if (results.settings.redis !== true) lines.push('', 'redis-server was not installed: the RedisStore rows were skipped.');
  lines.push('', '| micro-benchmark | ops/s | µs/op |', '|---|---:|---:|');
  for (const m of results.micro) lines.push(`| ${m.name} | ${m.opsPerSecond} | ${m.microsPerOp} |`);
  const { sse, replay, rss } = results;
  lines.push(
    '',
    `SSE time to first event (median of 100, new connection each): direct ${fmt(sse.directMs, 2)} ms, plain proxy ${fmt(sse.proxyMs, 2)} ms, ` +
      `gateway ${fmt(sse.gatewayMs, 2)} ms: identity adds ${fmt(sse.identityMs, 2)} ms to proxying.`,
    `Replay store: ${replay.entries} entries, ${fmt(replay.bytesPerEntry)} bytes per entry.`,
    `Peak RSS: gateway process ${mib(rss.gatewayRss)} MiB (the small-body gateways, eight in one process), ` +
      (rss.bodiesRss === undefined ? '' : `body-size gateway process ${mib(rss.bodiesRss)} MiB (up to 1 MiB bodies, 16 connections), `) +
      `receiver process ${mib(rss.upstreamRss)} MiB, ` +
      `load generator ${mib(rss.loadGeneratorRss)} MiB.`,
    '',
    '| target | measured: median (min–max) | goal | |',
    '|---|---:|---:|---|',
  );
  for (const t of results.targets) {
    const range = t.min === undefined || t.max === undefined ? '' : ` (${fmt(t.min, 2)}–${fmt(t.max, 2)})`;
    lines.push(
      `| ${t.name} | ${fmt(t.median, 2)}${range} ${t.unit} | ${t.atMost === true ? '≤' : '≥'} ${t.target} | ${t.met ? 'met' : 'MISSED'} |`,
    );
  }
  return lines.join('\n');
}
