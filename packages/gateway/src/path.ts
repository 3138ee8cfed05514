/**
 * The gateway's path rule: a request path the upstream could resolve outside the mount the
 * gateway routed it to is refused, never forwarded. Upstreams that normalize paths the WHATWG
 * way (Hono, Next.js, Spring, nginx) turn `/mcp/notes/../internal/admin` into
 * `/internal/admin`, so the gateway refuses, before anything is forwarded:
 *
 * - a dot-segment (`.` or `..`), raw or with its dots percent-encoded in any case
 *   (`%2e%2e`, `.%2E`, `%2E.`), also followed by `;parameters` (`..;` is `..` to Tomcat and Spring);
 * - an encoded slash or backslash (`%2f`, `%5c`, any case) and a raw backslash, which some
 *   servers decode or read as `/` and so make new segments.
 *
 * The query string is not part of the rule.
 */
import { IdentityError } from '@mcp-identity/core/internal';

const ENCODED_SEPARATOR = /%(?:2f|5c)/i;
const MAY_BREAK = /[.%\\]/;

function isDotSegment(segment: string): boolean {
  const name = (segment.split(';', 1)[0] ?? '').replace(/%2e/gi, '.');
  return name === '.' || name === '..';
}

/** Tells why a request target breaks the path rule, or `undefined` when it is safe to forward. */
export function pathProblem(target: string | undefined): string | undefined {
  const text = target ?? '';
  const query = text.indexOf('?');
  const path = query === -1 ? text : text.slice(0, query);
  // Every problem needs a dot, a percent sign or a backslash: most paths have none.
  if (!MAY_BREAK.test(path)) return undefined;
  if (path.includes('\\') || ENCODED_SEPARATOR.test(path)) return 'the request path contains an encoded slash or a backslash';
  if (path.split('/').some(isDotSegment)) return 'the request path contains a dot-segment';
  return undefined;
}

/**
 * Checks a request target against the path rule.
 * @throws IdentityError `path_invalid` (400).
 */
export function checkRequestPath(target: string | undefined): void {
  const problem = pathProblem(target);
  if (problem !== undefined) throw new IdentityError('path_invalid', problem);
}
