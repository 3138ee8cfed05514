/**
 * The token-exchange part of `npm start`: each user's `my_tickets` answer comes from the tickets
 * API called with a token exchanged for that user, the gateway as actor; a revoked token is
 * refused with the MCP challenge.
 */
import { formatDemo, runTokenExchangeDemo, startTokenExchangeDemo } from '../src/index.js';
import type { DemoStep, TokenExchangeDemo } from '../src/index.js';

describe('the token-exchange demo', () => {
  let demo: TokenExchangeDemo;
  let steps: DemoStep[];

  beforeAll(async () => {
    demo = await startTokenExchangeDemo({ audit: () => undefined, logger: { warn: () => undefined } });
    steps = await runTokenExchangeDemo(demo);
  });

  afterAll(async () => {
    await demo?.close();
  });

  it("shows alice's and bob's own tickets, read from the API as each of them with the gateway as actor", () => {
    expect(steps[0]?.toolText).toBe(
      'alice → tickets API HTTP 200: {"owner":"alice","actor":"mcp-gateway","tickets":["ALICE-1: renew the certificate","ALICE-2: review the rota"]}',
    );
    expect(steps[1]?.toolText).toBe(
      'bob → tickets API HTTP 200: {"owner":"bob","actor":"mcp-gateway","tickets":["BOB-1: fix the printer"]}',
    );
  });

  it('refuses a revoked token with 401 token_exchange_rejected and the challenge that sends the client to sign in again', () => {
    expect(steps[2]?.refused).toEqual({
      status: 401,
      code: 'token_exchange_rejected',
      challenge: `Bearer error="invalid_token", resource_metadata="${new URL(demo.mcpUrl).origin}/.well-known/oauth-protected-resource/mcp/tickets", scope="tickets:use"`,
    });
    expect(formatDemo(steps)).toContain('tool answered: alice → tickets API HTTP 200');
  });
});
