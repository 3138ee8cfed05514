import { jest } from '@jest/globals';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import {
  AUDIT_MESSAGE,
  auditPath,
  auditSinkOption,
  auditUserFields,
  createAuditEmitter,
  createJsonLineAuditSink,
  defaultAuditSink,
  normalizeUserContext,
  requestIdOf,
  adoptRequestId,
  clientRequestIdOf,
  clientRequestIdFor,
  rpcSummaryOf,
} from '../src/internal.js';
import type { AuditEvent } from '../src/internal.js';

const request = (headers: IncomingMessage['headers'] = {}): IncomingMessage =>
  Object.assign(new IncomingMessage(new Socket()), { headers });

const event: AuditEvent = {
  time: '2030-01-15T12:00:00.000Z',
  requestId: 'req-1',
  component: 'gateway',
  decision: 'refused',
  reason: 'forbidden',
  status: 403,
  method: 'POST',
  path: '/mcp',
  subject: 'alice',
  authMethod: 'api_key',
};

/** A request whose raw header list is `raw` (names as spelled), as Node's parser leaves it. */
const rawRequestOf = (raw: string[]): IncomingMessage => {
  const req = new IncomingMessage(new Socket());
  req.rawHeaders = raw;
  for (let i = 0; i < raw.length; i += 2) req.headers[raw[i]!.toLowerCase()] = raw[i + 1];
  return req;
};

describe('requestIdOf', () => {
  it.each(['abc-123', '7f1c2a9e-5a1b-4c3d-9e8f-0a1b2c3d4e5f'])('never adopts the X-Request-Id a client sends: %s', (id) => {
    const req = rawRequestOf(['X-Request-Id', id]);
    expect(requestIdOf(req)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(requestIdOf(req)).not.toBe(id);
  });

  it('gives a request a fresh random id, the same one every time it is asked', () => {
    const req = request();
    const first = requestIdOf(req);

    expect(first).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(requestIdOf(req)).toBe(first);
    expect(requestIdOf(request())).not.toBe(first);
  });

  it('uses an adopted id from then on, and ignores one that is not a safe request id', () => {
    const req = request();
    adoptRequestId(req, 'gw-1');
    expect(requestIdOf(req)).toBe('gw-1');
    for (const bad of ['', 'a b', '0'.repeat(129), 42, undefined]) adoptRequestId(req, bad);
    expect(requestIdOf(req)).toBe('gw-1');
  });
});

describe('clientRequestIdOf', () => {
  it.each([
    ['a safe id, as sent', 'abc-123', 'abc-123'],
    ['surrounding spaces trimmed', '  abc  ', 'abc'],
    ['unsafe characters replaced by _', 'a b"c/d{é}', 'a_b_c_d___'],
    ['over-long cut to 128', 'x'.repeat(1000), 'x'.repeat(128)],
    ['only punctuation dropped', '"{}<>"', undefined],
    ['empty dropped', '', undefined],
  ])('keeps %s', (_case, sent, kept) => {
    expect(clientRequestIdOf(rawRequestOf(['X-Request-Id', sent]))).toBe(kept);
  });

  it.each([
    ['sent twice', ['X-Request-Id', 'a', 'x-request-id', 'b']],
    ["spelled with '_'", ['X_Request_Id', 'a']],
    ['absent', ['Host', 'a']],
  ])('is undefined when X-Request-Id is %s', (_case, raw) => {
    expect(clientRequestIdOf(rawRequestOf(raw))).toBeUndefined();
  });

  it('is left out of an event when it equals the request id', () => {
    const req = rawRequestOf(['X-Request-Id', 'gw-2']);
    expect(clientRequestIdFor(req, 'gw-2')).toBeUndefined();
    expect(clientRequestIdFor(req, 'other')).toBe('gw-2');
  });
});

describe('auditPath', () => {
  it.each([
    ['/mcp', '/mcp'],
    ['/mcp?access_token=secret-token', '/mcp'],
    ['/mcp/notes?a=1&token=x#frag', '/mcp/notes'],
    ['/mcp#frag?x', '/mcp'],
    ['', ''],
    [undefined, ''],
  ])('reduces %j to the path %j, without query or fragment', (url, path) => {
    expect(auditPath(url)).toBe(path);
  });

  it('caps a very long path', () => {
    expect(auditPath(`/${'a'.repeat(5000)}`)).toHaveLength(1025);
  });
});

describe('rpcSummaryOf', () => {
  it.each([
    [
      'a tool call',
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'read_file', arguments: { path: '/x' } } },
      { rpcMethod: 'tools/call', rpcName: 'read_file' },
    ],
    [
      'a prompt',
      { jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: 'summary' } },
      { rpcMethod: 'prompts/get', rpcName: 'summary' },
    ],
    [
      'a resource read',
      { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'file:///docs/a.txt' } },
      { rpcMethod: 'resources/read', rpcName: 'file:///docs/a.txt' },
    ],
    [
      'a resource URI with credentials and a query',
      { jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'https://user:pw@files.example/a?sig=secret#x' } },
      { rpcMethod: 'resources/subscribe', rpcName: 'https://files.example/a' },
    ],
    ['a method without a name', { jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }, { rpcMethod: 'initialize' }],
    ['a notification', { jsonrpc: '2.0', method: 'notifications/initialized' }, { rpcMethod: 'notifications/initialized' }],
    [
      'a tool call whose name is not a string',
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 7 } },
      { rpcMethod: 'tools/call' },
    ],
    ['a tool call without params', { jsonrpc: '2.0', id: 1, method: 'tools/call' }, { rpcMethod: 'tools/call' }],
    ['a response', { jsonrpc: '2.0', id: 1, result: {} }, {}],
    ['no body', undefined, {}],
    ['a string', 'tools/call', {}],
    ['a method that is not a string', { method: 42 }, {}],
  ])('reads %s', (_case, body, summary) => {
    expect(rpcSummaryOf(body)).toStrictEqual(summary);
  });

  it('reads the first message with a method of a batch, and counts the batch', () => {
    const batch = [
      { jsonrpc: '2.0', id: 1, result: {} },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'a' } },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'b' } },
    ];

    expect(rpcSummaryOf(batch)).toStrictEqual({ rpcMethod: 'tools/call', rpcName: 'a', rpcBatch: 3 });
    expect(rpcSummaryOf([{ jsonrpc: '2.0', id: 1, result: {} }])).toStrictEqual({ rpcBatch: 1 });
  });

  it('caps a very long tool name', () => {
    expect(rpcSummaryOf({ method: 'tools/call', params: { name: 'n'.repeat(1000) } }).rpcName).toHaveLength(257);
  });
});

describe('auditUserFields', () => {
  it('reads the subject, the auth method and the delegation of a user', () => {
    const user = normalizeUserContext({ id: 'alice', authMethod: 'jwt', groups: ['g'], delegationChain: ['agent', 'svc'] });

    expect(auditUserFields(user)).toStrictEqual({
      subject: 'alice',
      authMethod: 'jwt',
      actingAs: 'svc',
      delegationChain: ['agent', 'svc'],
    });
  });

  it('leaves out the delegation of a user acting for themself, and everything without a user', () => {
    expect(auditUserFields(normalizeUserContext({ id: 'bob', authMethod: 'basic', email: 'bob@x' }))).toStrictEqual({
      subject: 'bob',
      authMethod: 'basic',
    });
    expect(auditUserFields(undefined)).toStrictEqual({});
  });
});

describe('createJsonLineAuditSink', () => {
  it('writes each event as one JSON line through pino, under the key audit', () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const sink = createJsonLineAuditSink(pino({ base: null }, stream));

    void sink(event);
    void sink({ ...event, decision: 'forwarded', reason: undefined });

    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({ level: 30, msg: AUDIT_MESSAGE, audit: event });
    expect(typeof first.time).toBe('number');
  });

  it('passes the event and the message to any logger with info(object, message)', () => {
    const calls: unknown[][] = [];
    const sink = createJsonLineAuditSink({ info: (...args: unknown[]) => calls.push(args) });

    void sink(event);

    expect(calls).toEqual([[{ audit: event }, AUDIT_MESSAGE]]);
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['an object without info', { warn: () => undefined }],
    ['a function', () => undefined],
  ])('throws a TypeError naming the logger for %s', (_case, logger) => {
    expect(() => createJsonLineAuditSink(logger as any)).toThrow(TypeError);
    expect(() => createJsonLineAuditSink(logger as any)).toThrow(/logger/);
  });
});

/** Captures what is written to standard output until the next turn of the event loop. */
async function written(emit: () => void): Promise<{ chunks: string[]; duringEmit: number }> {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    emit();
    const duringEmit = chunks.length;
    await new Promise((resolve) => setImmediate(resolve));
    return { chunks, duringEmit };
  } finally {
    spy.mockRestore();
  }
}

describe('defaultAuditSink', () => {
  it('writes one pino-format JSON line per event to standard output without pino', async () => {
    const { chunks } = await written(() => void defaultAuditSink(event));

    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.endsWith('\n') && !chunks[0]!.slice(0, -1).includes('\n')).toBe(true);
    const line = JSON.parse(chunks[0]!);
    expect(line).toMatchObject({ level: 30, pid: process.pid, name: 'mcp-identity', msg: AUDIT_MESSAGE, audit: event });
    expect(typeof line.time).toBe('number');
    expect(typeof line.hostname).toBe('string');
  });

  it('writes nothing on the emitting path and the events of one turn as one chunk, in order', async () => {
    const { chunks, duringEmit } = await written(() => {
      for (const requestId of ['r-1', 'r-2', 'r-3']) void defaultAuditSink({ ...event, requestId });
    });

    expect(duringEmit).toBe(0);
    expect(chunks).toHaveLength(1);
    const lines = chunks[0]!
      .trimEnd()
      .split('\n')
      .map((text) => JSON.parse(text));
    expect(lines.map((line) => line.audit.requestId)).toEqual(['r-1', 'r-2', 'r-3']);
  });

  it('writes the other events of a turn when one cannot be serialized, naming it by request id', async () => {
    const { chunks } = await written(() => {
      void defaultAuditSink({ ...event, requestId: 'r-1' });
      void defaultAuditSink({ ...event, requestId: 'r-2', latencyMs: 10n as unknown as number });
      void defaultAuditSink({ ...event, requestId: 'r-3' });
    });

    const lines = chunks
      .join('')
      .trimEnd()
      .split('\n')
      .map((text) => JSON.parse(text));
    expect(lines.map((line) => line.audit.requestId)).toEqual(['r-1', 'r-2', 'r-3']);
    expect(lines[1].audit).toEqual({ requestId: 'r-2', unserializable: true });
  });

  it('writes at once when 1,024 events are waiting, so a burst is not held in memory', async () => {
    const { chunks, duringEmit } = await written(() => {
      for (let i = 0; i < 1024; i++) void defaultAuditSink({ ...event, requestId: `r-${i}` });
    });

    expect(duringEmit).toBe(1);
    expect(chunks[0]!.trimEnd().split('\n')).toHaveLength(1024);
  });
});

describe('auditSinkOption', () => {
  it('defaults to the JSON-lines sink, keeps a function and takes false as no sink', () => {
    const sink = (): void => undefined;

    expect(auditSinkOption(undefined)).toBe(defaultAuditSink);
    expect(auditSinkOption(sink)).toBe(sink);
    expect(auditSinkOption(false)).toBeUndefined();
  });

  it.each([null, 'stdout', {}, true])('throws a TypeError naming the option for %j', (value) => {
    expect(() => auditSinkOption(value)).toThrow(TypeError);
    expect(() => auditSinkOption(value)).toThrow(/^audit must be a function/);
  });
});

describe('createAuditEmitter', () => {
  it('hands each event, frozen, to the sink', () => {
    const seen: AuditEvent[] = [];
    const emit = createAuditEmitter({ audit: (e) => void seen.push(e) })!;

    emit({ ...event });

    expect(seen).toEqual([event]);
    expect(Object.isFrozen(seen[0])).toBe(true);
  });

  it('never throws when the sink throws or rejects', async () => {
    let rejected = false;
    const throwing = createAuditEmitter({
      audit: () => {
        throw new Error('disk full');
      },
    })!;
    const rejecting = createAuditEmitter({
      audit: () => {
        rejected = true;
        return Promise.reject(new Error('network down'));
      },
    })!;

    expect(() => throwing({ ...event })).not.toThrow();
    expect(() => rejecting({ ...event })).not.toThrow();
    // A rejection left unhandled would fail the test run; one turn of the event loop lets it surface.
    await new Promise((resolve) => setImmediate(resolve));
    expect(rejected).toBe(true);
  });

  it('counts each event in the metrics registry, by component, decision and reason', async () => {
    const registry = new Registry();
    const emit = createAuditEmitter({ audit: () => undefined, metrics: registry })!;

    emit({ ...event });
    emit({ ...event });
    emit({ ...event, component: 'receiver', decision: 'accepted', reason: undefined });

    const text = await registry.metrics();
    expect(text).toContain('mcp_identity_requests_total{component="gateway",decision="refused",reason="forbidden"} 2');
    expect(text).toContain('mcp_identity_requests_total{component="receiver",decision="accepted",reason=""} 1');
  });

  it('is undefined for audit: false without metrics, so callers build no event', () => {
    expect(createAuditEmitter({ audit: false })).toBeUndefined();
  });

  it('with audit: false and metrics, counts each event and hands it to no sink', async () => {
    const registry = new Registry();
    const emit = createAuditEmitter({ audit: false, metrics: registry })!;

    const lines = await written(() => emit({ ...event }));

    expect(lines.chunks).toEqual([]);
    expect(await registry.metrics()).toContain('mcp_identity_requests_total{component="gateway",decision="refused",reason="forbidden"} 1');
  });

  it('checks the sink before registering the counter: a bad sink leaves the registry untouched', async () => {
    const registry = new Registry();

    expect(() => createAuditEmitter({ audit: 'stdout' as any, metrics: registry })).toThrow(/^audit must be a function/);
    expect(await registry.metrics()).not.toContain('mcp_identity_requests_total');
  });

  it('throws a TypeError naming the option for a bad sink or registry', () => {
    expect(() => createAuditEmitter({ audit: 'stdout' as any })).toThrow(/audit/);
    expect(() => createAuditEmitter({ audit: () => undefined, metrics: {} as any })).toThrow(/metrics must be a prom-client Registry/);
  });
});
