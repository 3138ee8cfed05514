/**
 * `@mcp-identity/core/internal`: every building block the gateway and receiver packages share
 * (option validators, JSON-RPC handling, session binding, audit plumbing, ...). Not covered by
 * semver: it changes with the packages that use it. Applications use the main entry.
 *
 * @internal
 * @packageDocumentation
 */
export { IdentityError, isIdentityError, toJsonRpcError, errorCodes } from './errors.js';
export type { IdentityErrorCode, IdentityErrorOptions, JsonRpcErrorBody } from './errors.js';

export {
  normalizeUserContext,
  userContextSchema,
  userContextFields,
  limits,
  isRecord,
  isNormalizedUser,
  derivedFromUser,
  ownFields,
} from './user-context.js';
export { createUserMemo } from './user-memo.js';
export type { UserMemo, UserMemoOptions } from './user-memo.js';
export type { UserContext, UserContextField, AuthMethod } from './user-context.js';

export {
  encodeHeaderValue,
  decodeHeaderValue,
  encodeHeaderList,
  decodeHeaderList,
  identityHeaderSuffixes,
  ASSERTION_SUFFIX,
  CONTEXTFORGE_SIGNATURE_SUFFIX,
  canonicalHeaderName,
  headerValueAsUtf8,
  normalizePrefix,
  identityHeaderPrefix,
  DEFAULT_HEADER_PREFIX,
  userToHeaders,
  identityHeadersOf,
  headerAgreesWithUser,
} from './header-codec.js';
export type { IdentityHeaderSuffix } from './header-codec.js';

export {
  userToClaims,
  claimsToUser,
  chainToActor,
  actorToChain,
  selectUserFields,
  parseFieldList,
  sensitiveAttributeMatcher,
  defaultSensitiveAttributes,
} from './claims.js';
export type { UserClaims, ActorClaim } from './claims.js';

export {
  importSigningKeys,
  importVerificationSecrets,
  importVerificationPublicKeys,
  importSecret,
  weakSecretReason,
  jwkThumbprint,
  publicJwkOf,
  publicJwksOf,
  isValidKid,
} from './keys.js';
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
  ImportedSigningKey,
  ImportedSigningKeys,
} from './keys.js';

export { ASSERTION_TYP, MAX_TOKEN_LENGTH, parseJws, createJwsSigner, verifyJwsSignature } from './jws.js';
export type { JwsHeader, ParsedJws } from './jws.js';

export { createAssertionSigner, WIRE_FORMAT_VERSION } from './sign.js';
export {
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  HEADER_NAME,
  integerInRange,
  positiveInteger,
  nonNegativeInteger,
  secondsToMs,
  requiredIdentifier,
  objectOption,
  booleanOption,
  functionOption,
  clockOption,
  loggerOption,
  headerNameOption,
  httpsUrl,
  isSessionStore,
  onlyKnownKeys,
  optionKeys,
  shownKey,
} from './options.js';
export type { LoggerLike } from './options.js';
export type { AssertionSigner, AssertionSignerOptions, AssertionExtras, DelegatedTokenClaim, SignedAssertion } from './sign.js';

export { createAssertionVerifier } from './verify.js';
export type { AssertionVerifier, AssertionVerifierOptions, VerifiedAssertion } from './verify.js';

export { staticKeySource, firstKeySource } from './key-source.js';
export type { KeySource } from './key-source.js';

export { canonicalJson } from './jcs.js';
export { sha256Base64url, EMPTY_BODY_SHA256, isJsonContentType, rawBodyDigest, jsonBodyDigest, requestBodyDigest } from './binding.js';
export type { RequestBinding } from './binding.js';

export { META_PREFIX, META_USER, META_ASSERTION, META_CONTEXTFORGE_USER, isIdentityMetaKey } from './meta-keys.js';
export { parseJsonRpcBody, checkJsonRpcValue, hasMethod, stripIdentityMeta, setIdentityMeta, readIdentityMeta } from './json-rpc.js';
export type { JsonRpcBody, JsonRpcMessage, MetaIdentity } from './json-rpc.js';
export { findDuplicateKey } from './duplicate-keys.js';
export { serializeJsonRpcBody, serializeJsonRpcBodyParts } from './json-splice.js';
export { forgetSourcedStrings, parseJsonBytes, sourcedStringsOf, LONG_STRING_BYTES } from './json-bytes.js';
export type { ParseJsonBytesOptions, ParsedJsonBytes } from './json-bytes.js';

export { readRequestBody, hasRequestBody, isBodyConsumed, DEFAULT_BODY_LIMIT } from './request-body.js';
export type { ReadBody, ReadBodyOptions } from './request-body.js';

export { MemoryStore } from './memory-store.js';
export type { MemoryStoreOptions } from './memory-store.js';
export { RedisStore } from './redis-store.js';
export type { RedisStoreOptions, RedisClientLike } from './redis-store.js';
export { storeUnavailable } from './store.js';
export type { IdentityStore } from './store.js';
export {
  SESSION_HEADER,
  MAX_SESSION_ID_LENGTH,
  DEFAULT_SESSIONS_PER_USER,
  DEFAULT_SESSION_TTL_SECONDS,
  isSessionId,
  readSessionId,
  sessionSubject,
  createSessionBinder,
} from './sessions.js';
export {
  PROTOCOL_VERSION_META_KEY,
  FIRST_MODERN_PROTOCOL_VERSION,
  MCP_PROTOCOL_VERSION_HEADER,
  MCP_METHOD_HEADER,
  MCP_NAME_HEADER,
  MCP_PARAM_HEADER_PREFIX,
  isModernProtocolVersion,
  readMcpHeaders,
  decodeMcpHeaderValue,
  envelopeVersion,
  classifyMcpRequest,
  checkModernRequest,
  inspectMcpRequest,
} from './mcp-era.js';
export type { McpEra, McpRequestHeaders } from './mcp-era.js';
export type { SessionBinder, SessionBinderOptions, SessionOptions } from './sessions.js';

export { readRawHeader, readRawHeaderGroup } from './raw-headers.js';
export type { RawHeaderReading, RawHeaderGroup, HostileHeaderReason } from './raw-headers.js';
export { randomId } from './random.js';
export { writeIdentityError, refusalOf } from './respond.js';
export { safeEqual } from './safe-equal.js';
export { createRemoteKeySet } from './remote-key-set.js';
export type { RemoteKeySet, RemoteKeySetOptions } from './remote-key-set.js';
export {
  CONTEXTFORGE_WEAKNESSES,
  contextforgeSecret,
  contextforgeSignatureOf,
  verifyContextforgeSignature,
  contextforgeMetaUser,
} from './contextforge.js';

export {
  AUDIT_MESSAGE,
  createJsonLineAuditSink,
  defaultAuditSink,
  auditSinkOption,
  requestIdOf,
  adoptRequestId,
  isRequestId,
  clientRequestIdOf,
  clientRequestIdFor,
  auditTime,
  MAX_CLIENT_REQUEST_ID,
  auditPath,
  rpcSummaryOf,
  auditUserFields,
  policyAuditRecord,
} from './audit.js';
export type {
  AuditEvent,
  AuditSink,
  AuditLogger,
  AuditComponent,
  AuditDecision,
  RpcSummary,
  AuditUserFields,
  PolicyAuditRecord,
  TokenExchangeAuditRecord,
} from './audit.js';
export { createAuditEmitter } from './audit-emitter.js';
export type { AuditOptions, EmitAudit } from './audit-emitter.js';
export { requestCounter, REQUESTS_METRIC, policyDenialCounter, POLICY_DENIALS_METRIC } from './metrics.js';
export type { MetricsRegistry, CountEvent, CountDenial } from './metrics.js';

export { createPolicy, isPolicy, operationOf, NAMED_METHODS } from './policy/index.js';
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
