// express-duo-mfa/policy: the policy tools on their own — compile, validate, open, decide, explain, secrets.

/** Validates a parsed policy file and compiles it whole (throws ERR_POLICY_INVALID listing every problem). */
export { compilePolicy } from './compile';
/** Validates without throwing: the compiled policy and validated file, or every problem with its JSON path. */
export { validatePolicy } from './compile';
/** Validates and compiles one tenant on its own (what a directory file or a Redis value holds). */
export { validateTenant } from './compile';
/** Reads, validates and compiles a policy file whole (first-wave loader). */
export { loadPolicyFile } from './load';
/** Opens a policy file (watched) or object as one whole compiled policy (first-wave API; see openTenantSource). */
export { openPolicy } from './load';
/** Opens a policy file, directory, object or redisPolicy() tenant by tenant: what the middleware reads. */
export { openTenantSource } from './open';
/** The policy kept in Redis, one key per tenant, for openTenantSource() (and duoMfa's `policy` option). */
export { redisPolicy } from './redis';
/** True for what redisPolicy() returns. */
export { isRedisPolicy } from './redis';
/** The keys a Redis policy uses under its prefix (all under one hash tag). */
export { redisPolicyKeys } from './redis';
/** A TenantSource over a whole-policy source of openPolicy(). */
export { tenantSourceOf } from './source';
/** Is Duo required for this user, and why (a whole compiled policy). */
export { decide } from './decide';
/** decide() for a tenant already looked up in a TenantSource. */
export { decideTenant } from './decide';
/** The one-line answer `duo-mfa explain` prints for a decision. */
export { explainDecision } from './decide';
/** Warnings about a valid policy that probably does not do what was meant (`duo-mfa check`). */
export { policyWarnings } from './warnings';
/** The opaque version of a tenant's stored definition (what the settings API compares). */
export { tenantVersion } from './version';
/** Parses the secretsKey option: one or more 32-byte keys in base64, the encrypting one first. */
export { parseSecretsKey } from './secrets';
/** A new random secretsKey in base64 (development set-ups). */
export { generateSecretsKey } from './secrets';
/** Encrypts a secret for one tenant and field: `{ "encrypted": encryptSecret(…) }`. */
export { encryptSecret } from './secrets';
/** Opens an encrypted secret (throws when it cannot). */
export { decryptSecret } from './secrets';
/** The parsed secretsKey: its bytes never appear in JSON or inspect(). */
export { SecretsKey } from './secrets';
/** The policy file's JSON Schema (draft-07), generated from the zod schema. */
export { policyJsonSchema } from './json-schema';

export type { CompileOptions, PolicyValidation, TenantValidation, TenantValidationOptions } from './compile';
export type { OpenPolicyOptions } from './load';
export type { PolicyChange, PolicyInput, PolicyWarningCode, TenantChange, TenantSourceOptions } from './open';
export type { StoredTenant, TenantEntry, TenantSource, WriteTenantOptions } from './source';
export type {
  PolicyRedis,
  PolicyRedisSubscriber,
  RedisPolicy,
  RedisPolicyKeys,
  RedisPolicyOptions,
} from './redis';
export type { SecretContext } from './secrets';
export type { PolicyFile, PolicyFileInput, PolicyFileTenant, PolicyFileTenantInput } from './schema';
export type {
  AdminApiCredentials,
  CompiledBypass,
  CompiledPolicy,
  CompiledTenant,
  Decision,
  DecisionCode,
  DuoCredentials,
  Failmode,
  PolicyIssue,
  PolicySource,
  PolicyUser,
  PolicyWarning,
  TrustedEndpointsActivation,
  TrustedEndpointsPolicy,
} from './types';
