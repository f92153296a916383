// The compiled, frozen form of the admin policy file: what the middleware and decide() read.

/** Duo application credentials for one tenant, with the secret already resolved from the environment. */
export interface DuoCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly apiHost: string;
}

/** A tenant's Duo Admin API application (staff status, re-activation, bypass codes), secret resolved. */
export interface AdminApiCredentials {
  readonly integrationKey: string;
  readonly secretKey: string;
  readonly apiHost: string;
}

export type Failmode = 'closed' | 'open';
export type TrustedEndpointsPolicy = 'off' | 'monitor' | 'block';
export type TrustedEndpointsActivation = 'disabled' | 'test-group' | 'all';

export interface CompiledBypass {
  /** Canonical (trimmed, lower-cased) username. */
  readonly username: string;
  /** Epoch milliseconds; the bypass holds while now < until. */
  readonly until: number;
  readonly reason: string;
}

/** One tenant, precompiled: every list is a Set of canonical (trimmed, lower-cased) names. */
export interface CompiledTenant {
  readonly id: string;
  /**
   * Opaque, per tenant: changes with every change to this tenant's stored definition (secrets included, hashed,
   * never in clear); formatting and key order aside. The settings API uses it for optimistic concurrency.
   */
  readonly version: string;
  readonly mfa: {
    readonly enabled: boolean;
    readonly rolesIncluded: ReadonlySet<string>;
    readonly staffIncluded: ReadonlySet<string>;
    readonly staffExcluded: ReadonlySet<string>;
    /** Keyed by canonical username; the latest `until` when a user is listed more than once. */
    readonly temporaryBypass: ReadonlyMap<string, CompiledBypass>;
    /** Epoch ms of `mfa.enforceFrom`: before it, users the policy asks are in a grace period. */
    readonly enforceFrom?: number;
  };
  readonly duo: DuoCredentials & {
    /** The Duo Admin API application, when configured (its secret kept out of JSON and inspect). */
    readonly adminApi?: AdminApiCredentials;
  };
  readonly failmode: Failmode;
  /** Duo challenges one user may start per 15 minutes. */
  readonly challengeLimit: number;
  readonly trustedEndpoints: {
    readonly policy: TrustedEndpointsPolicy;
    readonly activation: TrustedEndpointsActivation;
    readonly testGroup: { readonly roles: ReadonlySet<string>; readonly staff: ReadonlySet<string> };
  };
}

/** The whole policy file after validation, secret resolution and compilation. Deep-frozen. */
export interface CompiledPolicy {
  /** Exact tenant id used when a user carries no tenant. */
  readonly defaultTenant: string | undefined;
  /** Keyed by exact tenant id, as written in the file. */
  readonly tenants: ReadonlyMap<string, CompiledTenant>;
  /** Where it came from: the file path, or "<object>". */
  readonly source: string;
  /** A short content hash, to tell one version from the next in logs and events. */
  readonly version: string;
}

/** The user as the host app knows them, after its password check. */
export interface PolicyUser {
  readonly username: string;
  readonly tenant?: string | undefined;
  readonly roles?: readonly string[] | undefined;
}

export type DecisionCode =
  | 'mfa_disabled' // tenant toggle off: no one is asked
  | 'staff_excluded' // listed in staffExcluded: never asked
  | 'temporary_bypass' // an unexpired temporaryBypass entry
  | 'all_staff' // enabled with both inclusion lists empty: everyone is asked
  | 'role_included' // a role is in rolesIncluded
  | 'staff_included' // the username is in staffIncluded
  | 'not_included' // enabled with lists, and this user is in neither
  | 'unknown_tenant'; // tenant not in the file (and no defaultTenant): refused, never waved through

/** The outcome of decide(): pure data, no I/O. */
export interface Decision {
  readonly required: boolean;
  readonly reason: { readonly code: DecisionCode; readonly detail: string };
  /** The tenant id the decision was made for (after defaultTenant), or undefined when unknown. */
  readonly tenant: string | undefined;
  readonly trustedEndpoints: {
    readonly policy: TrustedEndpointsPolicy;
    /** True when this user is in scope of the tenant's activation (disabled → never). */
    readonly active: boolean;
  };
  /**
   * Epoch ms of the tenant's `mfa.enforceFrom`, present only when Duo is `required` and now is before it: the
   * user is in the grace period and may defer ("Remind me later").
   */
  readonly gracePeriodUntil?: number;
}

/** One problem found in a policy file: where (dotted JSON path) and what is wrong / allowed. */
export interface PolicyIssue {
  readonly path: string;
  readonly message: string;
  /**
   * The file holding the problem when the policy is a directory (e.g. `acme.json`, `_defaults.json`); `path` is
   * then relative to that file (`mfa.enabled`, `$` for the file as a whole). Absent for a single file, whose paths
   * start at its top (`tenants.acme.mfa.enabled`).
   */
  readonly file?: string;
}

/** Advice about a valid policy file (`duo-mfa check`): it loads, but probably does not do what was meant. */
export interface PolicyWarning {
  readonly path: string;
  readonly message: string;
  /** As PolicyIssue.file: the file of a policy directory the warning is about. */
  readonly file?: string;
}

/**
 * A live policy, as `openPolicy()` returns it: `current()` is always the last good compiled policy (a file that
 * turns invalid at runtime never replaces it).
 */
export interface PolicySource {
  /** The policy in force now. Cheap: one reference read; call it on every request. */
  current(): CompiledPolicy;
  /** Re-reads the file now (e.g. on SIGHUP). Resolves true when a new, different policy was applied. */
  reload(): Promise<boolean>;
  /** Stops watching: releases every watcher and timer. Idempotent. */
  close(): void;
}
