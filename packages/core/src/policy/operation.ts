/**
 * The MCP operation a JSON-RPC message asks for, as the policy sees it: the method, and the
 * tool or prompt name or the resource URI it names.
 */
import { isRecord } from '../user-context.js';

/** One MCP operation: a JSON-RPC method and, for the named operations, what it names. */
export interface McpOperation {
  /** The JSON-RPC method, e.g. `tools/call`. */
  readonly method: string;
  /** The tool name (`tools/call`) or prompt name (`prompts/get`). */
  readonly name?: string;
  /** The resource URI (`resources/read`, `resources/subscribe`, `resources/unsubscribe`). */
  readonly uri?: string;
}

/** The methods that name a tool, a prompt or a resource: the policy's `default` decides them. */
export const NAMED_METHODS: ReadonlySet<string> = new Set([
  'tools/call',
  'prompts/get',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
]);

/** Reads the operation of a message with a `method` (a request or notification). */
export function operationOf(message: Readonly<Record<string, unknown>>): McpOperation | undefined {
  const method = message.method;
  if (typeof method !== 'string') return undefined;
  const params = message.params;
  switch (method) {
    case 'tools/call':
    case 'prompts/get':
      return { method, name: isRecord(params) && typeof params.name === 'string' ? params.name : '' };
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe':
      return { method, uri: isRecord(params) && typeof params.uri === 'string' ? params.uri : '' };
    default:
      return { method };
  }
}
