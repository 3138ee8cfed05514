import type { IncomingMessage } from 'node:http';

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
    if ((raw[i] as string).toLowerCase().replaceAll('_', '-') === wanted) {
      count++;
      value = raw[i + 1];
    }
  }
  return count === 1 ? value : undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Node reads header bytes as Latin-1; a proxy that sends UTF-8 (`José`) arrives as `JosÃ©`.
 * This reads the bytes as UTF-8 when they are valid UTF-8, and leaves the value as is otherwise.
 */
export function headerText(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(value)) return value;
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}
