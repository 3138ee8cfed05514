/**
 * The official MCP conformance suite, server mode, against our SDK v2 conformance server: directly,
 * and through gateway (authenticate + propagateIdentity, default options) -> receiver (verifyIdentity).
 * No check that passes directly may fail through the gateway, in the active suite and in what
 * revision 2026-07-28 requires. Set CONFORMANCE_REPORT=<file> to keep the figures as JSON.
 */
import { writeFile } from 'node:fs/promises';
import { improvements, regressions, runSuite, startStack, tally } from './harness.js';
import type { Stack, Suite } from './harness.js';

const TIMEOUT = 240_000;

let stack: Stack;
const report: Record<string, unknown> = {};

beforeAll(async () => {
  stack = await startStack();
}, TIMEOUT);

afterAll(async () => {
  await stack.close();
  const file = process.env['CONFORMANCE_REPORT'];
  if (file !== undefined && file !== '') await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
}, TIMEOUT);

describe.each<Suite>(['active', '2026-07-28'])('conformance suite %s', (suite) => {
  it(
    'passes through gateway -> receiver every check that passes directly',
    async () => {
      const before = stack.events.length;
      // One after the other, not side by side: a few checks wait a fixed 500 ms for frames, and
      // two suites at once on a 2-core machine can make the extra hops miss that window.
      const direct = await runSuite(stack.directUrl, suite);
      const viaGateway = await runSuite(stack.gatewayUrl, suite);
      const events = stack.events.slice(before);
      const lost = regressions(direct.checks, viaGateway.checks);
      report[suite] = {
        direct: tally(direct.checks),
        viaGateway: tally(viaGateway.checks),
        lostThroughGateway: lost,
        gainedThroughGateway: improvements(direct.checks, viaGateway.checks),
      };
      // The server really is conformant on its own: most of the suite passes directly.
      expect(tally(direct.checks).passed).toBeGreaterThan(suite === 'active' ? 60 : 150);
      // What the gateway answered itself, with -32020: none of those requests reached the receiver.
      const mismatches = events.filter((event) => event.component === 'gateway' && event.reason === 'mcp_header_mismatch');
      const received = new Set(events.filter((event) => event.component === 'receiver').map((event) => event.requestId));
      expect(mismatches.filter((event) => received.has(event.requestId))).toEqual([]);
      report[suite] = { ...(report[suite] as object), refusedByGatewayAsHeaderMismatch: mismatches.length };
      if (suite === '2026-07-28') {
        // SEP-2243's header/body checks pass through the gateway, and the gateway itself refused the mismatched requests.
        const headerChecks = [...viaGateway.checks].filter(([key]) => /^http-(header|custom-header-server)-validation\//.test(key));
        expect(headerChecks.length).toBeGreaterThan(10);
        expect(headerChecks.filter(([, status]) => status !== 'SUCCESS')).toEqual([]);
        expect(mismatches.length).toBeGreaterThan(5);
      } else {
        // 2025-era requests carry no Mcp-Method / Mcp-Name headers to check.
        expect(mismatches).toEqual([]);
      }
      expect(lost).toEqual([]);
    },
    TIMEOUT,
  );
});
