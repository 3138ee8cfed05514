/**
 * Several receiver processes behind one gateway, sharing one Redis: MCP SDK client →
 * example gateway → tap → receiver process A, then the captured request replayed to
 * receiver process B. Each process is the example MCP server with a RedisStore
 * (`mcp-server-process.mjs`, started with `fork`, running the built packages).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createApp as createGatewayApp, createDemoIssuer, demoUsers } from '@mcp-identity/example-gateway';
import { listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';
import { describeRedis, startRedis } from '../../../test/redis.js';
import type { RedisServer } from '../../../test/redis.js';
import { startTap } from './tap.js';
import type { Captured, Tap } from './tap.js';

const ISSUER = 'urn:test:gateway';
const AUDIENCE = 'urn:test:notes';
const secret = randomBytes(32).toString('base64url');
const apiClient = { id: 'ci-bot', key: randomBytes(24).toString('base64url'), name: 'CI bot', roles: ['deployer'] };
const script = fileURLToPath(new URL('./mcp-server-process.mjs', import.meta.url));
const built = new URL('../../mcp-server/dist/index.js', import.meta.url);

/** A receiver process. */
interface Instance {
  readonly url: string;
  /** How many requests got past verifyIdentity in that process. */
  verified(): Promise<number>;
  stop(): Promise<void>;
}

async function startInstance(name: string, redis: RedisServer, prefix: string): Promise<Instance> {
  if (!existsSync(built)) throw new Error('the example MCP server is not built: run `npm run build` first (`npm test` does)');
  let output = '';
  const child: ChildProcess = fork(script, {
    env: {
      ...process.env,
      INSTANCE: name,
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      MCP_IDENTITY_ISSUER: ISSUER,
      MCP_IDENTITY_AUDIENCE: AUDIENCE,
      MCP_IDENTITY_SECRET: secret,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`receiver process ${name} exited (${code}): ${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    verified: () =>
      new Promise((resolve) => {
        child.once('message', (message) => resolve((message as { verified: number }).verified));
        child.send('verified');
      }),
    async stop() {
      child.kill();
      await exited;
    },
  };
}

async function whoami(url: string): Promise<unknown> {
  const client = new Client({ name: 'redis-processes', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { 'x-api-key': apiClient.key } } }));
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    return (result.structuredContent as { user: unknown; upstream: unknown }).upstream;
  } finally {
    await client.close();
  }
}

async function replay(url: string, captured: Captured): Promise<{ status: number; code: unknown }> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(captured.headers)) {
    if (typeof value === 'string' && !['host', 'content-length', 'connection'].includes(name)) headers[name] = value;
  }
  const response = await fetch(url, { method: captured.method, headers, body: captured.body });
  const body = (await response.json().catch(() => ({}))) as { error?: { data?: { code?: unknown } } };
  return { status: response.status, code: body.error?.data?.code };
}

describeRedis('two receiver processes sharing one Redis', () => {
  let redis: RedisServer;
  let first: Instance;
  let second: Instance;
  let tap: Tap;
  let gateway: Running;

  beforeAll(async () => {
    redis = await startRedis();
    const prefix = `mcp-identity:${randomBytes(4).toString('hex')}:`;
    [first, second] = await Promise.all([startInstance('first', redis, prefix), startInstance('second', redis, prefix)]);
    tap = await startTap(first.url);
    gateway = await listen(
      createGatewayApp({
        issuer: ISSUER,
        signing: { secret },
        upstreams: [
          { name: 'first', target: `${tap.url}/mcp`, audience: AUDIENCE },
          { name: 'second', target: `${second.url}/mcp`, audience: AUDIENCE },
        ],
        jwt: createDemoIssuer(),
        users: demoUsers,
        apiClients: [apiClient],
      }),
    );
  });

  afterAll(async () => {
    await Promise.all([gateway?.close(), tap?.close(), first?.stop(), second?.stop()]);
    await redis?.stop();
  });

  it('serves fresh requests from the gateway at both processes', async () => {
    expect(await whoami(`${gateway.url}/mcp/first`)).toBe('first');
    expect(await whoami(`${gateway.url}/mcp/second`)).toBe('second');
  });

  it('responds 401 identity_replayed at the second process to a request the first accepted, and lets nothing through', async () => {
    tap.captured.length = 0;
    await whoami(`${gateway.url}/mcp/first`);
    const call = tap.captured.find((entry) => entry.body.includes('"tools/call"'));
    expect(call).toBeDefined();
    const before = await second.verified();

    const replayed = await replay(`${second.url}${call!.url}`, call!);

    expect(replayed).toEqual({ status: 401, code: 'identity_replayed' });
    expect(await second.verified()).toBe(before);
  });
});
