/**
 * @mcp-identity/receiver: the upstream side. `verifyIdentity` verifies the gateway's signed
 * identity and exposes the user as `req.user` and `req.auth`; `getUser` reads it inside an
 * MCP SDK tool handler.
 */
import './augment.js';

export { verifyIdentity } from './verify-identity.js';
export type {
  VerifyIdentityOptions,
  ReceiverOptions,
  ReceiverCommonOptions,
  ReceiverKeys,
  JwksFetchOptions,
  ReceiverLogger,
} from './options.js';
export { getUser } from './get-user.js';
export type { ContextforgeOptions } from './contextforge.js';
export type { UserSource } from './get-user.js';
export type { AuthInfo, ReceivedUser } from './auth-info.js';
export type { ReceiverPolicy, ReceiverPolicyGroup, ReceiverPolicyOptions, ReceiverPolicyContext, ReceivedOperation } from './policy.js';

export {
  MemoryStore,
  RedisStore,
  IdentityError,
  isIdentityError,
  createJsonLineAuditSink,
  defaultAuditSink,
  REQUESTS_METRIC,
} from '@mcp-identity/core/internal';
export type {
  UserContext,
  IdentityErrorCode,
  IdentityStore,
  RedisStoreOptions,
  VerificationSecret,
  VerificationPublicKey,
  AuditEvent,
  AuditSink,
  AuditLogger,
  AuditOptions,
  MetricsRegistry,
  SessionOptions,
  LoggerLike,
} from '@mcp-identity/core/internal';
export type { ReceiverSessionOptions } from './sessions.js';
