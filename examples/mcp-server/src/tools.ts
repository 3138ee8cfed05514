/**
 * The example MCP server's tools. They read the caller with `getUser(extra)`: the user the
 * gateway signed and `verifyIdentity` verified, never anything the client wrote.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { getUser } from '@mcp-identity/receiver';
import type { ReceivedUser } from '@mcp-identity/receiver';

/** Groups allowed to call `admin_report` (besides users flagged `isAdmin`). */
export const ADMIN_GROUPS: readonly string[] = ['admins'];

/** The `admin_report` result for a caller: the report for admins, a tool error for anyone else. */
export function adminDecision(user: ReceivedUser | undefined): { isError?: boolean; content: { type: 'text'; text: string }[] } {
  const allowed = user !== undefined && (user.isAdmin || user.groups.some((group) => ADMIN_GROUPS.includes(group)));
  if (!allowed) {
    return { isError: true, content: [{ type: 'text', text: `forbidden: ${user?.id ?? 'anonymous'} is not an admin` }] };
  }
  return { content: [{ type: 'text', text: `report for ${user.id}: all systems nominal` }] };
}

/** How many times each tool handler ran, by tool name: what reached the tools, whatever the gateway and receiver did. */
export class ToolCalls {
  readonly #counts = new Map<string, number>();

  /** Records one run of `tool`'s handler. */
  record(tool: string): void {
    this.#counts.set(tool, (this.#counts.get(tool) ?? 0) + 1);
  }

  /** How many times `tool`'s handler ran. */
  count(tool: string): number {
    return this.#counts.get(tool) ?? 0;
  }
}

/** Builds one MCP server instance (one per session); `calls` counts the tool handlers' runs. */
export function buildMcpServer(name: string, calls: ToolCalls = new ToolCalls()): McpServer {
  const server = new McpServer({ name, version: '0.1.0' });

  server.registerTool(
    'whoami',
    { title: 'Who am I', description: 'Returns the verified identity of the caller, as the gateway signed it.' },
    (extra) => {
      calls.record('whoami');
      const user = getUser(extra);
      return {
        content: [{ type: 'text', text: JSON.stringify(user ?? null) }],
        structuredContent: { user: user ?? null, upstream: name },
      };
    },
  );

  server.registerTool(
    'admin_report',
    { title: 'Admin report', description: 'Only for admins: an authorization decision made on the verified identity.' },
    (extra) => {
      calls.record('admin_report');
      return adminDecision(getUser(extra));
    },
  );

  return server;
}
