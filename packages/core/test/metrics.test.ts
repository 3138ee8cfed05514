import { Counter, Gauge, Registry } from 'prom-client';
import type { OpenMetricsContentType } from 'prom-client';
import { REQUESTS_METRIC, requestCounter } from '../src/internal.js';
import type { AuditEvent } from '../src/internal.js';

const refused: AuditEvent = {
  time: '2030-01-15T12:00:00.000Z',
  requestId: 'r',
  component: 'receiver',
  decision: 'refused',
  reason: 'identity_replayed',
  method: 'POST',
  path: '/mcp',
};

describe('requestCounter', () => {
  it('registers mcp_identity_requests_total in the registry and counts events by component, decision and reason', async () => {
    const registry = new Registry();
    const count = requestCounter(registry);

    count(refused);

    expect(registry.getSingleMetric(REQUESTS_METRIC)).toBeInstanceOf(Counter);
    const metric = await registry.getSingleMetric(REQUESTS_METRIC)!.get();
    expect(metric.values).toEqual([{ labels: { component: 'receiver', decision: 'refused', reason: 'identity_replayed' }, value: 1 }]);
  });

  it('shares one counter between the middlewares given the same registry', async () => {
    const registry = new Registry();
    const gateway = requestCounter(registry);
    const receiver = requestCounter(registry);

    gateway({ ...refused, component: 'gateway', decision: 'forwarded', reason: undefined });
    receiver({ ...refused, decision: 'accepted', reason: undefined });
    receiver({ ...refused, decision: 'accepted', reason: undefined });

    const text = await registry.metrics();
    expect(text.match(/^# TYPE mcp_identity_requests_total counter$/gm)).toHaveLength(1);
    expect(text).toContain('mcp_identity_requests_total{component="gateway",decision="forwarded",reason=""} 1');
    expect(text).toContain('mcp_identity_requests_total{component="receiver",decision="accepted",reason=""} 2');
  });

  it('works with an OpenMetrics registry', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    requestCounter(registry)(refused);

    expect(await registry.metrics()).toContain(
      'mcp_identity_requests_total{component="receiver",decision="refused",reason="identity_replayed"} 1',
    );
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['an object', {}],
    ['a string', 'registry'],
  ])('throws a TypeError naming the option for %s', (_case, registry) => {
    expect(() => requestCounter(registry)).toThrow(TypeError);
    expect(() => requestCounter(registry)).toThrow(/^metrics must be a prom-client Registry/);
  });

  it('throws a TypeError when the registry holds another metric under that name', () => {
    const registry = new Registry();
    new Gauge({ name: REQUESTS_METRIC, help: 'not ours', registers: [registry] });

    expect(() => requestCounter(registry)).toThrow(/metrics already holds a metric named mcp_identity_requests_total/);
  });
});
