// The enrollment grace period (mfa.enforceFrom): before the date, a person the policy asks is offered Duo on a
// page with "Set up Duo now" and "Remind me later"; later lets this session through until the date.

import type { Request } from 'express';
import type { Assessed } from './assess';
import type { MfaInstance } from './instance';
import { mfaData, type SessionLike } from './session';

/** How a session remembers "Remind me later": for this user and tenant, until the grace period ends. */
export interface Deferral {
  readonly username: string;
  readonly tenant: string;
  /** Epoch ms: the tenant's enforceFrom when the person chose later. */
  readonly until: number;
}

/** True when this session chose "Remind me later" for this user and tenant, and the grace period still runs. */
export function isDeferred(instance: MfaInstance, session: SessionLike, assessed: Assessed): boolean {
  const deferred = mfaData(session).deferred;
  const until = assessed.decision.gracePeriodUntil;
  return (
    deferred !== undefined &&
    until !== undefined &&
    deferred.username === assessed.user.username &&
    deferred.tenant === assessed.tenant.id &&
    instance.config.now() < Math.min(deferred.until, until)
  );
}

/** Remembers "Remind me later" in the session (saved with the response) and reports `mfa.deferred`. */
export function defer(instance: MfaInstance, req: Request, session: SessionLike, assessed: Assessed): void {
  const until = assessed.decision.gracePeriodUntil!;
  const deferred: Deferral = { username: assessed.user.username, tenant: assessed.tenant.id, until };
  session.duoMfa = { ...mfaData(session), deferred };
  instance.events.emit(
    'mfa.deferred',
    req,
    { tenant: assessed.tenant.id, username: assessed.user.username },
    { reason: 'grace_period', until: new Date(until).toISOString() },
  );
}
