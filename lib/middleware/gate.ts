// The gate every other request goes through, and the step-up guard behind requireRecentMfa(): assess the
// request, then pass it, refuse it, or start Duo.

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { DuoMfaError } from '../errors';
import { assess, Refusal, type Assessed, type Assessment } from './assess';
import type { MfaInstance } from './instance';
import { fail, failUnexpected, requireSession } from './respond';
import { sendMfaRequired, wantsHtml } from './pages';
import { landingOf, startDuo, startLocation } from './start';
import { RequestState } from './state';

/**
 * The per-request gate (after the start and callback routes). Synchronous for requests that pass — verified,
 * exempt, ignored, anonymous — so they create no promise; waits only to load a tenant or to start Duo.
 */
export function gate(instance: MfaInstance): RequestHandler {
  return function duoMfaGate(req: Request, res: Response, next: NextFunction): void {
    if (instance.isIgnored(req.path)) return next();
    const session = requireSession(instance, req, res, next);
    if (!session) return;
    const assessment = assess(instance, req, session);
    if (assessment instanceof Promise) {
      assessment.then((loaded) => proceed(instance, req, res, next, loaded)).catch(next);
    } else {
      proceed(instance, req, res, next, assessment);
    }
  };
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
  req.duoMfa = new RequestState(instance, { verified: false, required: true, reason: decision.reason });
  if (req.method === 'GET' && wantsHtml(req)) {
    const returnTo = landingOf(instance, req.originalUrl);
    startDuo(instance, req, res, next, assessment, { returnTo, stepUp: false }).catch((error: unknown) =>
      failUnexpected(instance, req, res, next, {}, error, 'start_failed'),
    );
    return;
  }
  sendMfaRequired(req, res, startLocation(instance, req, false));
}

/**
 * The step-up guard: passes when the session's Duo verification (never a fail-open pass) is at most `maxAgeMs`
 * old; otherwise sends a browser through Duo again and answers API clients 401. It never fails open.
 */
export function stepUp(instance: MfaInstance, maxAgeMs: number): RequestHandler {
  return function duoMfaStepUp(req: Request, res: Response, next: NextFunction): void {
    const session = requireSession(instance, req, res, next);
    if (!session) return;
    Promise.resolve(assess(instance, req, session))
      .then((assessment) => {
        if (assessment === undefined) {
          return fail(instance, req, res, next, new DuoMfaError('ERR_DUO_MFA_REQUIRED', 'sign in first'));
        }
        if (assessment instanceof Refusal) {
          return fail(instance, req, res, next, assessment.error, assessment.report);
        }
        if (isRecent(instance, assessment, maxAgeMs)) return next();
        if (req.method === 'GET' && wantsHtml(req)) {
          const returnTo = landingOf(instance, req.originalUrl);
          return startDuo(instance, req, res, next, assessment, { returnTo, stepUp: true });
        }
        sendMfaRequired(req, res, startLocation(instance, req, true));
      })
      .catch(next);
  };
}

function isRecent(instance: MfaInstance, { verification }: Assessed, maxAgeMs: number): boolean {
  return (
    verification !== undefined &&
    verification.via === 'duo' &&
    instance.config.now() - verification.at <= maxAgeMs
  );
}
