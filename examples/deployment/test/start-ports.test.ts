/**
 * `npm start` with a port that cannot be used: one line naming the port and the variable to
 * set, exit code 1, no stack. The helpers with real `listen` failures on loopback, and the
 * built start script itself in a child process.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';
import { checkPortsFree, PORT_VARIABLES, portFailureMessage, readPorts, StartupError } from '../src/start-ports.js';
import type { Ports } from '../src/start-ports.js';
import { startDeployment } from '../src/deployment.js';

const ALL_ZERO: Ports = { GATEWAY_PORT: 0, AUTHORIZATION_SERVER_PORT: 0, NOTES_PORT: 0, REPORTS_PORT: 0 };
const startScript = fileURLToPath(new URL('../dist/start.js', import.meta.url));

describe('npm start when a port cannot be used', () => {
  let busy: Running;

  beforeEach(async () => {
    busy = await listen((_request, response) => response.end());
  });

  afterEach(async () => {
    await busy.close();
  });

  it.each(PORT_VARIABLES.map((entry) => [entry.variable, entry.server] as const))(
    'names the port and %s when that port is in use, before any server is started',
    async (variable, server) => {
      const ports = { ...ALL_ZERO, [variable]: busy.port };
      const error = await checkPortsFree(ports).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect((error as { code?: string }).code).toBe('EADDRINUSE');
      expect(portFailureMessage(error, ports)).toBe(
        `port ${String(busy.port)} (${server}) is already in use: stop what holds it, or set ${variable} to a free port, e.g. ${variable}=${String(
          PORT_VARIABLES.find((entry) => entry.variable === variable)!.fallback + 5000,
        )} npm start`,
      );
    },
  );

  it('closes each port again after checking it, so the deployment can listen on it', async () => {
    const { port } = busy;
    await busy.close();
    await checkPortsFree({ ...ALL_ZERO, NOTES_PORT: port });
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    busy = { url: '', port, server, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    expect(server.listening).toBe(true);
  });

  it('startDeployment closes the servers it started when a later port is in use, and rejects with EADDRINUSE', async () => {
    // A port known to be free: taken and released here.
    const probe = await listen((_request, response) => response.end());
    const gatewayPort = probe.port;
    await probe.close();

    const error = await startDeployment({ gatewayPort, notesPort: busy.port, audit: () => undefined }).then(
      () => undefined,
      (reason: unknown) => reason,
    );

    expect((error as { code?: string }).code).toBe('EADDRINUSE');
    // The gateway's port was listening before the failure; it is free again.
    const again = http.createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(gatewayPort, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => again.close(() => resolve()));
  });

  it('leaves other errors to the caller (no message for an error of another kind or another port)', () => {
    expect(portFailureMessage(new Error('boom'), ALL_ZERO)).toBeUndefined();
    expect(portFailureMessage(Object.assign(new Error('refused'), { code: 'ECONNREFUSED', port: 3000 }), readPorts({}))).toBeUndefined();
    expect(portFailureMessage(Object.assign(new Error('in use'), { code: 'EADDRINUSE', port: 1234 }), readPorts({}))).toBeUndefined();
  });

  it('reads the documented defaults, and refuses a value that is not a port or a port given twice, naming the variables', () => {
    expect(readPorts({})).toEqual({ GATEWAY_PORT: 3000, AUTHORIZATION_SERVER_PORT: 3001, NOTES_PORT: 4001, REPORTS_PORT: 4002 });
    expect(readPorts({ GATEWAY_PORT: '5300', NOTES_PORT: '0' })).toMatchObject({ GATEWAY_PORT: 5300, NOTES_PORT: 0 });
    expect(() => readPorts({ GATEWAY_PORT: 'abc' })).toThrow(new StartupError('GATEWAY_PORT must be a port number (0-65535), got "abc"'));
    expect(() => readPorts({ REPORTS_PORT: '70000' })).toThrow(/^REPORTS_PORT must be a port number/);
    expect(() => readPorts({ GATEWAY_PORT: '5300', NOTES_PORT: '5300' })).toThrow(
      new StartupError('GATEWAY_PORT and NOTES_PORT are both 5300: give each server its own port'),
    );
  });

  it('exits with code 1 and prints one line, no stack, when the gateway port is in use', async () => {
    if (!existsSync(startScript)) throw new Error('the example deployment is not built: run `npm run build` first (`npm test` does)');
    const child = spawn(process.execPath, [startScript], {
      env: { ...process.env, GATEWAY_PORT: String(busy.port), AUTHORIZATION_SERVER_PORT: '0', NOTES_PORT: '0', REPORTS_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      // oidc-provider warns about Node 20 at import; that line aside, one line on stderr.
      const lines = stderr.split('\n').filter((line) => line !== '' && !line.startsWith('oidc-provider WARNING'));
      expect(lines).toEqual([
        `port ${String(busy.port)} (the gateway) is already in use: stop what holds it, or set GATEWAY_PORT to a free port, e.g. GATEWAY_PORT=8000 npm start`,
      ]);
      expect(stdout).not.toContain('example deployment');
    } finally {
      child.kill();
    }
  });
});
