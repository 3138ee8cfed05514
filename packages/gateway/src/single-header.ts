import type { IncomingMessage } from 'node:http';
import { headerValueAsUtf8, readRawHeader } from '@mcp-identity/core/internal';
import type { RawHeaderReading } from '@mcp-identity/core/internal';

/**
 * A header the gateway trusts, read from the raw header list with core's one reader: its
 * value, `undefined` when absent, or hostile (spelled with `_`, or sent twice under any
 * spellings). Callers refuse a hostile reading; they never pick a copy.
 */
export function trustedHeader(req: IncomingMessage, name: string): RawHeaderReading {
  return readRawHeader(req.rawHeaders, name);
}

/** The value of a header sent exactly once in its canonical spelling; `undefined` when absent or hostile. */
export function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const reading = trustedHeader(req, name);
  return reading.ok ? reading.value : undefined;
}

/** A raw header value as UTF-8 when its bytes are UTF-8, as is otherwise. */
export function headerText(value: string): string {
  return headerValueAsUtf8(value) ?? value;
}
