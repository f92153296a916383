// Sending the browser to Duo: health check (or the tenant's failmode), the push-fatigue limit, a fresh state kept
// server-side, the session id rotated and saved, then the 303. Also the start route API clients are sent to.

import { createHash, randomBytes } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { DuoMfaError, isDuoMfaError } from '../errors';
import type { PendingRecord } from '../stores/types';
import { assess, Refusal, type Assessed } from './assess';
import { errorSummary } from './events';
import type { MfaInstance } from './instance';
import { fail, failUnexpected, requireSession, sendRedirect, type Who } from './respond';
import { safeReturnPath, singleParam } from './return-path';
import {
  MAX_PENDING_PER_SESSION,
  mfaData,
  PENDING_TTL_MS,
  rotateSession,
  SessionChangedError,
  stateId,
  type Verification,
} from './session';
import { RequestState } from './state';
import { duoUsernameOf, isSameUser } from './user';

/** The push-fatigue window (S41). */
export const CHALLENGE_WINDOW_MS = 15 * 60_000;

/** Where to land after Duo, and whether this is a step-up (requireRecentMfa) rather than the login itself. */
export interface StartHow {
  readonly returnTo: string;
  readonly stepUp: boolean;
}

/**
 * Sends the browser to Duo for an assessed user. Every failure goes through fail(); a healthy start ends in a 303
 * to Duo's prompt, with the session id rotated (S1) and the pending login saved before the redirect.
 */
export async function startDuo(
  instance: MfaInstance,
  req: Request,
  res: Response,
  next: NextFunction,
  assessed: Assessed,
  how: StartHow,
): Promise<void> {
  const { user, tenant } = assessed;
  const who = { tenant: tenant.id, username: user.username };
  const duoUsername = duoUsernameOf(instance.config, user);
  if (duoUsername === undefined) {
    // Input a user controls must never look like an outage (S27): refuse, never fail open.
    const error = new DuoMfaError('ERR_DUO_USERNAME_INVALID', 'this username cannot be sent to Duo');
    return fail(instance, req, res, next, error, { type: 'mfa.failed', who, reason: 'invalid_username' });
  }

  try {
    await instance.health.ensure(tenant.duo);
  } catch (error) {
    return duoUnavailable(instance, req, res, next, assessed, error, how.stepUp);
  }

  try {
    const count = await instance.store.hitChallenge(
      challengeKey(tenant.id, user.username),
      CHALLENGE_WINDOW_MS,
    );
    if (count > tenant.challengeLimit) {
      const error = new DuoMfaError('ERR_DUO_CHALLENGE_LIMIT', 'too many Duo challenges', {
        details: { retryAfterSeconds: CHALLENGE_WINDOW_MS / 1000 },
      });
      res.setHeader('Retry-After', String(CHALLENGE_WINDOW_MS / 1000));
      return fail(instance, req, res, next, error, {
        type: 'mfa.denied',
        who,
        reason: 'challenge_limit',
        fields: { limit: tenant.challengeLimit },
      });
    }

    const state = randomBytes(32).toString('base64url');
    const id = stateId(state);
    const authUrl = await instance.adapter.createAuthUrl(tenant.duo, duoUsername, state);
    const startedAt = instance.config.now();
    const record: PendingRecord = {
      username: user.username,
      duoUsername,
      tenant: tenant.id,
      clientId: tenant.duo.clientId,
      returnTo: how.returnTo,
      startedAt,
      stepUp: how.stepUp,
    };
    await instance.store.putPending(id, record, PENDING_TTL_MS);
    try {
      await rotateSession(
        req,
        () => isSameUser(instance.config, req, user.username, tenant.id, instance.tenants.defaultTenant()),
        (session) => {
          const data = mfaData(session);
          const pending = Object.entries(data.pending ?? {})
            .filter(([, ref]) => startedAt - ref.startedAt < PENDING_TTL_MS)
            .slice(-(MAX_PENDING_PER_SESSION - 1));
          const keepVerified =
            data.verified && data.verified.username === user.username && data.verified.tenant === tenant.id;
          session.duoMfa = {
            ...data,
            verified: keepVerified ? data.verified : undefined,
            pending: Object.fromEntries([
              ...pending,
              [id, { tenant: tenant.id, username: user.username, startedAt, returnTo: how.returnTo }],
            ]),
          };
        },
      );
    } catch (error) {
      await instance.store.deletePending(id).catch(() => undefined);
      if (error instanceof SessionChangedError) return sessionChanged(instance, req, res, who);
      throw new DuoMfaError('ERR_SESSION_SAVE_FAILED', 'the session could not be saved before going to Duo', {
        cause: error,
      });
    }
    instance.events.emit('mfa.started', req, who, { stepUp: how.stepUp, challenge: count });
    sendRedirect(req, res, authUrl);
  } catch (error) {
    failUnexpected(instance, req, res, next, who, error, 'start_failed');
  }
}

/** Health check failed before the redirect: the tenant's failmode decides (S25, S26). Step-ups never fail open. */
async function duoUnavailable(
  instance: MfaInstance,
  req: Request,
  res: Response,
  next: NextFunction,
  { user, tenant }: Assessed,
  error: unknown,
  stepUp: boolean,
): Promise<void> {
  const who = { tenant: tenant.id, username: user.username };
  const failure = isDuoMfaError(error)
    ? error
    : new DuoMfaError('ERR_DUO_UNAVAILABLE', 'Duo health check failed', { cause: error });
  instance.logger.warn({ err: errorSummary(failure), tenant: tenant.id }, 'Duo health check failed');
  // Only an outage may fail open: a wrong local clock or refused credentials are our own misconfiguration.
  const outage = failure.code === 'ERR_DUO_UNAVAILABLE' || failure.code === 'ERR_DUO_TIMEOUT';
  if (tenant.failmode !== 'open' || stepUp || !outage) {
    return fail(instance, req, res, next, failure, {
      type: 'mfa.failed',
      who,
      reason: 'duo_unavailable',
      fields: { failmode: 'closed' },
    });
  }
  const verification: Verification = {
    username: user.username,
    tenant: tenant.id,
    at: instance.config.now(),
    via: 'failopen',
  };
  try {
    await rotateSession(
      req,
      () => isSameUser(instance.config, req, user.username, tenant.id, instance.tenants.defaultTenant()),
      (session) => {
        session.duoMfa = { ...mfaData(session), verified: verification };
      },
    );
  } catch (saveError) {
    if (saveError instanceof SessionChangedError) return sessionChanged(instance, req, res, who);
    const failure = new DuoMfaError('ERR_SESSION_SAVE_FAILED', 'session save failed', { cause: saveError });
    return failUnexpected(instance, req, res, next, who, failure, 'session_save_failed');
  }
  instance.events.emit('mfa.failopen', req, who, {
    code: failure.code,
    validForMs: instance.config.failOpenMaxAgeMs,
  });
  req.duoMfa = new RequestState(
    instance,
    {
      verified: true,
      required: true,
      reason: { code: 'failopen', detail: 'Duo is unavailable and the tenant fails open' },
    },
    verification,
  );
  next();
}

/** The session was logged out, revoked or taken over while we waited: grant nothing, start from the top. */
function sessionChanged(instance: MfaInstance, req: Request, res: Response, who: Who): void {
  instance.events.emit('mfa.failed', req, who, { reason: 'session_changed', code: 'ERR_DUO_STATE_MISMATCH' });
  sendRedirect(req, res, instance.config.afterLoginPath);
}

/**
 * `GET startPath?returnTo=/x[&stepUp=1]`: where API clients send the browser to start Duo (the `location` of a
 * 401 mfa_required). Someone not signed in, or already verified and not stepping up, is sent on.
 */
export function startRoute(instance: MfaInstance): RequestHandler {
  return function duoMfaStart(req: Request, res: Response, next: NextFunction): void {
    const session = requireSession(instance, req, res, next);
    if (!session) return;
    Promise.resolve(assess(instance, req, session))
      .then((assessment) => {
        if (assessment === undefined) return sendRedirect(req, res, instance.config.afterLoginPath);
        if (assessment instanceof Refusal) {
          return fail(instance, req, res, next, assessment.error, assessment.report);
        }
        const stepUp = singleParam(req.query.stepUp) === '1';
        const returnTo = landingOf(instance, req.query.returnTo);
        if (!stepUp && (assessment.verification || !assessment.decision.required)) {
          return sendRedirect(req, res, returnTo);
        }
        return startDuo(instance, req, res, next, assessment, { returnTo, stepUp });
      })
      .catch(next);
  };
}

/** Where to land after Duo for a requested path: a safe local path (never our own routes), else afterLoginPath. */
export function landingOf(instance: MfaInstance, candidate: unknown): string {
  const { afterLoginPath, callbackPath, origin, startPath } = instance.config;
  const path = safeReturnPath(candidate, origin) ?? afterLoginPath;
  return path === callbackPath || path.startsWith(callbackPath + '?') || path.startsWith(startPath)
    ? afterLoginPath
    : path;
}

/** The start route's URL for an API client's 401: it comes back to this (GET) request's path afterwards. */
export function startLocation(instance: MfaInstance, req: Request, stepUp: boolean): string {
  const params = new URLSearchParams();
  if (req.method === 'GET') {
    const returnTo = safeReturnPath(req.originalUrl, instance.config.origin);
    if (returnTo) params.set('returnTo', returnTo);
  }
  if (stepUp) params.set('stepUp', '1');
  const query = params.toString();
  return instance.config.startPath + (query ? `?${query}` : '');
}

function challengeKey(tenant: string, username: string): string {
  return createHash('sha256').update(`${tenant}\0${username}`).digest('base64url');
}
