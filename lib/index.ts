// Public entry point of express-duo-mfa: what an app developer uses. Policy tools live at express-duo-mfa/policy,
// the offline Duo at express-duo-mfa/emulator.

export {
  duoMfa,
  requireRecentMfa,
  type DuoMfaMiddleware,
  type RequireRecentOptions,
} from './middleware/index';
export type { TenantSettings } from './middleware/tenant-settings';
export type { DuoMfaOptions, MfaUser, MfaLogger } from './middleware/options';
export { redisPolicy, type RedisPolicy, type RedisPolicyOptions } from './policy/redis';
export { safeReturnPath } from './middleware/return-path';
export type { AuditEvent, AuditEventType } from './middleware/events';
export type { DuoMfaRequestState } from './middleware/state';
export type { DuoMfaSessionData, Verification, PendingRef } from './middleware/session';
export { DuoMfaError, isDuoMfaError, ERROR_CODES, type DuoMfaErrorCode } from './errors';
export type { AccessDevice, DuoAuthResult, TrustStatus } from './duo/result';
export type { BypassCodes, Reactivation, StaffPhone, StaffStatus, DuoUserStatus } from './duo/admin';
export type { BypassCodeOptions, StaffActionOptions } from './middleware/staff';
export type { SettingsRouterOptions } from './settings/router';
export type {
  CandidateDuo,
  ConnectionTest,
  SettingsDocument,
  UpdateSettingsOptions,
} from './settings/service';
export type { DeviceSummary } from './devices/insight';
export { managerName } from './devices/managers';
export type { RedisLike, DeviceRecord } from './stores/types';
export type { Decision, DecisionCode, PolicyUser } from './policy/types';

// Deprecated in 0.2.0, removed in 0.3.0: kept so code written against 0.1.0 keeps working for one minor version.
export {
  /** @deprecated Import from `express-duo-mfa/policy`. */
  decide,
  /** @deprecated Import from `express-duo-mfa/policy`. */
  explainDecision,
} from './policy/decide';
export {
  /** @deprecated Import from `express-duo-mfa/policy`. */
  compilePolicy,
  /** @deprecated Import from `express-duo-mfa/policy`. */
  validatePolicy,
  type CompileOptions,
  type PolicyValidation,
} from './policy/compile';
export {
  /** @deprecated Import from `express-duo-mfa/policy`. */
  loadPolicyFile,
  /** @deprecated Import from `express-duo-mfa/policy`. */
  openPolicy,
  type OpenPolicyOptions,
} from './policy/load';
export {
  /** @deprecated Internal: the middleware applies the trusted-endpoints policy itself. */
  judgeDevice,
  type DeviceJudgement,
} from './devices/trust';
export {
  /** @deprecated Use `mfa.deviceInsight(tenant)`. */
  summarizeDevices,
} from './devices/insight';
export {
  /** @deprecated Use `mfa.deviceInsight(tenant)`, or `duo-mfa devices` from the command line. */
  readDeviceInsight,
  type ReadDeviceInsightOptions,
} from './devices/read';
export type {
  PolicySource,
  PolicyWarning,
  CompiledPolicy,
  CompiledTenant,
  DuoCredentials,
  PolicyIssue,
} from './policy/types';
