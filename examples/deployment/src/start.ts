/**
 * `npm start`: starts the example deployment on localhost, runs the demo, prints what the
 * upstreams saw and a summary of the audit trail, and keeps running until Ctrl-C (printing
 * one compact audit line per request from then on).
 */
import { relative } from 'node:path';
import { Registry } from 'prom-client';
import type { AuditEvent } from '@mcp-identity/gateway';
import { formatAuditEvent, summarizeAudit } from './audit-summary.js';
import { formatDemo, runDemo } from './demo.js';
import { startDeployment } from './deployment.js';
import type { Deployment } from './deployment.js';
import { checkPortsFree, portFailureMessage, readPorts } from './start-ports.js';
import type { Ports } from './start-ports.js';
import { runTokenExchangeDemo, startTokenExchangeDemo } from './token-exchange-demo.js';

// During the demo the events are collected and summarized; afterwards each is printed as it comes.
const events: AuditEvent[] = [];
let live = false;
const audit = (event: AuditEvent): void => {
  if (live) process.stdout.write(`audit: ${formatAuditEvent(event)}\n`);
  else events.push(event);
};

// A port that cannot be used ends `npm start` with one line naming the port and the variable to
// set, not Node's stack. The ports are tried before any server starts; a failure that still
// happens (a port taken meanwhile) surfaces either as a rejected `listen` (gateway and upstreams)
// or as an 'error' event (the authorization server), and exiting closes what had started.
let ports: Ports | undefined;
function exitOnStartupError(error: unknown): never {
  const message = portFailureMessage(error, ports);
  process.stderr.write(
    message === undefined ? `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n` : `${message}\n`,
  );
  process.exit(1);
}
process.on('uncaughtException', exitOnStartupError);

let deployment: Deployment;
try {
  ports = readPorts(process.env);
  await checkPortsFree(ports);
  deployment = await startDeployment({
    gatewayPort: ports.GATEWAY_PORT,
    notesPort: ports.NOTES_PORT,
    reportsPort: ports.REPORTS_PORT,
    audit,
    metrics: new Registry(),
    oauth: true,
    authorizationServerPort: ports.AUTHORIZATION_SERVER_PORT,
    // Edits of the policy file take effect without a restart; a broken edit is refused and logged.
    watchPolicy: true,
  });
} catch (error) {
  exitOnStartupError(error);
}
process.off('uncaughtException', exitOnStartupError);

process.stdout.write(`mcp-identity example deployment
  gateway          ${deployment.gatewayUrl}  (MCP at /mcp/notes and /mcp/reports, JWKS at /.well-known/mcp-identity/jwks.json, metrics at /metrics)
  notes upstream   ${deployment.upstreams.notes}  (MCP SDK v1, 2025-era sessions)
  reports upstream ${deployment.upstreams.reports}  (MCP SDK v2, 2025 era and 2026-07-28)
  reports policy   ${relative(process.cwd(), deployment.reportsPolicy.file)}  (at the gateway: admin_report for the admins group only; edits apply at once)
  authorization server ${deployment.authorizationServer?.issuer ?? '(off)'}  (oidc-provider; demo users alice and bob)
  MCP clients (Claude, VS Code, the Inspector): give them ${deployment.gatewayUrl}/mcp/notes

Demo:
`);
try {
  process.stdout.write(`${formatDemo(await runDemo(deployment))}\n\nAudit trail: ${summarizeAudit(events)}\n\n`);
  // Token exchange runs on its own loopback ports, and stops once shown.
  const exchange = await startTokenExchangeDemo({ audit: () => undefined });
  try {
    process.stdout.write(
      `Calling APIs as the user (token exchange; runs on its own temporary loopback ports, stopped after this demo):\n${formatDemo(await runTokenExchangeDemo(exchange))}\n\n`,
    );
  } finally {
    await exchange.close();
  }
} catch (error) {
  process.stderr.write(`the demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
// One-shot calls in the 2026-07-28 (stateless) era: no initialize, no session.
const [alice, bob] = deployment.users;
const adminReportCurl = (user: { username: string; password: string } | undefined): string =>
  `  curl -s -u ${user?.username ?? ''}:${user?.password ?? ''} ${deployment.gatewayUrl}/mcp/reports \\
    -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \\
    -H 'mcp-protocol-version: 2026-07-28' -H 'mcp-method: tools/call' -H 'mcp-name: admin_report' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"admin_report","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'`;
process.stdout.write(`Try it yourself, e.g. with the API key client:
  curl -s ${deployment.gatewayUrl}/mcp/notes -H 'x-api-key: ${deployment.apiClient.key}' \\
    -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
One-shot tool calls without a session (2026-07-28 era) on reports: alice (group admins) gets the report,
${adminReportCurl(alice)}
and bob is answered -32003 forbidden by the gateway's policy (the call never reaches reports):
${adminReportCurl(bob)}
The deployment keeps running, printing one audit line per event; press Ctrl-C to stop.
`);
live = true;

const stop = (): void => {
  void deployment.close().then(() => process.exit());
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
