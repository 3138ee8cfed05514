/**
 * The policy at one upstream, as `propagateIdentity` uses it: decide each request body before
 * it is forwarded, answer what was denied, and rewrite the upstream's responses (list results
 * filtered, denied answers merged into batch responses).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import {
  createPolicy,
  IdentityError,
  isPolicy,
  policyDenialCounter,
  positiveInteger,
  writeIdentityError,
} from '@mcp-identity/core/internal';
import type { JsonRpcBody, Policy, PolicyAuditRecord, PolicyConfig, UserContext } from '@mcp-identity/core/internal';
import type { Plugin } from 'http-proxy-middleware';
import { enforcePolicy } from './enforce.js';
import type { PolicyOutcome } from './enforce.js';
import { rewriteJsonBody, SseRewriter, tooLarge } from './rewrite.js';
import type { RewriteState } from './rewrite.js';
import { normalizedUserOf } from '../prepare.js';
import { pipeResponseThrough } from '../proxy-adapter.js';
import type { RequestState, RequestStates } from '../request-state.js';

/** The default largest list response (JSON body or SSE event) the gateway reads to filter: 4 MiB. */
export const DEFAULT_LIST_RESPONSE_LIMIT = 4 * 1024 * 1024;

/** The policy of one upstream, as `propagateIdentity` applies it. */
export interface PolicyGuard {
  /**
   * Decides a body; the outcome is kept in the request's state for the response and the audit.
   * When the upstream's answer will be rewritten, the request asks for it uncompressed.
   */
  authorize(state: RequestState, req: IncomingMessage, user: UserContext, rpc: JsonRpcBody): PolicyOutcome;
  /** Answers a request of which nothing is left to forward. */
  answer(res: ServerResponse, outcome: PolicyOutcome): void;
  /** Rewrites the responses that need it. */
  readonly plugin: Plugin;
}

/** The decisions made on a request, for its audit event. */
export function policyRecords(state: RequestState): readonly PolicyAuditRecord[] | undefined {
  return state.policy?.records;
}

/** True when the policy denied every message of the request (it was answered at the gateway). */
export function deniedWhole(state: RequestState): boolean {
  return state.policy !== undefined && state.policy.rpc === undefined;
}

/** Validates the `policy` option: a {@link Policy} or a configuration to compile now. */
export function policyOption(value: unknown): Policy {
  if (isPolicy(value)) return value;
  return createPolicy(value as PolicyConfig);
}

function isJson(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** Builds the guard of one upstream. */
export function createPolicyGuard(
  policy: Policy,
  options: { readonly audience: string; readonly limit?: number; readonly metrics?: unknown; readonly states: RequestStates },
): PolicyGuard {
  const limit = positiveInteger(options.limit, 'listResponseLimit', DEFAULT_LIST_RESPONSE_LIMIT);
  const count = options.metrics === undefined ? undefined : policyDenialCounter(options.metrics);
  const { audience, states } = options;
  const onDenied =
    count === undefined ? undefined : (method: string, tool: string, rule: string) => count({ audience, method, tool, rule });

  function authorize(state: RequestState, req: IncomingMessage, user: UserContext, rpc: JsonRpcBody): PolicyOutcome {
    const outcome = enforcePolicy(policy, user, rpc, onDenied);
    state.policy = outcome;
    state.policyUser = user;
    // The gateway reads the answer to rewrite it (lists filtered, denied answers merged): it must come uncompressed.
    if (outcome.lists.size > 0 || outcome.denied.length > 0) delete req.headers['accept-encoding'];
    return outcome;
  }

  function answer(res: ServerResponse, outcome: PolicyOutcome): void {
    if (outcome.denied.length === 0) {
      // Only notifications were sent: accepted, as an MCP server answers notifications.
      res.statusCode = 202;
      res.end();
      return;
    }
    const body = JSON.stringify(outcome.batch ? outcome.denied : outcome.denied[0]);
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(body);
  }

  function pipeJson(proxyRes: IncomingMessage, res: ServerResponse, state: RewriteState): void {
    // The rewritten body is sent whole, with its own Content-Length: a chunked upstream answer's
    // Transfer-Encoding must not be copied too (both together is an invalid HTTP/1.1 response).
    delete proxyRes.headers['content-length'];
    delete proxyRes.headers['transfer-encoding'];
    pipeResponseThrough(proxyRes, function pipeFilteredJson<T extends NodeJS.WritableStream>(destination: T): T {
      const chunks: Buffer[] = [];
      let size = 0;
      proxyRes.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          proxyRes.destroy();
          if (!res.writableEnded) writeIdentityError(res, tooLarge());
          return;
        }
        chunks.push(chunk);
      });
      proxyRes.on('end', () => {
        if (size > limit) return;
        const body = rewriteJsonBody(Buffer.concat(chunks).toString('utf8'), state);
        if (!res.headersSent) res.setHeader('content-length', Buffer.byteLength(body));
        destination.end(body);
      });
      return destination;
    });
  }

  function pipeSse(proxyRes: IncomingMessage, state: RewriteState): void {
    delete proxyRes.headers['content-length'];
    const rewriter = new SseRewriter(state);
    rewriter.once('overflow', () => {
      proxyRes.unpipe(rewriter);
      proxyRes.destroy();
      rewriter.end();
    });
    pipeResponseThrough(proxyRes, function pipeFilteredSse<T extends NodeJS.WritableStream>(destination: T): T {
      Readable.prototype.pipe.call(proxyRes, rewriter);
      return rewriter.pipe(destination);
    });
  }

  function onProxyRes(proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse): void {
    const requestState = states.get(req);
    const outcome = requestState?.policy;
    // A GET stream may replay responses to requests sent before, known by their shape: filtered
    // whatever the GET itself carried (a body of client responses or notifications included).
    const replay = req.method === 'GET';
    // Nothing to rewrite: no closure, no user lookup (the common case of an allowed call).
    if (!replay && (outcome === undefined || (outcome.lists.size === 0 && outcome.denied.length === 0))) return;
    const user = requestState?.policyUser ?? normalizedUserOf(req);
    if (user === undefined) return;
    const allows = (operation: Parameters<Policy['allows']>[1]): boolean => policy.allows(user, operation);
    const state: RewriteState = { lists: new Map(outcome?.lists), denied: outcome?.denied ?? [], replay, allows, limit };
    const status = proxyRes.statusCode ?? 0;
    const type = (proxyRes.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
    const encoding = (proxyRes.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (status === 202 && state.denied.length > 0) {
      // The allowed part were notifications: the client still needs the answers to its denied requests.
      proxyRes.resume();
      answer(res, { rpc: undefined, denied: state.denied, rules: [], lists: new Map(), records: [], batch: true });
      return;
    }
    if (status !== 200) return;
    const filterable = type === 'text/event-stream' || isJson(type);
    if (!filterable || encoding !== 'identity') {
      if (state.replay && type !== 'text/event-stream') return;
      // A list response the gateway cannot read is never passed on unfiltered.
      proxyRes.resume();
      writeIdentityError(res, new IdentityError('upstream_unavailable', 'the upstream response could not be filtered'));
      return;
    }
    if (type === 'text/event-stream') pipeSse(proxyRes, state);
    else if (!state.replay) pipeJson(proxyRes, res, state);
  }

  const plugin: Plugin = function mcpIdentityPolicyPlugin(proxyServer) {
    proxyServer.on('proxyRes', onProxyRes);
  };

  return { authorize, answer, plugin };
}
