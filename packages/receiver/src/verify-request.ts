/**
 * Verification of one request, framework-free: find the assertion (header or `_meta`),
 * verify it, check it is bound to this request, that every plain header and `_meta` user
 * agrees with it, and that its `jti` is new.
 */
import type { IncomingMessage } from 'node:http';
import {
  EMPTY_BODY_SHA256,
  IdentityError,
  inspectMcpRequest,
  isRecord,
  forgetSourcedStrings,
  jsonBodyDigest,
  canonicalJson,
  rawBodyDigest,
  readIdentityMeta,
  storeUnavailable,
} from '@mcp-identity/core/internal';
import type { McpEra, VerifiedAssertion } from '@mcp-identity/core/internal';
import { checkBeforeBody } from './before-body.js';
import { receiveBody } from './body.js';
import { checkDelegatedToken } from './delegated-token.js';
import { verifyContextforgeHeaders } from './contextforge.js';
import { readIdentityHeaders } from './identity-headers.js';
import type { ReceivedUser } from './auth-info.js';
import type { ReceivedBody } from './body.js';
import type { ReceiverConfig } from './options.js';

/** A verified request. */
export interface VerifiedRequest {
  readonly user: ReceivedUser;
  /** The verified assertion; undefined for a request accepted in ContextForge legacy mode. */
  readonly assertion: VerifiedAssertion | undefined;
  /** The credential verified: the assertion, or the ContextForge signature. */
  readonly credential: string;
  /** Who signed it: the gateway's `iss`, or `"contextforge"`. */
  readonly issuer: string;
  /** Seconds since the epoch; legacy signatures never expire. */
  readonly expiresAt: number | undefined;
  /** True when the assertion travelled in `_meta` (so `getUser` may meet it there). */
  readonly inMeta: boolean;
  /** The request's MCP protocol era; sessions exist only in the legacy one. */
  readonly era: McpEra;
  /** The token the gateway exchanged for the user (`Authorization: Bearer`, announced by the assertion's `dtk`), checked against it. */
  readonly delegatedToken?: string;
}

/** How far verification got: the assertion once its signature, issuer, audience and lifetime checked out. */
export interface VerificationProgress {
  assertion?: VerifiedAssertion;
}

interface MetaFindings {
  readonly assertions: ReadonlySet<unknown>;
  readonly users: readonly unknown[];
  readonly legacyUsers: readonly unknown[];
  readonly unknownKeys: ReadonlySet<string>;
}

// Shared by every request without identity in `_meta`: frozen, and its sets only ever read (ReadonlySet).
const NO_FINDINGS: MetaFindings = Object.freeze({
  assertions: new Set(),
  users: Object.freeze([]),
  legacyUsers: Object.freeze([]),
  unknownKeys: new Set<string>(),
});

function findMeta(body: ReceivedBody): MetaFindings {
  if (!body.isJson) return NO_FINDINGS;
  // Allocated only for a body that carries identity in `_meta`: most requests carry it in the header.
  let findings: { assertions: Set<unknown>; users: unknown[]; legacyUsers: unknown[]; unknownKeys: Set<string> } | undefined;
  const messages = Array.isArray(body.json) ? body.json : [body.json];
  for (const message of messages) {
    if (!isRecord(message)) continue;
    const found = readIdentityMeta(message);
    if (found === undefined) continue;
    findings ??= { assertions: new Set(), users: [], legacyUsers: [], unknownKeys: new Set() };
    if (found.assertion !== undefined) findings.assertions.add(found.assertion);
    if (found.user !== undefined) findings.users.push(found.user);
    if (found.legacyUser !== undefined) findings.legacyUsers.push(found.legacyUser);
    for (const key of found.unknownKeys) findings.unknownKeys.add(key);
  }
  return findings ?? NO_FINDINGS;
}

function pickToken(header: string | undefined, meta: MetaFindings): string | undefined {
  for (const value of meta.assertions)
    if (typeof value !== 'string') throw new IdentityError('identity_invalid', 'the _meta assertion is not a string');
  if (meta.assertions.size > 1) throw new IdentityError('identity_mismatch', 'the messages carry different assertions');
  const [fromMeta] = meta.assertions as ReadonlySet<string | undefined>;
  if (header !== undefined && fromMeta !== undefined && header !== fromMeta) {
    throw new IdentityError('identity_mismatch', 'the header and _meta carry different assertions');
  }
  return header ?? fromMeta;
}

function bodyDigest(body: ReceivedBody): string {
  if (body.isJson) {
    try {
      return jsonBodyDigest(body.json);
    } catch {
      // No canonical form (a lone surrogate, a number beyond binary64): the raw bytes, when known.
      return body.bytes === undefined ? '' : rawBodyDigest(body.bytes);
    } finally {
      // The handler gets the parsed body; the client's bytes are not kept alive through it.
      forgetSourcedStrings(body.json);
    }
  }
  return body.bytes === undefined ? EMPTY_BODY_SHA256 : rawBodyDigest(body.bytes);
}

function checkBinding(req: IncomingMessage & { originalUrl?: string }, body: ReceivedBody, assertion: VerifiedAssertion): void {
  const { binding } = assertion;
  if (!body.available) throw new IdentityError('identity_binding', 'the request body was consumed before verification');
  const path = req.originalUrl ?? req.url ?? '';
  if (binding.method !== req.method || binding.path !== path || binding.bodySha256 !== bodyDigest(body)) {
    throw new IdentityError('identity_binding', 'the assertion is bound to another request');
  }
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown }).then === 'function';
}

function canonicalizeOrUndefined(value: unknown): string | undefined {
  try {
    return canonicalJson(value);
  } catch {
    return undefined;
  }
}

/**
 * Verifies one request against the configuration. `progress` (optional) learns the
 * assertion as soon as it is verified, so a later refusal can still be audited with its `jti`.
 * @throws IdentityError with the refusal's code.
 */
export async function verifyRequest(
  req: IncomingMessage & { originalUrl?: string; body?: unknown },
  config: ReceiverConfig,
  progress?: VerificationProgress,
): Promise<VerifiedRequest> {
  const headers = readIdentityHeaders(req, config.prefix);
  const parsedHeader = checkBeforeBody(req, headers, config);
  const body = await receiveBody(req, config.bodyLimit);
  // A modern request's headers must say what its body says before anything else is looked at:
  // the assertion binds the body, so what the checked headers claim is covered by it too.
  const era = inspectMcpRequest(body.isJson ? body.json : undefined, req.rawHeaders);
  const meta = findMeta(body);
  const token = pickToken(headers.assertion, meta);
  if (token === undefined) {
    // A request carrying both formats is judged by ours; the legacy one only stands alone.
    if (config.contextforge === undefined || headers.contextforgeSignature === undefined || config.requireDelegatedToken) {
      throw new IdentityError('identity_missing', 'the request carries no identity assertion');
    }
    if (meta.users.length > 0 || meta.unknownKeys.size > 0)
      throw new IdentityError('identity_mismatch', 'the _meta carries unverified identity');
    const legacyUser = verifyContextforgeHeaders(headers.plain, headers.contextforgeSignature, config.contextforge);
    return {
      user: legacyUser,
      assertion: undefined,
      credential: headers.contextforgeSignature,
      issuer: 'contextforge',
      expiresAt: undefined,
      inMeta: false,
      era,
    };
  }

  // The header's token was parsed before the body was read; a `_meta` token is parsed here.
  // With the keys at hand (configured keys, a JWKS already fetched) this takes no asynchronous step.
  const parsed = token === headers.assertion ? parsedHeader : undefined;
  const { verifier } = config;
  const verifying = verifier.verifyNow === undefined ? verifier.verify(token, parsed) : verifier.verifyNow(token, parsed);
  const assertion = isPromiseLike(verifying) ? await verifying : verifying;
  if (progress !== undefined) progress.assertion = assertion;
  const { user } = assertion;
  if (config.bindRequest) checkBinding(req, body, assertion);
  const delegatedToken = checkDelegatedToken(req, assertion, config.requireDelegatedToken);

  // What the user encodes to: computed once per user (the verifier returns the same object for the same claims).
  const views = config.userViews(user);
  if (headers.plain.size > 0) {
    // The codec is canonical (the decoder refuses every other spelling), so comparing the
    // encoded forms is comparing the values, without decoding each header.
    const expected = views.headers();
    for (const [suffix, value] of headers.plain) {
      if (expected.get(suffix) !== value) {
        throw new IdentityError('identity_mismatch', 'a plain identity header disagrees with the assertion');
      }
    }
  }
  // Exact: the `_meta` user must be the user object of the claims, member for member (as
  // canonical JSON), not merely something that normalizes to it (docs/spec, `_meta`).
  for (const candidate of meta.users) {
    if (canonicalizeOrUndefined(candidate) !== views.canonical())
      throw new IdentityError('identity_mismatch', 'the _meta user disagrees with the assertion');
  }
  if (meta.unknownKeys.size > 0) throw new IdentityError('identity_mismatch', 'the _meta carries unverified identity');
  // The ContextForge-compatible `_meta.user` a gateway adds must say what the assertion says.
  for (const candidate of meta.legacyUsers) {
    if (canonicalizeOrUndefined(candidate) !== views.legacyCanonical())
      throw new IdentityError('identity_mismatch', 'the _meta user disagrees with the assertion');
  }

  const ttlMs = assertion.exp * 1000 + config.toleranceMs - config.clock();
  let fresh: boolean;
  try {
    // The in-process MemoryStore answers at once: no asynchronous step for it.
    const setting = config.replayStore.setIfAbsent(`jti:${assertion.jti}`, '', Math.max(ttlMs, 1000));
    fresh = isPromiseLike(setting) ? await setting : setting;
  } catch (cause) {
    throw storeUnavailable(cause, 'the replay store is unavailable', config.storeErrorStatus);
  }
  if (!fresh) throw new IdentityError('identity_replayed', 'the assertion was already used');
  return {
    user,
    assertion,
    credential: assertion.token,
    issuer: assertion.issuer,
    expiresAt: assertion.exp,
    inMeta: meta.assertions.size > 0,
    era,
    ...(delegatedToken === undefined ? {} : { delegatedToken }),
  };
}
