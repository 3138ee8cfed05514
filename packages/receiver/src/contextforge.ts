/**
 * The receiver's ContextForge legacy mode: when a request carries no assertion of ours,
 * accept a ContextForge-signed one. That format authenticates only `id` and `email`; every
 * other field is reported as `unverified` and `isAdmin` is false, unless the app opts in to
 * trusting the unsigned fields on a network it controls.
 */
import {
  booleanOption,
  onlyKnownKeys,
  optionKeys,
  CONTEXTFORGE_WEAKNESSES,
  headerValueAsUtf8,
  contextforgeSecret,
  IdentityError,
  normalizeUserContext,
  verifyContextforgeSignature,
} from '@mcp-identity/core/internal';
import type { IdentityHeaderSuffix, LoggerLike } from '@mcp-identity/core/internal';
import type { ReceivedUser } from './auth-info.js';

/** Options of the legacy mode. */
export interface ContextforgeOptions {
  /** The secret the ContextForge gateway signs with (any non-empty value; short ones are warned about). */
  readonly secret: string | Uint8Array;
  /** Take groups, teams, roles, the admin flag, name and auth method from the unsigned headers. Default false. */
  readonly trustUnsignedFields?: boolean;
}

/** Validated legacy configuration. */
export interface ContextforgeConfig {
  readonly secret: Buffer;
  readonly trustUnsignedFields: boolean;
}

/** Validates the `contextforge` option and warns, once, about what the format does not protect. */
export function resolveContextforge(options: ContextforgeOptions | undefined, logger: LoggerLike): ContextforgeConfig | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) throw new TypeError('contextforge must be { secret, trustUnsignedFields? }');
  onlyKnownKeys(options, 'verifyIdentity contextforge', optionKeys<ContextforgeOptions>()(['secret', 'trustUnsignedFields']), {
    prefix: 'contextforge.',
  });
  const secret = contextforgeSecret(options.secret, 'contextforge.secret');
  booleanOption(options.trustUnsignedFields, 'contextforge.trustUnsignedFields', false);
  if (secret.length < 32) logger.warn(`mcp-identity: contextforge.secret is only ${secret.length} bytes`);
  logger.warn(
    `mcp-identity: this receiver accepts ContextForge-signed requests, which have ${CONTEXTFORGE_WEAKNESSES}; only id and email are trusted`,
  );
  return { secret, trustUnsignedFields: options.trustUnsignedFields === true };
}

/** Header text as sent: Node reads bytes as Latin-1; ContextForge sends UTF-8. */
function text(value: string): string {
  const decoded = headerValueAsUtf8(value);
  if (decoded === undefined) throw new IdentityError('identity_invalid', 'a ContextForge header is not UTF-8');
  return decoded;
}

function list(value: string | undefined): string[] {
  return value === undefined
    ? []
    : text(value)
        .split(',')
        .filter((entry) => entry.length > 0);
}

/**
 * Verifies a ContextForge-signed request from its headers.
 * @throws IdentityError `identity_invalid` for a missing id, or a signature that is not exactly right.
 */
export function verifyContextforgeHeaders(
  plain: ReadonlyMap<IdentityHeaderSuffix, string>,
  signature: string,
  config: ContextforgeConfig,
): ReceivedUser {
  const id = plain.get('id');
  const email = plain.get('email');
  if (id === undefined || id.length === 0) throw new IdentityError('identity_invalid', 'the ContextForge request has no user id');
  if (!verifyContextforgeSignature(config.secret, id, email, signature)) {
    throw new IdentityError('identity_invalid', 'the ContextForge signature does not verify');
  }
  const name = plain.get('full-name');
  const serviceAccount = plain.get('service-account');
  const unsigned = {
    ...(name === undefined ? {} : { name: text(name) }),
    groups: list(plain.get('groups')),
    teams: list(plain.get('teams')),
    roles: list(plain.get('roles')),
    isAdmin: plain.get('admin') === 'true',
    ...(plain.get('auth-method') === undefined ? {} : { authMethod: text(plain.get('auth-method') ?? '') }),
    ...(serviceAccount === undefined ? {} : { serviceAccount: text(serviceAccount) }),
    ...(plain.get('delegation-chain') === undefined ? {} : { delegationChain: list(plain.get('delegation-chain')) }),
  };
  const signed = { id: text(id), ...(email === undefined || email === '' ? {} : { email: text(email) }) };
  try {
    if (config.trustUnsignedFields) return normalizeUserContext({ authMethod: 'contextforge', ...unsigned, ...signed });
    const user = normalizeUserContext({ ...signed, authMethod: 'contextforge' });
    return Object.freeze({ ...user, unverified: Object.freeze(unsigned) });
  } catch (cause) {
    throw new IdentityError('identity_invalid', 'the ContextForge headers do not describe a valid user', { cause });
  }
}
