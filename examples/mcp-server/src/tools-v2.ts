/**
 * The example MCP server's tools on MCP SDK v2 (`@modelcontextprotocol/server`): the same
 * `whoami` and `admin_report` as {@link buildMcpServer}, reading the caller with `getUser(ctx)`.
 */
import { McpServer } from '@modelcontextprotocol/server';
import { getUser } from '@mcp-identity/receiver';
import { adminDecision, ToolCalls } from './tools.js';

/** Builds one SDK v2 server instance (`createMcpHandler` asks for one per request); `calls` counts the tool handlers' runs. */
export function buildMcpServerV2(name: string, era: string, calls: ToolCalls = new ToolCalls()): McpServer {
  const server = new McpServer({ name, version: '0.1.0' });

  server.registerTool(
    'whoami',
    { title: 'Who am I', description: 'Returns the verified identity of the caller, as the gateway signed it.' },
    (ctx) => {
      calls.record('whoami');
      const user = getUser(ctx);
      return {
        content: [{ type: 'text', text: JSON.stringify(user ?? null) }],
        structuredContent: { user: user ?? null, upstream: name, sdk: 'v2', era },
      };
    },
  );

  server.registerTool(
    'admin_report',
    { title: 'Admin report', description: 'Only for admins: an authorization decision made on the verified identity.' },
    (ctx) => {
      calls.record('admin_report');
      return adminDecision(getUser(ctx));
    },
  );

  return server;
}
