// Pure MFA decisions: is Duo required for this user now, and why. No I/O, O(number of the user's roles).

import { canonicalName, quoted } from '../util/names';
import type {
  CompiledPolicy,
  CompiledTenant,
  Decision,
  DecisionCode,
  PolicyUser,
  TrustedEndpointsPolicy,
} from './types';

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
        : `tenant ${quoted(tenantId)} is not in the policy`;
    return result(true, 'unknown_tenant', detail, undefined, UNKNOWN_TENANT_SCOPE);
  }

  // Runs on every request: no array or closure is built unless a detail needs it, and the trustedEndpoints value
  // is a shared one (scopeOf).
  const username = canonicalName(typeof user.username === 'string' ? user.username : '');
  const trustedEndpoints = scopeOf(
    tenant.trustedEndpoints.policy,
    inTrustedScope(tenant, username, user.roles),
  );
  const { mfa } = tenant;
  // Before mfa.enforceFrom, a user the policy asks is in the grace period (the middleware lets them defer).
  const grace = mfa.enforceFrom !== undefined && now < mfa.enforceFrom ? mfa.enforceFrom : undefined;

  if (!mfa.enabled) {
    const detail = `MFA is turned off for tenant ${quoted(tenant.id)}`;
    return result(false, 'mfa_disabled', detail, tenant.id, trustedEndpoints);
  }
  if (mfa.staffExcluded.has(username)) {
    const detail = `${quoted(username)} is in staffExcluded`;
    return result(false, 'staff_excluded', detail, tenant.id, trustedEndpoints);
  }
  const bypass = mfa.temporaryBypass.get(username);
  if (bypass !== undefined && now < bypass.until) {
    const until = new Date(bypass.until).toISOString();
    const detail = `${quoted(username)} has a temporary bypass until ${until} (${bypass.reason})`;
    return result(false, 'temporary_bypass', detail, tenant.id, trustedEndpoints);
  }
  if (mfa.rolesIncluded.size === 0 && mfa.staffIncluded.size === 0) {
    const detail = `tenant ${quoted(tenant.id)} asks everyone (rolesIncluded and staffIncluded are both empty)`;
    return result(true, 'all_staff', detail, tenant.id, trustedEndpoints, grace);
  }
  const role = mfa.rolesIncluded.size === 0 ? undefined : firstRoleIn(user.roles, mfa.rolesIncluded);
  if (role !== undefined) {
    const detail = `role ${quoted(role)} is in rolesIncluded`;
    return result(true, 'role_included', detail, tenant.id, trustedEndpoints, grace);
  }
  if (mfa.staffIncluded.has(username)) {
    const detail = `${quoted(username)} is in staffIncluded`;
    return result(true, 'staff_included', detail, tenant.id, trustedEndpoints, grace);
  }
  const roles = canonicalRoles(user.roles);
  const roleText =
    roles.length === 0 ? 'has no roles' : `none of their roles (${roles.join(', ')}) is in rolesIncluded`;
  const detail = `${quoted(username)} is not in staffIncluded and ${roleText}`;
  return result(false, 'not_included', detail, tenant.id, trustedEndpoints);
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

type TrustedScope = Decision['trustedEndpoints'];

/**
 * Every trustedEndpoints value a decision can carry, frozen once and shared: decide() runs on every request and
 * allocates only the decision and its reason.
 */
const SCOPES: Readonly<
  Record<TrustedEndpointsPolicy, { readonly on: TrustedScope; readonly off: TrustedScope }>
> = { off: scopePair('off'), monitor: scopePair('monitor'), block: scopePair('block') };
const UNKNOWN_TENANT_SCOPE = SCOPES.off.off;

function scopePair(policy: TrustedEndpointsPolicy): {
  readonly on: TrustedScope;
  readonly off: TrustedScope;
} {
  return { on: Object.freeze({ policy, active: true }), off: Object.freeze({ policy, active: false }) };
}

/** The shared trustedEndpoints value; a policy outside the type (a tenant built by hand) gets its own object. */
function scopeOf(policy: TrustedEndpointsPolicy, active: boolean): TrustedScope {
  const pair = (SCOPES as Partial<typeof SCOPES>)[policy];
  return pair ? (active ? pair.on : pair.off) : Object.freeze({ policy, active });
}

function inTrustedScope(tenant: CompiledTenant, username: string, roles: PolicyUser['roles']): boolean {
  const { activation, testGroup } = tenant.trustedEndpoints;
  if (activation === 'all') return true;
  if (activation === 'disabled') return false;
  return testGroup.staff.has(username) || firstRoleIn(roles, testGroup.roles) !== undefined;
}

/** The first of the host's roles (canonical) that is in `wanted`; anything that is not a string is ignored. */
function firstRoleIn(roles: PolicyUser['roles'], wanted: ReadonlySet<string>): string | undefined {
  if (!Array.isArray(roles) || wanted.size === 0) return undefined;
  for (const role of roles as readonly unknown[]) {
    if (typeof role !== 'string') continue;
    const canonical = canonicalName(role);
    if (wanted.has(canonical)) return canonical;
  }
  return undefined;
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
  trustedEndpoints: TrustedScope,
  gracePeriodUntil?: number,
): Decision {
  const decision: Decision = { required, reason: Object.freeze({ code, detail }), tenant, trustedEndpoints };
  // Only when set: decisions without a grace period keep exactly their first-wave shape.
  if (gracePeriodUntil !== undefined)
    (decision as { gracePeriodUntil?: number }).gracePeriodUntil = gracePeriodUntil;
  return Object.freeze(decision);
}
