// The one preamble of every gated request, step-up and start: signed-in user → tenant → decision →
// verification. Synchronous while the tenant is cached, so requests that pass create no promise.

import type { Request } from 'express';
import { DuoMfaError } from '../errors';
import { decideTenant } from '../policy/decide';
import type { TenantEntry } from '../policy/source';
import type { CompiledTenant, Decision } from '../policy/types';
import type { MfaInstance } from './instance';
import type { Report } from './respond';
import { hasInvisibleCharacters } from '../util/names';
import { forgetMfa, mfaData, type SessionLike, type Verification } from './session';
import { resolveUser, type ResolvedUser } from './user';

/** A signed-in user whose tenant is in force, with the decision for them now and their current verification. */
export interface Assessed {
  readonly user: ResolvedUser;
  readonly tenant: CompiledTenant;
  readonly decision: Decision;
  /** The session's verification when it is for this user and tenant and still young enough. */
  readonly verification: Verification | undefined;
}

/** A signed-in user who must be refused before anything else: unknown tenant, tenant that cannot be loaded. */
export class Refusal {
  constructor(
    readonly error: DuoMfaError,
    readonly report: Report,
  ) {}
}

/** undefined: nobody is signed in (the host's business). */
export type Assessment = Assessed | Refusal | undefined;

/**
 * Assesses the request: who is signed in (getUser, checked: a malformed user throws a TypeError, which callers
 * hand to the host as the cause of an ERR_INTERNAL, as anything getUser throws; a session without a user forgets
 * any verification it held), their tenant (loaded on first use), what the policy decides now (never cached, S6)
 * and whether the session already holds a verification for them. Returns a promise only when the tenant has to be
 * loaded first.
 */
export function assess(
  instance: MfaInstance,
  req: Request,
  session: SessionLike,
): Assessment | Promise<Assessment> {
  if (!instance.isReady) return instance.ready.then(() => assess(instance, req, session));
  const user = resolveUser(instance.config, req);
  if (user === undefined) {
    // S45: a verification belongs to a signed-in session. A host that "logs out" by deleting its user (instead of
    // destroying the session) must not leave it for the next password login on this browser.
    forgetMfa(session);
    return undefined;
  }
  if (hasInvisibleCharacters(user.raw.username)) {
    // S46: invisible format characters would make "alice\u200b" a second Duo user beside "alice": refused, never
    // sent to Duo, never failing open.
    const error = new DuoMfaError(
      'ERR_DUO_USERNAME_INVALID',
      'the username holds invisible format characters',
    );
    return new Refusal(error, {
      type: 'mfa.failed',
      who: { tenant: user.tenant },
      reason: 'invalid_username',
    });
  }
  const tenantId = user.tenant ?? instance.tenants.defaultTenant();
  if (tenantId === undefined) {
    // Nobody knows yet whether the policy has a defaultTenant (its store has not answered since start): 503 until
    // it does, as for a tenant that cannot be loaded — not the 403 of a user the policy does not cover.
    const entry = instance.tenants.listed?.() === false ? notListed() : MISSING;
    return judge(instance, session, user, undefined, entry);
  }
  const entry = instance.tenants.peek(tenantId);
  if (entry !== undefined) return judge(instance, session, user, tenantId, entry);
  return instance.tenants.load(tenantId).then((loaded) => judge(instance, session, user, tenantId, loaded));
}

const MISSING: TenantEntry = Object.freeze({ state: 'missing' });
/** Each time anew: the error is given this instance's page links (withLinks), and instances share this module. */
function notListed(): TenantEntry {
  return {
    state: 'unavailable',
    error: new DuoMfaError(
      'ERR_POLICY_UNAVAILABLE',
      'the policy has not been read since start (its store does not answer): the default tenant is not known yet',
    ),
  };
}

function judge(
  instance: MfaInstance,
  session: SessionLike,
  user: ResolvedUser,
  tenantId: string | undefined,
  entry: TenantEntry,
): Assessment {
  const who = { tenant: tenantId, username: user.username };
  if (entry.state === 'unavailable') {
    // S49: a tenant whose definition cannot be loaded is refused, never waved through; others are unaffected.
    return new Refusal(entry.error, { type: 'mfa.failed', who, reason: 'policy_unavailable' });
  }
  const tenant = entry.state === 'ready' ? entry.tenant : undefined;
  const decision = decideTenant(tenantId, tenant, user, instance.config.now());
  if (tenant === undefined || decision.tenant === undefined) {
    // S7: a tenant the policy does not know is refused (403), never "not required".
    const error = new DuoMfaError('ERR_DUO_UNKNOWN_TENANT', 'the user’s tenant is not in the policy');
    return new Refusal(error, { type: 'mfa.denied', who, reason: 'unknown_tenant' });
  }
  const verification = currentVerification(instance, session, user, tenant);
  // S43: once the tenant blocks untrusted devices for this user, a verification from a device Duo did not call
  // trusted (or from before device trust applied, or a fail-open pass) no longer counts: through Duo again.
  const blocked =
    decision.trustedEndpoints.policy === 'block' &&
    decision.trustedEndpoints.active &&
    verification?.device?.trusted !== 'trusted';
  return { user, tenant, decision, verification: blocked ? undefined : verification };
}

/** The session's verification when it is for this user and tenant and still young enough (S3, S5, S9). */
function currentVerification(
  instance: MfaInstance,
  session: SessionLike,
  user: ResolvedUser,
  tenant: CompiledTenant,
): Verification | undefined {
  const verified = mfaData(session).verified;
  if (!verified || verified.username !== user.username || verified.tenant !== tenant.id) return undefined;
  // A fail-open pass ends as soon as the tenant no longer fails open.
  if (verified.via === 'failopen' && tenant.failmode !== 'open') return undefined;
  const age = instance.config.now() - verified.at;
  const maxAge = verified.via === 'failopen' ? instance.config.failOpenMaxAgeMs : instance.config.maxAgeMs;
  return age >= 0 && age <= maxAge ? verified : undefined;
}
