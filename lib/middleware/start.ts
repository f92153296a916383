// Sending the browser to Duo: health check (or the tenant's failmode), the push-fatigue limit, a fresh state kept
// server-side, the session id rotated and saved, then the 303.

import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { DuoMfaError, isDuoMfaError } from '../errors';
import type { PendingRecord } from '../stores/types';
import type { Assessed } from './assess';
import { errorSummary } from './events';
import type { MfaInstance } from './instance';
import { fail, failUnexpected, sendRedirect, withExplanation, type Who } from './respond';
import { safeReturnPath } from './return-path';
import {
  MAX_PENDING_PER_SESSION,
  mfaData,
  ownerKey,
  PENDING_TTL_MS,
  rotateSession,
  SessionChangedError,
  sessionOf,
  stateId,
  type Verification,
} from './session';
import { RequestState } from './state';
import { duoUsernameOf, isSameUser } from './user';

/** The push-fatigue window (S41). */
export const CHALLENGE_WINDOW_MS = 15 * 60_000;
/** A pending login's prompt URL is reused this long: Duo's signed authorize request expires after 5 minutes. */
const REUSE_PENDING_MS = 4 * 60_000;

/** Where to land after Duo, and whether this is a step-up (requireRecentMfa) rather than the login itself. */
export interface StartHow {
  readonly returnTo: string;
  readonly stepUp: boolean;
  /** A step-up that needs a live factor (requireRecent's `freshFactor`). */
  readonly freshFactor?: boolean;
  /** Started from our own start route: a fail-open pass then lands on `returnTo` (no host route follows). */
  readonly fromRoute?: boolean;
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
  let duoUsername: string | undefined;
  try {
    duoUsername = duoUsernameOf(instance.config, user);
  } catch (error) {
    // The host's toDuoUsername threw: its bug, ERR_INTERNAL (never a pass, never a Duo outage).
    return failUnexpected(instance, req, res, next, who, error, 'start_failed');
  }
  if (duoUsername === undefined) {
    // Input a user controls must never look like an outage (S27): refuse, never fail open.
    const error = new DuoMfaError('ERR_DUO_USERNAME_INVALID', 'this username cannot be sent to Duo');
    return fail(instance, req, res, next, error, { type: 'mfa.failed', who, reason: 'invalid_username' });
  }

  try {
    await instance.health.ensure(tenant.duo);
  } catch (error) {
    return duoUnavailable(instance, req, res, next, assessed, error, how);
  }

  // S42: a start while this session already has a young pending login for the same user goes back to the prompt
  // under way (a reload, the page opened again, another page of the app): no second challenge counted, no second
  // rotation. It lands where that first start would (see pendingToReuse).
  const owner = ownerKey(tenant.id, user.username);
  const reusable = pendingToReuse(instance, req, assessed, how);
  if (reusable && (await stillPending(instance, owner, reusable.id))) {
    return sendRedirect(req, res, reusable.authUrl);
  }

  try {
    const state = randomBytes(32).toString('base64url');
    const id = stateId(state);
    const authUrl = await instance.adapter.createAuthUrl(tenant.duo, duoUsername, state);
    const startedAt = instance.config.now();
    const fresh = how.stepUp && how.freshFactor ? ({ requireFresh: true } as const) : {};
    const record: PendingRecord = {
      username: user.username,
      duoUsername,
      tenant: tenant.id,
      clientId: tenant.duo.clientId,
      returnTo: how.returnTo,
      startedAt,
      stepUp: how.stepUp,
      ...fresh,
    };
    // One step: the challenge counted against the push-fatigue limit (S41) and, within it, the pending login kept.
    const count = await instance.store.startChallenge(owner, CHALLENGE_WINDOW_MS, tenant.challengeLimit, {
      id,
      record,
      ttlMs: PENDING_TTL_MS,
    });
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
    try {
      // The first of the two rotations of a login (S1): the id a password login ran under — which someone may
      // have planted (session fixation) — never carries a Duo sign-in in progress. The callback rotates again
      // (S2). Neither can be skipped for speed: each closes a different window.
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
          const ref = { tenant: tenant.id, username: user.username, startedAt, returnTo: how.returnTo };
          session.duoMfa = {
            ...data,
            verified: keepVerified ? data.verified : undefined,
            pending: Object.fromEntries([
              ...pending,
              [id, { ...ref, stepUp: how.stepUp, ...fresh, authUrl }],
            ]),
            confirm: undefined, // a "Continue to Duo" button is good for one start
          };
        },
      );
    } catch (error) {
      await instance.store.deletePending(owner, id).catch(() => undefined);
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
  { user, tenant, decision }: Assessed,
  error: unknown,
  { stepUp, fromRoute, returnTo }: StartHow,
): Promise<void> {
  const who = { tenant: tenant.id, username: user.username };
  const failure = isDuoMfaError(error)
    ? error
    : new DuoMfaError('ERR_DUO_UNAVAILABLE', 'Duo health check failed', { cause: error });
  instance.logger.warn({ err: errorSummary(failure), tenant: tenant.id }, 'Duo health check failed');
  // Only an outage may fail open (S44): a wrong clock, refused credentials, an unverifiable certificate or a host
  // name that does not exist are misconfiguration or someone on the path.
  const outage = failure.code === 'ERR_DUO_UNAVAILABLE' || failure.code === 'ERR_DUO_TIMEOUT';
  // S43: fail-open never overrides device trust: a user the tenant's "block" policy covers has no device Duo
  // vouched for while Duo is down.
  const blockedDevices = decision.trustedEndpoints.policy === 'block' && decision.trustedEndpoints.active;
  const failOpen = tenant.failmode === 'open' && outage && !stepUp && !blockedDevices;
  if (!failOpen) {
    const closedByDeviceTrust = tenant.failmode === 'open' && outage && !stepUp;
    const answer = closedByDeviceTrust
      ? withExplanation(
          failure,
          'Your organization only lets trusted devices in, and Duo cannot check this device while it is unavailable.',
        )
      : failure;
    return fail(instance, req, res, next, answer, {
      type: 'mfa.failed',
      who,
      reason: 'duo_unavailable',
      fields: { failmode: 'closed', ...(closedByDeviceTrust ? { closedBy: 'trusted_endpoints_block' } : {}) },
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
  if (fromRoute) return sendRedirect(req, res, returnTo);
  next();
}

/** The session was logged out, revoked or taken over while we waited: grant nothing, start from the top. */
function sessionChanged(instance: MfaInstance, req: Request, res: Response, who: Who): void {
  instance.events.emit('mfa.failed', req, who, { reason: 'session_changed', code: 'ERR_DUO_STATE_MISMATCH' });
  sendRedirect(req, res, instance.config.afterLoginPath);
}

/** Where to land after Duo for a requested path: a safe local path (never our own routes), else afterLoginPath. */
export function landingOf(instance: MfaInstance, candidate: unknown): string {
  const { afterLoginPath, callbackPath, origin, startPath } = instance.config;
  const path = safeReturnPath(candidate, origin) ?? afterLoginPath;
  return path === callbackPath || path.startsWith(callbackPath + '?') || path.startsWith(startPath)
    ? afterLoginPath
    : path;
}

/** The start route's URL for an API client's 401: where to send the browser, and where it lands afterwards. */
export function startLocation(
  instance: MfaInstance,
  returnTo: string | undefined,
  stepUp: boolean,
  freshFactor = true,
): string {
  const params = new URLSearchParams();
  if (returnTo !== undefined) params.set('returnTo', returnTo);
  if (stepUp) params.set('stepUp', '1');
  if (stepUp && !freshFactor) params.set('fresh', '0');
  const query = params.toString();
  return instance.config.startPath + (query ? `?${query}` : '');
}

/** Where a gated request would land after Duo: its own path for a GET, else nothing (the landing page). */
export function returnPathOf(instance: MfaInstance, req: Request): string | undefined {
  return req.method === 'GET' ? safeReturnPath(req.originalUrl, instance.config.origin) : undefined;
}

/**
 * Duo's prompt URL of this session's youngest pending login for the same user and tenant that asks what this start
 * needs, while Duo still accepts it (its signed request lives 5 minutes) — whatever page it was for.
 *
 * - A plain start may reuse a step-up (a Duo verification is a Duo verification); a step-up never reuses a plain
 *   login.
 * - The live-factor demand (`requireFresh`) must match: a step-up with `freshFactor` needs it in the record the
 *   callback checks, and a start without it must not inherit it (a remembered device would then be refused with
 *   ERR_DUO_FRESH_FACTOR_REQUIRED where this start passes).
 *
 * The person lands where the reused login's first start asked (its returnTo, already filtered by landingOf), not
 * on the page of this start: the callback lands on the pending record in the store, and following the latest page
 * would cost a write of that record, or of the session, on every reuse.
 */
function pendingToReuse(
  instance: MfaInstance,
  req: Request,
  { user, tenant }: Assessed,
  { stepUp, freshFactor }: StartHow,
): { readonly id: string; readonly authUrl: string } | undefined {
  const session = sessionOf(req);
  if (!session) return undefined;
  const now = instance.config.now();
  const requireFresh = stepUp && freshFactor === true;
  let youngest: { readonly id: string; readonly authUrl: string; readonly startedAt: number } | undefined;
  for (const [id, ref] of Object.entries(mfaData(session).pending ?? {})) {
    const age = now - ref.startedAt;
    if (
      ref.authUrl !== undefined &&
      ref.username === user.username &&
      ref.tenant === tenant.id &&
      (ref.stepUp === true || !stepUp) &&
      (ref.requireFresh === true) === requireFresh &&
      age >= 0 &&
      age < REUSE_PENDING_MS &&
      (youngest === undefined || ref.startedAt > youngest.startedAt)
    ) {
      youngest = { id, authUrl: ref.authUrl, startedAt: ref.startedAt };
    }
  }
  return youngest;
}

/**
 * Whether the store still holds the pending login a start would go back to. A record the store lost (Redis
 * restarted or evicted it, an in-memory store restarted under a persistent session) would make Duo's approval land
 * on a callback that finds nothing, and the next start reuse it again: a loop. A store failure answers false, and
 * the fresh start that follows meets the same failure and says so.
 */
async function stillPending(instance: MfaInstance, owner: string, id: string): Promise<boolean> {
  if (!instance.store.hasPending) return true;
  return instance.store.hasPending(owner, id).catch(() => false);
}
