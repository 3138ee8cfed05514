/**
 * The test kit: real HTTP servers on loopback, port 0. Shared by every package's
 * integration tests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A server listening on 127.0.0.1. */
export interface Running {
  readonly url: string;
  readonly port: number;
  readonly server: http.Server;
  close(): Promise<void>;
}

/** Starts `handler` (an Express app or any request listener) on an ephemeral loopback port. */
export async function listen(handler: http.RequestListener): Promise<Running> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One request as an upstream received it. */
export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

/** An upstream that records every request and answers with `respond` (default: 200 `{"ok":true}`). */
export interface RecordingUpstream extends Running {
  readonly received: Received[];
}

export async function recordingUpstream(
  respond: (req: Received, res: http.ServerResponse) => void = (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  },
): Promise<RecordingUpstream> {
  const received: Received[] = [];
  const running = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
      };
      received.push(entry);
      respond(entry, res);
    });
  });
  return { ...running, received };
}

/** A sink that keeps every event it receives, and lets a test wait for them without timers. */
export interface EventLog<T> {
  readonly events: T[];
  /** The sink to pass as an `audit` option. */
  readonly sink: (event: T) => void;
  /** Resolves with the events once there are at least `count` (the gateway emits when a response ends). */
  readonly waitFor: (count: number) => Promise<T[]>;
}

export function eventLog<T>(): EventLog<T> {
  const events: T[] = [];
  const waiting: { count: number; resolve: (events: T[]) => void }[] = [];
  const settle = (): void => {
    for (const waiter of waiting.filter((entry) => events.length >= entry.count)) {
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve(events);
    }
  };
  return {
    events,
    sink: (event) => {
      events.push(event);
      settle();
    },
    waitFor: (count) =>
      new Promise((resolve) => {
        waiting.push({ count, resolve });
        settle();
      }),
  };
}

/**
 * The audit lines the default sink wrote to standard output while `run` ran (and two turns of
 * the event loop after it: the gateway emits when the response closes, the sink writes after).
 */
export async function defaultSinkLines(run: () => Promise<void>): Promise<Record<string, unknown>[]> {
  const chunks: string[] = [];
  const original = Object.getOwnPropertyDescriptor(process.stdout, 'write');
  // Kept, not printed: the test reads them.
  process.stdout.write = (chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  };
  try {
    await run();
    for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
  } finally {
    if (original === undefined) Reflect.deleteProperty(process.stdout, 'write');
    else Object.defineProperty(process.stdout, 'write', original);
  }
  return chunks
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"audit":'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
