// express-duo-mfa/policy: the policy tools for specialists (CLI-like checks, admin pages, tests): validate and
// compile a policy, open it live, and make the same decisions the middleware makes.

export { compilePolicy, validatePolicy, type CompileOptions, type PolicyValidation } from './compile';
export { decide, decideTenant, explainDecision } from './decide';
export { loadPolicyFile, openPolicy, type OpenPolicyOptions } from './load';
export type { TenantEntry, TenantSource } from './source';
export type {
  CompiledPolicy,
  CompiledTenant,
  Decision,
  DecisionCode,
  DuoCredentials,
  PolicyIssue,
  PolicySource,
  PolicyUser,
  PolicyWarning,
} from './types';
