// Public entry point of express-duo-mfa.

export { DuoMfaError, isDuoMfaError, ERROR_CODES, type DuoMfaErrorCode } from './errors';
export type { AccessDevice, DuoAuthResult, TrustStatus } from './duo/result';
export type {
  CompiledPolicy,
  CompiledTenant,
  Decision,
  DecisionCode,
  DuoCredentials,
  PolicyIssue,
  PolicyUser,
} from './policy/types';
