/**
 * Child process: the systems under test on the gateway side, each on its own port, all
 * forwarding to the same upstream with the same keep-alive agent settings.
 */
import { createPublicKey, createSecretKey } from 'node:crypto';
import http from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { authenticate, OAuthTokenStrategy, propagateIdentity } from '@mcp-identity/gateway';
import type { Carrier, PropagateIdentityOptions, SigningKey } from '@mcp-identity/gateway';
import {
  AUDIENCE,
  benchUser,
  ISSUER,
  LOGIN_SECRET,
  OAUTH_KID,
  OAUTH_RESOURCE,
  oauthAccessToken,
  SECRET,
  TYPICAL_BODY,
  userWithGroups,
} from './fixtures.js';
import { hundredRules } from './policy-micro.js';
import { listen, serve } from './child.js';

const upstreamPort = Number(process.argv[2]);
const eddsaPem = process.argv[3] ?? '';
/**
 * `bodies`: only the baseline and headers + `_meta` (the body-size rows run in a process of their own, so their memory is seen apart);
 * `extras`: the calibration row, the authenticated pairs (passport-jwt, OAuth with and without token exchange) and the floor rows (apart too, so the small-body process holds the same gateways as before).
 */
const only = process.argv[4];
const target = `http://127.0.0.1:${upstreamPort}`;
const agent = (): http.Agent => new http.Agent({ keepAlive: true });

function gateway(
  carriers: Carrier[],
  signing: SigningKey,
  user: () => Record<string, unknown> = benchUser,
  extra: Partial<PropagateIdentityOptions> = {},
): express.Express {
  const app = express();
  app.use((req, _res, next) => {
    req.userContext = user() as never;
    next();
  });
  // A sink that drops events: the audit work is measured, writing millions of lines is not.
  const audit = (): void => undefined;
  app.use(propagateIdentity({ target, audience: AUDIENCE, issuer: ISSUER, signing, carriers, proxy: { agent: agent() }, audit, ...extra }));
  return app;
}

const baseline = express();
baseline.use(createProxyMiddleware({ target, agent: agent() }));

/** Microseconds of CPU the calibration row adds to the baseline per request. */
const CALIBRATION_MICROS = 25;
// The calibration row: the baseline plus a fixed amount of CPU per request, so a reader sees what
// ratio a known cost scores in this set-up (on two cores the SUT's own syscalls get dearer as it
// slows, so the ratio falls faster than the added CPU alone would predict).
const calibration = express();
calibration.use((_req, _res, next) => {
  const until = process.hrtime.bigint() + BigInt(CALIBRATION_MICROS * 1000);
  while (process.hrtime.bigint() < until);
  next();
});
calibration.use(createProxyMiddleware({ target, agent: agent() }));

// The authenticated pair, as a deployment runs (and as issue 17 measured): the same passport-jwt
// login in front of both, so the ratio is what propagating the identity adds to a gateway that
// authenticates anyway.
passport.use(
  new JwtStrategy(
    // A KeyObject, as docs/gateway.md advises: a string costs ~350 µs per verify in jsonwebtoken.
    {
      secretOrKey: createSecretKey(Buffer.from(LOGIN_SECRET)) as unknown as Buffer,
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      algorithms: ['HS256'],
    },
    (payload: Record<string, unknown>, done: (error: unknown, user?: unknown) => void) => done(null, payload),
  ),
);
const jwtBaseline = express();
jwtBaseline.use(passport.authenticate('jwt', { session: false }), createProxyMiddleware({ target, agent: agent() }));
/** Row 3 behind `authenticate` with one Passport strategy, as a deployment runs it. */
function behindLogin(strategy: string, extra: Partial<PropagateIdentityOptions> = {}, to = target): express.Express {
  return express().use(
    authenticate([strategy], { audit: () => undefined }),
    propagateIdentity({
      target: to,
      audience: AUDIENCE,
      issuer: ISSUER,
      signing: { secret: SECRET },
      carriers: ['headers', 'meta'],
      proxy: { agent: agent() },
      audit: () => undefined,
      ...extra,
    }),
  );
}
const jwtMeta = behindLogin('jwt');

/** What the OAuth rows' token endpoint answers every exchange with. */
const EXCHANGED_TOKEN = 'bench-exchanged-access-token';

/**
 * The OAuth rows' authorization server, on loopback in this process: its JWKS (the shared EdDSA
 * key) and an RFC 8693 token endpoint. Under load it is not called: the gateway keeps the JWKS,
 * and the exchanged token comes from its cache after the first request.
 */
async function authorizationServer(): Promise<number> {
  const jwk = { ...createPublicKey(eddsaPem).export({ format: 'jwk' }), kid: OAUTH_KID, alg: 'EdDSA', use: 'sig' };
  const json = (res: http.ServerResponse, value: unknown): void => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(value));
  };
  return listen((req, res) => {
    if (req.method === 'GET' && req.url === '/jwks') {
      json(res, { keys: [jwk] });
      return;
    }
    if (req.method === 'POST' && req.url === '/token') {
      req.resume();
      req.on('end', () =>
        json(res, {
          access_token: EXCHANGED_TOKEN,
          issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          token_type: 'Bearer',
          expires_in: 3600,
        }),
      );
      return;
    }
    res.statusCode = 404;
    res.end();
  });
}

/**
 * The OAuth pair: an MCP client's access token verified by `OAuthTokenStrategy`, then (3), with
 * and without a token exchange for the upstream (a cache hit on every request after the first).
 */
async function oauthPorts(): Promise<Record<string, number>> {
  const authorizationServerPort = await authorizationServer();
  const issuer = `http://127.0.0.1:${authorizationServerPort}`;
  passport.use(new OAuthTokenStrategy({ issuers: [{ issuer, jwksUri: `${issuer}/jwks` }], audience: [OAUTH_RESOURCE] }));
  const exchange: Partial<PropagateIdentityOptions> = {
    tokenExchange: {
      tokenEndpoint: `${issuer}/token`,
      clientAuth: { method: 'client_secret_basic', clientId: 'bench-gateway', clientSecret: 'bench-client-secret' },
      audience: 'urn:bench:downstream-api',
    },
  };
  // The row measures what it says only if the upstream gets the exchanged token, not the client's.
  const login = { authorization: `Bearer ${await oauthAccessToken(eddsaPem, issuer)}` };
  const sent = await sentUpstream((to) => behindLogin('oauth-bearer', exchange, to), login);
  if (sent.headers.get('authorization') !== `Bearer ${EXCHANGED_TOKEN}`)
    throw new Error('the token-exchange row does not forward the exchanged token');
  return {
    authorizationServer: authorizationServerPort,
    oauthMeta: await listen(behindLogin('oauth-bearer')),
    oauthExchange: await listen(behindLogin('oauth-bearer', exchange)),
  };
}

/** What a system under test sent upstream for one typical request. */
interface Sent {
  readonly headers: ReadonlyMap<string, string>;
  readonly bodyBytes: number;
}

/** Sends one typical request through `app` to a capturing upstream and returns what arrived there. */
async function sentUpstream(make: (target: string) => express.Express, headers: Record<string, string> = {}): Promise<Sent> {
  let sent: Sent | undefined;
  const capture = http.createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () => {
      sent = { headers: new Map(Object.entries(req.headers).map(([name, value]) => [name, String(value)])), bodyBytes };
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => capture.listen(0, '127.0.0.1', resolve));
  const front = http.createServer(make(`http://127.0.0.1:${(capture.address() as { port: number }).port}`));
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const response = await fetch(`http://127.0.0.1:${(front.address() as { port: number }).port}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: TYPICAL_BODY,
  });
  await response.arrayBuffer();
  front.close();
  capture.close();
  if (response.status !== 200 || sent === undefined) throw new Error(`capturing what a gateway sends: status ${response.status}`);
  return sent;
}

const heldBody = new WeakMap<IncomingMessage, Buffer>();
const pipesNothing = { pipe: <T>(destination: T): T => destination };

/**
 * A floor row: the plain proxy doing only what any gateway that binds the identity to the body
 * must do: hold the whole body, then send the identity headers a gateway row sends (the same
 * names and bytes, captured once at start-up, so nothing is encoded, signed or digested per
 * request) and as many body bytes (its `_meta` additions as trailing JSON whitespace). What
 * it scores against (1) is the best such a gateway could score on this stack.
 */
function floor(sent: Sent, plain: Sent): express.Express {
  const headers = [...sent.headers].filter(([name]) => !plain.headers.has(name));
  const padding = Buffer.alloc(sent.bodyBytes - plain.bodyBytes, 0x20);
  const app = express();
  app.use((req, _res, next) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      heldBody.set(req, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      next();
    });
  });
  app.use(
    createProxyMiddleware({
      target,
      agent: agent(),
      buffer: pipesNothing as never,
      on: {
        proxyReq: (proxyReq: ClientRequest, req: IncomingMessage) => {
          for (const [name, value] of headers) proxyReq.setHeader(name, value);
          const body = heldBody.get(req) ?? Buffer.alloc(0);
          proxyReq.setHeader('content-length', body.length + padding.length);
          proxyReq.end(padding.length === 0 ? body : Buffer.concat([body, padding]));
        },
      },
    }),
  );
  return app;
}

const hs256: SigningKey = { secret: SECRET };
const eddsa: SigningKey = { alg: 'EdDSA', privateKey: eddsaPem };
const meta: Carrier[] = ['headers', 'meta'];
// 100 rules of mixed kinds that do not match the bench call, then the one that allows it: the worst case short of a denial.
const policy = {
  rules: [...hundredRules(), { id: 'bench-allow', effect: 'allow' as const, tools: 'search_notes' }],
  default: 'deny' as const,
};
const extrasPorts = async (): Promise<Record<string, number>> => {
  const plain = await sentUpstream((to) => express().use(createProxyMiddleware({ target: to })));
  const sentBy = (carriers: Carrier[], user: () => Record<string, unknown>): Promise<Sent> =>
    sentUpstream((to) => gateway(carriers, hs256, user, { target: to }));
  return {
    calibration: await listen(calibration),
    jwtBaseline: await listen(jwtBaseline),
    jwtMeta: await listen(jwtMeta),
    floorHeaders: await listen(floor(await sentBy(['headers'], benchUser), plain)),
    floorMeta: await listen(floor(await sentBy(meta, benchUser), plain)),
    floorGroups1: await listen(floor(await sentBy(meta, () => userWithGroups(1)), plain)),
    floorGroups256: await listen(floor(await sentBy(meta, () => userWithGroups(256)), plain)),
    ...(await oauthPorts()),
  };
};
const ports: Record<string, number> =
  only === 'bodies'
    ? { baseline: await listen(baseline), meta: await listen(gateway(meta, hs256)) }
    : only === 'extras'
      ? await extrasPorts()
      : {
          baseline: await listen(baseline),
          headers: await listen(gateway(['headers'], hs256)),
          meta: await listen(gateway(meta, hs256)),
          eddsa: await listen(gateway(meta, eddsa)),
          policy: await listen(gateway(meta, hs256, benchUser, { policy })),
          groups1: await listen(gateway(meta, hs256, () => userWithGroups(1))),
          groups32: await listen(gateway(meta, hs256, () => userWithGroups(32))),
          groups256: await listen(gateway(meta, hs256, () => userWithGroups(256))),
        };
serve(ports);
