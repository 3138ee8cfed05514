/**
 * A tap between the gateway and an upstream: records every request as it was on the wire
 * and forwards it, optionally without the identity headers (a hop that drops them).
 */
import http from 'node:http';
import { listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';

export interface Captured {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface Tap extends Running {
  readonly captured: Captured[];
}

export async function startTap(target: string, options: { dropIdentityHeaders?: boolean } = {}): Promise<Tap> {
  const captured: Captured[] = [];
  const upstream = new URL(target);
  const running = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      captured.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers }, body });
      const headers: http.OutgoingHttpHeaders = { ...req.headers, host: upstream.host };
      if (options.dropIdentityHeaders === true) {
        for (const name of Object.keys(headers)) if (name.startsWith('x-forwarded-user')) Reflect.deleteProperty(headers, name);
      }
      const forward = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
        (upstreamRes) => {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
  });
  return { ...running, captured };
}
