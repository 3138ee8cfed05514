export { createApp, JWKS_PATH } from './app.js';
export type { GatewayAppOptions, GatewayOAuthOptions, UpstreamConfig } from './app.js';
export { createDemoIssuer } from './demo-issuer.js';
export type { DemoIssuer } from './demo-issuer.js';
export { demoUsers, demoJwtClaims } from './demo-identities.js';
export type { DemoUser, DemoApiClient } from './demo-identities.js';
