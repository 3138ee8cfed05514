export { startDeployment, GATEWAY_ISSUER, AUDIENCES } from './deployment.js';
export type { Deployment, DeploymentOptions } from './deployment.js';
export { runDemo, formatDemo } from './demo.js';
export type { DemoStep } from './demo.js';
export { formatAuditEvent, summarizeAudit } from './audit-summary.js';
