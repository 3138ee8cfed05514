/**
 * Micro-benchmark of the token-exchange cache: the work `propagateIdentity({ tokenExchange })`
 * adds to a request whose exchanged token is cached (the subject-token lookup, its SHA-256 key,
 * the LRU touch). The one exchange that fills the cache is answered by an injected `fetch`.
 * Run alone with `node bench/dist/token-exchange-micro.js`.
 */
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { SignJWT } from 'jose';
// Internal modules, on purpose: the exchanger is not public API.
import { createTokenExchanger } from '../../packages/gateway/dist/token-exchange/exchanger.js';
import { rememberSubjectToken } from '../../packages/gateway/dist/token-exchange/subject-token.js';
import type { MicroResult } from './micro.js';

async function measureAsync(name: string, op: () => Promise<unknown>, minMs = 400): Promise<MicroResult> {
  for (let i = 0; i < 10_000; i++) await op(); // warm-up
  let count = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 10_000; i++) await op();
    count += 10_000;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return { name, opsPerSecond: Math.round((count / elapsed) * 1000), microsPerOp: Math.round(((elapsed * 1000) / count) * 1000) / 1000 };
}

export async function tokenExchangeBenchmarks(): Promise<MicroResult[]> {
  const key = Buffer.alloc(32, 9);
  const now = Math.floor(Date.now() / 1000);
  // A realistic subject token: an RS256-sized JWT access token (~900 bytes).
  const subject = await new SignJWT({ scope: 'tickets:use', client_id: 'x'.repeat(40), groups: ['a', 'b', 'c'], pad: 'p'.repeat(400) })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setSubject('alice')
    .setIssuer('https://login.example.com')
    .setAudience('https://mcp.example.com/mcp')
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(key);
  const exchanged = `${subject}-exchanged`;
  const fetchStub: typeof fetch = () =>
    Promise.resolve(
      new Response(JSON.stringify({ access_token: exchanged, token_type: 'Bearer', expires_in: 3600 }), {
        headers: { 'content-type': 'application/json' },
      }),
    );
  const exchange = createTokenExchanger({
    tokenEndpoint: 'https://login.example.com/token',
    clientAuth: { method: 'client_secret_basic', clientId: 'mcp-gateway', clientSecret: 'secret' },
    audience: 'urn:example:tickets',
    fetch: fetchStub,
  });
  const req = new IncomingMessage(new Socket());
  rememberSubjectToken(req, { token: subject, challenge: 'Bearer' });
  const first = await exchange(req);
  if (first?.token !== exchanged) throw new Error('the cache was not filled');
  return [await measureAsync('token exchange cache hit (µs added per request)', () => exchange(req))];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const result of await tokenExchangeBenchmarks())
    console.log(`${result.name}: ${result.microsPerOp} µs/op (${result.opsPerSecond} ops/s)`);
}
