/** What every benchmark child process shares: a loopback listener, and answering the runner. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const RESULT = '{"jsonrpc":"2.0","id":7,"result":{"content":[]}}';

/** The JSON-RPC result every trivial handler answers with. */
export { RESULT };

/** Listens on an ephemeral loopback port with long keep-alive; resolves the port. */
export function listen(handler: http.RequestListener): Promise<number> {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** Tells the runner the ports, then answers its `rss`, `cpu` and `exit` messages. */
export function serve(ports: Record<string, number>): void {
  process.send?.({ type: 'ready', ports });
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'rss') process.send?.({ type: 'rss', maxRssKb: process.resourceUsage().maxRSS });
    if (message.type === 'cpu') process.send?.({ type: 'cpu', usage: process.cpuUsage() });
    // A normal exit, so `--cpu-prof` can write its profile.
    if (message.type === 'exit') process.exit(0);
  });
}
