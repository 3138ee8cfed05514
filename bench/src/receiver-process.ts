/** Child process: the receiver pair, the same handler with and without `verifyIdentity`. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { MemoryStore } from '@mcp-identity/core';
import { verifyIdentity } from '@mcp-identity/receiver';
import { AUDIENCE, ISSUER, SECRET } from './fixtures.js';

const RESULT = '{"jsonrpc":"2.0","id":7,"result":{"content":[]}}';

function listen(handler: http.RequestListener): Promise<number> {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

const handler = (_req: express.Request, res: express.Response): void => {
  res.type('application/json').send(RESULT);
};
const bare = express();
bare.post('/mcp', express.json(), handler);
const verified = express();
verified.post(
  '/mcp',
  verifyIdentity({
    audience: AUDIENCE,
    issuer: ISSUER,
    secrets: [{ secret: SECRET }],
    replayStore: new MemoryStore({ maxEntries: 2_000_000 }),
    // A sink that drops events: the audit work is measured, writing millions of lines is not.
    audit: () => undefined,
  }),
  handler,
);

const ports = { bare: await listen(bare), verified: await listen(verified) };
process.send?.({ type: 'ready', ports });
process.on('message', (message: { type?: string }) => {
  if (message.type === 'rss') process.send?.({ type: 'rss', maxRssKb: process.resourceUsage().maxRSS });
  if (message.type === 'cpu') process.send?.({ type: 'cpu', usage: process.cpuUsage() });
  if (message.type === 'exit') process.exit(0);
});
