/** Runs the conformance MCP server alone: `node dist/main.js [port]` serves http://127.0.0.1:<port>/mcp. */
import { createConformanceApp } from './app.js';

const port = Number(process.argv[2] ?? process.env['PORT'] ?? 0);
const { app } = createConformanceApp();
const server = app.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  console.log(`conformance MCP server on http://127.0.0.1:${bound}/mcp`);
});
