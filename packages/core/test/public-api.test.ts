import * as core from '../src/index.js';
import * as internal from '../src/internal.js';

describe("@mcp-identity/core's main entry", () => {
  it.each([
    'positiveInteger',
    'requiredIdentifier',
    'isRecord',
    'auditSinkOption',
    'refusalOf',
    'writeIdentityError',
    'createAuditEmitter',
    'createSessionBinder',
    'parseJsonRpcBody',
    'readRawHeader',
    'inspectMcpRequest',
    'identityHeaderPrefix',
    'normalizePrefix',
    'storeUnavailable',
    'integerInRange',
    'nonNegativeInteger',
    'secondsToMs',
    'objectOption',
    'booleanOption',
    'functionOption',
    'clockOption',
    'loggerOption',
    'headerNameOption',
    'httpsUrl',
    'isSessionStore',
    'DEFAULT_CLOCK_TOLERANCE_SECONDS',
    'HEADER_NAME',
  ])('does not export the internal helper %s (it lives in ./internal, outside semver)', (name) => {
    expect(Object.keys(core)).not.toContain(name);
    expect(Object.keys(internal)).toContain(name);
  });

  it('exports only names the internal entry has too, so the packages share one implementation', () => {
    for (const name of Object.keys(core)) expect(internal).toHaveProperty(name, (core as Record<string, unknown>)[name]);
  });

  it('stays a small protocol surface', () => {
    expect(Object.keys(core).length).toBeLessThanOrEqual(40);
  });
});
