/**
 * The example upstream on MCP SDK v2: `verifyIdentity` in front of `createMcpHandler`, which
 * serves both protocol eras from one factory — 2026-07-28 (stateless, per-request envelope) and,
 * through the SDK's stateless legacy fallback, 2025-era clients. The verified user reaches the
 * tools as the SDK's `authInfo` (`ctx.http.authInfo`), where `getUser(ctx)` reads it.
 */
import express from 'express';
import { createMcpHandler } from '@modelcontextprotocol/server';
import type { McpRequestContext } from '@modelcontextprotocol/server';
import { verifyIdentity } from '@mcp-identity/receiver';
import type { Request, Response } from 'express';
import type { McpServerApp, McpServerAppOptions } from './app.js';
import { sendFetchResponse, toFetchRequest } from './fetch-adapter.js';
import { ToolCalls } from './tools.js';
import { buildMcpServerV2 } from './tools-v2.js';

/** Creates the SDK v2 example MCP server app (dual-era); it does not listen. */
export function createV2App(options: McpServerAppOptions): McpServerApp {
  const name = options.name ?? 'example-mcp-server';
  const toolCalls = new ToolCalls();
  const handler = createMcpHandler((context: McpRequestContext) => buildMcpServerV2(name, context.era, toolCalls));
  const app = express();
  app.disable('x-powered-by');
  // verifyIdentity reads and parses the body; the SDK gets it back as `parsedBody`.
  app.use('/mcp', verifyIdentity(options.identity));
  app.all('/mcp', async (req: Request, res: Response) => {
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const body = req.body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(req.body));
    const response = await handler.fetch(toFetchRequest(req, body, abort.signal), {
      parsedBody: req.body,
      ...(req.auth === undefined ? {} : { authInfo: req.auth }),
    });
    await sendFetchResponse(response, res);
  });
  return {
    app,
    toolCalls,
    close: () => handler.close(),
  };
}
