// Pure MFA decisions: is Duo required for this user now, and why. No I/O, O(number of the user's roles).

import { canonicalName } from '../util/names';
import type { CompiledPolicy, CompiledTenant, Decision, DecisionCode, PolicyUser } from './types';

/**
 * Decides whether `user` must pass Duo, following the policy file's rules in this order:
 *
 * 1. tenant = `user.tenant ?? policy.defaultTenant` (matched exactly); not in the file → required,
 *    `unknown_tenant` (the middleware refuses the sign-in: never "not required", SECURITY.md S7);
 * 2. `mfa.enabled: false` → not required (`mfa_disabled`);
 * 3. username in `staffExcluded` → not required (`staff_excluded`; wins over every inclusion);
 * 4. an unexpired `temporaryBypass` (now < until) → not required (`temporary_bypass`). Excluded users are also
 *    exempt, so the order of 3 and 4 only changes the reason reported;
 * 5. `rolesIncluded` and `staffIncluded` both empty → required (`all_staff`);
 * 6. a role in `rolesIncluded` → required (`role_included`);
 * 7. username in `staffIncluded` → required (`staff_included`);
 * 8. otherwise → not required (`not_included`).
 *
 * When Duo is required and the tenant's `mfa.enforceFrom` is still ahead, the decision carries
 * `gracePeriodUntil` (epoch ms): the user is in the grace period and may defer.
 *
 * Usernames and roles compare trimmed and lower-cased. `trustedEndpoints.active` says whether the user is in
 * scope of the tenant's trusted-endpoints activation (whatever `required` is; the middleware applies it only
 * when Duo runs).
 *
 * @example
 * ```ts
 * const decision = decide(policy, { username: 'alice', tenant: 'acme', roles: ['admin'] }, Date.now());
 * if (decision.reason.code === 'unknown_tenant') refuse();
 * else if (decision.required) startDuo();
 * ```
 */
export function decide(policy: CompiledPolicy, user: PolicyUser, now: number): Decision {
  const tenantId = user.tenant ?? policy.defaultTenant;
  return decideTenant(tenantId, tenantId === undefined ? undefined : policy.tenants.get(tenantId), user, now);
}

/**
 * decide() for a tenant already looked up: `tenantId` is the user's tenant after defaultTenant, `tenant` its
 * compiled form (undefined when the policy has no such tenant: `unknown_tenant`). Policy sources that compile
 * tenants one at a time (directory, Redis) call this once the tenant is loaded.
 *
 * @example
 * ```ts
 * const id = user.tenant ?? source.defaultTenant();
 * const decision = decideTenant(id, compiledTenant, user, Date.now());
 * ```
 */
export function decideTenant(
  tenantId: string | undefined,
  tenant: CompiledTenant | undefined,
  user: PolicyUser,
  now: number,
): Decision {
  if (tenantId === undefined || tenant === undefined) {
    const detail =
      tenantId === undefined
        ? 'the user has no tenant and the policy has no defaultTenant'
        : `tenant ${JSON.stringify(tenantId)} is not in the policy`;
    return result(true, 'unknown_tenant', detail, undefined, { policy: 'off', active: false });
  }

  const username = canonicalName(typeof user.username === 'string' ? user.username : '');
  const roles = canonicalRoles(user.roles);
  const trustedEndpoints = {
    policy: tenant.trustedEndpoints.policy,
    active: inTrustedScope(tenant, username, roles),
  };
  const { mfa } = tenant;
  // Before mfa.enforceFrom, a user the policy asks is in the grace period (the middleware lets them defer).
  const grace = mfa.enforceFrom !== undefined && now < mfa.enforceFrom ? mfa.enforceFrom : undefined;
  const decided = (required: boolean, code: DecisionCode, detail: string): Decision =>
    result(required, code, detail, tenant.id, trustedEndpoints, required ? grace : undefined);
  const who = () => JSON.stringify(username); // only for the branch taken: decide() runs on every request

  if (!mfa.enabled)
    return decided(false, 'mfa_disabled', `MFA is turned off for tenant ${JSON.stringify(tenant.id)}`);
  if (mfa.staffExcluded.has(username))
    return decided(false, 'staff_excluded', `${who()} is in staffExcluded`);
  const bypass = mfa.temporaryBypass.get(username);
  if (bypass !== undefined && now < bypass.until) {
    const until = new Date(bypass.until).toISOString();
    return decided(
      false,
      'temporary_bypass',
      `${who()} has a temporary bypass until ${until} (${bypass.reason})`,
    );
  }
  if (mfa.rolesIncluded.size === 0 && mfa.staffIncluded.size === 0) {
    const detail = `tenant ${JSON.stringify(tenant.id)} asks everyone (rolesIncluded and staffIncluded are both empty)`;
    return decided(true, 'all_staff', detail);
  }
  const role = roles.find((candidate) => mfa.rolesIncluded.has(candidate));
  if (role !== undefined)
    return decided(true, 'role_included', `role ${JSON.stringify(role)} is in rolesIncluded`);
  if (mfa.staffIncluded.has(username)) return decided(true, 'staff_included', `${who()} is in staffIncluded`);
  const roleText =
    roles.length === 0 ? 'has no roles' : `none of their roles (${roles.join(', ')}) is in rolesIncluded`;
  return decided(false, 'not_included', `${who()} is not in staffIncluded and ${roleText}`);
}

/**
 * The one-line answer `duo-mfa explain` prints.
 *
 * @example
 * ```ts
 * explainDecision(decision); // 'required: yes — role "admin" is in rolesIncluded'
 * // in a grace period: 'required: yes — … (grace period until 2026-12-01T08:00:00.000Z: …)'
 * ```
 */
export function explainDecision(decision: Decision): string {
  const answer = decision.required ? 'yes' : 'no';
  const refused = decision.reason.code === 'unknown_tenant' ? ' (sign-in is refused)' : '';
  const grace =
    decision.gracePeriodUntil === undefined
      ? ''
      : ` (grace period until ${new Date(decision.gracePeriodUntil).toISOString()}: the user may choose "Remind me later" until then)`;
  return `required: ${answer} — ${decision.reason.detail}${refused}${grace}`;
}

function inTrustedScope(tenant: CompiledTenant, username: string, roles: readonly string[]): boolean {
  const { activation, testGroup } = tenant.trustedEndpoints;
  if (activation === 'all') return true;
  if (activation === 'disabled') return false;
  return testGroup.staff.has(username) || roles.some((role) => testGroup.roles.has(role));
}

/** Roles as the host app gave them, canonical; anything that is not a string is ignored. */
function canonicalRoles(roles: PolicyUser['roles']): string[] {
  if (!Array.isArray(roles)) return [];
  const out: string[] = [];
  for (const role of roles as readonly unknown[]) if (typeof role === 'string') out.push(canonicalName(role));
  return out;
}

function result(
  required: boolean,
  code: DecisionCode,
  detail: string,
  tenant: string | undefined,
  trustedEndpoints: Decision['trustedEndpoints'],
  gracePeriodUntil?: number,
): Decision {
  const decision: Decision = {
    required,
    reason: Object.freeze({ code, detail }),
    tenant,
    trustedEndpoints: Object.freeze(trustedEndpoints),
  };
  // Only when set: decisions without a grace period keep exactly their first-wave shape.
  if (gracePeriodUntil !== undefined)
    (decision as { gracePeriodUntil?: number }).gracePeriodUntil = gracePeriodUntil;
  return Object.freeze(decision);
}
