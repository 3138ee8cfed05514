/**
 * The example upstream: an Express app serving one MCP server over Streamable HTTP at
 * `/mcp`, with `verifyIdentity` in front of every request. Stateful: each `initialize`
 * creates a session with its own transport.
 */
import { randomUUID } from 'node:crypto';
import express from 'express';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { verifyIdentity } from '@mcp-identity/receiver';
import type { Express, Request, Response } from 'express';
import type { ReceiverOptions, VerifyIdentityOptions } from '@mcp-identity/receiver';
import { buildMcpServer, ToolCalls } from './tools.js';

/** Options of {@link createApp}. */
export interface McpServerAppOptions {
  /** Name reported by the MCP server (and by `whoami`). Default `"example-mcp-server"`. */
  readonly name?: string;
  /**
   * How identities are verified: `audience`, `issuer` and one `keys` choice
   * (`{ jwksUrl }`, `{ publicKeys }` or `{ secrets }`), plus `replay`, `sessions`, `policy`.
   * The older flat form (`jwksUrl`, `secrets`, ... beside `audience`) is accepted too.
   */
  readonly identity: ReceiverOptions | VerifyIdentityOptions;
}

/** An Express app plus a way to end its MCP sessions. */
export interface McpServerApp {
  readonly app: Express;
  /** How many times each tool handler ran (`toolCalls.count('admin_report')`). */
  readonly toolCalls: ToolCalls;
  /** Closes every open MCP session. */
  close(): Promise<void>;
}

function sessionError(res: Response, status: number, message: string): void {
  res.status(status).json({ jsonrpc: '2.0', id: null, error: { code: status === 404 ? -32001 : -32000, message } });
}

/**
 * Unmatched paths and methods get a JSON-RPC error body (404, `error.code` -32601,
 * `error.data.code` `"not_found"`) instead of Express's HTML page.
 */
function notFound(_req: Request, res: Response): void {
  res
    .status(404)
    .set('cache-control', 'no-store')
    .json({ jsonrpc: '2.0', id: null, error: { code: -32601, message: 'no route serves this path', data: { code: 'not_found' } } });
}

/** Creates the example MCP server app; it does not listen. */
export function createApp(options: McpServerAppOptions): McpServerApp {
  const name = options.name ?? 'example-mcp-server';
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const toolCalls = new ToolCalls();
  const app = express();
  app.disable('x-powered-by');
  app.use('/mcp', verifyIdentity(options.identity));

  app.post('/mcp', async (req: Request, res: Response) => {
    const sessionId = req.headers['mcp-session-id'];
    let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
    if (transport === undefined) {
      if (sessionId !== undefined) return sessionError(res, 404, 'Session not found');
      if (!isInitializeRequest(req.body)) return sessionError(res, 400, 'Bad Request: no session; send initialize first');
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          transports.set(id, created);
        },
      });
      created.onclose = () => {
        if (created.sessionId !== undefined) transports.delete(created.sessionId);
      };
      await buildMcpServer(name, toolCalls).connect(created);
      transport = created;
    }
    // verifyIdentity read and parsed the body: hand it on, and the user with it (req.auth).
    await transport.handleRequest(req, res, req.body);
  });

  const bySession = async (req: Request, res: Response): Promise<void> => {
    const sessionId = req.headers['mcp-session-id'];
    const transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
    if (transport === undefined) return sessionError(res, 404, 'Session not found');
    await transport.handleRequest(req, res);
  };
  app.get('/mcp', bySession);
  app.delete('/mcp', bySession);
  app.use(notFound);

  return {
    app,
    toolCalls,
    async close() {
      await Promise.all([...transports.values()].map((transport) => transport.close()));
      transports.clear();
    },
  };
}
