// One receiver instance in its own process, for redis-processes.test.ts: the example MCP
// server (verifyIdentity in front of the MCP SDK) with a RedisStore as its replay store.
// It imports the built packages (`npm run build`; `npm test` builds first), reports its port
// over IPC, and answers 'verified' with how many requests got past verifyIdentity.
import express from 'express';
import { Redis } from 'ioredis';
import { RedisStore } from '../../../packages/core/dist/index.js';
import { createApp } from '../../mcp-server/dist/index.js';

function env(name) {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`set ${name}`);
  return value;
}

const redis = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: 1 });
redis.on('error', (error) => process.stderr.write(`redis: ${error.message}\n`));

const mcp = createApp({
  name: env('INSTANCE'),
  identity: {
    issuer: env('MCP_IDENTITY_ISSUER'),
    audience: env('MCP_IDENTITY_AUDIENCE'),
    secrets: [{ secret: env('MCP_IDENTITY_SECRET') }],
    replayStore: new RedisStore(redis, { prefix: env('REDIS_PREFIX') }),
    logger: { warn: (message) => process.stderr.write(`${message}\n`) },
  },
});

let verified = 0;
const app = express();
app.use((req, res, next) => {
  res.on('finish', () => {
    if (req.auth !== undefined) verified++;
  });
  next();
});
app.use(mcp.app);

const server = app.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (message) => {
  if (message === 'verified') process.send({ verified });
});
