/**
 * The http-proxy-middleware plugin that does the gateway's work on each forwarded request:
 * strip, sign, set the identity headers and `_meta`, write the exact body, and answer
 * upstream failures with JSON-RPC errors that leak nothing.
 */
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import {
  CONTEXTFORGE_SIGNATURE_SUFFIX,
  contextforgeSignatureOf,
  identityHeadersOf,
  IdentityError,
  isIdentityError,
  isRecord,
  onlyKnownKeys,
  SESSION_HEADER,
  requestIdOf,
  writeIdentityError,
} from '@mcp-identity/core/internal';
import type { Plugin } from 'http-proxy-middleware';
import { checkAssertionSize, checkHeadSize } from './budget.js';
import { IDENTITY_OPTION_KEYS, resolveIdentityOptions } from './options.js';
import { prepareRequestSync, serializeBody } from './prepare.js';
import { createSessionGuard } from './sessions.js';
import { holdRequestBody } from './proxy-adapter.js';
import { checkRequestPath } from './path.js';
import { RequestStates } from './request-state.js';
import { stripCredentialParams, stripOutgoingHeaders } from './strip.js';
import type { GatewayConfig, IdentityOptions, ResolveContext } from './options.js';
import type { PreparedRequest } from './prepare.js';
import type { RequestState } from './request-state.js';
import type { SessionGuard } from './sessions.js';

const TIMEOUT = 'MCP_IDENTITY_UPSTREAM_TIMEOUT';
const SESSION_HEADER_SPELLINGS = [SESSION_HEADER, SESSION_HEADER.replaceAll('-', '_')];
const WRITTEN_EARLY = 'MCP_IDENTITY_WRITTEN_EARLY';

/** The plugin plus what `propagateIdentity` shares with it. */
export interface IdentityProxyParts {
  readonly plugin: Plugin;
  /** Each request's state: `propagateIdentity` prepares it before proxying, the plugin otherwise. */
  readonly states: RequestStates;
  /** Session isolation; `propagateIdentity` checks before proxying, the plugin otherwise. */
  readonly sessions: SessionGuard | undefined;
}

function isResponse(res: ServerResponse | Socket): res is ServerResponse {
  return typeof (res as ServerResponse).writeHead === 'function';
}

function refuse(res: ServerResponse | Socket, error: IdentityError): void {
  if (isResponse(res)) writeIdentityError(res, error);
  else res.destroy();
}

function setIdentity(
  proxyReq: ClientRequest,
  prepared: PreparedRequest,
  state: RequestState,
  config: GatewayConfig,
  requestId: string,
): { readonly body: readonly Uint8Array[] | undefined; readonly length: number; readonly jti: string } {
  stripOutgoingHeaders(proxyReq, config);
  // The gateway's own request id, set after the stripping removed the client's in every spelling
  // (so neither `Connection: x-request-id` nor a client's value survives).
  proxyReq.setHeader('X-Request-Id', requestId);
  // The final path, after any pathRewrite, obeys the same rule as the client's.
  checkRequestPath(proxyReq.path);
  const path = stripCredentialParams(proxyReq.path, config.credentialQueryParams);
  if (path !== proxyReq.path) proxyReq.path = path;
  const { delegated } = state;
  const policyRules = state.policy?.rules;
  // After the client's credentials were stripped: the token exchanged for this upstream.
  if (delegated !== undefined) proxyReq.setHeader('authorization', `Bearer ${delegated.token}`);
  const { token, jti } = config.signer.sign(
    prepared.user,
    { method: proxyReq.method, path, bodySha256: prepared.bodySha256 },
    {
      requestId,
      ...(policyRules === undefined ? {} : { policyRules }),
      ...(delegated === undefined ? {} : { delegatedToken: delegated.claim }),
    },
  );
  checkAssertionSize(token);
  // The stateless revision has no sessions: a session id on a modern request is dropped, so no
  // server that classifies by session can read it as part of one (the gateway never checked it).
  if (prepared.era === 'modern') for (const name of SESSION_HEADER_SPELLINGS) proxyReq.removeHeader(name);
  // Where no `_meta` carries it (GET, DELETE, a session-less legacy request without `_meta`, a body
  // made only of client responses), the identity travels in headers whatever the carriers (docs/spec).
  if (config.headersCarrier || prepared.metaMessages.length === 0) {
    proxyReq.setHeader(config.assertionHeader, token);
    const headers = identityHeadersOf(prepared.user, config.prefix);
    for (const [name, value] of Object.entries(headers)) proxyReq.setHeader(name, value);
    if (config.contextforgeSecret !== undefined) {
      // Over the -Id and -Email values exactly as sent, so a ContextForge-style verifier agrees.
      const signature = contextforgeSignatureOf(
        config.contextforgeSecret,
        headers[`${config.prefix}-id`] ?? '',
        headers[`${config.prefix}-email`],
      );
      proxyReq.setHeader(`${config.prefix}-${CONTEXTFORGE_SIGNATURE_SUFFIX}`, signature);
    }
    checkHeadSize(proxyReq, config.maxHeaderBytes);
  }
  const body = serializeBody(prepared, token);
  const length = body === undefined ? 0 : byteLengthOf(body);
  if (prepared.decoded) proxyReq.removeHeader('content-encoding');
  if (body !== undefined) proxyReq.setHeader('content-length', length);
  else if (proxyReq.hasHeader('content-length')) proxyReq.setHeader('content-length', 0);
  return { body, length, jti };
}

/** Bodies up to this size are joined and written at once; larger ones piece by piece. */
const JOIN_BELOW = 16 * 1024;

/**
 * Ends the upstream request with the body's pieces. A large body is written as it is (its
 * pieces are views of the client's bytes, never copied into one buffer); a small one is joined
 * first, so it costs one write instead of one per piece.
 */
function writeBody(proxyReq: ClientRequest, body: readonly Uint8Array[] | undefined, length: number): void {
  if (body === undefined || body.length === 0) {
    proxyReq.end();
    return;
  }
  if (body.length === 1) {
    proxyReq.end(body[0]);
    return;
  }
  if (length < JOIN_BELOW) {
    proxyReq.end(Buffer.concat(body, length));
    return;
  }
  for (let i = 0; i < body.length - 1; i++) proxyReq.write(body[i]);
  proxyReq.end(body[body.length - 1]);
}

function byteLengthOf(parts: readonly Uint8Array[]): number {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  return length;
}

/** Builds the plugin for a validated configuration. */
export function createIdentityProxyParts(config: GatewayConfig): IdentityProxyParts {
  const states = new RequestStates();
  const sessions = config.sessions === undefined ? undefined : createSessionGuard(config.sessions, states);

  function onStart(req: IncomingMessage, res: ServerResponse): void {
    // http-proxy skips the 'proxyReq' event for requests with `Expect`; the gateway has the
    // whole body already, so `Expect: 100-continue` has no purpose upstream.
    delete req.headers.expect;
    const state = states.of(req);
    // Prepared by propagateIdentity, whose proxy pipes nothing (HELD_BODY).
    if (state.prepared !== undefined) return;
    holdRequestBody(req);
    try {
      state.prepared = prepareRequestSync(req, config);
    } catch (error) {
      state.refused = true;
      refuse(
        res,
        isIdentityError(error) ? error : new IdentityError('body_unavailable', 'the request could not be prepared', { cause: error }),
      );
    }
  }

  function onProxyReq(proxyReq: ClientRequest, req: IncomingMessage, res: ServerResponse): void {
    const state = states.get(req);
    const prepared = state?.prepared;
    if (state === undefined || state.refused || prepared === undefined) {
      proxyReq.destroy();
      return;
    }
    if (proxyReq.headersSent) {
      // Another handler wrote to the upstream request first (fixRequestBody, say): the
      // identity can no longer be set, so nothing is sent.
      proxyReq.destroy(
        Object.assign(new Error('mcp-identity: the upstream request was written before the identity was set'), { code: WRITTEN_EARLY }),
      );
      return;
    }
    const timer = setTimeout(() => proxyReq.destroy(Object.assign(new Error('upstream timeout'), { code: TIMEOUT })), config.timeoutMs);
    const clear = (): void => clearTimeout(timer);
    proxyReq.once('response', clear);
    proxyReq.once('close', clear);
    const forward = (): void => {
      let identity: ReturnType<typeof setIdentity>;
      try {
        identity = setIdentity(proxyReq, prepared, state, config, requestIdOf(req));
      } catch (error) {
        proxyReq.destroy(error as Error);
        return;
      }
      state.jti = identity.jti;
      writeBody(proxyReq, identity.body, identity.length);
    };
    if (sessions === undefined || sessions.checked(req)) {
      forward();
      return;
    }
    // identityPlugin: the session check may wait for a store. Nothing has been written to
    // the upstream request yet (the plugin ends it itself), so it is held until the answer.
    const pending = sessions.check(req, prepared.era);
    if (pending === undefined) {
      forward();
      return;
    }
    pending.then(
      () => {
        if (!proxyReq.destroyed) forward();
      },
      (error: unknown) => {
        state.refused = true;
        proxyReq.destroy();
        refuse(res, isIdentityError(error) ? error : new IdentityError('store_unavailable', 'the session check failed', { cause: error }));
      },
    );
  }

  function onProxyRes(proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse): void {
    const state = states.of(req);
    state.upstreamStatus = proxyRes.statusCode;
    try {
      sessions?.onResponse(proxyRes, req);
    } catch (error) {
      // A new session that could not be bound: the client gets 503, not a session id that answers 404.
      state.refused = true;
      proxyRes.resume();
      refuse(
        res,
        isIdentityError(error) ? error : new IdentityError('store_unavailable', 'the session store is unavailable', { cause: error }),
      );
      return;
    }
    // After the head, the body is piped to the client. An upstream that dies mid-body (a reset
    // mid-SSE) would leave that body unterminated and the client waiting for ever: the client
    // response is cut too, and audited as refused with `upstream_aborted`.
    proxyRes.once('close', () => {
      if (proxyRes.complete || res.writableEnded || res.destroyed) return;
      writeIdentityError(res, new IdentityError('upstream_aborted', 'the upstream ended its response early'));
    });
    // Hop-by-hop: without these, http-proxy would hand the client the upstream's
    // `Connection: keep-alive` even when the client asked to close.
    delete proxyRes.headers.connection;
    delete proxyRes.headers['keep-alive'];
  }

  function onError(error: Error & { code?: string }, req: IncomingMessage, res: ServerResponse | Socket): void {
    if (states.get(req)?.refused === true) return;
    if (error.code === WRITTEN_EARLY) {
      refuse(
        res,
        new IdentityError('body_unavailable', 'another proxyReq handler wrote the upstream request before the identity was set', {
          cause: error,
        }),
      );
      return;
    }
    // A refusal raised while setting the identity (path_invalid, identity_too_large): nothing was sent.
    if (isIdentityError(error)) {
      refuse(res, error);
      return;
    }
    const timeout = error.code === TIMEOUT;
    refuse(
      res,
      new IdentityError(
        timeout ? 'upstream_timeout' : 'upstream_unavailable',
        timeout ? 'the upstream did not answer in time' : 'the upstream is unavailable',
        {
          cause: error,
        },
      ),
    );
  }

  const plugin: Plugin = function mcpIdentityPlugin(proxyServer) {
    proxyServer.on('start', onStart);
    proxyServer.on('proxyReq', onProxyReq);
    proxyServer.on('proxyRes', onProxyRes);
    proxyServer.on('error', onError);
  };
  return { plugin, states, sessions };
}

/**
 * The gateway's identity work as an http-proxy-middleware plugin, for apps that build their
 * own proxy with `createProxyMiddleware`. Mount `authenticate` (or set `req.userContext`)
 * before the proxy, and `express.json()` when requests have bodies: the plugin cannot wait
 * for a body stream. Set `on.error` (or `ejectPlugins`) so http-proxy-middleware's default
 * error page, which names the upstream host, is not used.
 * @param options - The identity settings of {@link IdentityOptions} (`audience`, `issuer`,
 *   `signing`, carriers, stripping, sessions...); validated now, a mistake throws a `TypeError`
 *   naming the option.
 * @returns A plugin for http-proxy-middleware's `plugins` option.
 * @example
 * app.use('/mcp', authenticate(['jwt']), express.json(), createProxyMiddleware({
 *   target: 'http://127.0.0.1:4000',
 *   on: { error: () => {} },
 *   plugins: [identityPlugin({ audience: 'urn:mcp:files', issuer: 'https://gateway.example', signing: { secret } })],
 * }));
 */
export function identityPlugin(options: IdentityOptions): Plugin {
  if (isRecord(options)) onlyKnownKeys(options, 'identityPlugin', IDENTITY_OPTION_KEYS, { elsewhere: PROXY_ONLY });
  return createIdentityPlugin(options, {});
}

/** What `propagateIdentity` takes and a plugin inside an application's own proxy cannot apply. */
const PROXY_ONLY: Readonly<Record<string, string>> = Object.fromEntries(
  ['target', 'proxy', 'policy', 'listResponseLimit', 'tokenExchange', 'audit', 'metrics'].map((key) => [
    key,
    'a plugin in your own proxy cannot apply it; use propagateIdentity or createGateway().upstream',
  ]),
);

/** The one implementation behind {@link identityPlugin} and `createGateway().plugin`. */
export function createIdentityPlugin(options: IdentityOptions, context: ResolveContext): Plugin {
  return createIdentityProxyParts(resolveIdentityOptions(options, context)).plugin;
}
