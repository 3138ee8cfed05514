/**
 * A loopback server that records every request it receives, so a test can prove that
 * something was fetched once, or not at all. Shared by the JWKS tests of every package.
 */
import type http from 'node:http';
import { listen } from './kit.js';
import type { Running } from './kit.js';

/** A running server and the paths requested from it, in order. */
export interface CountingServer extends Running {
  /** Every request's path and query, in arrival order. */
  readonly requests: readonly string[];
  /** Resolves once at least `count` requests have arrived (no polling, no sleeps). */
  requested(count: number): Promise<void>;
}

/** Starts `handler` on loopback and counts what reaches it. */
export async function countingServer(handler: http.RequestListener): Promise<CountingServer> {
  const requests: string[] = [];
  const waiters: { readonly count: number; readonly resolve: () => void }[] = [];
  const running = await listen((req, res) => {
    requests.push(req.url ?? '');
    for (const waiter of waiters.filter((entry) => requests.length >= entry.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    handler(req, res);
  });
  return {
    ...running,
    requests,
    requested(count) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
}

/** A URL on 127.0.0.1 where nothing listens: a port that was just freed. */
export async function closedPortUrl(path = '/'): Promise<string> {
  const running = await listen((_req, res) => res.end());
  await running.close();
  return `${running.url}${path}`;
}
