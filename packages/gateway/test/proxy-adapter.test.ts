/**
 * What the gateway assumes of http-proxy (src/proxy-adapter.ts): 'start' is emitted first, then the
 * request (or the `buffer` option) is piped into the upstream request, then 'proxyReq' comes
 * before any byte is written; and 'proxyRes' comes before the upstream response is piped to the
 * client. If a new http-proxy changes that order, these tests fail before the gateway forwards a
 * body twice, signs after the head was sent, or lets a list response past its filter.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import type { Options as ProxyOptions, Plugin } from 'http-proxy-middleware';
import { listen, recordingUpstream } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';
import { HELD_BODY, holdRequestBody, pipeResponseThrough } from '../src/proxy-adapter.js';

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

type Step = 'start' | 'pipe' | 'proxyReq';

/** A proxy that records the order of the steps and writes `body` itself in 'proxyReq', as the gateway does. */
async function recordingProxy(
  target: string,
  body: string,
  useBuffer: boolean,
): Promise<{ url: string; steps: Step[]; headSent: boolean[] }> {
  const steps: Step[] = [];
  const headSent: boolean[] = [];
  const buffer = {
    pipe<T extends NodeJS.WritableStream>(destination: T): T {
      steps.push('pipe');
      return HELD_BODY.pipe(destination);
    },
  };
  const plugin: Plugin = (proxyServer) => {
    proxyServer.on('start', (req: IncomingMessage) => {
      steps.push('start');
      if (!useBuffer) {
        holdRequestBody(req);
        const held = req.pipe.bind(req);
        req.pipe = <T extends NodeJS.WritableStream>(destination: T): T => {
          steps.push('pipe');
          return held(destination);
        };
      }
    });
    proxyServer.on('proxyReq', (proxyReq: ClientRequest) => {
      steps.push('proxyReq');
      headSent.push(proxyReq.headersSent);
      proxyReq.setHeader('content-length', Buffer.byteLength(body));
      proxyReq.end(body);
    });
  };
  const app = express();
  // The body is read before proxying, as propagateIdentity reads it.
  app.use(express.raw({ type: '*/*' }));
  app.use(
    createProxyMiddleware({
      target,
      ejectPlugins: true,
      plugins: [plugin],
      ...(useBuffer ? { buffer: buffer as unknown as ProxyOptions['buffer'] } : {}),
    }),
  );
  const proxy = await listen(app);
  running.push(proxy);
  return { url: proxy.url, steps, headSent };
}

describe('the http-proxy order the gateway relies on', () => {
  it.each([
    ['the buffer option (propagateIdentity)', true],
    ['a held req.pipe (identityPlugin)', false],
  ])('emits start, pipes nothing, then proxyReq before the head is sent, with %s', async (_name, useBuffer) => {
    const upstream = await recordingUpstream();
    running.push(upstream);
    const proxy = await recordingProxy(upstream.url, '{"written":"in proxyReq"}', useBuffer);
    const response = await fetch(`${proxy.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"client":1}',
    });
    expect(response.status).toBe(200);
    expect(proxy.steps).toEqual(['start', 'pipe', 'proxyReq']);
    expect(proxy.headSent).toEqual([false]);
    // Exactly the body written in 'proxyReq' reached the upstream: the pipe added nothing.
    expect(upstream.received.map((r) => r.body.toString())).toEqual(['{"written":"in proxyReq"}']);
  });
});

describe('the http-proxy response order the policy guard relies on', () => {
  it('emits proxyRes before piping the upstream response, so the pipe set there is the one used', async () => {
    const upstream = await recordingUpstream((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"from":"upstream"}');
    });
    running.push(upstream);
    const steps: string[] = [];
    const plugin: Plugin = (proxyServer) => {
      proxyServer.on('proxyRes', (proxyRes: IncomingMessage) => {
        steps.push('proxyRes');
        delete proxyRes.headers['content-length'];
        pipeResponseThrough(proxyRes, <T extends NodeJS.WritableStream>(destination: T): T => {
          steps.push('pipe');
          proxyRes.resume();
          proxyRes.once('end', () => destination.end('{"from":"the rewriter"}'));
          return destination;
        });
      });
    };
    const app = express();
    app.use(createProxyMiddleware({ target: upstream.url, ejectPlugins: true, plugins: [plugin] }));
    const proxy = await listen(app);
    running.push(proxy);

    const response = await fetch(`${proxy.url}/mcp`);

    expect(await response.text()).toBe('{"from":"the rewriter"}');
    expect(steps).toEqual(['proxyRes', 'pipe']);
  });
});
