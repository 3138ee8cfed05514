/**
 * The one place the gateway bends http-proxy, at the two points where it pipes a stream.
 *
 * The request. http-proxy pipes the client request (or, when set, its `buffer` option) into the upstream
 * request as soon as it creates it, before the 'proxyReq' event where the final path is known
 * and the assertion can be signed. The gateway has read the body by then and writes it itself in
 * 'proxyReq', with the identity: so http-proxy must pipe nothing. `propagateIdentity` gives its
 * proxy {@link HELD_BODY} as `buffer` (nothing patched per request); `identityPlugin`, inside an
 * app's own proxy whose options it cannot set, holds the request's `pipe` with
 * {@link holdRequestBody}.
 *
 * The response. http-proxy emits 'proxyRes', then pipes the upstream response into the client's.
 * The policy guard, which filters list responses, puts its rewriter in that pipe with
 * {@link pipeResponseThrough} from 'proxyRes'.
 *
 * `test/proxy-adapter.test.ts` fails if http-proxy changes either order.
 */
import type { IncomingMessage } from 'node:http';

function heldPipe<T extends NodeJS.WritableStream>(destination: T): T {
  return destination;
}

/** A `buffer` for http-proxy that pipes nothing: the gateway ends the upstream request itself. */
export const HELD_BODY: { pipe<T extends NodeJS.WritableStream>(destination: T): T } = Object.freeze({ pipe: heldPipe });

/** Makes http-proxy's `req.pipe(proxyReq)` a no-op for a request whose body the gateway writes. */
export function holdRequestBody(req: IncomingMessage): void {
  req.pipe = heldPipe;
}

/**
 * Makes http-proxy's `proxyRes.pipe(res)` call `pipe(res)` instead; `pipe` receives the client
 * response and does the piping itself (through a rewriter, say). Call from 'proxyRes'.
 */
export function pipeResponseThrough(proxyRes: IncomingMessage, pipe: <T extends NodeJS.WritableStream>(destination: T) => T): void {
  proxyRes.pipe = pipe;
}
