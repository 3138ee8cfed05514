/**
 * `@mcp-identity/core`: the framework-free protocol of mcp-identity. The user model and its
 * JSON Schema, the identity header codec, signing and verification of `user-context+jwt`
 * assertions, key import, request binding, replay stores, errors, audit event types and the
 * tool policy. The gateway and receiver packages build on it; use it directly to sign or verify
 * identities outside Express.
 *
 * @packageDocumentation
 */
export { IdentityError, isIdentityError, toJsonRpcError, errorCodes } from './errors.js';
export type { IdentityErrorCode, IdentityErrorOptions, JsonRpcErrorBody } from './errors.js';

export { normalizeUserContext, userContextSchema, userContextFields, limits } from './user-context.js';
export type { UserContext, UserContextField, AuthMethod } from './user-context.js';

export { encodeHeaderValue, decodeHeaderValue, userToHeaders, DEFAULT_HEADER_PREFIX } from './header-codec.js';
export type { IdentityHeaderSuffix } from './header-codec.js';

export { userToClaims, claimsToUser, defaultSensitiveAttributes } from './claims.js';
export type { UserClaims, ActorClaim } from './claims.js';

export { importVerificationSecrets, importVerificationPublicKeys, publicJwksOf } from './keys.js';
export type {
  Algorithm,
  SecretInput,
  KeyInput,
  SigningKey,
  SecretSigningKey,
  PrivateSigningKey,
  VerificationSecret,
  VerificationPublicKey,
  PublicJwk,
  ImportedKey,
  ImportedSigningKeys,
} from './keys.js';

export { ASSERTION_TYP } from './jws.js';
export type { JwsHeader, ParsedJws } from './jws.js';
export { createAssertionSigner, WIRE_FORMAT_VERSION } from './sign.js';
export type { AssertionSigner, AssertionSignerOptions, AssertionExtras, DelegatedTokenClaim, SignedAssertion } from './sign.js';
export { createAssertionVerifier } from './verify.js';
export type { AssertionVerifier, AssertionVerifierOptions, VerifiedAssertion } from './verify.js';
export { staticKeySource } from './key-source.js';
export type { KeySource } from './key-source.js';
export { createRemoteKeySet } from './remote-key-set.js';
export type { RemoteKeySet, RemoteKeySetOptions } from './remote-key-set.js';

export { EMPTY_BODY_SHA256, requestBodyDigest } from './binding.js';
export type { RequestBinding } from './binding.js';
export { META_USER, META_ASSERTION } from './meta-keys.js';

export { MemoryStore } from './memory-store.js';
export type { MemoryStoreOptions } from './memory-store.js';
export { RedisStore } from './redis-store.js';
export type { RedisStoreOptions, RedisClientLike } from './redis-store.js';
export type { IdentityStore } from './store.js';
export type { SessionOptions } from './sessions.js';

export { createJsonLineAuditSink, defaultAuditSink } from './audit.js';
export type { AuditEvent, AuditSink, AuditLogger, AuditComponent, AuditDecision, RpcSummary, PolicyAuditRecord } from './audit.js';
export type { AuditOptions } from './audit-emitter.js';
export { REQUESTS_METRIC, POLICY_DENIALS_METRIC } from './metrics.js';
export type { MetricsRegistry } from './metrics.js';

export { createPolicy } from './policy/index.js';
export type {
  Policy,
  PolicyConfig,
  PolicyRule,
  PolicyDecision,
  PolicyEffect,
  PolicyHook,
  PatternList,
  McpOperation,
} from './policy/index.js';
