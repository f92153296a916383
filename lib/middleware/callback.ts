// Duo's redirect back: bind it to this browser's pending login, take that login once, exchange the code with the
// tenant's own client, check the result and device, rotate the session and land on the saved path.

import { timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { DuoMfaError, isDuoMfaError } from '../errors';
import { withVersion } from '../devices/insight';
import { judgeDevice } from '../devices/trust';
import type { DuoAuthResult } from '../duo/result';
import type { Decision } from '../policy/types';
import type { DeviceRecord, PendingRecord } from '../stores/types';
import { PENDING_TTL_MS, singleParam, stateId, type MfaEngine } from './engine';
import { errorSummary } from './events';
import { CALLBACK_ERRORS, DENY_REASONS, DEVICE_DENY_REASONS } from './messages';
import { applySecurityHeaders, sendBounce } from './pages';
import {
  MAX_CONSUMED_PER_SESSION,
  mfaData,
  rotateSession,
  SessionChangedError,
  sessionOf,
  type PendingRef,
  type SessionLike,
  type Verification,
} from './session';

const STATE_PATTERN = /^[A-Za-z0-9_-]{22,1024}$/;
const CODE_PATTERN = /^[\x21-\x7e]{1,1024}$/;
const ERROR_PATTERN = /^[a-z_]{1,64}$/;
/** Query marker of the SameSite=Strict bounce: the repeated request is not bounced again. */
const BOUNCE_PARAM = 'duo_mfa_bounce';

interface CallbackQuery {
  readonly state: string;
  readonly code?: string;
  readonly error?: string;
  readonly errorDescription?: string;
}

/** Handles GET callbackPath. Every failure answers a page or JSON with a DuoMfaError code and leaves the user unverified. */
export async function handleCallback(engine: MfaEngine, req: Request, res: Response): Promise<void> {
  if (req.method !== 'GET') {
    res.setHeader('Allow', 'GET');
    return engine.deny(req, res, new DuoMfaError('ERR_DUO_CALLBACK_INVALID', 'wrong method'), {
      status: 405,
    });
  }

  // S10: malformed input is refused before any store or Duo call.
  const query = parseQuery(req.query);
  if (!query) {
    const failure = new DuoMfaError('ERR_DUO_CALLBACK_INVALID', 'malformed callback');
    return engine.refuse(req, res, {}, 'invalid_callback', failure);
  }

  const session = engine.requireSession(req, res);
  if (!session) return;
  const data = mfaData(session);
  const id = stateId(query.state);
  const pending = data.pending ?? {};
  const match = findPending(pending, id);

  if (!match) {
    // S18: a repeated callback after success (back button, second click) lands where the first one did.
    const consumed = data.consumed?.find((entry) => safeEqual(entry.id, id));
    const user = engine.tryResolveUser(req);
    if (consumed && user && data.verified && data.verified.username === user.username) {
      applySecurityHeaders(req, res);
      return res.redirect(303, consumed.returnTo);
    }
    // S33: with SameSite=Strict the cross-site redirect from Duo arrives without our cookie. Repeat it from our
    // own origin once, consuming nothing; the repeated request carries the cookie.
    if (Object.keys(pending).length === 0 && req.query[BOUNCE_PARAM] === undefined) {
      delete (req as { session?: unknown }).session; // never create or save a session for the cookie-less request
      return sendBounce(req, res, bounceUrl(engine.config.callbackPath, req.query));
    }
    if (Object.keys(pending).length === 0) {
      const failure = new DuoMfaError('ERR_DUO_NO_PENDING_LOGIN', 'no pending login');
      return engine.refuse(req, res, {}, 'no_pending_login', failure);
    }
    // S11: a wrong state clears this browser's pending logins, and no code is exchanged.
    const first = Object.values(pending)[0];
    await clearPending(engine, session, Object.keys(pending));
    const failure = new DuoMfaError('ERR_DUO_STATE_MISMATCH', 'state mismatch');
    return engine.refuse(
      req,
      res,
      { tenant: first?.tenant, username: first?.username },
      'state_mismatch',
      failure,
    );
  }

  const [pendingId, ref] = match;
  const who = { tenant: ref.tenant, username: ref.username };
  try {
    // S15: expired by the time stored when it started.
    if (engine.config.now() - ref.startedAt > PENDING_TTL_MS) {
      await clearPending(engine, session, [pendingId]);
      const failure = new DuoMfaError('ERR_DUO_STATE_EXPIRED', 'pending login expired');
      return engine.refuse(req, res, who, 'expired', failure);
    }

    // S14: taken atomically; a concurrent callback with the same state finds nothing and exchanges nothing.
    const record = await engine.store.takePending(pendingId);
    if (!record) {
      engine.logger.info(
        { tenant: ref.tenant },
        'callback for a pending login already taken by another request',
      );
      applySecurityHeaders(req, res);
      return res.redirect(303, ref.returnTo);
    }
    delete session.duoMfa?.pending?.[pendingId];

    // S3/S19: the browser's signed-in user must still be the one who started; the Duo username comes only from
    // the server-side record.
    const user = engine.resolveUser(req);
    if (!user || !engine.sameUser(req, record.username, record.tenant)) {
      const failure = new DuoMfaError('ERR_DUO_STATE_MISMATCH', 'signed-in user changed');
      return engine.refuse(req, res, who, 'user_changed', failure);
    }

    if (query.error !== undefined) return duoReportedError(engine, req, res, who, query);

    // S24: exchanged with the tenant's own Duo application, the one that started this login.
    const tenant = engine.policy.current().tenants.get(record.tenant);
    if (!tenant || tenant.duo.clientId !== record.clientId) {
      const failure = new DuoMfaError(
        'ERR_DUO_CODE_REJECTED',
        'the tenant’s Duo application changed during sign-in',
      );
      return engine.refuse(req, res, who, 'tenant_changed', failure);
    }

    const decision = engine.decideFor(user);
    let result: DuoAuthResult;
    try {
      result = await engine.adapter.exchange(tenant.duo, query.code!, record.duoUsername);
    } catch (error) {
      return exchangeFailed(engine, req, res, who, record, decision.trustedEndpoints, error);
    }

    const judgement = judgeDevice(decision.trustedEndpoints, result.device.trusted);
    await recordDevice(
      engine,
      record,
      result,
      judgement.allow ? 'allowed' : 'blocked',
      result.reason || 'user_approved',
      decision.trustedEndpoints,
    );
    if (judgement.untrusted) {
      engine.events.emit('device.untrusted', req, who, {
        trusted: result.device.trusted,
        policy: judgement.rule,
        device: deviceSummary(result),
      });
    }
    if (!judgement.allow) {
      engine.events.emit('mfa.denied', req, who, {
        reason: 'device_untrusted',
        code: 'ERR_DUO_DEVICE_UNTRUSTED',
        trusted: result.device.trusted,
      });
      return engine.deny(req, res, new DuoMfaError('ERR_DUO_DEVICE_UNTRUSTED', 'device not trusted'), {
        explanation: `Duo reports this device as “${result.device.trusted}”, and your organization only allows trusted devices.`,
      });
    }

    const device = deviceSummary(result);
    try {
      // Re-read after the exchange: a logout or another sign-in meanwhile must not be undone (S8).
      const stillPending = () =>
        engine.sameUser(req, record.username, record.tenant) &&
        Boolean(sessionOf(req) && mfaData(sessionOf(req)!).pending?.[pendingId]);
      await rotateSession(req, stillPending, (fresh) => {
        const current = mfaData(fresh);
        const at = engine.config.now();
        const pendingLeft = { ...current.pending };
        delete pendingLeft[pendingId];
        // Kept small: express-session hashes and re-serialises the session on every request.
        const consumed = [...(current.consumed ?? []), { id: pendingId, returnTo: record.returnTo, at }]
          .filter((entry) => at - entry.at < PENDING_TTL_MS)
          .slice(-MAX_CONSUMED_PER_SESSION);
        fresh.duoMfa = {
          ...(Object.keys(pendingLeft).length > 0 ? { pending: pendingLeft } : {}),
          verified: {
            username: record.username,
            tenant: record.tenant,
            at,
            via: 'duo',
            ...(result.factor ? { factor: result.factor } : {}),
            ...(result.txid ? { txid: result.txid } : {}),
            device,
          },
          consumed,
        };
      });
    } catch (error) {
      if (error instanceof SessionChangedError) {
        const failure = new DuoMfaError('ERR_DUO_STATE_MISMATCH', 'session changed during sign-in');
        return engine.refuse(req, res, who, 'session_changed', failure);
      }
      // S36: never redirect into the app when the verification could not be stored.
      engine.logger.error(
        { err: errorSummary(error) },
        'session save failed after a successful Duo verification',
      );
      const failure = new DuoMfaError('ERR_SESSION_SAVE_FAILED', 'session save failed', { cause: error });
      return engine.refuse(req, res, who, 'session_save_failed', failure);
    }
    engine.events.emit('mfa.succeeded', req, who, {
      factor: result.factor,
      txid: result.txid,
      device,
      stepUp: record.stepUp,
    });
    applySecurityHeaders(req, res);
    res.redirect(303, record.returnTo);
  } catch (error) {
    engine.failRequest(req, res, who, error, 'callback_failed');
  }
}

/** Duo's own `error` redirect (S17): denied, the text escaped by the page renderer. */
function duoReportedError(
  engine: MfaEngine,
  req: Request,
  res: Response,
  who: { tenant: string; username: string },
  query: CallbackQuery,
): void {
  const words = CALLBACK_ERRORS[query.error!] ?? 'Duo reported an error.';
  engine.events.emit('mfa.denied', req, who, {
    reason: 'duo_error',
    duoError: query.error,
    code: 'ERR_DUO_CALLBACK_ERROR',
  });
  const description = query.errorDescription ? ` Duo said: “${query.errorDescription}”` : '';
  engine.deny(req, res, new DuoMfaError('ERR_DUO_CALLBACK_ERROR', 'Duo returned an error'), {
    explanation: words + description,
  });
}

/** The exchange failed (S21–S23, S29): always denied, whatever the failmode, with the reason recorded. */
async function exchangeFailed(
  engine: MfaEngine,
  req: Request,
  res: Response,
  who: { tenant: string; username: string },
  record: PendingRecord,
  trustedEndpoints: Decision['trustedEndpoints'],
  error: unknown,
): Promise<void> {
  const failure = isDuoMfaError(error)
    ? error
    : new DuoMfaError('ERR_DUO_UNAVAILABLE', 'exchange failed', { cause: error });
  if (failure.code === 'ERR_DUO_DENIED') {
    const reason = typeof failure.details.reason === 'string' ? failure.details.reason : '';
    const result = failure.details.result as DuoAuthResult | undefined;
    if (result) await recordDevice(engine, record, result, 'denied', reason || 'deny', trustedEndpoints);
    const deviceWords = DEVICE_DENY_REASONS[reason];
    engine.events.emit('mfa.denied', req, who, {
      reason: reason || 'deny',
      code: deviceWords ? 'ERR_DUO_DEVICE_UNTRUSTED' : failure.code,
    });
    if (deviceWords) {
      return engine.deny(req, res, new DuoMfaError('ERR_DUO_DEVICE_UNTRUSTED', 'Duo denied the device'), {
        explanation: deviceWords,
      });
    }
    return engine.deny(req, res, failure, { explanation: DENY_REASONS[reason] });
  }
  const reason =
    failure.code === 'ERR_DUO_USERNAME_MISMATCH'
      ? 'username_mismatch'
      : failure.code === 'ERR_DUO_CLOCK_SKEW'
        ? 'clock_skew'
        : 'exchange_failed';
  engine.logger.warn({ err: errorSummary(failure), tenant: who.tenant }, 'Duo code exchange failed');
  engine.refuse(req, res, who, reason, failure, {
    explanation:
      failure.code === 'ERR_DUO_CLOCK_SKEW'
        ? 'The server’s clock differs from Duo’s by more than a minute.'
        : undefined,
  });
}

async function recordDevice(
  engine: MfaEngine,
  record: PendingRecord,
  result: DuoAuthResult,
  outcome: DeviceRecord['outcome'],
  reason: string,
  trustedEndpoints: { policy: DeviceRecord['policy']; active: boolean },
): Promise<void> {
  const d = result.device;
  const entry: DeviceRecord = {
    at: engine.config.now(),
    tenant: record.tenant,
    username: record.username,
    outcome,
    trusted: d.trusted,
    reason,
    policy: trustedEndpoints.policy,
    policyActive: trustedEndpoints.active,
    ...(result.factor ? { factor: result.factor } : {}),
    ...(d.epkey ? { epkey: d.epkey } : {}),
    ...(d.hostname ? { hostname: d.hostname } : {}),
    ...(d.ip ? { ip: d.ip } : {}),
    ...(d.os ? { os: d.os } : {}),
    ...(d.osVersion ? { osVersion: d.osVersion } : {}),
    ...(d.browser ? { browser: d.browser } : {}),
    ...(d.browserVersion ? { browserVersion: d.browserVersion } : {}),
  };
  try {
    await engine.store.recordDevice(entry);
  } catch (error) {
    // Device insight is a record, not a gate: losing one entry must not block or allow anyone.
    engine.logger.warn(
      { err: errorSummary(error), tenant: record.tenant },
      'could not record device insight',
    );
  }
}

function deviceSummary(result: DuoAuthResult): NonNullable<Verification['device']> {
  const d = result.device;
  return {
    trusted: d.trusted,
    ...(d.os ? { os: withVersion(d.os, d.osVersion) } : {}),
    ...(d.browser ? { browser: withVersion(d.browser, d.browserVersion) } : {}),
    ...(d.hostname ? { hostname: d.hostname } : {}),
    ...(d.epkey ? { epkey: d.epkey } : {}),
  };
}

/** Validates the callback query: single strings of sane size and charset, exactly one of code or error. */
function parseQuery(query: Request['query']): CallbackQuery | undefined {
  const state = singleParam(query.state);
  const code = query.duo_code === undefined ? undefined : singleParam(query.duo_code);
  const error = query.error === undefined ? undefined : singleParam(query.error);
  const description =
    query.error_description === undefined ? undefined : singleParam(query.error_description);
  if (state === undefined || !STATE_PATTERN.test(state)) return undefined;
  if (query.duo_code !== undefined && (code === undefined || !CODE_PATTERN.test(code))) return undefined;
  if (query.error !== undefined && (error === undefined || !ERROR_PATTERN.test(error))) return undefined;
  if (query.error_description !== undefined && description === undefined) return undefined;
  if ((code === undefined) === (error === undefined)) return undefined;
  return {
    state,
    ...(code !== undefined ? { code } : {}),
    ...(error !== undefined ? { error, errorDescription: description?.slice(0, 300) } : {}),
  };
}

/** Finds the pending login whose id equals `id`, comparing every entry in constant time. */
function findPending(pending: Record<string, PendingRef>, id: string): [string, PendingRef] | undefined {
  let found: [string, PendingRef] | undefined;
  for (const [key, ref] of Object.entries(pending)) if (safeEqual(key, id)) found = [key, ref];
  return found;
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

async function clearPending(engine: MfaEngine, session: SessionLike, ids: string[]): Promise<void> {
  const pending = session.duoMfa?.pending;
  for (const id of ids) {
    if (pending) delete pending[id];
    await engine.store.deletePending(id).catch(() => undefined);
  }
}

function bounceUrl(callbackPath: string, query: Request['query']): string {
  const params = new URLSearchParams();
  for (const key of ['state', 'duo_code', 'error', 'error_description']) {
    const value = singleParam(query[key]);
    if (value !== undefined) params.set(key, value);
  }
  params.set(BOUNCE_PARAM, '1');
  return `${callbackPath}?${params.toString()}`;
}
