/**
 * `authenticate`: runs Passport strategies in order and turns the first success into
 * `req.userContext` (or, with delegation, the subject it acts for); otherwise answers 401
 * with a JSON-RPC error and `WWW-Authenticate`. Every refusal is audited.
 */
import {
  clockOption,
  createAuditEmitter,
  createUserMemo,
  IdentityError,
  isIdentityError,
  objectOption,
  onlyKnownKeys,
  optionKeys,
  writeIdentityError,
} from '@mcp-identity/core/internal';
import defaultPassport from 'passport';
import type { AuditOptions, AuthMethod, UserContext } from '@mcp-identity/core/internal';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { authenticationRefusal } from './audit.js';
import { applyDelegation, resolveDelegation } from './delegation.js';
import type { DelegationOptions } from './delegation.js';
import { checkNormalizerOptions, jwtNormalizer, profileNormalizer, userObjectNormalizer } from './normalizers.js';
import type { Normalizer, NormalizerOptions } from './normalizers.js';
import { resourceChallenges } from './protected-resource.js';
import type { ProtectedResource } from './protected-resource.js';
import { rememberSubjectToken } from './token-exchange/subject-token.js';

/** What `authenticate` needs of Passport: the `passport` singleton or a `new Passport()` both fit. */
export interface PassportLike {
  authenticate(strategy: string, options: { session: false }, callback: (error: unknown, user: unknown, info: unknown) => void): unknown;
}

/** A strategy to run: its registered name, or the name with an explicit method or normalizer. */
export type StrategyRef = string | StrategySpec;

/** A strategy with how to read its result. */
export interface StrategySpec {
  /** The name the strategy is registered under with `passport.use`. */
  readonly name: string;
  /** The `authMethod` to record. Default: from the strategy (`jwt`, `basic`, `api_key`, `sso`, `proxy`, else its name). */
  readonly method?: AuthMethod;
  /** Replaces the shipped normalizer for this strategy. */
  readonly normalize?: Normalizer;
}

/** Options of {@link authenticate}. */
export interface AuthenticateOptions extends AuditOptions {
  /** The Passport instance the strategies are registered on. Default: the `passport` singleton. */
  readonly passport?: PassportLike;
  /** Realm named in `WWW-Authenticate`. Default `"mcp"`. */
  readonly realm?: string;
  /** Options of the shipped normalizers (claim paths, admin roles, copied attributes). */
  readonly normalizers?: NormalizerOptions;
  /**
   * Lets principals act for users named in a header (`X-Act-As`). Default: off, and a request
   * carrying `X-Act-As` is refused (403 `forbidden`).
   */
  readonly delegation?: DelegationOptions;
  /** Current time in milliseconds, for audit events. Default `Date.now`. */
  readonly clock?: () => number;
  /**
   * The OAuth protected resource this mount is (from `protectedResource()`). When set, 401
   * challenges carry `resource_metadata` and `scope` (and `error="invalid_token"` for a refused
   * bearer token) instead of `realm`; every access-token login (`jwt` and `oauth` strategies)
   * must have this resource in its `aud`, and the resource's `requiredScopes`, else 401 / 403
   * `insufficient_scope`. Default: none.
   */
  readonly protectedResource?: ProtectedResource;
}

interface ResolvedStrategy {
  readonly name: string;
  readonly method: AuthMethod;
  readonly normalize: Normalizer;
  /** Verifies access tokens: audience and scopes are checked against the protected resource. */
  readonly accessToken: boolean;
  /** The shipped OAuth strategy: its verified token is kept for the request, for token exchange. */
  readonly oauthToken: boolean;
}

type Outcome =
  | { readonly kind: 'success'; readonly user: unknown; readonly info: unknown }
  | { readonly kind: 'fail'; readonly challenge: unknown }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'handled' };

/** Strategy names as the strategies call themselves, mapped to UserContext auth methods. */
const METHODS: Readonly<Record<string, AuthMethod>> = {
  jwt: 'jwt',
  'oauth-bearer': 'oauth',
  basic: 'basic',
  'api-key': 'api_key',
  apikey: 'api_key',
  headerapikey: 'api_key',
  localapikey: 'api_key',
  'trusted-proxy': 'proxy',
  openidconnect: 'sso',
  oidc: 'sso',
  saml: 'sso',
  oauth2: 'sso',
  session: 'sso',
};

function methodOf(passport: PassportLike, name: string): AuthMethod {
  const lookup = (passport as unknown as { _strategy?: (name: string) => { name?: string } | undefined })._strategy;
  const strategy = typeof lookup === 'function' ? lookup.call(passport, name) : undefined;
  const known = (key: string | undefined): AuthMethod | undefined =>
    key !== undefined && Object.hasOwn(METHODS, key) ? METHODS[key] : undefined;
  return known(strategy?.name) ?? known(name) ?? name;
}

function defaultNormalizer(method: AuthMethod, options: NormalizerOptions): Normalizer {
  if (method === 'jwt' || method === 'oauth') return jwtNormalizer(options);
  if (method === 'sso') return profileNormalizer(options);
  // The user-object normalizer reads `adminRoles` only; the other options are for token and profile logins.
  return userObjectNormalizer(options.adminRoles === undefined ? {} : { adminRoles: options.adminRoles });
}

function resolveStrategies(strategies: readonly StrategyRef[], passport: PassportLike, options: NormalizerOptions): ResolvedStrategy[] {
  if (!Array.isArray(strategies) || strategies.length === 0) throw new TypeError('strategies must name at least one Passport strategy');
  return strategies.map((ref: unknown, index) => {
    const spec: StrategySpec = typeof ref === 'string' ? { name: ref } : (ref as StrategySpec);
    if (typeof spec !== 'object' || spec === null || typeof spec.name !== 'string' || spec.name.length === 0) {
      throw new TypeError(`strategies[${index}] must be a strategy name or { name, method?, normalize? }`);
    }
    onlyKnownKeys(spec, `authenticate strategies[${index}]`, STRATEGY_KEYS, { prefix: `strategies[${index}].` });
    const lookup = (passport as unknown as { _strategy?: (name: string) => unknown })._strategy;
    if (
      typeof lookup === 'function' &&
      typeof (lookup.call(passport, spec.name) as { authenticate?: unknown } | undefined)?.authenticate !== 'function'
    ) {
      throw new TypeError(`strategies[${index}]: no Passport strategy named "${spec.name}" is registered (call passport.use first)`);
    }
    if (spec.normalize !== undefined && typeof spec.normalize !== 'function')
      throw new TypeError(`strategies[${index}].normalize must be a function`);
    const kind = methodOf(passport, spec.name);
    const method = spec.method ?? kind;
    if (typeof method !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(method))
      throw new TypeError(`strategies[${index}].method must be 1-64 characters of A-Z a-z 0-9 _ . : -; set it when the name is not one`);
    // The shipped normalizer follows what the strategy yields; `method` relabels a known kind without changing how it is read.
    const readAs = Object.values(METHODS).includes(kind) ? kind : method;
    const accessToken = [kind, method].some((entry) => entry === 'jwt' || entry === 'oauth');
    return {
      name: spec.name,
      method,
      normalize: spec.normalize ?? defaultNormalizer(readAs, options),
      accessToken,
      oauthToken: kind === 'oauth',
    };
  });
}

function run(passport: PassportLike, name: string, req: Request, res: Response): Promise<Outcome> {
  return new Promise((resolve) => {
    // A strategy that redirects (an OIDC login) answers the request itself.
    const onFinish = (): void => resolve({ kind: 'handled' });
    res.once('finish', onFinish);
    const settle = (outcome: Outcome): void => {
      res.off('finish', onFinish);
      resolve(outcome);
    };
    const callback = (error: unknown, user: unknown, info: unknown): void => {
      if (error) settle({ kind: 'error', error });
      else if (user) settle({ kind: 'success', user, info });
      else settle({ kind: 'fail', challenge: info });
    };
    const middleware = passport.authenticate(name, { session: false }, callback) as (
      req: Request,
      res: Response,
      next: (error?: unknown) => void,
    ) => void;
    try {
      middleware(req, res, (error) => settle(error ? { kind: 'error', error } : { kind: 'fail', challenge: undefined }));
    } catch (error) {
      // A strategy that throws instead of calling this.error().
      settle({ kind: 'error', error });
    }
  });
}

const STRATEGY_KEYS = optionKeys<StrategySpec>()(['name', 'method', 'normalize']);

/** Every key of {@link AuthenticateOptions} (the compiler checks the list is complete). */
const OPTION_KEYS = optionKeys<AuthenticateOptions>()([
  'passport',
  'realm',
  'normalizers',
  'delegation',
  'clock',
  'protectedResource',
  'audit',
  'metrics',
]);

/**
 * Authenticates a request with Passport strategies, in order, without sessions. The first
 * that succeeds sets `req.userContext`, normalized, with `authMethod` from that strategy.
 * When none does, the answer is 401 `unauthenticated` with every strategy's challenge in
 * `WWW-Authenticate`.
 * @param strategies - Passport strategy names, or `{ name, method?, normalize? }`, tried in order.
 * @param options - Passport instance, normalizers, realm, protected resource, delegation, audit, metrics and clock.
 * @returns The Express middleware.
 * @example
 * passport.use(new JwtStrategy({ secretOrKey, jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken() }, (payload, done) => done(null, payload)));
 * passport.use(new BasicStrategy(verifyPassword));
 * app.use('/mcp', authenticate(['jwt', 'basic']));
 */
export function authenticate(strategies: readonly StrategyRef[], options: AuthenticateOptions = {}): RequestHandler {
  onlyKnownKeys(objectOption(options, 'options'), 'authenticate', OPTION_KEYS);
  const passport = options.passport ?? defaultPassport;
  if (typeof passport?.authenticate !== 'function') throw new TypeError('passport must be a Passport instance');
  const realm = options.realm ?? 'mcp';
  // A quote or backslash would end or escape the quoted-string of the challenge.
  if (typeof realm !== 'string' || !/^[\x20-\x7e]{1,64}$/.test(realm) || realm.includes('"') || realm.includes('\\'))
    throw new TypeError('realm must be 1-64 printable ASCII characters without quotes or backslashes');
  if (options.normalizers !== undefined) checkNormalizerOptions(options.normalizers, 'authenticate normalizers');
  const resolved = resolveStrategies(strategies, passport, options.normalizers ?? {});
  const resource = options.protectedResource;
  if (resource !== undefined && (typeof resource !== 'object' || resource === null || !Array.isArray(resource.audiences)))
    throw new TypeError('protectedResource must be built by protectedResource()');
  const challenge = resource === undefined ? undefined : resourceChallenges(resource);
  const bearer = challenge?.missing ?? `Bearer realm="${realm}"`;
  const delegation = resolveDelegation(options.delegation);
  const clock = clockOption(options.clock);
  const emit = createAuditEmitter(options);
  // The same user logging in again gets the same frozen object: per-user caches downstream apply.
  const users = createUserMemo();

  function refuse(req: Request, res: Response, error: IdentityError, principal?: UserContext): void {
    writeIdentityError(res, error);
    // With audit off, no event is built.
    emit?.(authenticationRefusal(req, res, error.code, clock, principal));
  }

  /** The challenge for a refused bearer token: `error="invalid_token"` once a token was presented. */
  function bearerChallenge(req: Request): string {
    return challenge !== undefined && presentsBearer(req) ? challenge.invalidToken : bearer;
  }

  /** Checks an access-token login against the protected resource; returns the refusal, if any. */
  function checkResource(input: Readonly<Record<string, unknown>>): IdentityError | undefined {
    if (resource === undefined || challenge === undefined) return undefined;
    // Own fields only: a polluted Object.prototype must not supply an audience or a scope.
    const audience = audienceOf(Object.hasOwn(input, 'audience') ? input.audience : undefined);
    if (!audience.some((entry) => resource.audiences.includes(entry))) {
      return new IdentityError('unauthenticated', 'the access token was not issued for this resource', {
        headers: { 'www-authenticate': challenge.invalidToken },
      });
    }
    const scopes = Object.hasOwn(input, 'scopes') ? input.scopes : undefined;
    const granted = Array.isArray(scopes) ? (scopes as unknown[]) : [];
    if (resource.requiredScopes.some((scope) => !granted.includes(scope))) {
      return new IdentityError('insufficient_scope', 'the access token lacks a scope this resource requires', {
        headers: { 'www-authenticate': challenge.insufficientScope },
      });
    }
    return undefined;
  }

  return async function authenticateMiddleware(req: Request, res: Response, next: NextFunction): Promise<void> {
    const challenges = new Set<string>();
    for (const strategy of resolved) {
      const outcome = await run(passport, strategy.name, req, res);
      if (outcome.kind === 'handled') return;
      if (outcome.kind === 'error') {
        refuse(req, res, new IdentityError('auth_unavailable', 'authentication is unavailable', { cause: outcome.error }));
        return;
      }
      if (outcome.kind === 'success') {
        let principal: UserContext;
        let refusal: IdentityError | undefined;
        try {
          let input = strategy.normalize(outcome.user, outcome.info, req);
          if (strategy.accessToken && resource !== undefined) {
            refusal = checkResource(input);
            input = { ...input, resource: resource.resource };
          }
          principal = users.normalize({ ...input, authMethod: strategy.method });
        } catch (error) {
          if (isIdentityError(error) && error.code === 'claims_limit_exceeded') {
            refuse(req, res, error);
            return;
          }
          const cause =
            isIdentityError(error) && error.code === 'unauthenticated' ? error.message : 'the credentials do not identify a valid user';
          refuse(
            req,
            res,
            new IdentityError('unauthenticated', cause, { cause: error, headers: { 'www-authenticate': bearerChallenge(req) } }),
          );
          return;
        }
        if (refusal !== undefined) {
          refuse(req, res, refusal, principal);
          return;
        }
        try {
          req.userContext = await applyDelegation(principal, req, delegation);
        } catch (error) {
          const refusal = isIdentityError(error)
            ? error
            : new IdentityError('auth_unavailable', 'authentication is unavailable', { cause: error });
          refuse(req, res, refusal, principal);
          return;
        }
        // The user's own access token, for upstreams that exchange it (never on the UserContext). Not
        // when acting for someone else: that token is the actor's, not the subject's.
        const info: unknown = outcome.info;
        if (strategy.oauthToken && req.userContext === principal && typeof info === 'object' && info !== null) {
          const token = (info as { token?: unknown }).token;
          if (typeof token === 'string')
            rememberSubjectToken(req, { token, challenge: challenge?.invalidToken ?? `Bearer realm="${realm}", error="invalid_token"` });
        }
        next();
        return;
      }
      if (typeof outcome.challenge === 'string' && /^[\x20-\x7e]+$/.test(outcome.challenge)) challenges.add(outcome.challenge);
      if (strategy.accessToken || strategy.method === 'sso') challenges.add(bearerChallenge(req));
    }
    if (challenges.size === 0) challenges.add(bearerChallenge(req));
    refuse(req, res, new IdentityError('unauthenticated', 'authentication required', { headers: { 'www-authenticate': [...challenges] } }));
  };
}

/** Whether the request carries an `Authorization: Bearer …` credential (any case of the scheme). */
function presentsBearer(req: Request): boolean {
  const header = req.headers.authorization;
  return typeof header === 'string' && /^bearer(\s|$)/i.test(header);
}

function audienceOf(value: unknown): readonly string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
}
