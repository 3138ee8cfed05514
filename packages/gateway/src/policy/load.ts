/**
 * A policy read from a JSON or YAML file, reloadable without a restart: `reload()` re-reads
 * the file, and `watch: true` does so when it changes. A bad new file is refused, logged, and
 * the rules in force stay.
 */
import { readFileSync, watch as watchDirectory } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { createPolicy, loggerOption, nonNegativeInteger, objectOption, onlyKnownKeys, optionKeys } from '@mcp-identity/core/internal';
import type { LoggerLike, Policy, PolicyConfig } from '@mcp-identity/core/internal';
import { parse as parseYaml } from 'yaml';

/** Options of {@link loadPolicy}. */
export interface LoadPolicyOptions {
  /** Re-read the file when it changes (`fs.watch` on its directory, so editors that replace files work). Default `false`. */
  readonly watch?: boolean;
  /** Receives reload failures and successes. Default `console`. */
  readonly logger?: LoggerLike & { info?(message: string): void };
  /** How long to wait after a change before reading, in milliseconds. Default 100. */
  readonly debounceMs?: number;
}

/** A policy backed by a file. */
export interface FilePolicy extends Policy {
  /** The file's absolute path. */
  readonly file: string;
  /**
   * Re-reads the file. Returns `true` when the new rules are in force; `false` when the file
   * could not be read or is invalid (logged), the rules in force then stay.
   */
  reload(): boolean;
  /** Stops watching the file. */
  close(): void;
}

/** Reads and parses a policy file (`.json`, or YAML for anything else); throws a `TypeError` naming the file. */
function readPolicyFile(file: string): PolicyConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new TypeError(`policy file ${file} cannot be read: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, { cause });
  }
  try {
    // YAML 1.2 is a superset of JSON, but JSON.parse gives the clearer messages for .json files.
    return (extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 })) as PolicyConfig;
  } catch (cause) {
    throw new TypeError(
      `policy file ${file} is not valid ${extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(cause as Error).message.split('\n')[0] ?? ''}`,
      { cause },
    );
  }
}

function withFile(file: string, error: unknown): TypeError {
  const message = (error as Error).message;
  return new TypeError(message.includes(file) ? message : `policy file ${file}: ${message}`, { cause: error });
}

/**
 * Loads a policy from a JSON or YAML file, now: a missing, unparsable or invalid file throws a
 * `TypeError` naming the file and the rule (`policy file /etc/p.yaml: policy.rules[3] ("deploy-admins"): ...`).
 * @param file - Path of a `.json`, `.yaml` or `.yml` policy file.
 * @param options - `watch` for changes, `debounceMs`, and the `logger` told about refused reloads.
 * @returns The policy, with its `file`, `reload()` and `close()`.
 * @example
 * const policy = loadPolicy('/etc/mcp-gateway/reports-policy.yaml', { watch: true });
 * // later, e.g. on SIGHUP:
 * policy.reload();
 */
export function loadPolicy(file: string, options: LoadPolicyOptions = {}): FilePolicy {
  if (typeof file !== 'string' || file.length === 0) throw new TypeError('loadPolicy: file must be a path to a JSON or YAML file');
  // `wach: true` would otherwise never reload the file, so an edit removing a permission would not apply.
  onlyKnownKeys(
    objectOption(options, 'loadPolicy options'),
    'loadPolicy',
    optionKeys<LoadPolicyOptions>()(['watch', 'logger', 'debounceMs']),
  );
  const logger = loggerOption(options.logger);
  const debounceMs = nonNegativeInteger(options.debounceMs, 'debounceMs', 100);
  const path = resolve(file);
  let policy: Policy;
  try {
    policy = createPolicy(readPolicyFile(path));
  } catch (error) {
    throw withFile(path, error);
  }

  function reload(): boolean {
    try {
      policy.replace(readPolicyFile(path));
    } catch (error) {
      logger.warn(`mcp-identity: policy reload refused, the previous rules stay in force: ${withFile(path, error).message}`);
      return false;
    }
    logger.info?.(`mcp-identity: policy reloaded from ${path}`);
    return true;
  }

  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (options.watch === true) {
    const name = basename(path);
    watcher = watchDirectory(dirname(path), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(timer);
      timer = setTimeout(reload, debounceMs);
      timer.unref();
    });
    watcher.on('error', (error) => logger.warn(`mcp-identity: policy file watch failed: ${error.message}`));
  } else if (options.watch !== undefined && typeof options.watch !== 'boolean') {
    throw new TypeError('watch must be true or false');
  }

  return {
    file: path,
    evaluate: (user, operation) => policy.evaluate(user, operation),
    allows: (user, operation) => policy.allows(user, operation),
    replace: (config) => policy.replace(config),
    get version() {
      return policy.version;
    },
    reload,
    close() {
      clearTimeout(timer);
      watcher?.close();
      watcher = undefined;
    },
  };
}
