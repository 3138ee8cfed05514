/**
 * `propagateIdentity`: the gateway's proxy middleware, one per upstream.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  createAuditEmitter,
  isIdentityError,
  isRecord,
  normalizeUserContext,
  onlyKnownKeys,
  optionKeys,
  positiveInteger,
  writeIdentityError,
} from '@mcp-identity/core/internal';
import type { AuditOptions, EmitAudit, JsonRpcBody, Policy, PolicyConfig } from '@mcp-identity/core/internal';
import { createProxyMiddleware, debugProxyErrorsPlugin, proxyEventsPlugin } from 'http-proxy-middleware';
import type { Options as ProxyOptions, Plugin } from 'http-proxy-middleware';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createProxyAudit } from './audit.js';
import { HELD_BODY } from './proxy-adapter.js';
import { optionName } from './option-names.js';
import { IDENTITY_OPTION_KEYS, resolveIdentityOptions } from './options.js';
import { createIdentityProxyParts } from './plugin.js';
import { prepareRequest } from './prepare.js';
import { createPolicyGuard, policyOption } from './policy/guard.js';
import type { IdentityOptions, ResolveContext } from './options.js';
import type { AuthorizeBody, GatewayRequest } from './prepare.js';
import { createTokenExchanger } from './token-exchange/exchanger.js';
import type { TokenExchangeOptions } from './token-exchange/options.js';

/** Extra http-proxy-middleware options; those the gateway must control are left out. */
export type ExtraProxyOptions = Readonly<
  Omit<ProxyOptions, 'target' | 'ws' | 'ejectPlugins' | 'selfHandleResponse' | 'buffer' | 'forward'>
>;

/** Options of {@link propagateIdentity}. */
export interface PropagateIdentityOptions extends IdentityOptions, AuditOptions {
  /** The upstream's base URL (`http:` or `https:`). Required. */
  readonly target: string | URL;
  /** Extra http-proxy-middleware options (`pathRewrite`, `changeOrigin`, `agent`, `on`, ...). */
  readonly proxy?: ExtraProxyOptions;
  /**
   * Tool-level authorization for this upstream: a {@link Policy} (`createPolicy`, `loadPolicy`)
   * or its configuration `{ rules, default?, decide? }`, validated now. Denied calls are answered
   * here with -32003 `forbidden`; list results keep only what the user may call. Default: none.
   */
  readonly policy?: Policy | PolicyConfig;
  /** Largest list response (JSON body, or one SSE event) read to filter it, in bytes; beyond it, 502 `response_too_large`. Default 4 MiB. */
  readonly listResponseLimit?: number;
  /**
   * Call this upstream with a token obtained for the user by OAuth 2.0 Token Exchange (RFC 8693),
   * sent as `Authorization: Bearer` next to the identity assertion (whose `dtk` claim says so).
   * Needs logins by `OAuthTokenStrategy`; see docs/token-exchange.md. Default: none.
   */
  readonly tokenExchange?: TokenExchangeOptions;
}

/** Every key of {@link PropagateIdentityOptions} (the compiler checks the list is complete). */
const PROPAGATE_OPTION_KEYS = optionKeys<PropagateIdentityOptions>()([
  ...(IDENTITY_OPTION_KEYS as readonly (keyof IdentityOptions)[]),
  'audit',
  'metrics',
  'target',
  'proxy',
  'policy',
  'listResponseLimit',
  'tokenExchange',
]);

function parseTarget(value: unknown): URL {
  let url: URL;
  try {
    url = new URL(value as string | URL);
  } catch {
    throw new TypeError('target is required: the upstream base URL, e.g. "http://127.0.0.1:4000"');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('target must be an http: or https: URL');
  return url;
}

/**
 * A request for the mount root goes to the target's path exactly as configured: http-proxy
 * would join `/mcp` and `/` into `/mcp/`, which some MCP servers answer with a redirect to a
 * URL that does not exist behind the gateway. Sub-paths are appended as before.
 */
function mountRootPlugin(target: URL): Plugin {
  const base = target.pathname;
  return function mcpIdentityMountRoot(proxyServer) {
    if (base === '/' || base.endsWith('/')) return;
    proxyServer.on('proxyReq', (proxyReq, req) => {
      const url = req.url ?? '';
      const query = url.indexOf('?');
      const path = query === -1 ? url : url.slice(0, query);
      if (path === '/' || path === '') proxyReq.path = base + (query === -1 ? '' : url.slice(query));
    });
  };
}

/**
 * The gateway middleware for one upstream: after authentication it strips client identity,
 * signs the user for this upstream (audience, short expiry, nonce, bound to the request) and
 * forwards the request as `X-Forwarded-User-*` headers and in JSON-RPC `params._meta`.
 * `createGateway().upstream()` is the same middleware with grouped options and keys shared
 * between upstreams; this flat form keeps working.
 * @param options - The upstream (`target`, `audience`), the gateway's `issuer` and `signing`
 *   keys, and the optional settings of {@link PropagateIdentityOptions}; validated now, a mistake
 *   throws a `TypeError` naming the option.
 * @returns An Express middleware that answers refusals itself (JSON-RPC error bodies with a
 *   stable `error.data.code`) and forwards everything else.
 * @example
 * app.use('/mcp/files', authenticate(['jwt', 'basic']), propagateIdentity({
 *   target: 'http://127.0.0.1:4000/mcp',
 *   audience: 'urn:mcp:files',
 *   issuer: 'https://gateway.example',
 *   signing: { secret: process.env.MCP_IDENTITY_SECRET! },
 * }));
 */
export function propagateIdentity(options: PropagateIdentityOptions): RequestHandler {
  if (isRecord(options)) onlyKnownKeys(options, 'propagateIdentity', PROPAGATE_OPTION_KEYS);
  return createUpstreamMiddleware(options, {});
}

/** What `createGateway` shares between its upstreams: imported keys, one audit emitter, option names. */
export interface UpstreamContext extends ResolveContext {
  /**
   * The gateway's audit emitter (undefined: audit is off); when the key is absent, one is built
   * from `options.audit` and `options.metrics`.
   */
  readonly emit?: EmitAudit | undefined;
}

/** The one implementation behind {@link propagateIdentity} and `createGateway().upstream`. */
export function createUpstreamMiddleware(options: PropagateIdentityOptions, context: UpstreamContext): RequestHandler {
  const config = resolveIdentityOptions(options, context);
  const target = parseTarget(options.target);
  const extra: ExtraProxyOptions = options.proxy ?? {};
  if (typeof extra !== 'object' || extra === null) throw new TypeError('proxy must be an object of http-proxy-middleware options');
  for (const forbidden of ['target', 'ws', 'ejectPlugins', 'selfHandleResponse', 'buffer', 'forward']) {
    if (forbidden in extra) throw new TypeError(`proxy.${forbidden} is set by the gateway and cannot be overridden`);
  }
  const listLimitName = optionName(context.names, 'listResponseLimit');
  if (options.listResponseLimit !== undefined) positiveInteger(options.listResponseLimit, listLimitName, 1);
  const parts = createIdentityProxyParts(config);
  const guard =
    options.policy === undefined
      ? undefined
      : createPolicyGuard(policyOption(options.policy), {
          audience: config.audience,
          limit: options.listResponseLimit,
          metrics: options.metrics,
          states: parts.states,
        });
  if (guard === undefined && options.listResponseLimit !== undefined) throw new TypeError(`${listLimitName} needs a policy`);
  const exchangeToken =
    options.tokenExchange === undefined
      ? undefined
      : createTokenExchanger({
          ...(options.clock === undefined ? {} : { clock: options.clock }),
          ...(options.logger === undefined ? {} : { logger: options.logger }),
          ...options.tokenExchange,
        });
  const audit = createProxyAudit(
    config.audience,
    'emit' in context ? context.emit : createAuditEmitter(options),
    options.clock ?? Date.now,
  );
  const { states, sessions } = parts;
  const agent: unknown =
    extra.agent ?? (target.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true }));
  const proxy = createProxyMiddleware({
    ...extra,
    target: target.href,
    agent,
    // MCP has no WebSocket transport; an `Upgrade` header is dropped like any hop-by-hop header.
    ws: false,
    ejectPlugins: true,
    // The gateway has read the body and writes it itself once the identity is set (proxy-adapter.ts).
    buffer: HELD_BODY as unknown as ProxyOptions['buffer'],
    // Our plugin comes after the app's `on` handlers and plugins, so the gateway's headers are set last.
    plugins: [
      debugProxyErrorsPlugin,
      proxyEventsPlugin,
      ...(extra.plugins ?? []),
      mountRootPlugin(target),
      parts.plugin,
      ...(guard === undefined ? [] : [guard.plugin]),
    ],
  });

  return async function propagateIdentityMiddleware(req: Request, res: Response, next: NextFunction): Promise<void> {
    const state = states.of(req);
    audit.begin(req, res, state);
    try {
      let authorize: AuthorizeBody | undefined;
      if (guard !== undefined) {
        // A GET stream may replay list responses, which are filtered: they must come uncompressed.
        if (req.method === 'GET') delete req.headers['accept-encoding'];
        authorize = (rpc: JsonRpcBody) =>
          // The whole user, not the fields this upstream is sent: rules may name any of them.
          guard.authorize(state, req, normalizeUserContext((req as GatewayRequest).userContext), rpc).rpc;
      }
      const prepared = await prepareRequest(req, config, authorize);
      state.prepared = prepared;
      // Before anything is forwarded: another user's session id is answered 404 here.
      const pending = sessions?.check(req, prepared.era);
      if (pending !== undefined) await pending;
    } catch (error) {
      if (isIdentityError(error)) writeIdentityError(res, error);
      else next(error);
      return;
    }
    if (guard !== undefined && state.policy !== undefined && state.policy.rpc === undefined) {
      // Every message was denied: answered here, nothing reaches the upstream.
      guard.answer(res, state.policy);
      return;
    }
    if (exchangeToken !== undefined) {
      try {
        state.delegated = await exchangeToken(req);
      } catch (error) {
        if (isIdentityError(error)) writeIdentityError(res, error);
        else next(error);
        return;
      }
    }
    await proxy(req, res, next);
  };
}
