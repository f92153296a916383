// The policies and users the benchmarks run with: a realistic tenant for the HTTP runs, and big generated files.

import { BENCH_APP } from './common';

/** The tenant of the HTTP benchmarks. */
export const TENANT = 'acme';

/** A signed-in user whose policy asks for Duo (role "admin" is in rolesIncluded). */
export function requiredUser(name: string): { username: string; tenant: string; roles: string } {
  return { username: name, tenant: TENANT, roles: 'admin' };
}

/** A signed-in user whose policy does not ask for Duo (role "staff" is not included, nor the username). */
export function exemptUser(name: string): { username: string; tenant: string; roles: string } {
  return { username: name, tenant: TENANT, roles: 'staff' };
}

/**
 * The policy of the HTTP benchmarks: one tenant as a real customer would write it (two roles, a thousand
 * staff in the lists), a second tenant, and `challengeLimit` at its maximum so a run of logins never hits the
 * push-fatigue limit (each login also uses a fresh username).
 */
export function httpPolicy(apiHost: string): Record<string, unknown> {
  const staff = (prefix: string, count: number) =>
    Array.from({ length: count }, (_, index) => `${prefix}${index}@acme.example`);
  const duo = { ...BENCH_APP, apiHost };
  return {
    defaultTenant: TENANT,
    tenants: {
      [TENANT]: {
        mfa: {
          enabled: true,
          rolesIncluded: ['admin', 'finance'],
          staffIncluded: staff('included', 900),
          staffExcluded: staff('excluded', 100),
          temporaryBypass: [{ username: 'frank', until: '2999-01-01T00:00:00Z', reason: 'new phone' }],
        },
        duo,
        failmode: 'closed',
        challengeLimit: 100,
      },
      globex: { mfa: { enabled: false }, duo },
    },
  };
}

/** The shape of the generated policy files of the policy-sources benchmark. */
export const SCALE_STAFF = { included: 900, excluded: 100 } as const;

/** A username of the generated policies: e-mail-like, about 25 characters, as real directories have. */
export function scaleUsername(tenant: number, index: number): string {
  return `user${index}.t${tenant}@example.com`;
}

/** The id of the generated tenant number `t`. */
export function scaleTenantId(t: number): string {
  return `tenant-${t}`;
}

/**
 * Generated tenant number `t`: 1,000 staff (900 included, 100 excluded), two roles, one bypass. `revision` changes
 * one setting (challengeLimit), for the benchmarks that change one tenant.
 */
export function scaleTenant(
  t: number,
  apiHost = 'api-12345678.duosecurity.com',
  revision = 0,
): Record<string, unknown> {
  const names = Array.from({ length: SCALE_STAFF.included + SCALE_STAFF.excluded }, (_, i) =>
    scaleUsername(t, i),
  );
  return {
    mfa: {
      enabled: true,
      rolesIncluded: ['admin', 'finance'],
      staffIncluded: names.slice(0, SCALE_STAFF.included),
      staffExcluded: names.slice(SCALE_STAFF.included),
      temporaryBypass: [
        { username: scaleUsername(t, 1), until: '2999-01-01T00:00:00Z', reason: 'new phone' },
      ],
    },
    duo: { clientId: `DI${String(t).padStart(18, '0')}`, clientSecret: 's'.repeat(40), apiHost },
    challengeLimit: 10 + revision,
  };
}

/**
 * The JSON text of a policy with `tenants` tenants (scaleTenant), one line. Built tenant by tenant, as one
 * string, to stay within memory at 10,000 tenants. `changed` gives one tenant another revision.
 */
export function scalePolicyText(
  tenants: number,
  apiHost = 'api-12345678.duosecurity.com',
  changed?: { readonly tenant: number; readonly revision: number },
): string {
  const parts: string[] = [];
  for (let t = 0; t < tenants; t++) {
    const revision = changed?.tenant === t ? changed.revision : 0;
    parts.push(`${JSON.stringify(scaleTenantId(t))}:${JSON.stringify(scaleTenant(t, apiHost, revision))}`);
  }
  return `{"defaultTenant":"${scaleTenantId(0)}","tenants":{${parts.join(',')}}}`;
}
