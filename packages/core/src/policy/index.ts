/** The tool-level policy engine: rules, matchers and the MCP operation model. */
export { createPolicy, isPolicy } from './policy.js';
export type { Policy, PolicyConfig, PolicyRule, PolicyDecision, PolicyEffect, PolicyHook, PatternList } from './policy.js';
export { operationOf, NAMED_METHODS } from './operation.js';
export type { McpOperation } from './operation.js';
