/**
 * Child process: the systems under test on the gateway side, each on its own port, all
 * forwarding to the same upstream with the same keep-alive agent settings.
 */
import http from 'node:http';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { authenticate, propagateIdentity } from '@mcp-identity/gateway';
import type { Carrier, PropagateIdentityOptions, SigningKey } from '@mcp-identity/gateway';
import { AUDIENCE, benchUser, ISSUER, LOGIN_SECRET, SECRET, userWithGroups } from './fixtures.js';
import { hundredRules } from './policy-micro.js';
import { listen, serve } from './child.js';

const upstreamPort = Number(process.argv[2]);
const eddsaPem = process.argv[3] ?? '';
/**
 * `bodies`: only the baseline and headers + `_meta` (the body-size rows run in a process of their own, so their memory is seen apart);
 * `extras`: the calibration row and the authenticated pair (apart too, so the small-body process holds the same gateways as before).
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
    { secretOrKey: LOGIN_SECRET, jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), algorithms: ['HS256'] },
    (payload: Record<string, unknown>, done: (error: unknown, user?: unknown) => void) => done(null, payload),
  ),
);
const jwtBaseline = express();
jwtBaseline.use(passport.authenticate('jwt', { session: false }), createProxyMiddleware({ target, agent: agent() }));
const jwtMeta = express();
jwtMeta.use(
  authenticate(['jwt'], { audit: () => undefined }),
  propagateIdentity({
    target,
    audience: AUDIENCE,
    issuer: ISSUER,
    signing: { secret: SECRET },
    carriers: ['headers', 'meta'],
    proxy: { agent: agent() },
    audit: () => undefined,
  }),
);

const hs256: SigningKey = { secret: SECRET };
const eddsa: SigningKey = { alg: 'EdDSA', privateKey: eddsaPem };
const meta: Carrier[] = ['headers', 'meta'];
// 100 rules of mixed kinds that do not match the bench call, then the one that allows it: the worst case short of a denial.
const policy = {
  rules: [...hundredRules(), { id: 'bench-allow', effect: 'allow' as const, tools: 'search_notes' }],
  default: 'deny' as const,
};
const ports: Record<string, number> =
  only === 'bodies'
    ? { baseline: await listen(baseline), meta: await listen(gateway(meta, hs256)) }
    : only === 'extras'
      ? { calibration: await listen(calibration), jwtBaseline: await listen(jwtBaseline), jwtMeta: await listen(jwtMeta) }
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
