/**
 * Path handling (fuzz): whatever path a client sends under the gateway's mount, the upstream
 * either receives nothing (a 4xx JSON-RPC refusal) or a path inside the target's mount.
 * Real HTTP on loopback: raw request lines, so no client library normalizes them first.
 * Checked: the raw prefix, and the path as a WHATWG-normalizing upstream (Hono, Next.js)
 * would route it, so dot-segments in any spelling cannot leave the mount.
 */
import fc from 'fast-check';
import { runs } from '../../../core/test/fuzz/settings.js';
import { closeAll, rawRequest, startGateway, startUpstream } from '../propagate-kit.js';
import type { GatewayUnderTest } from '../propagate-kit.js';

const segment = fc.constantFrom('..', '.', '%2e%2e', '.%2E', '%2E.', '', 'notes', 'a;b', '%2F', '%5C..', 'internal', '..;', '%00', 'é');
const path = fc
  .tuple(fc.array(segment, { maxLength: 6 }), fc.constantFrom('', '?x=1', '?a=../b', '#f'))
  .map(([segments, suffix]) => `/g/${segments.join('/')}${suffix}`);

describe('gateway paths (fuzz)', () => {
  let gateway: GatewayUnderTest;

  beforeAll(async () => {
    const upstream = await startUpstream();
    // The target has a mount of its own: /mcp.
    gateway = await startGateway({
      mount: '/g',
      upstream,
      options: { target: `${upstream.url}/mcp`, carriers: ['headers'], sessionStore: false },
    });
  });

  afterAll(closeAll);

  it('never forwards a path outside the target mount (raw or normalized), and refuses with a JSON-RPC 4xx when it forwards nothing', async () => {
    await fc.assert(
      fc.asyncProperty(path, async (requested) => {
        const before = gateway.upstream.received.length;
        const res = await rawRequest(gateway.url, { method: 'GET', path: requested });
        const received = gateway.upstream.received.slice(before);
        if (received.length === 0) {
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          return;
        }
        expect(received).toHaveLength(1);
        const url = received[0]!.url;
        expect(url === '/mcp' || url.startsWith('/mcp/') || url.startsWith('/mcp?')).toBe(true);
        const routed = new URL(url, 'http://upstream.invalid').pathname;
        expect(routed === '/mcp' || routed.startsWith('/mcp/')).toBe(true);
      }),
      runs(60),
    );
  });
});
