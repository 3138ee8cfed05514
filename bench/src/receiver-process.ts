/** Child process: the receiver pair, the same handler with and without `verifyIdentity`. */
import express from 'express';
import { MemoryStore } from '@mcp-identity/core';
import { verifyIdentity } from '@mcp-identity/receiver';
import { AUDIENCE, ISSUER, SECRET } from './fixtures.js';
import { listen, serve, RESULT } from './child.js';

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
serve(ports);
