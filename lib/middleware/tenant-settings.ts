// mfa.tenantSettings(tenant): a compiled tenant's effective settings, without secrets, for a host's admin page.

import type { CompiledTenant } from '../policy/types';

/** A tenant's effective settings, as loaded from the policy — without secrets. */
export interface TenantSettings {
  readonly tenant: string;
  readonly mfa: {
    readonly enabled: boolean;
    readonly rolesIncluded: readonly string[];
    readonly staffIncluded: readonly string[];
    readonly staffExcluded: readonly string[];
    readonly temporaryBypass: ReadonlyArray<{
      readonly username: string;
      readonly until: string;
      readonly reason: string;
    }>;
    /** The end of the enrollment grace period (ISO), when one is set. */
    readonly enforceFrom?: string;
  };
  readonly failmode: 'closed' | 'open';
  readonly challengeLimit: number;
  readonly trustedEndpoints: {
    readonly policy: 'off' | 'monitor' | 'block';
    readonly activation: 'disabled' | 'test-group' | 'all';
    readonly testGroup: { readonly roles: readonly string[]; readonly staff: readonly string[] };
  };
  readonly duo: {
    readonly clientId: string;
    readonly apiHost: string;
    /** The tenant's Duo Admin API application, when configured (without its secret key). */
    readonly adminApi?: { readonly integrationKey: string; readonly apiHost: string };
  };
  /** The tenant's version (changes with every change to it). */
  readonly policyVersion: string;
}

/** The effective settings of a compiled tenant; its secrets never leave. */
export function settingsOf(tenant: CompiledTenant): TenantSettings {
  return {
    tenant: tenant.id,
    mfa: {
      enabled: tenant.mfa.enabled,
      rolesIncluded: [...tenant.mfa.rolesIncluded],
      staffIncluded: [...tenant.mfa.staffIncluded],
      staffExcluded: [...tenant.mfa.staffExcluded],
      temporaryBypass: [...tenant.mfa.temporaryBypass.values()].map((b) => ({
        username: b.username,
        until: new Date(b.until).toISOString(),
        reason: b.reason,
      })),
      ...(tenant.mfa.enforceFrom === undefined
        ? {}
        : { enforceFrom: new Date(tenant.mfa.enforceFrom).toISOString() }),
    },
    failmode: tenant.failmode,
    challengeLimit: tenant.challengeLimit,
    trustedEndpoints: {
      policy: tenant.trustedEndpoints.policy,
      activation: tenant.trustedEndpoints.activation,
      testGroup: {
        roles: [...tenant.trustedEndpoints.testGroup.roles],
        staff: [...tenant.trustedEndpoints.testGroup.staff],
      },
    },
    duo: {
      clientId: tenant.duo.clientId,
      apiHost: tenant.duo.apiHost,
      ...(tenant.duo.adminApi
        ? {
            adminApi: {
              integrationKey: tenant.duo.adminApi.integrationKey,
              apiHost: tenant.duo.adminApi.apiHost,
            },
          }
        : {}),
    },
    policyVersion: tenant.version,
  };
}
