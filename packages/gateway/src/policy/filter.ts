/**
 * Filtered discovery: the results of `tools/list`, `resources/list`,
 * `resources/templates/list` and `prompts/list` keep only what the policy lets the user
 * call. Only the list member changes; cursors and every other field are left as they are.
 */
import { isRecord } from '@mcp-identity/core/internal';
import type { JsonRpcMessage, McpOperation } from '@mcp-identity/core/internal';
import type { ListKind } from './enforce.js';

/** Tells whether the user may call what an operation names. */
export type Allows = (operation: McpOperation) => boolean;

function operationFor(kind: ListKind, item: unknown): McpOperation | undefined {
  if (!isRecord(item)) return undefined;
  switch (kind) {
    case 'tools':
      return typeof item.name === 'string' ? { method: 'tools/call', name: item.name } : undefined;
    case 'prompts':
      return typeof item.name === 'string' ? { method: 'prompts/get', name: item.name } : undefined;
    case 'resources':
      return typeof item.uri === 'string' ? { method: 'resources/read', uri: item.uri } : undefined;
    case 'resourceTemplates':
      // A template is judged by its URI template text: a rule on `file:///reports/*` covers `file:///reports/{name}`.
      return typeof item.uriTemplate === 'string' ? { method: 'resources/read', uri: item.uriTemplate } : undefined;
  }
}

/** The list kind a result looks like, for responses whose request the gateway did not see (a replayed stream). */
export function listKindOfResult(result: unknown): ListKind | undefined {
  if (!isRecord(result)) return undefined;
  for (const kind of ['tools', 'resources', 'resourceTemplates', 'prompts'] as const) {
    if (Array.isArray(result[kind])) return kind;
  }
  return undefined;
}

/**
 * Filters one response message in place of a copy: a list result loses the entries the user
 * may not call (entries without a name or URI are dropped too). Other messages are returned as they are.
 */
export function filterListResponse(message: JsonRpcMessage, kind: ListKind, allows: Allows): JsonRpcMessage {
  const result = message.result;
  if (!isRecord(result) || !Array.isArray(result[kind])) return message;
  const items = result[kind] as unknown[];
  const kept = items.filter((item) => {
    const operation = operationFor(kind, item);
    return operation !== undefined && allows(operation);
  });
  return { ...message, result: { ...result, [kind]: kept } };
}
