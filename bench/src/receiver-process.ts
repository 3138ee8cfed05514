/**
 * Child process: the receiver pair, the same handler with and without `verifyIdentity`, and,
 * given a redis-server port, the same `verifyIdentity` with its replay check in a `RedisStore`.
 */
import express from 'express';
import { Redis } from 'ioredis';
import { MemoryStore, RedisStore } from '@mcp-identity/core/internal';
import type { IdentityStore } from '@mcp-identity/core/internal';
import { verifyIdentity } from '@mcp-identity/receiver';
import { AUDIENCE, ISSUER, SECRET } from './fixtures.js';
import { listen, serve, RESULT } from './child.js';

const redisPort = process.argv[2] === undefined ? undefined : Number(process.argv[2]);

const handler = (_req: express.Request, res: express.Response): void => {
  res.type('application/json').send(RESULT);
};

function verifiedApp(replayStore: IdentityStore): express.Express {
  const app = express();
  app.post(
    '/mcp',
    verifyIdentity({
      audience: AUDIENCE,
      issuer: ISSUER,
      secrets: [{ secret: SECRET }],
      replayStore,
      // A sink that drops events: the audit work is measured, writing millions of lines is not.
      audit: () => undefined,
    }),
    handler,
  );
  return app;
}

const bare = express();
bare.post('/mcp', express.json(), handler);

const ports: Record<string, number> = {
  bare: await listen(bare),
  verified: await listen(verifiedApp(new MemoryStore({ maxEntries: 2_000_000 }))),
};
if (redisPort !== undefined) {
  const client = new Redis({ host: '127.0.0.1', port: redisPort, lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  ports.redis = await listen(verifiedApp(new RedisStore(client, { prefix: 'bench:' })));
}
serve(ports);
