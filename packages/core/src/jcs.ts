/**
 * RFC 8785 (JCS) canonical JSON of values that came from `JSON.parse` (or are built of plain
 * objects, arrays, strings, finite numbers, booleans and null): object members sorted by
 * UTF-16 code units, no whitespace, strings and numbers as ECMAScript's JSON.stringify
 * writes them. Lone surrogates and non-finite numbers have no canonical form and throw.
 *
 * The `canonicalize` package is the reference (the tests compare both); this version handles
 * only what a JSON-RPC body can hold, without the bookkeeping for `toJSON` and cycles, so
 * the per-request digest costs a fraction of it.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw new TypeError('a string holds a lone surrogate');
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('a number is not finite');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          const entry: unknown = value[i];
          out += entry === undefined || typeof entry === 'function' || typeof entry === 'symbol' ? 'null' : canonicalJson(entry);
        }
        return `${out}]`;
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const entry = record[key];
        if (entry === undefined || typeof entry === 'function' || typeof entry === 'symbol') continue;
        if (!key.isWellFormed()) throw new TypeError('a key holds a lone surrogate');
        out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(entry)}`;
        first = false;
      }
      return `${out}}`;
    }
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
      throw new TypeError(`a ${typeof value} has no JSON form`);
  }
}
