// The admin policy file: schema, loading with hot reload, and pure MFA decisions. What the middleware imports.

export { compilePolicy, validatePolicy, type CompileOptions, type PolicyValidation } from './compile';
export { decide, explainDecision } from './decide';
export { FrozenMap, FrozenSet } from './frozen';
export { formatPath, policyInvalidError } from './issues';
export { policyJsonSchema, renderPolicyJsonSchema, JSON_SCHEMA_PATH } from './json-schema';
export { loadPolicyFile, openPolicy, type OpenPolicyOptions } from './load';
export { parsePolicyText, readPolicyFile } from './read';
export { PolicyFileSchema, type PolicyFile, type PolicyFileInput, type PolicyFileTenant } from './schema';
export type * from './types';
export { policyWarnings, MAX_BYPASS_MS } from './warnings';
