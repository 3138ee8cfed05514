/**
 * `npm start`: starts the example deployment on localhost, runs the demo, prints what the
 * upstreams saw, and keeps running until Ctrl-C.
 */
import { formatDemo, runDemo } from './demo.js';
import { startDeployment } from './deployment.js';

const port = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

const deployment = await startDeployment({
  gatewayPort: port('GATEWAY_PORT', 3000),
  notesPort: port('NOTES_PORT', 4001),
  reportsPort: port('REPORTS_PORT', 4002),
});

process.stdout.write(`mcp-identity example deployment
  gateway          ${deployment.gatewayUrl}  (MCP at /mcp/notes and /mcp/reports, JWKS at /.well-known/mcp-identity/jwks.json)
  notes upstream   ${deployment.upstreams.notes}
  reports upstream ${deployment.upstreams.reports}

Demo:
`);
try {
  process.stdout.write(`${formatDemo(await runDemo(deployment))}\n\n`);
} catch (error) {
  process.stderr.write(`the demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
process.stdout.write(`Try it yourself, e.g. with the API key client:
  curl -s ${deployment.gatewayUrl}/mcp/notes -H 'x-api-key: ${deployment.apiClient.key}' \\
    -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
The deployment keeps running; press Ctrl-C to stop.
`);

const stop = (): void => {
  void deployment.close().then(() => process.exit());
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
