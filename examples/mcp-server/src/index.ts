export { createApp } from './app.js';
export type { McpServerApp, McpServerAppOptions } from './app.js';
export { createV2App } from './app-v2.js';
export { buildMcpServer, adminDecision, ADMIN_GROUPS, ToolCalls } from './tools.js';
export { buildMcpServerV2 } from './tools-v2.js';
export { toFetchRequest, sendFetchResponse } from './fetch-adapter.js';
