export { createApp } from './app.js';
export type { McpServerApp, McpServerAppOptions } from './app.js';
export { buildMcpServer, ADMIN_GROUPS } from './tools.js';
