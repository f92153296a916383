// How a sign-in Duo did not allow ends: Duo's own error redirect, a deny or a fraud report (which also signs the
// person out, S47), and every other exchange failure (always denied, whatever the failmode).

import type { NextFunction, Request, Response } from 'express';
import type { DuoAuthResult } from '../duo/result';
import { DuoMfaError, isDuoMfaError } from '../errors';
import type { Decision } from '../policy/types';
import type { PendingRecord } from '../stores/types';
import type { CallbackQuery } from './callback-query';
import { recordDevice } from './device';
import { errorSummary } from './events';
import type { MfaInstance } from './instance';
import { CALLBACK_ERRORS, DENY_REASONS, DEVICE_DENY_REASONS } from './messages';
import { fail, withExplanation, type Who } from './respond';
import { regenerateSession, sessionOf } from './session';

/** What the denied page adds once the person has been signed out. */
const SIGNED_OUT = 'You have been signed out: sign in again to try once more.';

/** Duo's own `error` redirect (S17): denied, the text escaped by whoever renders it. */
export async function duoReportedError(
  instance: MfaInstance,
  req: Request,
  res: Response,
  next: NextFunction,
  who: Who,
  query: CallbackQuery,
): Promise<void> {
  const words = CALLBACK_ERRORS[query.error!] ?? 'Duo reported an error.';
  const description = query.errorDescription ? ` Duo said: “${query.errorDescription}”` : '';
  // S47: Duo refusing the sign-in ends it, as a deny does.
  const signedOut = query.error === 'access_denied' && (await endSignIn(instance, req, who));
  const error = new DuoMfaError('ERR_DUO_CALLBACK_ERROR', 'Duo returned an error', {
    details: {
      explanation: [words + description, signedOut ? SIGNED_OUT : undefined].filter(Boolean).join(' '),
      duoError: query.error,
    },
  });
  fail(instance, req, res, next, error, {
    type: 'mfa.denied',
    who,
    reason: 'duo_error',
    fields: { duoError: query.error },
  });
}

/** The exchange failed (S21–S23, S29): always denied, whatever the failmode, with the reason recorded. */
export async function exchangeFailed(
  instance: MfaInstance,
  req: Request,
  res: Response,
  next: NextFunction,
  who: Who,
  record: PendingRecord,
  trustedEndpoints: Decision['trustedEndpoints'],
  error: unknown,
): Promise<void> {
  const failure = isDuoMfaError(error)
    ? error
    : new DuoMfaError('ERR_DUO_UNAVAILABLE', 'exchange failed', { cause: error });
  if (failure.code === 'ERR_DUO_DENIED') {
    const duoReason = typeof failure.details.reason === 'string' ? failure.details.reason : '';
    const result = failure.details.result as DuoAuthResult | undefined;
    if (result) await recordDevice(instance, record, result, 'denied', duoReason || 'deny', trustedEndpoints);
    // S47: a deny — above all a fraud report — ends the sign-in: the password is needed again.
    const signedOut = await endSignIn(instance, req, who);
    const deviceWords = DEVICE_DENY_REASONS[duoReason];
    const words = [deviceWords ?? DENY_REASONS[duoReason], signedOut ? SIGNED_OUT : undefined].filter(
      Boolean,
    );
    const denied = new DuoMfaError(
      deviceWords ? 'ERR_DUO_DEVICE_UNTRUSTED' : 'ERR_DUO_DENIED',
      deviceWords ? 'Duo denied the device' : failure.message,
      { details: { explanation: words.length > 0 ? words.join(' ') : undefined, reason: duoReason } },
    );
    const fraud = duoReason === 'user_marked_fraud';
    return fail(instance, req, res, next, denied, {
      type: 'mfa.denied',
      who,
      reason: fraud ? 'fraud' : 'denied',
      fields: { duoReason: duoReason || undefined, signedOut },
    });
  }
  const reason =
    failure.code === 'ERR_DUO_USERNAME_MISMATCH'
      ? 'username_mismatch'
      : failure.code === 'ERR_DUO_CLOCK_SKEW'
        ? 'clock_skew'
        : 'exchange_failed';
  instance.logger.warn({ err: errorSummary(failure), tenant: who.tenant }, 'Duo code exchange failed');
  const explained =
    failure.code === 'ERR_DUO_CLOCK_SKEW'
      ? withExplanation(failure, 'The server’s clock differs from Duo’s by more than a minute.')
      : failure;
  fail(instance, req, res, next, explained, { type: 'mfa.failed', who, reason });
}

/**
 * Signs the person out after Duo refused them (S47): the session gets a new id and keeps nothing — neither the
 * host's signed-in user nor anything of ours — so trying again needs the password again. Resolves false when the
 * store could not do it (logged; the sign-in is denied all the same).
 */
async function endSignIn(instance: MfaInstance, req: Request, who: Who): Promise<boolean> {
  const session = sessionOf(req);
  if (!session) return false;
  try {
    await regenerateSession(session);
    return true;
  } catch (error) {
    instance.logger.error(
      { err: errorSummary(error), tenant: who.tenant },
      'could not sign the person out after Duo denied the sign-in',
    );
    return false;
  }
}
