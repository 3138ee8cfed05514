/** Child process: the trivial upstream every gateway forwards to, and an SSE endpoint. */
import { listen, serve, RESULT } from './child.js';

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
serve(ports);
