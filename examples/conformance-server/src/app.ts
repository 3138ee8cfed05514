/**
 * Serves the conformance MCP server over HTTP in both protocol eras, on SDK v2:
 *
 * - 2026-07-28 (modern, stateless) requests go to `createMcpHandler(factory, { legacy: 'reject' })`;
 * - 2025-era requests go to a sessionful `WebStandardStreamableHTTPServerTransport` per session
 *   (server-to-client requests — sampling, elicitation — need the session), and session-less
 *   2025-era requests other than `initialize` to the SDK's stateless legacy fallback.
 *
 * The split is the SDK's own predicate (`isLegacyRequest`), so this app classifies a request exactly
 * as `createMcpHandler` would. The SDK's handlers are fetch-shaped; the example MCP server's
 * `toFetchRequest` and `sendFetchResponse` adapt Express to them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import express from 'express';
import { localhostHostValidation, localhostOriginValidation } from '@modelcontextprotocol/express';
import {
  WebStandardStreamableHTTPServerTransport,
  createMcpHandler,
  isInitializeRequest,
  isLegacyRequest,
  legacyStatelessFallback,
} from '@modelcontextprotocol/server';
import type { EventStore, JSONRPCMessage, McpHttpHandler, McpServer } from '@modelcontextprotocol/server';
import type { Express, Request as ExpressRequest, RequestHandler, Response as ExpressResponse } from 'express';
import { sendFetchResponse, toFetchRequest } from '@mcp-identity/example-mcp-server';
import { buildConformanceServer } from './server.js';

/** Options of {@link createConformanceApp}. */
export interface ConformanceAppOptions {
  /**
   * Middleware run before the MCP endpoint (e.g. `verifyIdentity`). It may parse the body into
   * `req.body`; the app then uses that instead of reading the stream.
   */
  readonly before?: readonly RequestHandler[];
  /** Mount path of the MCP endpoint. Default `/mcp`. */
  readonly path?: string;
}

/** The app plus a way to end its sessions and in-flight modern exchanges. */
export interface ConformanceApp {
  readonly app: Express;
  close(): Promise<void>;
}

/** An in-memory event store so a 2025-era client can resume a closed SSE stream (SEP-1699). */
class MemoryEventStore implements EventStore {
  readonly #events = new Map<string, { streamId: string; message: JSONRPCMessage }>();
  #next = 0;

  storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const eventId = `${streamId}_${String(++this.#next).padStart(8, '0')}`;
    this.#events.set(eventId, { streamId, message });
    return Promise.resolve(eventId);
  }

  getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return Promise.resolve(this.#events.get(eventId)?.streamId);
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const streamId = this.#events.get(lastEventId)?.streamId;
    if (streamId === undefined) return '';
    let after = false;
    for (const [eventId, event] of this.#events) {
      if (eventId === lastEventId) after = true;
      else if (after && event.streamId === streamId) await send(eventId, event.message);
    }
    return streamId;
  }
}

function readRawBody(req: ExpressRequest): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Creates the conformance server app; it does not listen. */
export function createConformanceApp(options: ConformanceAppOptions = {}): ConformanceApp {
  const path = options.path ?? '/mcp';
  const requestStateKey = randomBytes(32);
  // The factory publishes list changes through the modern handler it is itself given to.
  const handlers: { modern?: McpHttpHandler } = {};
  const factory = (): McpServer => buildConformanceServer({ notify: handlers.modern?.notify, requestStateKey });
  const modern = createMcpHandler(factory, { legacy: 'reject' });
  handlers.modern = modern;
  const legacyStateless = legacyStatelessFallback(factory);
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();

  async function legacy(request: Request, parsedBody: unknown): Promise<Response> {
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId !== null) {
      const transport = sessions.get(sessionId);
      if (transport === undefined) {
        return Response.json({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }, { status: 404 });
      }
      return transport.handleRequest(request, { parsedBody });
    }
    if (request.method === 'POST' && isInitializeRequest(parsedBody)) {
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        eventStore: new MemoryEventStore(),
        retryInterval: 500,
        onsessioninitialized: (id) => {
          sessions.set(id, transport);
        },
        onsessionclosed: (id) => {
          sessions.delete(id);
        },
      });
      await factory().connect(transport);
      return transport.handleRequest(request, { parsedBody });
    }
    return legacyStateless(request, { parsedBody });
  }

  const app = express();
  app.disable('x-powered-by');
  // DNS rebinding protection (the `dns-rebinding-protection` scenario): this server listens on loopback.
  app.use(path, localhostHostValidation(), localhostOriginValidation());
  for (const middleware of options.before ?? []) app.use(path, middleware);
  app.all(path, async (req: ExpressRequest, res: ExpressResponse) => {
    const parsed = req.body !== undefined && req.readableEnded;
    const raw =
      req.method === 'GET' || req.method === 'HEAD' ? undefined : parsed ? Buffer.from(JSON.stringify(req.body)) : await readRawBody(req);
    let parsedBody: unknown = parsed ? req.body : undefined;
    if (!parsed && raw !== undefined && raw.length > 0) {
      try {
        parsedBody = JSON.parse(raw.toString('utf8'));
      } catch {
        parsedBody = undefined; // the SDK answers the parse error itself
      }
    }
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const request = toFetchRequest(req, raw, abort.signal);
    const response = (await isLegacyRequest(request.clone(), parsedBody))
      ? await legacy(request, parsedBody)
      : await modern.fetch(request, { parsedBody });
    await sendFetchResponse(response, res);
  });

  return {
    app,
    async close() {
      await Promise.all([...sessions.values()].map((transport) => transport.close()));
      sessions.clear();
      await modern.close();
    },
  };
}
