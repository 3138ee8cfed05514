/**
 * String matchers compiled once: exact names in a Set, globs (`*` any run of characters,
 * `?` one character) in one anchored RegExp.
 */

/** Tells whether a string matches a compiled list of names and globs. */
export type StringMatcher = (value: string) => boolean;

function escape(text: string): string {
  // Only the syntax characters: with the `u` flag, escaping anything else is an error.
  return text.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

/** Tells whether a pattern is a glob (has `*` or `?`). */
export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

function globSource(pattern: string): string {
  let source = '';
  for (const char of pattern) {
    if (char === '*') source += '[\\s\\S]*';
    else if (char === '?') source += '[\\s\\S]';
    else source += escape(char);
  }
  return source;
}

/** Compiles names and globs into one matcher. Exact names are a Set lookup; globs share one RegExp. */
export function compileMatcher(patterns: readonly string[]): StringMatcher {
  const exact = new Set(patterns.filter((pattern) => !isGlob(pattern)));
  const globs = patterns.filter(isGlob);
  if (globs.includes('*')) return () => true;
  if (globs.length === 0) {
    if (exact.size === 1) {
      const [only] = exact;
      return (value) => value === only;
    }
    return (value) => exact.has(value);
  }
  const regex = new RegExp(`^(?:${globs.map(globSource).join('|')})$`, 'u');
  if (exact.size === 0) return (value) => regex.test(value);
  return (value) => exact.has(value) || regex.test(value);
}

/** Tells whether any of `values` matches. */
export function anyMatches(matcher: StringMatcher, values: readonly string[]): boolean {
  for (const value of values) if (matcher(value)) return true;
  return false;
}
