import type { IncomingMessage } from 'node:http';
import { canonicalHeaderName, headerValueAsUtf8 } from '@mcp-identity/core';

/**
 * The value of a header the request carries exactly once. Any spelling counts as the same
 * header (case, `_` for `-`), so a second copy under another spelling makes the value
 * ambiguous, and ambiguity means no value.
 */
export function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const wanted = name.toLowerCase();
  let value: string | undefined;
  let count = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (canonicalHeaderName(raw[i] as string) === wanted) {
      count++;
      value = raw[i + 1];
    }
  }
  return count === 1 ? value : undefined;
}

/** A raw header value as UTF-8 when its bytes are UTF-8, as is otherwise. */
export function headerText(value: string): string {
  return headerValueAsUtf8(value) ?? value;
}
