/** Child process: the trivial upstream every gateway forwards to, and an SSE endpoint. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const RESULT = '{"jsonrpc":"2.0","id":7,"result":{"content":[]}}';

function listen(handler: http.RequestListener): Promise<number> {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

const upstream = await listen((req, res) => {
  if (req.url === '/sse') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write('event: message\ndata: {"first":true}\n\n');
    setTimeout(() => res.end('event: message\ndata: {"last":true}\n\n'), 20);
    return;
  }
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': RESULT.length });
    res.end(RESULT);
  });
});

const ports = { upstream };
process.send?.({ type: 'ready', ports });
process.on('message', (message: { type?: string }) => {
  if (message.type === 'rss') process.send?.({ type: 'rss', maxRssKb: process.resourceUsage().maxRSS });
  if (message.type === 'cpu') process.send?.({ type: 'cpu', usage: process.cpuUsage() });
  // A normal exit, so `--cpu-prof` can write its profile.
  if (message.type === 'exit') process.exit(0);
});
