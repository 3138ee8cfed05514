export { startDeployment, GATEWAY_ISSUER, AUDIENCES, OAUTH_REQUIRED_SCOPES, REPORTS_POLICY_FILE } from './deployment.js';
export { startAuthorizationServer } from './authorization-server.js';
export type { AuthorizationServer, AuthorizationServerOptions } from './authorization-server.js';
export { connectWithOAuth, signIn, DemoOAuthProvider, DEMO_REDIRECT_URI } from './oauth-client.js';
export type { OAuthConnection } from './oauth-client.js';
export type { Deployment, DeploymentOptions } from './deployment.js';
export { runDemo, formatDemo } from './demo.js';
export type { DemoStep } from './demo.js';
export { formatAuditEvent, summarizeAudit } from './audit-summary.js';
