// The gate every other request goes through, and the step-up guard behind requireRecentMfa(): assess the
// request, then pass it, refuse it, or start Duo.

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { DuoMfaError } from '../errors';
import { assess, Refusal, type Assessed, type Assessment } from './assess';
import { hasLiveFactor } from './factor';
import { isDeferred } from './grace';
import type { MfaInstance } from './instance';
import { fail, failUnexpected, guarded, requireSession } from './respond';
import { landingOf, returnPathOf } from './start';
import { goToDuo } from './start-route';
import { forgetMfa, sessionOf } from './session';
import { RequestState } from './state';
import { tryResolveUser } from './user';

/**
 * The per-request gate (after the start and callback routes). Synchronous for requests that pass — verified,
 * exempt, ignored, anonymous — so they create no promise; waits only to load a tenant or to start Duo.
 */
export function gate(instance: MfaInstance): RequestHandler {
  return function duoMfaGate(req: Request, res: Response, next: NextFunction): void {
    if (instance.isIgnored(req.path)) {
      if (sessionOf(req)?.duoMfa !== undefined) {
        forgetIfSignedOut(instance, req);
        forgetOnSignOut(instance, req, res);
      }
      return next();
    }
    const session = requireSession(instance, req, res, next);
    if (!session) return;
    // Whoever it was for: a verification left behind by an earlier user must not outlive a sign-out either.
    if (session.duoMfa?.verified !== undefined) forgetOnSignOut(instance, req, res);
    // A throw here (a host getUser that throws or breaks its contract, a bug) is ERR_INTERNAL, never a pass. The
    // next() calls in proceed() are its last step, and Express catches what the handlers after us throw.
    try {
      const assessment = assess(instance, req, session);
      if (assessment instanceof Promise) {
        assessment
          .then((loaded) => proceed(instance, req, res, next, loaded))
          .catch((error: unknown) => gateFailed(instance, req, res, next, error));
      } else {
        proceed(instance, req, res, next, assessment);
      }
    } catch (error) {
      gateFailed(instance, req, res, next, error);
    }
  };
}

function gateFailed(
  instance: MfaInstance,
  req: Request,
  res: Response,
  next: NextFunction,
  error: unknown,
): void {
  failUnexpected(instance, req, res, next, {}, error, 'gate_failed');
}

/**
 * S45 on the paths the gate ignores, which include the host's login: a session that still holds our data but no
 * signed-in user (the host deleted its user instead of destroying the session) forgets it before the host's
 * login handler signs someone in again. (And once more when the response ends: see forgetOnSignOut.)
 */
function forgetIfSignedOut(instance: MfaInstance, req: Request): void {
  const session = sessionOf(req);
  if (session?.duoMfa === undefined) return;
  if (tryResolveUser(instance.config, req) === undefined) forgetMfa(session);
}

/**
 * S45 for a sign-out handled behind the gate (a route that deletes the host's user and keeps the session, on an
 * ignored path or not, by POST or by a plain GET link): when the response ends and the session has no user any
 * more, our data goes too — before express-session saves it. Installed for every request whose session holds a
 * verification, whoever it is for (and on ignored paths, for every session holding our data): a sign-out route is
 * any route.
 */
function forgetOnSignOut(instance: MfaInstance, req: Request, res: Response): void {
  // Not bind(): a bound function costs several times this closure, on every verified request.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const end = res.end as (this: Response, ...args: unknown[]) => Response;
  res.end = function endAfterSignOutCheck(...args: unknown[]) {
    forgetIfSignedOut(instance, req);
    return end.apply(res, args);
  } as Response['end'];
}

function proceed(
  instance: MfaInstance,
  req: Request,
  res: Response,
  next: NextFunction,
  assessment: Assessment,
): void {
  if (assessment === undefined) {
    req.duoMfa = new RequestState(instance, {
      verified: false,
      required: false,
      reason: { code: 'not_signed_in', detail: 'no user is signed in' },
    });
    return next();
  }
  if (assessment instanceof Refusal)
    return fail(instance, req, res, next, assessment.error, assessment.report);
  const { decision, verification, user } = assessment;
  if (verification) {
    req.duoMfa = new RequestState(
      instance,
      { verified: true, required: decision.required, reason: decision.reason },
      verification,
    );
    return next();
  }
  if (!decision.required) {
    instance.reportBypass(req, user.username, decision);
    req.duoMfa = new RequestState(instance, { verified: false, required: false, reason: decision.reason });
    return next();
  }
  if (decision.gracePeriodUntil !== undefined && isDeferred(instance, sessionOf(req)!, assessment)) {
    const until = new Date(decision.gracePeriodUntil).toISOString();
    const reason = {
      code: 'grace_period',
      detail: `deferred until ${until} (${decision.reason.detail})`,
    } as const;
    req.duoMfa = new RequestState(instance, { verified: false, required: true, reason });
    return next();
  }
  req.duoMfa = new RequestState(instance, { verified: false, required: true, reason: decision.reason });
  const location = returnPathOf(instance, req);
  const how = { returnTo: landingOf(instance, location), stepUp: false, location };
  Promise.resolve(goToDuo(instance, req, res, next, assessment, how)).catch((error: unknown) =>
    failUnexpected(instance, req, res, next, {}, error, 'start_failed'),
  );
}

/**
 * The step-up guard: passes when the session's Duo verification (never a fail-open pass) is at most `maxAgeMs`
 * old and, with `freshFactor`, came from a live factor; otherwise sends a browser through Duo again and answers
 * API clients 401. It never fails open.
 */
export function stepUp(instance: MfaInstance, maxAgeMs: number, freshFactor: boolean): RequestHandler {
  return guarded(
    instance,
    'step_up_failed',
    async function duoMfaStepUp(req: Request, res: Response, next: NextFunction): Promise<void> {
      const session = requireSession(instance, req, res, next);
      if (!session) return;
      const assessment = await assess(instance, req, session);
      if (assessment === undefined) {
        return fail(instance, req, res, next, new DuoMfaError('ERR_DUO_MFA_REQUIRED', 'sign in first'));
      }
      if (assessment instanceof Refusal) {
        return fail(instance, req, res, next, assessment.error, assessment.report);
      }
      if (isRecent(instance, assessment, maxAgeMs, freshFactor)) return next();
      const location = returnPathOf(instance, req);
      const how = { returnTo: landingOf(instance, location), stepUp: true, freshFactor, location };
      return goToDuo(instance, req, res, next, assessment, how);
    },
  );
}

/**
 * A Duo verification (never a fail-open pass) at most `maxAgeMs` old — and, with `freshFactor`, one Duo granted
 * after a live factor, not through a remembered device, a bypass or a trusted network.
 */
function isRecent(
  instance: MfaInstance,
  { verification }: Assessed,
  maxAgeMs: number,
  freshFactor: boolean,
): boolean {
  return (
    verification !== undefined &&
    verification.via === 'duo' &&
    instance.config.now() - verification.at <= maxAgeMs &&
    (!freshFactor || hasLiveFactor(verification.factor, verification.reason))
  );
}
