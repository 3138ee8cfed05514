/**
 * @mcp-identity/gateway: the Express side. `authenticate` turns a Passport login into a
 * UserContext; `propagateIdentity` signs it for one upstream and forwards the request.
 */
import './augment.js';

export { createGateway } from './gateway.js';
export type {
  Gateway,
  GatewayOptions,
  UpstreamOptions,
  GatewayPluginOptions,
  CarryOptions,
  StripOptions,
  LimitOptions,
} from './gateway.js';

export { authenticate } from './authenticate.js';
export type { AuthenticateOptions, StrategyRef, StrategySpec, PassportLike } from './authenticate.js';

export { propagateIdentity } from './propagate.js';
export type { PropagateIdentityOptions, ExtraProxyOptions } from './propagate.js';

export { loadPolicy } from './policy/load.js';
export type { FilePolicy, LoadPolicyOptions } from './policy/load.js';
export { createPolicy } from '@mcp-identity/core/internal';
export type {
  Policy,
  PolicyConfig,
  PolicyRule,
  PolicyDecision,
  PolicyEffect,
  PolicyHook,
  PatternList,
  McpOperation,
  PolicyAuditRecord,
} from '@mcp-identity/core/internal';

export type { DelegationOptions, AllowedActors, ResolveSubject } from './delegation.js';

export { identityPlugin } from './plugin.js';
export { jwks } from './jwks.js';
export type { JwksOptions } from './jwks.js';
export { defaultStripHeaders, defaultCredentialQueryParams } from './options.js';
export type { IdentityOptions, Carrier, MetaCreation } from './options.js';

export { jwtNormalizer, profileNormalizer, userObjectNormalizer } from './normalizers.js';
export type { Normalizer, NormalizerOptions, ClaimPaths, ClaimPath, UserContextInput } from './normalizers.js';

export { ApiKeyStrategy } from './api-key-strategy.js';
export type { ApiKeyStrategyOptions, ApiKeyVerify } from './api-key-strategy.js';
export { OAuthTokenStrategy } from './oauth-strategy.js';
export type { OAuthTokenStrategyOptions, OAuthIssuer, OAuthIntrospection } from './oauth-strategy.js';
export { protectedResource, protectedResourceMetadata, PROTECTED_RESOURCE_WELL_KNOWN } from './protected-resource.js';
export type { ProtectedResource, ProtectedResourceOptions, ProtectedResourceMetadata } from './protected-resource.js';
export { TOKEN_EXCHANGE_GRANT, ACCESS_TOKEN_TYPE } from './token-exchange/options.js';
export type { TokenExchangeOptions, TokenExchangeClientAuth, TokenExchangeCacheOptions } from './token-exchange/options.js';
export { TrustedProxyStrategy } from './trusted-proxy-strategy.js';
export type { TrustedProxyStrategyOptions, TrustedProxyHeaders } from './trusted-proxy-strategy.js';

export {
  safeEqual,
  IdentityError,
  isIdentityError,
  normalizeUserContext,
  MemoryStore,
  RedisStore,
  createJsonLineAuditSink,
  defaultAuditSink,
  REQUESTS_METRIC,
  POLICY_DENIALS_METRIC,
} from '@mcp-identity/core/internal';
export type {
  UserContext,
  IdentityErrorCode,
  SigningKey,
  UserContextField,
  IdentityStore,
  RedisStoreOptions,
  SessionOptions,
  LoggerLike,
  AuditEvent,
  AuditSink,
  AuditLogger,
  AuditOptions,
  MetricsRegistry,
  TokenExchangeAuditRecord,
} from '@mcp-identity/core/internal';
