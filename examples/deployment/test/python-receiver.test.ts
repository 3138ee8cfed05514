/**
 * Across languages: the TypeScript MCP client → the example gateway (EdDSA) → an official-Python-SDK
 * MCP server behind the Python receiver (python/examples/server.py, uvicorn on 127.0.0.1).
 * Needs python/.venv (`npm run test:python` or `.ci/run` creates it).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createApp as createGatewayApp, createDemoIssuer, demoJwtClaims, demoUsers } from '@mcp-identity/example-gateway';
import { listen } from '../../../test/kit.js';
import type { Running } from '../../../test/kit.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const ISSUER = 'urn:test:gateway';
const AUDIENCE = 'urn:test:python-notes';

interface PythonServer {
  readonly url: string;
  readonly output: string[];
  close(): Promise<void>;
}

async function startPythonServer(publicKeyPem: string): Promise<PythonServer> {
  const child: ChildProcessWithoutNullStreams = spawn(`${root}python/.venv/bin/python`, [`${root}python/examples/server.py`], {
    env: {
      PATH: process.env.PATH ?? '',
      MCP_IDENTITY_ISSUER: ISSUER,
      MCP_IDENTITY_AUDIENCE: AUDIENCE,
      MCP_IDENTITY_ALG: 'EdDSA',
      MCP_IDENTITY_PUBLIC_KEY_PEM: publicKeyPem,
      PORT: '0',
    },
  });
  const output: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((entry) => entry.startsWith('{"port"'));
      if (line !== undefined) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.on('exit', (code) => reject(new Error(`the Python server exited (${code}): ${output.join('')}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    output,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) resolve();
        else {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }
      }),
  };
}

/** The JSON a Python tool returned (the SDK sends a dict as one text content). */
function toolJson(result: Awaited<ReturnType<Client['callTool']>>): unknown {
  const [first] = result.content as { type: string; text?: string }[];
  if (first?.type !== 'text' || first.text === undefined) throw new Error('no text content');
  return JSON.parse(first.text) as unknown;
}

describe('TypeScript MCP client → gateway → Python receiver → Python MCP SDK server', () => {
  let python: PythonServer;
  let gateway: Running;
  const idp = createDemoIssuer();

  beforeAll(async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    python = await startPythonServer(publicKey.export({ format: 'pem', type: 'spki' }).toString());
    gateway = await listen(
      createGatewayApp({
        issuer: ISSUER,
        signing: { alg: 'EdDSA', privateKey },
        upstreams: [{ name: 'notes', target: `${python.url}/mcp`, audience: AUDIENCE }],
        jwt: idp,
        users: demoUsers,
        apiClients: [{ id: 'ci-bot', key: randomBytes(24).toString('base64url'), name: 'CI bot', roles: [] }],
        audit: () => undefined,
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await gateway.close();
    await python.close();
  });

  it('initializes, lists tools and calls one as the non-ASCII JWT user, with non-ASCII arguments', async () => {
    const token = await idp.sign({ ...demoJwtClaims });
    const client = new Client({ name: 'cross-language', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/notes`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const tools = await client.listTools();
      expect(tools.tools.map((tool) => tool.name)).toEqual(['whoami']);
      const result = await client.callTool({ name: 'whoami', arguments: { note: 'Ünïcödé 🚀 "quoted", 9007199254740993' } });
      expect(result.isError).not.toBe(true);
      const content = toolJson(result) as { user: Record<string, unknown>; note: string };
      expect(content.note).toBe('Ünïcödé 🚀 "quoted", 9007199254740993');
      expect(content.user).toMatchObject({
        id: 'jose',
        email: 'jose@example.com',
        name: 'José Núñez',
        groups: ['eng,ops', 'équipe-🚀'],
        roles: ['reader'],
        isAdmin: false,
        authMethod: 'jwt',
      });
    } finally {
      await client.close();
    }
  }, 60_000);

  it('refuses a forged request sent straight to the Python server, and the tool never runs', async () => {
    const forgedBody = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'whoami', arguments: { note: 'x' } },
    });
    const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'user-context+jwt' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ v: 1, iss: ISSUER, aud: AUDIENCE, sub: 'admin', auth_method: 'jwt' })).toString(
      'base64url',
    );
    for (const [headers, code] of [
      [{}, 'identity_missing'],
      [{ 'x-forwarded-user-id': 'admin', 'x-forwarded-user-admin': 'true' }, 'identity_missing'],
      [{ 'x-forwarded-user-assertion': `${header}.${payload}.${Buffer.alloc(64).toString('base64url')}` }, 'identity_invalid'],
    ] as const) {
      const response = await fetch(`${python.url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: forgedBody,
      });
      expect({ status: response.status, body: await response.json() }).toEqual({
        status: 401,
        body: { jsonrpc: '2.0', id: null, error: { code: -32001, message: expect.any(String), data: { code } } },
      });
    }
    // The tool's own call counter: one legitimate call above, none from the forged ones.
    const token = await idp.sign({ ...demoJwtClaims });
    const client = new Client({ name: 'cross-language', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/notes`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const result = await client.callTool({ name: 'whoami', arguments: { note: 'count' } });
      expect((toolJson(result) as { calls: number }).calls).toBe(2);
    } finally {
      await client.close();
    }
  }, 60_000);
});
