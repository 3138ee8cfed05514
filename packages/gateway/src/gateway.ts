/**
 * `createGateway`: the settings every upstream shares (issuer, signing keys, sessions, audit,
 * metrics, logger, clock) validated once, and the pieces bound to them: `authenticate`,
 * `upstream` (the proxy middleware for one upstream), `plugin` (for an app's own proxy) and
 * `jwks`. Each piece maps its grouped options onto the same implementation as
 * `propagateIdentity`, `identityPlugin` and `jwks`; the keys are imported here, once.
 */
import {
  booleanOption,
  clockOption,
  createAuditEmitter,
  importSigningKeys,
  isRecord,
  loggerOption,
  objectOption,
  shownKey,
  positiveInteger,
  requiredIdentifier,
} from '@mcp-identity/core/internal';
import type {
  AuditOptions,
  IdentityStore,
  ImportedSigningKeys,
  LoggerLike,
  Policy,
  PolicyConfig,
  SessionOptions,
  SigningKey,
  UserContextField,
} from '@mcp-identity/core/internal';
import type { Plugin } from 'http-proxy-middleware';
import type { RequestHandler } from 'express';
import { authenticate } from './authenticate.js';
import type { AuthenticateOptions, StrategyRef } from './authenticate.js';
import { createJwksHandler } from './jwks.js';
import type { JwksOptions } from './jwks.js';
import { createIdentityPlugin } from './plugin.js';
import { createUpstreamMiddleware } from './propagate.js';
import type { ExtraProxyOptions, PropagateIdentityOptions } from './propagate.js';
import type { Carrier, IdentityOptions } from './options.js';
import type { OptionNames } from './option-names.js';
import type { TokenExchangeOptions } from './token-exchange/options.js';

/** Options of {@link createGateway}: what every upstream of this gateway shares. */
export interface GatewayOptions extends AuditOptions {
  /** The gateway's identifier, put in `iss`. Required. */
  readonly issuer: string;
  /**
   * The signing key: `{ secret, kid? }` for HS256, `{ alg: 'EdDSA' | 'ES256', privateKey, kid? }`,
   * or several with exactly one `active: true` during a rotation. Imported once, here. Required.
   */
  readonly signing: SigningKey | readonly SigningKey[];
  /** Lifetime of each signed assertion, in seconds. Default 60. */
  readonly assertionTtlSeconds?: number;
  /**
   * Session isolation for every upstream: `{ store, ttlSeconds, maxPerUser }` (the receiver's
   * `sessions` shape), or `false` to turn it off. Default `{}`: on, each upstream with its own
   * `MemoryStore`, 8 hours, 100 sessions per user. Pass a `RedisStore` when several gateway
   * instances serve the same clients.
   */
  readonly sessions?: SessionOptions | false;
  /** Attribute names never sent to any upstream (case-insensitive substrings, or patterns). Default `defaultSensitiveAttributes`. */
  readonly sensitiveAttributes?: readonly (string | RegExp)[];
  /** Receives warnings (a short ContextForge secret, session-store failures). Default `console`. Never given a token. */
  readonly logger?: LoggerLike;
  /** Current time in milliseconds. Default `Date.now`. */
  readonly clock?: () => number;
}

/** Where the identity travels to an upstream. */
export interface CarryOptions {
  /** As `<prefix>-*` headers and the `<prefix>-Assertion` header. Default true. */
  readonly headers?: boolean;
  /**
   * In JSON-RPC `params._meta`. `true` (default): added to a `_meta` the client sent, and created
   * only where that cannot change how a server reads the request's protocol era (see
   * docs/protocol-versions.md); where no `_meta` carries it, the identity travels in headers.
   * `"always"`: created on every JSON-RPC request, for paths that drop identity headers (also
   * the default when `headers` is false). `false`: never.
   */
  readonly meta?: boolean | 'always';
  /** Prefix of the identity headers. Default `"X-Forwarded-User"`. */
  readonly headerPrefix?: string;
  /** ContextForge compatibility: also send its `-Claims-Signature` header and unsigned `_meta.user`. Needs `headers`. Default: off. */
  readonly contextforge?: { readonly secret: string | Uint8Array };
}

/** What is removed from client requests before they are forwarded (client identity and credentials always are). */
export interface StripOptions {
  /** Further inbound identity headers to strip (exact names, or prefixes ending in `-`); replaces the default list. Default `defaultStripHeaders`. */
  readonly headers?: readonly string[];
  /** Query parameters treated as credentials and removed. Default `defaultCredentialQueryParams`. */
  readonly queryParams?: readonly string[];
  /** Header carrying API keys, stripped. Default `"x-api-key"`. */
  readonly apiKeyHeader?: string;
  /**
   * Further headers the client sent that are forwarded although they look like credentials;
   * never an identity header, and never `Authorization`, `Proxy-Authorization`, `Cookie` or the
   * API-key header (the MCP authorization spec forbids token passthrough). Default none.
   */
  readonly except?: readonly string[];
}

/** Sizes and times for one upstream. */
export interface LimitOptions {
  /** Largest request body accepted, in bytes (before and after decoding). Default 4 MiB. */
  readonly bodyBytes?: number;
  /** Time to wait for the upstream's response headers, in milliseconds; then 504. Default 60 000. */
  readonly timeoutMs?: number;
  /**
   * Largest upstream request head when the identity travels in headers, in bytes; a user whose
   * identity would exceed it is refused with 431 `identity_too_large`. Default 16 384 (Node's).
   */
  readonly headerBytes?: number;
  /** Largest list response read to filter it by `policy`, in bytes (needs `policy`). Default 4 MiB. */
  readonly listResponseBytes?: number;
}

/** Options of {@link Gateway.plugin}: one upstream, reached through the app's own `createProxyMiddleware`. */
export interface GatewayPluginOptions {
  /** The upstream's identifier, put in `aud`. Required. */
  readonly audience: string;
  /** The UserContext fields sent to this upstream. Default: all. `id`, `authMethod` and delegation are always sent. */
  readonly fields?: readonly UserContextField[];
  /** Where the identity travels. Default: headers and `_meta`, prefix `X-Forwarded-User`. */
  readonly carry?: CarryOptions;
  /** What is removed from client requests. Default: see {@link StripOptions}. */
  readonly strip?: StripOptions;
  /** Sizes and times. Default: 4 MiB bodies, 60 s to the upstream's headers. */
  readonly limits?: Omit<LimitOptions, 'listResponseBytes'>;
  /** Session isolation for this upstream, replacing the gateway's `sessions`. Default: the gateway's. */
  readonly sessions?: SessionOptions | false;
}

/** Options of {@link Gateway.upstream}: one upstream behind the gateway's own proxy. */
export interface UpstreamOptions extends Omit<GatewayPluginOptions, 'limits'> {
  /** The upstream's base URL (`http:` or `https:`). Required. */
  readonly target: string | URL;
  /** Sizes and times. Default: 4 MiB bodies and list responses, 60 s to the upstream's headers. */
  readonly limits?: LimitOptions;
  /**
   * Tool-level authorization: a `Policy` (`createPolicy`, `loadPolicy`) or `{ rules, default?, decide? }`.
   * Denied calls are answered -32003 `forbidden`; list results keep what the user may call. Default: none.
   */
  readonly policy?: Policy | PolicyConfig;
  /** Extra http-proxy-middleware options (`pathRewrite`, `changeOrigin`, `agent`, `on`, ...). Default none. */
  readonly proxy?: ExtraProxyOptions;
  /**
   * Call this upstream with an access token exchanged for the user (RFC 8693), as
   * `Authorization: Bearer`, beside the assertion; see docs/token-exchange.md. Default: off.
   */
  readonly tokenExchange?: TokenExchangeOptions;
}

/** The pieces of one gateway, bound to its issuer, keys, sessions, audit and clock. */
export interface Gateway {
  /** The gateway's identifier (`iss` of every assertion). */
  readonly issuer: string;
  /**
   * `authenticate` with the gateway's `audit`, `metrics` and `clock`.
   * @param strategies - Passport strategy names, or `{ name, method?, normalize? }`, tried in order.
   * @param options - Normalizers, realm, protected resource and delegation (audit, metrics and clock come from the gateway).
   * @returns The Express middleware that sets `req.userContext`.
   * @example
   * app.use('/mcp/files', gateway.authenticate(['jwt', 'api-key']), gateway.upstream({ target: 'http://127.0.0.1:4000', audience: 'urn:mcp:files' }));
   */
  authenticate(strategies: readonly StrategyRef[], options?: Omit<AuthenticateOptions, 'audit' | 'metrics' | 'clock'>): RequestHandler;
  /**
   * The proxy middleware for one upstream (what `propagateIdentity` is for a single mount).
   * @param options - `target`, `audience` and the grouped `fields`, `carry`, `strip`, `limits`, `policy`, `sessions`, `tokenExchange`, `proxy`.
   * @returns The Express middleware that signs the user for this upstream and forwards the request.
   * @example
   * app.use(
   *   '/mcp/files',
   *   gateway.authenticate(['jwt']),
   *   gateway.upstream({ target: 'http://127.0.0.1:4000', audience: 'urn:mcp:files', fields: ['id', 'email', 'groups'], limits: { timeoutMs: 30_000 } }),
   * );
   */
  upstream(options: UpstreamOptions): RequestHandler;
  /**
   * The identity work as an http-proxy-middleware plugin, for an app's own `createProxyMiddleware` (what `identityPlugin` is).
   * @param options - `audience` and the grouped `fields`, `carry`, `strip`, `limits`, `sessions`.
   * @returns The plugin to list in `createProxyMiddleware({ plugins })`.
   * @example
   * app.use('/mcp/files', gateway.authenticate(['jwt']), createProxyMiddleware({ target: 'http://127.0.0.1:4000', plugins: [gateway.plugin({ audience: 'urn:mcp:files' })] }));
   */
  plugin(options: GatewayPluginOptions): Plugin;
  /**
   * A handler serving the public JWKS of `signing`: every EdDSA/ES256 key, active or not; HS256 secrets are never published (an HS256-only gateway serves an empty set).
   * @param options - `maxAgeSeconds` of the `Cache-Control` header. Default 300.
   * @returns The Express handler.
   * @example
   * app.get('/.well-known/mcp-identity/jwks.json', gateway.jwks());
   */
  jwks(options?: JwksOptions): RequestHandler;
}

const GATEWAY_OPTIONS = [
  'issuer',
  'signing',
  'assertionTtlSeconds',
  'sessions',
  'sensitiveAttributes',
  'logger',
  'clock',
  'audit',
  'metrics',
] as const;
const PLUGIN_OPTIONS = ['audience', 'fields', 'carry', 'strip', 'limits', 'sessions'] as const;
const UPSTREAM_OPTIONS = [...PLUGIN_OPTIONS, 'target', 'policy', 'proxy', 'tokenExchange'] as const;
const CARRY = ['headers', 'meta', 'headerPrefix', 'contextforge'] as const;
const STRIP = ['headers', 'queryParams', 'apiKeyHeader', 'except'] as const;
const PLUGIN_LIMITS = ['bodyBytes', 'timeoutMs', 'headerBytes'] as const;
const LIMITS = [...PLUGIN_LIMITS, 'listResponseBytes'] as const;
const SESSIONS = ['store', 'ttlSeconds', 'maxPerUser'] as const;

/** How the resolver names the grouped options in its messages. */
const NAMES: OptionNames = {
  claims: 'fields',
  headerPrefix: 'carry.headerPrefix',
  carriers: 'carry',
  contextforge: 'carry.contextforge',
  stripHeaders: 'strip.headers',
  credentialQueryParams: 'strip.queryParams',
  apiKeyHeader: 'strip.apiKeyHeader',
  forwardCredentials: 'strip.except',
  bodyLimit: 'limits.bodyBytes',
  timeoutMs: 'limits.timeoutMs',
  maxHeaderBytes: 'limits.headerBytes',
  listResponseLimit: 'limits.listResponseBytes',
  sessionStore: 'sessions.store',
  sessionTtlSeconds: 'sessions.ttlSeconds',
  maxSessionsPerUser: 'sessions.maxPerUser',
};

/** Where `propagateIdentity`'s flat option names went, for a helpful message. */
const MOVED: Readonly<Record<string, string>> = {
  ...NAMES,
  carriers: 'carry.headers / carry.meta',
  metaCreation: "carry.meta: 'always'",
  ttlSeconds: 'assertionTtlSeconds (on createGateway)',
  // Shared by every upstream: set once, on createGateway.
  issuer: 'createGateway({ issuer })',
  signing: 'createGateway({ signing })',
  sensitiveAttributes: 'createGateway({ sensitiveAttributes })',
  logger: 'createGateway({ logger })',
  clock: 'createGateway({ clock })',
  audit: 'createGateway({ audit })',
  metrics: 'createGateway({ metrics })',
};

/**
 * Checks one options object (or group): an object, with known keys only (a key set to
 * `undefined` is an option left unset). `undefined` is `{}` when optional. At the top level of
 * `upstream()`/`plugin()` (`level: 'upstream'`) a flat name gets a hint where it went; at the top
 * level of `createGateway` (`level: 'gateway'`) an upstream's name is pointed to `upstream()`.
 */
function group(
  value: unknown,
  option: string,
  keys: readonly string[],
  optional = true,
  level?: 'gateway' | 'upstream',
): Readonly<Record<string, unknown>> {
  if (value === undefined && optional) return {};
  const record = objectOption(value, option);
  for (const key of Object.keys(record)) {
    if (keys.includes(key) || record[key] === undefined) continue;
    const moved = level !== undefined && Object.hasOwn(MOVED, key) ? MOVED[key] : undefined;
    const at = option === 'options' ? shownKey(key) : `${option}.${shownKey(key)}`;
    if (moved === undefined) throw new TypeError(`${at} is not an option (${option} takes ${keys.join(', ')})`);
    const onGateway = moved.startsWith('createGateway') || moved.includes('(on createGateway)');
    throw new TypeError(
      `${at} is not an option here: use ${moved}${level === 'gateway' && !onGateway ? ' on gateway.upstream() or gateway.plugin()' : ''}`,
    );
  }
  return record;
}

function sessionsOption(value: unknown, option: string): SessionOptions | false {
  if (value === false) return false;
  const sessions = group(value, option, SESSIONS);
  positiveInteger(sessions.ttlSeconds, `${option}.ttlSeconds`, 1);
  positiveInteger(sessions.maxPerUser, `${option}.maxPerUser`, 1);
  return sessions;
}

function defined<T extends Record<string, unknown>>(entries: T): Partial<T> {
  return Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/**
 * Validates the settings every upstream shares, imports the signing keys once, and returns
 * the gateway's pieces bound to them. A mistake throws a `TypeError` naming the option.
 * @param options - Issuer, signing keys and what every upstream shares (sessions, audit, metrics, logger, clock).
 * @returns The gateway: `authenticate`, `upstream`, `plugin` and `jwks`, bound to these settings.
 * @example
 * const gateway = createGateway({ issuer: 'https://gateway.example', signing: { secret: process.env.MCP_IDENTITY_SECRET! } });
 * app.use('/mcp/files', gateway.authenticate(['jwt']), gateway.upstream({ target: 'http://127.0.0.1:4000', audience: 'urn:mcp:files' }));
 */
export function createGateway(options: GatewayOptions): Gateway {
  const settings = group(options, 'options', GATEWAY_OPTIONS, false, 'gateway') as unknown as GatewayOptions;
  const issuer = requiredIdentifier(settings.issuer, 'issuer');
  if (settings.signing === undefined) throw new TypeError('signing is required: { secret } for HS256, or { alg, privateKey }');
  const keys: ImportedSigningKeys = importSigningKeys(settings.signing, 'signing');
  const ttlSeconds = positiveInteger(settings.assertionTtlSeconds, 'assertionTtlSeconds', 60);
  const clock = clockOption(settings.clock);
  const logger = loggerOption(settings.logger);
  const sessions = sessionsOption(settings.sessions, 'sessions');
  const audit = defined({ audit: settings.audit, metrics: settings.metrics });
  // One emitter for every upstream: the sink is checked once and the counter registered once.
  const emit = createAuditEmitter(audit);
  const context = { keys, names: NAMES, emit };

  /** The flat identity options of one upstream, from the grouped ones. */
  function identityOptions(upstream: Readonly<Record<string, unknown>>, limitKeys: readonly string[]): IdentityOptions {
    const carry = group(upstream.carry, 'carry', CARRY);
    const strip = group(upstream.strip, 'strip', STRIP);
    const limits = group(upstream.limits, 'limits', limitKeys);
    const headers = booleanOption(carry.headers, 'carry.headers', true);
    const metaAlways = carry.meta === 'always';
    if (carry.meta !== undefined && typeof carry.meta !== 'boolean' && !metaAlways) {
      throw new TypeError('carry.meta must be true, false or "always"');
    }
    const meta = metaAlways || booleanOption(carry.meta, 'carry.meta', true);
    if (!headers && !meta) throw new TypeError('carry: headers and meta cannot both be false (the identity must travel somewhere)');
    const carriers: Carrier[] = [...(headers ? (['headers'] as const) : []), ...(meta ? (['meta'] as const) : [])];
    const session = upstream.sessions === undefined ? sessions : sessionsOption(upstream.sessions, 'sessions');
    const store: IdentityStore | false | undefined = session === false ? false : session.store;
    return {
      audience: upstream.audience as string,
      issuer,
      signing: settings.signing,
      ttlSeconds,
      clock,
      logger,
      carriers,
      ...defined({
        metaCreation: metaAlways ? ('always' as const) : undefined,
        claims: upstream.fields as IdentityOptions['claims'],
        sensitiveAttributes: settings.sensitiveAttributes,
        headerPrefix: carry.headerPrefix as string | undefined,
        contextforge: carry.contextforge as IdentityOptions['contextforge'],
        stripHeaders: strip.headers as readonly string[] | undefined,
        credentialQueryParams: strip.queryParams as readonly string[] | undefined,
        apiKeyHeader: strip.apiKeyHeader as string | undefined,
        forwardCredentials: strip.except as readonly string[] | undefined,
        bodyLimit: limits.bodyBytes as number | undefined,
        timeoutMs: limits.timeoutMs as number | undefined,
        maxHeaderBytes: limits.headerBytes as number | undefined,
        sessionStore: store,
        sessionTtlSeconds: session === false ? undefined : session.ttlSeconds,
        maxSessionsPerUser: session === false ? undefined : session.maxPerUser,
      }),
    };
  }

  return Object.freeze({
    issuer,
    authenticate(strategies: readonly StrategyRef[], authOptions: Omit<AuthenticateOptions, 'audit' | 'metrics' | 'clock'> = {}) {
      if (!isRecord(authOptions)) throw new TypeError('authenticate options must be an object');
      for (const shared of ['audit', 'metrics', 'clock']) {
        if ((authOptions as Record<string, unknown>)[shared] !== undefined)
          throw new TypeError(`authenticate: ${shared} is set once, on createGateway`);
      }
      return authenticate(strategies, { ...authOptions, ...audit, clock });
    },
    upstream(upstreamOptions: UpstreamOptions): RequestHandler {
      const upstream = group(upstreamOptions, 'options', UPSTREAM_OPTIONS, false, 'upstream');
      const limits = group(upstream.limits, 'limits', LIMITS);
      const flat: PropagateIdentityOptions = {
        ...identityOptions(upstream, LIMITS),
        target: upstream.target as string | URL,
        ...defined({
          proxy: upstream.proxy as ExtraProxyOptions | undefined,
          policy: upstream.policy as Policy | PolicyConfig | undefined,
          tokenExchange: upstream.tokenExchange as TokenExchangeOptions | undefined,
          listResponseLimit: limits.listResponseBytes as number | undefined,
          metrics: settings.metrics,
        }),
      };
      return createUpstreamMiddleware(flat, context);
    },
    plugin(pluginOptions: GatewayPluginOptions): Plugin {
      const upstream = group(pluginOptions, 'options', PLUGIN_OPTIONS, false, 'upstream');
      return createIdentityPlugin(identityOptions(upstream, PLUGIN_LIMITS), context);
    },
    jwks(jwksOptions?: JwksOptions): RequestHandler {
      // Secrets are never published: with HS256 only, the set is empty (receivers then use `keys.secrets`).
      const published = keys.all.flatMap((key) => (key.publicJwk === undefined ? [] : [key.publicJwk]));
      return createJwksHandler(published, jwksOptions);
    },
  });
}
