/**
 * Runs the example MCP server on its own:
 *   MCP_IDENTITY_JWKS_URL=http://127.0.0.1:3000/.well-known/mcp-identity/jwks.json \
 *   MCP_IDENTITY_ISSUER=urn:example:gateway MCP_IDENTITY_AUDIENCE=urn:example:notes PORT=4001 node dist/main.js
 * (or MCP_IDENTITY_SECRET=... instead of the JWKS URL for HS256).
 */
import { createApp } from './app.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`set ${name}`);
  return value;
};

const secret = process.env.MCP_IDENTITY_SECRET;
const { app } = createApp({
  name: process.env.MCP_SERVER_NAME ?? 'example-mcp-server',
  identity: {
    issuer: env('MCP_IDENTITY_ISSUER'),
    audience: env('MCP_IDENTITY_AUDIENCE'),
    keys: secret === undefined ? { jwksUrl: env('MCP_IDENTITY_JWKS_URL') } : { secrets: [{ secret }] },
  },
});
const port = Number(process.env.PORT ?? 4001);
app.listen(port, '127.0.0.1', () => {
  process.stdout.write(`example MCP server on http://127.0.0.1:${port}/mcp\n`);
});
