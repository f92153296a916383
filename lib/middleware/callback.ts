// Duo's redirect back: bind it to this browser's pending login, take that login once, exchange the code with the
// tenant's own client, check the result and device, rotate the session and land on the saved path.

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { judgeDevice } from '../devices/trust';
import type { DuoAuthResult } from '../duo/result';
import { DuoMfaError } from '../errors';
import { decideTenant } from '../policy/decide';
import { BOUNCE_PARAM, bounceUrl, findPending, parseQuery } from './callback-query';
import { deviceSummary, recordDevice } from './device';
import { hasLiveFactor } from './factor';
import { errorSummary } from './events';
import type { MfaInstance } from './instance';
import { duoReportedError, exchangeFailed } from './callback-outcome';
import { sendBounce } from './pages';
import { fail, failUnexpected, methodNotAllowed, requireSession, sendRedirect, type Who } from './respond';
import {
  mfaData,
  ownerKey,
  PENDING_TTL_MS,
  rotateSession,
  SessionChangedError,
  sessionOf,
  stateId,
  type SessionLike,
  type Verification,
} from './session';
import { isSameUser, resolveUser, tryResolveUser } from './user';

/**
 * `GET callbackPath`: Duo's redirect back. Every failure goes through fail() with a DuoMfaError code and leaves the
 * user unverified; success rotates the session id (S2), stores the verification and lands on the saved path.
 */
export function callbackRoute(instance: MfaInstance): RequestHandler {
  const wrongMethod = methodNotAllowed(instance, 'GET');
  return function duoMfaCallback(req: Request, res: Response, next: NextFunction): void {
    if (req.method !== 'GET') {
      wrongMethod(req, res, next);
      return;
    }
    handleCallback(instance, req, res, next).catch(next);
  };
}

async function handleCallback(
  instance: MfaInstance,
  req: Request,
  res: Response,
  next: NextFunction,
): Promise<void> {
  const refuse = (who: Who, reason: string, error: DuoMfaError) =>
    fail(instance, req, res, next, error, { type: 'mfa.failed', who, reason });

  // S10: malformed input is refused before any store or Duo call.
  const query = parseQuery(req.query);
  if (!query)
    return refuse({}, 'invalid_callback', new DuoMfaError('ERR_DUO_CALLBACK_INVALID', 'malformed callback'));

  const session = requireSession(instance, req, res, next);
  if (!session) return;
  const data = mfaData(session);
  const id = stateId(query.state);
  const pending = data.pending ?? {};
  const match = findPending(pending, id);

  if (!match) {
    // A callback for a sign-in this session already completed lands on that sign-in's page, never an error and
    // never a second exchange: the back button or a second click (S18), or the other of two tabs that signed in
    // at once. The store takes a pending login still there (the other tab's, so it cannot be used again) and knows
    // where taken ones were going.
    const user = tryResolveUser(instance.config, req);
    if (user && isVerifiedHere(instance, data.verified, user.username, user.tenant)) {
      const owner = ownerKey(data.verified!.tenant, user.username);
      const record = await instance.store.takePending(owner, id, PENDING_TTL_MS).catch(() => undefined);
      let landing: string | undefined;
      if (!record) landing = await instance.store.landingOf(owner, id).catch(() => undefined);
      else if (record.username === user.username && record.tenant === data.verified?.tenant)
        landing = record.returnTo;
      return sendRedirect(req, res, landing ?? instance.config.afterLoginPath);
    }
    // S33: with SameSite=Strict the cross-site redirect from Duo arrives without our cookie. Repeat it from our
    // own origin once, consuming nothing; the repeated request carries the cookie.
    if (Object.keys(pending).length === 0 && req.query[BOUNCE_PARAM] === undefined) {
      delete (req as { session?: unknown }).session; // never create or save a session for the cookie-less request
      return sendBounce(req, res, bounceUrl(instance.config.callbackPath, req.query));
    }
    if (Object.keys(pending).length === 0) {
      return refuse({}, 'no_pending_login', new DuoMfaError('ERR_DUO_NO_PENDING_LOGIN', 'no pending login'));
    }
    // S11: a wrong state clears this browser's pending logins, and no code is exchanged.
    const first = Object.values(pending)[0];
    await clearPending(instance, session, Object.keys(pending));
    const who = { tenant: first?.tenant, username: first?.username };
    return refuse(who, 'state_mismatch', new DuoMfaError('ERR_DUO_STATE_MISMATCH', 'state mismatch'));
  }

  const [pendingId, ref] = match;
  const who = { tenant: ref.tenant, username: ref.username };
  try {
    // S15: expired by the time stored when it started.
    if (instance.config.now() - ref.startedAt > PENDING_TTL_MS) {
      await clearPending(instance, session, [pendingId]);
      return refuse(who, 'expired', new DuoMfaError('ERR_DUO_STATE_EXPIRED', 'pending login expired'));
    }

    // S14: taken atomically; a concurrent callback with the same state finds nothing and exchanges nothing.
    const record = await instance.store.takePending(
      ownerKey(ref.tenant, ref.username),
      pendingId,
      PENDING_TTL_MS,
    );
    if (!record) {
      instance.logger.info(
        { tenant: ref.tenant },
        'callback for a pending login already taken by another request',
      );
      return sendRedirect(req, res, ref.returnTo);
    }
    delete session.duoMfa?.pending?.[pendingId];

    // S3/S19: the browser's signed-in user must still be the one who started; the Duo username comes only from
    // the server-side record.
    const user = resolveUser(instance.config, req);
    const stillSame = () =>
      isSameUser(instance.config, req, record.username, record.tenant, instance.tenants.defaultTenant());
    if (!user || !stillSame()) {
      return refuse(who, 'user_changed', new DuoMfaError('ERR_DUO_STATE_MISMATCH', 'signed-in user changed'));
    }

    if (query.error !== undefined) return duoReportedError(instance, req, res, next, who, query);

    // S24: exchanged with the tenant's own Duo application, the one that started this login.
    const entry = instance.tenants.peek(record.tenant) ?? (await instance.tenants.load(record.tenant));
    const tenant = entry.state === 'ready' ? entry.tenant : undefined;
    if (!tenant || tenant.duo.clientId !== record.clientId) {
      const error = new DuoMfaError(
        'ERR_DUO_CODE_REJECTED',
        'the tenant’s Duo application changed during sign-in',
      );
      return refuse(who, 'tenant_changed', error);
    }

    const decision = decideTenant(tenant.id, tenant, user, instance.config.now());
    let result: DuoAuthResult;
    try {
      result = await instance.adapter.exchange(tenant.duo, query.code!, record.duoUsername);
    } catch (error) {
      return exchangeFailed(instance, req, res, next, who, record, decision.trustedEndpoints, error);
    }

    const judgement = judgeDevice(decision.trustedEndpoints, result.device.trusted);
    await recordDevice(
      instance,
      record,
      result,
      judgement.allow ? 'allowed' : 'blocked',
      result.reason || 'user_approved',
      decision.trustedEndpoints,
    );
    if (judgement.untrusted) {
      instance.events.emit('device.untrusted', req, who, {
        trusted: result.device.trusted,
        policy: judgement.rule,
        device: deviceSummary(result),
      });
    }
    if (!judgement.allow) {
      const error = new DuoMfaError('ERR_DUO_DEVICE_UNTRUSTED', 'device not trusted', {
        details: {
          explanation: `Duo reports this device as “${result.device.trusted}”, and your organization only allows trusted devices.`,
        },
      });
      return fail(instance, req, res, next, error, {
        type: 'mfa.denied',
        who,
        reason: 'device_untrusted',
        fields: { trusted: result.device.trusted },
      });
    }

    const freshFactor = hasLiveFactor(result.factor, result.reason);
    if (record.requireFresh && !freshFactor) {
      // A step-up that Duo let through without asking (a remembered device, a bypass): asking Duo again would
      // loop, so it is refused with words the person and their administrator can act on.
      const error = new DuoMfaError('ERR_DUO_FRESH_FACTOR_REQUIRED', 'step-up without a live factor', {
        details: { factor: result.factor, reason: result.reason },
      });
      return fail(instance, req, res, next, error, {
        type: 'mfa.denied',
        who,
        reason: 'fresh_factor_required',
        fields: { factor: result.factor, duoReason: result.reason },
      });
    }

    const device = deviceSummary(result);
    try {
      // Re-read after the exchange: a logout or another sign-in while Duo answered must not be undone (S8) —
      // without the read, the rotation would save the stale copy in hand under a new id and sign the person back
      // in. It costs one store read per login, and stays. Then the second rotation (S2): the cookie that went to
      // Duo never becomes a verified one.
      const stillPending = () =>
        stillSame() && Boolean(sessionOf(req) && mfaData(sessionOf(req)!).pending?.[pendingId]);
      await rotateSession(req, stillPending, (fresh) => {
        const current = mfaData(fresh);
        const at = instance.config.now();
        const pendingLeft = { ...current.pending };
        delete pendingLeft[pendingId];
        // Kept small: express-session hashes and re-serialises the session on every request. Where this sign-in
        // landed, for a repeated callback (S18), stays in the store (landingOf()).
        fresh.duoMfa = {
          ...(Object.keys(pendingLeft).length > 0 ? { pending: pendingLeft } : {}),
          verified: {
            username: record.username,
            tenant: record.tenant,
            at,
            via: 'duo',
            ...(result.factor ? { factor: result.factor } : {}),
            // Only a reason that matters later (no live factor, for step-up): the session stays small.
            ...(result.reason && !freshFactor ? { reason: result.reason } : {}),
            ...(result.txid ? { txid: result.txid } : {}),
            device,
          },
        };
      });
    } catch (error) {
      if (error instanceof SessionChangedError) {
        return refuse(
          who,
          'session_changed',
          new DuoMfaError('ERR_DUO_STATE_MISMATCH', 'session changed during sign-in'),
        );
      }
      // S36: never redirect into the app when the verification could not be stored. Duo approved, so the person
      // lost an approval: its own reason, at error level, for operators to alert on.
      instance.logger.error(
        { err: errorSummary(error) },
        'session save failed after a successful Duo verification',
      );
      const failure = new DuoMfaError('ERR_SESSION_SAVE_FAILED', 'session save failed', {
        cause: error,
        details: {
          explanation: 'Duo approved your sign-in, but this site could not save it. Please sign in again.',
        },
      });
      return fail(instance, req, res, next, failure, {
        type: 'mfa.failed',
        who,
        reason: 'session_save_failed',
        level: 'error',
      });
    }
    instance.events.emit('mfa.succeeded', req, who, {
      factor: result.factor,
      txid: result.txid,
      device,
      stepUp: record.stepUp,
      freshFactor,
    });
    sendRedirect(req, res, record.returnTo);
  } catch (error) {
    failUnexpected(instance, req, res, next, who, error, 'callback_failed');
  }
}

/** The session already holds a Duo verification for this user (and their tenant), young enough to count. */
function isVerifiedHere(
  instance: MfaInstance,
  verified: Verification | undefined,
  username: string,
  tenant: string | undefined,
): boolean {
  if (!verified || verified.via !== 'duo' || verified.username !== username) return false;
  if ((tenant ?? instance.tenants.defaultTenant()) !== verified.tenant) return false;
  const age = instance.config.now() - verified.at;
  return age >= 0 && age <= instance.config.maxAgeMs;
}

async function clearPending(instance: MfaInstance, session: SessionLike, ids: string[]): Promise<void> {
  const pending = session.duoMfa?.pending;
  for (const id of ids) {
    const ref = pending?.[id];
    if (pending) delete pending[id];
    if (ref)
      await instance.store.deletePending(ownerKey(ref.tenant, ref.username), id).catch(() => undefined);
  }
}
