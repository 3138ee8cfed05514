/**
 * The ports `npm start` listens on, and the one-line message for a port that cannot be used
 * (instead of Node's `EADDRINUSE` stack).
 */
import http from 'node:http';

/** The environment variable for each server of the example deployment, and its default port. */
export const PORT_VARIABLES = [
  { variable: 'GATEWAY_PORT', fallback: 3000, server: 'the gateway' },
  { variable: 'AUTHORIZATION_SERVER_PORT', fallback: 3001, server: 'the authorization server' },
  { variable: 'NOTES_PORT', fallback: 4001, server: 'the notes upstream' },
  { variable: 'REPORTS_PORT', fallback: 4002, server: 'the reports upstream' },
] as const;

export type PortVariable = (typeof PORT_VARIABLES)[number]['variable'];
export type Ports = Readonly<Record<PortVariable, number>>;

/** Reads the ports from the environment; a value that is not a port number is refused, naming the variable. */
export function readPorts(env: NodeJS.ProcessEnv): Ports {
  const ports = {} as Record<PortVariable, number>;
  for (const { variable, fallback } of PORT_VARIABLES) {
    const value = env[variable];
    const port = value === undefined || value === '' ? fallback : Number(value);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new StartupError(`${variable} must be a port number (0-65535), got ${JSON.stringify(value)}`);
    }
    const same = PORT_VARIABLES.find((other) => port !== 0 && ports[other.variable] === port);
    if (same !== undefined)
      throw new StartupError(`${same.variable} and ${variable} are both ${String(port)}: give each server its own port`);
    ports[variable] = port;
  }
  return ports;
}

/** A start-up failure whose message is meant for the person running `npm start`: printed as is, without a stack. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/**
 * The one-line message for a `listen` failure on one of the ports (in use, or not allowed),
 * naming the port, the server and the variable to set; `undefined` for any other error.
 */
export function portFailureMessage(error: unknown, ports: Ports | undefined): string | undefined {
  if (error instanceof StartupError) return error.message;
  if (ports === undefined) return undefined;
  const { code, port } = (error ?? {}) as { code?: unknown; port?: unknown };
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return undefined;
  const entry = PORT_VARIABLES.find(({ variable }) => ports[variable] === port);
  if (entry === undefined) return undefined;
  const problem = code === 'EADDRINUSE' ? 'is already in use' : 'may not be used by this user';
  return `port ${String(port)} (${entry.server}) ${problem}: stop what holds it, or set ${entry.variable} to a free port, e.g. ${entry.variable}=${String(entry.fallback + 5000)} npm start`;
}

/**
 * Listens on each non-zero port once and closes it again, so that a busy port is reported
 * before any server of the deployment is started. Rejects with the first `listen` error.
 */
export async function checkPortsFree(ports: Ports, host = '127.0.0.1'): Promise<void> {
  for (const { variable } of PORT_VARIABLES) {
    const port = ports[variable];
    if (port === 0) continue;
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.close(() => resolve());
      });
    });
  }
}
