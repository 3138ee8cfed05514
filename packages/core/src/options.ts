/**
 * Option validation shared by every package: each check throws a `TypeError` that names the
 * option, at construction, so a configuration mistake crashes at start-up and never on the first
 * request. Durations have one unit per concept: a `...Seconds` option is validated in seconds and
 * turned into milliseconds by {@link secondsToMs} only; a `...Ms` option is validated in
 * milliseconds. Exported through `@mcp-identity/core/internal` only (outside semver); the
 * gateway and receiver re-export the {@link LoggerLike} type their options use.
 *
 * @module
 */
import type { IdentityStore } from './store.js';
import { isRecord } from './user-context.js';

/** Where warnings go; `console` satisfies it. Never given a token, a secret or a key. */
export interface LoggerLike {
  warn(message: string): void;
}

/** Allowed clock skew when verifying an assertion, in seconds (the receiver's default). */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 5;

/** An RFC 9110 field name (`token`): what an option naming an HTTP header must be. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Hosts on which an `http:` URL is accepted where `https:` is otherwise required. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

function shown(value: unknown): string {
  return JSON.stringify(value)?.slice(0, 40) ?? String(value);
}

/**
 * An integer from `min` to `max`, or `fallback` when `undefined`.
 * @param value - The option as given.
 * @param option - The option's name, used in the error message.
 * @param fallback - The default, returned for `undefined`.
 * @param min - The smallest accepted value.
 * @param max - The largest accepted value.
 * @returns The validated integer.
 */
export function integerInRange(value: unknown, option: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw new TypeError(`${option} must be an integer from ${min} to ${max}`);
  return value;
}

/**
 * A positive safe integer (a count, a `ttlSeconds`), or `fallback` when `undefined`.
 * @param value - The option as given.
 * @param option - The option's name, used in the error message.
 * @param fallback - The default, returned for `undefined`.
 * @returns The validated integer.
 */
export function positiveInteger(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(`${option} must be a positive integer (got ${shown(value)})`);
  }
  return value;
}

/**
 * A non-negative safe integer (`0` allowed), or `fallback` when `undefined`.
 * @param value - The option as given.
 * @param option - The option's name, used in the error message.
 * @param fallback - The default, returned for `undefined`.
 * @param hint - Appended to the message in parentheses, e.g. what `0` means.
 * @returns The validated integer.
 */
export function nonNegativeInteger(value: unknown, option: string, fallback: number, hint?: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new TypeError(`${option} must be a non-negative integer${hint === undefined ? '' : ` (${hint})`}`);
  return value;
}

/**
 * Seconds to milliseconds: the one place a `...Seconds` option becomes a time the code compares
 * with `clock()`.
 * @param seconds - A validated number of seconds.
 * @returns The same duration in milliseconds.
 */
export function secondsToMs(seconds: number): number {
  return seconds * 1000;
}

/**
 * A required identifier such as `issuer` or `audience`: non-blank, well-formed text of at most
 * 1024 characters.
 * @param value - The option as given.
 * @param option - The option's name, used in the error message.
 * @returns The identifier, unchanged.
 */
export function requiredIdentifier(value: unknown, option: string): string {
  if (typeof value !== 'string' || value.trim().length === 0) throw new TypeError(`${option} is required: a non-empty string`);
  if (value.length > 1024 || !value.isWellFormed()) throw new TypeError(`${option} must be at most 1024 characters of well-formed text`);
  return value;
}

/**
 * An options object (or a group of options): a plain object.
 * @param value - The option as given.
 * @param option - The option's name, used in the error message.
 * @param shape - Appended after a colon: what the object holds, e.g. `"{ store, ttlSeconds? }"`.
 * @returns The object.
 */
export function objectOption(value: unknown, option: string, shape?: string): Record<string, unknown> {
  if (!isRecord(value)) throw new TypeError(`${option} must be an object${shape === undefined ? '' : `: ${shape}`}`);
  return value;
}

/**
 * An option key as a message may show it: a plain name as it is; anything else quoted, every
 * character outside printable ASCII escaped (no line break, no bidirectional control from a
 * configuration file reaches a log), and cut to 40 characters.
 * @param key - The key as given.
 * @returns The key to print.
 */
export function shownKey(key: string): string {
  if (/^[A-Za-z][A-Za-z0-9_-]{0,39}$/.test(key)) return key;
  const escaped = key.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `"${escaped.slice(0, 40)}${escaped.length > 40 ? '…' : ''}"`;
}

/**
 * Refuses every key of an options object that `known` does not list (a key set to `undefined`
 * is left alone, as an option left unset). A misspelt option
 * (`requiredScope` for `requiredScopes`) is otherwise ignored, which can silently turn a check
 * off; TypeScript catches it only in object literals, not in options read from configuration.
 * @param record - The options object (checked to be an object already).
 * @param owner - Whose options they are, for the message: `"protectedResource"`, `"tokenExchange.cache"`.
 * @param known - Every key it takes (see {@link optionKeys}).
 * @param message - `prefix`: put before the key (`"cache."`); `elsewhere`: for keys another API takes, where to use them instead.
 * @throws TypeError `"<prefix><key> is not an option of <owner> (it takes a, b)"`, or `"...: <elsewhere>"`.
 */
export function onlyKnownKeys(
  record: object,
  owner: string,
  known: readonly string[],
  message: { readonly prefix?: string; readonly elsewhere?: Readonly<Record<string, string>> } = {},
): void {
  const { prefix = '', elsewhere = {} } = message;
  for (const key of Object.keys(record)) {
    // `{ key: undefined }` is an option left unset, as everywhere else.
    if (known.includes(key) || (record as Record<string, unknown>)[key] === undefined) continue;
    const name = `${prefix}${shownKey(key)}`;
    const moved = Object.hasOwn(elsewhere, key) ? elsewhere[key] : undefined;
    throw new TypeError(
      moved === undefined
        ? `${name} is not an option of ${owner} (it takes ${known.join(', ')})`
        : `${name} is not an option of ${owner}: ${moved}`,
    );
  }
}

/**
 * The keys of an options interface, as a list the compiler checks is complete: a key of `T`
 * missing from the list is a type error, so a new option cannot be forgotten by
 * {@link onlyKnownKeys}. Usage: `optionKeys<MyOptions>()(['a', 'b'])`.
 * @returns A function returning its (checked) argument.
 */
export function optionKeys<T>(): <const K extends readonly (keyof T & string)[]>(
  keys: K & ([Exclude<keyof T & string, K[number]>] extends [never] ? unknown : { readonly missing: Exclude<keyof T & string, K[number]> }),
) => readonly string[] {
  return (keys) => Object.freeze([...keys]);
}

/**
 * A boolean, or `fallback` when `undefined`.
 * @param value - The option as given.
 * @param option - The option's name, used in the error message.
 * @param fallback - The default, returned for `undefined`.
 * @returns The validated boolean.
 */
export function booleanOption(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`${option} must be a boolean`);
  return value;
}

/**
 * A function, or `fallback` when `undefined`.
 * @param value - The option as given.
 * @param option - The option's name, used in the error message.
 * @param fallback - The default, returned for `undefined`.
 * @param what - What kind of function, appended to the message (`"returning milliseconds"`).
 * @returns The function.
 */
export function functionOption<F extends (...args: never[]) => unknown>(
  value: F | undefined,
  option: string,
  fallback: F,
  what?: string,
): F {
  const fn: unknown = value ?? fallback;
  if (typeof fn !== 'function') throw new TypeError(`${option} must be a function${what === undefined ? '' : ` ${what}`}`);
  return fn as F;
}

/**
 * The `clock` option: a function returning the current time in milliseconds; `Date.now` by default.
 * @param value - The option as given.
 * @returns The clock.
 */
export function clockOption(value: (() => number) | undefined): () => number {
  return functionOption(value, 'clock', Date.now, 'returning milliseconds');
}

/**
 * The `logger` option: anything with `warn(message)`; `console` by default.
 * @param value - The option as given.
 * @returns The logger.
 */
export function loggerOption<L extends LoggerLike = LoggerLike>(value: L | undefined): L | Console {
  const logger: unknown = value ?? console;
  if (typeof (logger as Partial<LoggerLike> | null)?.warn !== 'function') throw new TypeError('logger must have a warn(message) method');
  return logger as L | Console;
}

/**
 * An option naming an HTTP header (an RFC 9110 token), or `fallback` when `undefined`.
 * @param value - The option as given.
 * @param option - The option's name, used in the error message.
 * @param fallback - The default, returned for `undefined`.
 * @returns The header name as given (not lower-cased).
 */
export function headerNameOption(value: unknown, option: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !HEADER_NAME.test(value)) throw new TypeError(`${option} must be a valid HTTP header name`);
  return value;
}

/**
 * An absolute `https:` URL; `http:` only on a loopback host (tests, a sidecar). Callers add their
 * own rules about query, fragment and credentials.
 * @param value - The option as given (a string or a `URL`).
 * @param option - The option's name, used in the error message.
 * @returns The parsed URL.
 */
export function httpsUrl(value: unknown, option: string): URL {
  let url: URL;
  try {
    url = new URL(value as string | URL);
  } catch {
    throw new TypeError(`${option} must be an absolute URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)))
    throw new TypeError(`${option} must be an https: URL (http: only on a loopback host)`);
  return url;
}

/**
 * Whether `value` has the methods a store of session bindings needs (`MemoryStore`, `RedisStore`).
 * @param value - The option as given.
 * @returns `true` when `setIfAbsent`, `get` and `delete` are functions.
 */
export function isSessionStore(value: unknown): value is IdentityStore {
  return (
    isRecord(value) && typeof value.setIfAbsent === 'function' && typeof value.get === 'function' && typeof value.delete === 'function'
  );
}
