// Staff onboarding and recovery done from the app (S50): a staff member's Duo status, Duo Mobile reactivation
// after a phone change, and bypass codes — through the tenant's own Duo Admin API application, each audited.

import type { AdminApiCredentials, BypassCodes, Reactivation, StaffStatus } from '../duo/admin';
import { DuoMfaError } from '../errors';
import { canonicalName } from '../util/names';
import type { MfaInstance } from './instance';
import { duoUsernameOf } from './user';

/** Who asked, for the audit trail (the host's name for its admin, e.g. "alice@acme"). */
export interface StaffActionOptions {
  readonly actor: string;
  /**
   * The name Duo knows the person by, when your `toDuoUsername` needs more of the user than the username and
   * tenant the action is given (staff actions call it with `{ username, tenant }` only).
   */
  readonly duoUsername?: string;
}

/** Options of issueBypassCodes(). */
export interface BypassCodeOptions extends StaffActionOptions {
  /** How many codes (1–10). Default 1. */
  readonly count?: number;
  /** How long they work, in seconds. Default 3600. */
  readonly validSecs?: number;
}

/** The staff member as Duo knows them. `actor`, when given, is audited. */
export async function staffStatus(
  instance: MfaInstance,
  tenant: string,
  username: string,
  options: Partial<StaffActionOptions> = {},
): Promise<StaffStatus> {
  const { credentials, duoUsername, who } = await prepare(instance, tenant, username, options.duoUsername);
  const status = await instance.admin.staffStatus(credentials, duoUsername);
  instance.events.emit('staff.status', undefined, who, {
    ...(options.actor ? { actor: actorOf(options.actor) } : {}),
    found: status.found,
    ...(status.status ? { status: status.status } : {}),
  });
  return status;
}

/**
 * Duo Mobile reactivation for the staff member's phone (the "changed phones" reset): Duo texts the activation when
 * it can, else the link is returned for the admin to pass on — once; it is never logged.
 */
export async function reactivateStaff(
  instance: MfaInstance,
  tenant: string,
  username: string,
  options: StaffActionOptions,
): Promise<Reactivation> {
  const actor = actorOf(options?.actor);
  const { credentials, duoUsername, who } = await prepare(instance, tenant, username, options.duoUsername);
  const result = await instance.admin.reactivate(credentials, duoUsername);
  instance.events.emit('staff.reactivated', undefined, who, {
    actor,
    sentBySms: result.sentBySms,
    expiresAt: result.expiresAt,
  });
  return result;
}

/** Time-limited bypass codes for the staff member, returned once; they are never logged. */
export async function issueBypassCodes(
  instance: MfaInstance,
  tenant: string,
  username: string,
  options: BypassCodeOptions,
): Promise<BypassCodes> {
  const actor = actorOf(options?.actor);
  const { credentials, duoUsername, who } = await prepare(instance, tenant, username, options.duoUsername);
  const result = await instance.admin.issueBypassCodes(credentials, duoUsername, {
    ...(options.count === undefined ? {} : { count: options.count }),
    ...(options.validSecs === undefined ? {} : { validSecs: options.validSecs }),
  });
  instance.events.emit('staff.bypass_issued', undefined, who, {
    actor,
    count: result.codes.length,
    expiresAt: result.expiresAt,
  });
  return result;
}

/** The tenant's Admin API credentials and the name Duo knows the person by — the same one sign-in sends. */
async function prepare(
  instance: MfaInstance,
  tenantId: string,
  username: string,
  given: string | undefined,
): Promise<{
  credentials: AdminApiCredentials;
  duoUsername: string;
  who: { tenant: string; username: string };
}> {
  if (typeof tenantId !== 'string' || typeof username !== 'string' || canonicalName(username) === '') {
    throw new TypeError('express-duo-mfa: staff actions need a tenant id and a username (non-empty strings)');
  }
  const entry = instance.tenants.peek(tenantId) ?? (await instance.tenants.load(tenantId));
  if (entry.state === 'unavailable') throw entry.error;
  if (entry.state === 'missing') {
    throw new DuoMfaError(
      'ERR_DUO_UNKNOWN_TENANT',
      `tenant ${JSON.stringify(tenantId)} is not in the policy`,
    );
  }
  const credentials = entry.tenant.duo.adminApi;
  if (!credentials) {
    throw new DuoMfaError(
      'ERR_ADMIN_API_NOT_CONFIGURED',
      `tenant ${JSON.stringify(tenantId)} has no duo.adminApi application: add one to use staff recovery`,
      { details: { tenant: tenantId } },
    );
  }
  const canonical = canonicalName(username);
  const user = {
    raw: { username: canonical, tenant: tenantId },
    username: canonical,
    tenant: tenantId,
    roles: [],
  };
  // The same name sign-in sends Duo (toDuoUsername sees only the username and tenant here), or the one given.
  const duoUsername =
    given === undefined
      ? duoUsernameOf(instance.config, user)
      : duoUsernameOf({ ...instance.config, toDuoUsername: undefined }, { ...user, username: given });
  if (duoUsername === undefined) {
    throw new DuoMfaError('ERR_DUO_USERNAME_INVALID', 'this username cannot be sent to Duo');
  }
  return { credentials, duoUsername, who: { tenant: tenantId, username: canonical } };
}

/** The actor as audited: a short, printable string; an action without one is refused. */
function actorOf(actor: unknown): string {
  if (typeof actor !== 'string' || actor.trim() === '') {
    throw new TypeError(
      'express-duo-mfa: staff recovery actions need { actor }: who asked, for the audit trail (e.g. "alice@acme")',
    );
  }
  return actor.trim().slice(0, 200);
}
