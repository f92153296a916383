// Public entry point of express-duo-mfa.

import './middleware/state';

export { duoMfa, requireRecentMfa, type DuoMfaMiddleware, type TenantSettings } from './middleware/index';
export type { DuoMfaOptions, MfaUser, MfaLogger } from './middleware/options';
export type { AuditEvent, AuditEventType } from './middleware/events';
export type { DuoMfaRequestState } from './middleware/state';
export type { DuoMfaSessionData, Verification, PendingRef } from './middleware/session';
export { DuoMfaError, isDuoMfaError, ERROR_CODES, type DuoMfaErrorCode } from './errors';
export type { AccessDevice, DuoAuthResult, TrustStatus } from './duo/result';
export { judgeDevice, type DeviceJudgement } from './devices/trust';
export { summarizeDevices, type DeviceSummary } from './devices/insight';
export { readDeviceInsight, type ReadDeviceInsightOptions } from './devices/read';
export type { RedisLike, DeviceRecord } from './stores/types';
export { decide, explainDecision } from './policy/decide';
export { compilePolicy, validatePolicy, type CompileOptions, type PolicyValidation } from './policy/compile';
export { loadPolicyFile, openPolicy, type OpenPolicyOptions } from './policy/load';
export type {
  PolicySource,
  PolicyWarning,
  CompiledPolicy,
  CompiledTenant,
  Decision,
  DecisionCode,
  DuoCredentials,
  PolicyIssue,
  PolicyUser,
} from './policy/types';
