// A per-tenant summary of a valid policy, for `duo-mfa check`: who is asked, exemptions, fail mode, devices.

import { canonicalName } from '../util/names';
import type { PolicyFile } from '../policy/schema';
import type { Failmode, TrustedEndpointsActivation, TrustedEndpointsPolicy } from '../policy/types';

export interface TenantSummary {
  readonly tenant: string;
  readonly isDefault: boolean;
  readonly mfaEnabled: boolean;
  /** "everyone", "no one", or "roles: admin, finance; staff: dana". */
  readonly asked: string;
  readonly rolesIncluded: readonly string[];
  readonly staffIncluded: readonly string[];
  readonly excluded: number;
  readonly bypasses: readonly { username: string; until: string; reason: string; active: boolean }[];
  readonly failmode: Failmode;
  readonly challengeLimit: number;
  readonly trustedEndpoints: { policy: TrustedEndpointsPolicy; activation: TrustedEndpointsActivation };
  readonly secret: 'inline' | 'env' | 'encrypted';
  /** `mfa.enforceFrom` as written, when set: the end of the grace period. */
  readonly enforceFrom?: string;
  /** True when the tenant has a Duo Admin API application (`duo.adminApi`). */
  readonly adminApi: boolean;
}

/** Names shown per list in the text table before "+N more". */
const SHOWN = 5;

/**
 * Summarises every tenant of a validated policy file at time `now`.
 *
 * @example
 * ```ts
 * summarizeTenants(result.file, Date.now())[0]?.asked; // 'roles: admin, finance; staff: dana'
 * ```
 */
export function summarizeTenants(file: PolicyFile, now: number): TenantSummary[] {
  return Object.entries(file.tenants).map(([id, tenant]) => {
    const { mfa, trustedEndpoints: te } = tenant;
    const roles = unique(mfa.rolesIncluded);
    const staff = unique(mfa.staffIncluded);
    return {
      tenant: id,
      isDefault: file.defaultTenant === id,
      mfaEnabled: mfa.enabled,
      asked: asked(mfa.enabled, roles, staff),
      rolesIncluded: roles,
      staffIncluded: staff,
      excluded: unique(mfa.staffExcluded).length,
      bypasses: mfa.temporaryBypass.map((bypass) => ({
        username: canonicalName(bypass.username),
        until: bypass.until,
        reason: bypass.reason,
        active: now < Date.parse(bypass.until),
      })),
      failmode: tenant.failmode,
      challengeLimit: tenant.challengeLimit,
      trustedEndpoints: { policy: te.policy, activation: te.activation },
      secret:
        typeof tenant.duo.clientSecret === 'string'
          ? 'inline'
          : 'env' in tenant.duo.clientSecret
            ? 'env'
            : 'encrypted',
      ...(mfa.enforceFrom === undefined ? {} : { enforceFrom: mfa.enforceFrom }),
      adminApi: tenant.duo.adminApi !== undefined,
    };
  });
}

/**
 * The cells of one row of check's table, in SUMMARY_HEADER's order.
 *
 * @example
 * ```ts
 * table(SUMMARY_HEADER, summarizeTenants(file, Date.now()).map(summaryRow));
 * ```
 */
export function summaryRow(summary: TenantSummary): string[] {
  const active = summary.bypasses.filter((bypass) => bypass.active).length;
  const expired = summary.bypasses.length - active;
  return [
    summary.isDefault ? `${summary.tenant} (default)` : summary.tenant,
    summary.mfaEnabled ? 'on' : 'off',
    summary.asked,
    String(summary.excluded),
    expired > 0 ? `${active} (+${expired} expired)` : String(active),
    summary.failmode,
    `${summary.trustedEndpoints.policy} / ${summary.trustedEndpoints.activation}`,
  ];
}

export const SUMMARY_HEADER = [
  'TENANT',
  'MFA',
  'WHO IS ASKED',
  'EXCLUDED',
  'BYPASSES',
  'FAILMODE',
  'TRUSTED ENDPOINTS',
];

function asked(enabled: boolean, roles: readonly string[], staff: readonly string[]): string {
  if (!enabled) return 'no one';
  if (roles.length === 0 && staff.length === 0) return 'everyone';
  const parts: string[] = [];
  if (roles.length > 0) parts.push(`roles: ${shortList(roles)}`);
  if (staff.length > 0) parts.push(`staff: ${shortList(staff)}`);
  return parts.join('; ');
}

function shortList(names: readonly string[]): string {
  if (names.length <= SHOWN) return names.join(', ');
  return `${names.slice(0, SHOWN).join(', ')} (+${names.length - SHOWN} more)`;
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names.map(canonicalName))];
}
