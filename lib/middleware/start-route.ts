// Ways into Duo for a browser (S42): top-level same-site navigations go at once; a navigation another site sent
// gets a "Continue to Duo" button first, whose POST proves it came from this site; during the enrollment grace
// period the person chooses "Set up Duo now" or "Remind me later"; anything else gets the 401.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { DuoMfaError } from '../errors';
import { assess, Refusal, type Assessed } from './assess';
import type { MfaInstance } from './instance';
import { requestKind, sendMfaRequired, sendPage } from './pages';
import { fail, guarded, requireSession, sendRedirect } from './respond';
import { singleParam } from './return-path';
import { mfaData, PENDING_TTL_MS, sessionOf, type StartConfirmation } from './session';
import { peopleDate } from '../util/dates';
import { defer } from './grace';
import { landingOf, startDuo, startLocation, type StartHow } from './start';

/**
 * A gated request that needs Duo: a top-level navigation goes to Duo, one another site sent gets the "Continue to
 * Duo" page, anything else (API clients, images, HEAD…) gets `401 mfa_required` with where to start.
 */
export function goToDuo(
  instance: MfaInstance,
  req: Request,
  res: Response,
  next: NextFunction,
  assessed: Assessed,
  how: StartHow & { readonly location: string | undefined },
): Promise<void> | void {
  const kind = requestKind(req);
  // Before mfa.enforceFrom a person may choose "later" (never for a step-up): offered on our own page.
  const grace = !how.stepUp && assessed.decision.gracePeriodUntil !== undefined;
  if (kind === 'navigation' && !grace) return startDuo(instance, req, res, next, assessed, how);
  if (kind !== 'other') return askFirst(instance, req, res, how, assessed, grace);
  sendMfaRequired(req, res, startLocation(instance, how.location, how.stepUp, how.freshFactor));
}

/**
 * `GET startPath?returnTo=/x[&stepUp=1]`: where API clients send the browser to start Duo (the `location` of a
 * 401 mfa_required). Someone not signed in, or already verified and not stepping up, is sent on.
 */
export function startRoute(instance: MfaInstance): RequestHandler {
  return guarded(
    instance,
    'start_failed',
    async function duoMfaStart(req: Request, res: Response, next: NextFunction): Promise<void> {
      const session = requireSession(instance, req, res, next);
      if (!session) return;
      const assessment = await assess(instance, req, session);
      if (assessment === undefined) return sendRedirect(req, res, instance.config.afterLoginPath);
      if (assessment instanceof Refusal) {
        return fail(instance, req, res, next, assessment.error, assessment.report);
      }
      const stepUp = singleParam(req.query.stepUp) === '1';
      const freshFactor = singleParam(req.query.fresh) !== '0';
      const returnTo = landingOf(instance, req.query.returnTo);
      if (!stepUp && (assessment.verification || !assessment.decision.required)) {
        return sendRedirect(req, res, returnTo);
      }
      const how = { returnTo, stepUp, freshFactor, location: returnTo, fromRoute: true };
      return goToDuo(instance, req, res, next, assessment, how);
    },
  );
}

/**
 * `POST startPath`: the "Continue to Duo" button. Starts Duo only with the token this session's page carried and
 * from our own origin; where to land comes from the session, never from the form (S31).
 */
export function confirmRoute(instance: MfaInstance): RequestHandler {
  return guarded(
    instance,
    'start_failed',
    async function duoMfaConfirm(req: Request, res: Response, next: NextFunction): Promise<void> {
      const session = requireSession(instance, req, res, next);
      if (!session) return;
      const confirmation = takeConfirmation(instance, req);
      if (!confirmation) {
        const error = new DuoMfaError('ERR_DUO_START_REFUSED', 'no valid "Continue to Duo" confirmation');
        return fail(instance, req, res, next, error, {
          type: 'mfa.failed',
          who: {},
          reason: 'start_refused',
        });
      }
      const assessment = await assess(instance, req, session);
      if (assessment === undefined) return sendRedirect(req, res, instance.config.afterLoginPath);
      if (assessment instanceof Refusal) {
        return fail(instance, req, res, next, assessment.error, assessment.report);
      }
      const { returnTo, stepUp, freshFactor } = confirmation;
      if (!stepUp && (assessment.verification || !assessment.decision.required)) {
        return sendRedirect(req, res, returnTo);
      }
      const later = singleParam((req.body as Record<string, unknown> | undefined)?.choice) === 'later';
      if (later && confirmation.grace && !stepUp && assessment.decision.gracePeriodUntil !== undefined) {
        defer(instance, req, session, assessment);
        return sendRedirect(req, res, returnTo);
      }
      const how = { returnTo, stepUp, freshFactor, fromRoute: true };
      return startDuo(instance, req, res, next, assessment, how);
    },
  );
}

/**
 * A page of ours before Duo, whose buttons POST a token kept in the session: nothing counted, nothing rotated until
 * the person clicks. Either "Continue to Duo" for a navigation another site sent (S42), or — during the enrollment
 * grace period — "Set up Duo now" / "Remind me later".
 */
function askFirst(
  instance: MfaInstance,
  req: Request,
  res: Response,
  how: StartHow,
  assessed: Assessed,
  grace: boolean,
): void {
  const session = sessionOf(req)!;
  const confirm: StartConfirmation = {
    token: randomBytes(24).toString('base64url'),
    returnTo: how.returnTo,
    stepUp: how.stepUp,
    freshFactor: how.freshFactor ?? true,
    grace,
    at: instance.config.now(),
  };
  session.duoMfa = { ...mfaData(session), confirm };
  const { signOutPath, startPath } = instance.config;
  const signOut = signOutPath ? [{ post: signOutPath, label: 'Sign out' }] : [];
  // The buttons POST here and we answer 303 to the tenant's Duo: browsers hold that redirect to form-action too.
  const formTargets = [`https://${assessed.tenant.duo.apiHost}`];
  if (grace) {
    const date = peopleDate(assessed.decision.gracePeriodUntil!);
    return sendPage(req, res, 200, {
      formTargets,
      title: 'Set up two-factor sign-in',
      paragraphs: [
        `Your organization requires Duo two-factor sign-in from ${date}.`,
        'Setting it up takes a minute with Duo Mobile on your phone. Until then you may choose to be reminded at your next sign-in.',
      ],
      actions: [
        {
          post: startPath,
          fields: { token: confirm.token, choice: 'now' },
          label: 'Set up Duo now',
          primary: true,
          id: 'duo-setup-now',
        },
        {
          post: startPath,
          fields: { token: confirm.token, choice: 'later' },
          label: 'Remind me later',
          id: 'duo-remind-later',
        },
        ...signOut,
      ],
    });
  }
  sendPage(req, res, 200, {
    formTargets,
    title: 'Continue to Duo',
    paragraphs: [
      'This page needs your two-factor sign-in with Duo.',
      'You came here from another site. Continue only if you meant to sign in to this one.',
    ],
    actions: [
      {
        post: startPath,
        fields: { token: confirm.token },
        label: 'Continue to Duo',
        primary: true,
        id: 'duo-continue',
      },
      ...signOut,
    ],
  });
}

/**
 * The session's confirmation, taken once, when the POST proves it came from our page: the token matches (constant
 * time), it is fresh, and the browser does not say another site sent it. Our pages send no Referer, so browsers
 * send `Origin: null` on their forms: the token and Sec-Fetch-Site are the proof, a foreign Origin is refused.
 */
function takeConfirmation(instance: MfaInstance, req: Request): StartConfirmation | undefined {
  const session = sessionOf(req)!;
  const confirm = mfaData(session).confirm;
  if (confirm === undefined) return undefined;
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  if (site !== undefined && site !== 'same-origin') return undefined;
  if (origin !== undefined && origin !== 'null' && origin !== instance.config.origin) return undefined;
  const token = singleParam((req.body as Record<string, unknown> | undefined)?.token);
  if (token === undefined || !sameToken(token, confirm.token)) return undefined;
  const age = instance.config.now() - confirm.at;
  if (age < 0 || age > PENDING_TTL_MS) return undefined;
  session.duoMfa = { ...mfaData(session), confirm: undefined };
  return confirm;
}

function sameToken(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
