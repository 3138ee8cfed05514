/**
 * Child process: the systems under test on the gateway side, each on its own port, all
 * forwarding to the same upstream with the same keep-alive agent settings.
 */
import http from 'node:http';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { propagateIdentity } from '@mcp-identity/gateway';
import type { Carrier, SigningKey } from '@mcp-identity/gateway';
import { AUDIENCE, benchUser, ISSUER, SECRET } from './fixtures.js';
import { listen, serve } from './child.js';

const upstreamPort = Number(process.argv[2]);
const eddsaPem = process.argv[3] ?? '';
const target = `http://127.0.0.1:${upstreamPort}`;
const agent = (): http.Agent => new http.Agent({ keepAlive: true });

function gateway(carriers: Carrier[], signing: SigningKey): express.Express {
  const app = express();
  app.use((req, _res, next) => {
    req.userContext = benchUser() as never;
    next();
  });
  // A sink that drops events: the audit work is measured, writing millions of lines is not.
  const audit = (): void => undefined;
  app.use(propagateIdentity({ target, audience: AUDIENCE, issuer: ISSUER, signing, carriers, proxy: { agent: agent() }, audit }));
  return app;
}

const baseline = express();
baseline.use(createProxyMiddleware({ target, agent: agent() }));

const hs256: SigningKey = { secret: SECRET };
const eddsa: SigningKey = { alg: 'EdDSA', privateKey: eddsaPem };
const ports = {
  baseline: await listen(baseline),
  headers: await listen(gateway(['headers'], hs256)),
  meta: await listen(gateway(['headers', 'meta'], hs256)),
  eddsa: await listen(gateway(['headers', 'meta'], eddsa)),
};
serve(ports);
