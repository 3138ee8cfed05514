/**
 * A real Redis for the tests that need one: each suite starts its own `redis-server`
 * (Debian package `redis-server`) on a free loopback port, with persistence off, and stops
 * it afterwards. Without the binary, suites declared with {@link describeRedis} are skipped
 * locally with a message naming the install command, and fail in CI (`CI` set), where
 * `.ci/run` installs it.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';

const BINARY = 'redis-server';
const INSTALL = 'apt-get install -y redis-server';

/** True when `redis-server` can be run. */
export const redisAvailable = spawnSync(BINARY, ['--version'], { stdio: 'ignore' }).error === undefined;
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

if (!redisAvailable && !inCi) {
  process.stderr.write(`redis-server not found: skipping the Redis tests. Install it with \`${INSTALL}\` to run them.\n`);
}

/**
 * `describe` for suites that need Redis: skipped locally without `redis-server`; in CI they
 * run, and {@link startRedis} fails them.
 */
export const describeRedis: jest.Describe = redisAvailable || inCi ? describe : describe.skip;

/** A running `redis-server`. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** A new client (closed by {@link RedisServer.stop}); errors go to its `errors` list, never to the console. */
  client(options?: RedisOptions): Redis & { readonly errors: Error[] };
  /** Stops the server, keeping clients open (they see a Redis that is down). */
  kill(): Promise<void>;
  /** Closes every client and stops the server. */
  stop(): Promise<void>;
}

/** A loopback port nothing listens on (just released by the OS). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
      if (answer.includes('\r\n')) {
        socket.destroy();
        resolve(answer.startsWith('+PONG'));
      }
    });
    socket.on('error', () => resolve(false));
  });
}

async function waitUntilReady(port: number, child: ChildProcess, output: () => string): Promise<void> {
  for (let attempt = 0; attempt < 250; attempt++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${output()}`);
    if (await ping(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`redis-server did not answer PING on port ${port}: ${output()}`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

// Waits for the connection to be gone, so no ioredis timer outlives the test file.
function closeClient(client: Redis): Promise<void> {
  // Without a connection (never connected, or waiting to reconnect) there is nothing to wait for.
  const connected = !['end', 'wait', 'reconnecting'].includes(client.status);
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  client.disconnect();
  return connected ? ended : Promise.resolve();
}

/** Starts a `redis-server` of its own, in memory only. */
export async function startRedis(): Promise<RedisServer> {
  if (!redisAvailable) throw new Error(`redis-server is not installed; the Redis tests need it in CI: ${INSTALL}`);
  const port = await freePort();
  const child = spawn(
    BINARY,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', os.tmpdir(), '--loglevel', 'warning'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-2000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  try {
    await waitUntilReady(port, child, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const clients: Redis[] = [];
  const kill = async (): Promise<void> => {
    child.kill('SIGKILL');
    await exited(child);
  };
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    client(options = {}) {
      const errors: Error[] = [];
      // A short disconnectTimeout: ioredis keeps a timer that long for a socket that never connected.
      const client = new Redis({ host: '127.0.0.1', port, disconnectTimeout: 20, ...options });
      client.on('error', (error: Error) => errors.push(error));
      clients.push(client);
      return Object.assign(client, { errors });
    },
    kill,
    async stop() {
      await Promise.all(clients.splice(0).map(closeClient));
      await kill();
    },
  };
}
