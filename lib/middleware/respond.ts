// How the middleware answers: redirects with the security headers, and one failure path — report the audit
// event, then hand a DuoMfaError to the host's error handling (with the default pages behind it).

import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { DuoMfaError, isDuoMfaError } from '../errors';
import { errorSummary, type AuditEventType } from './events';
import type { MfaInstance } from './instance';
import { applySecurityHeaders, errorPages, withLinks } from './pages';
import { hasForeignSession, sessionOf, type SessionLike } from './session';

/** Who a failure is about, as audit events name them. */
export interface Who {
  readonly tenant?: string | undefined;
  readonly username?: string | undefined;
}

/** The audit event a failure is reported as: `mfa.failed` (something broke) or `mfa.denied` (refused). */
export interface Report {
  readonly type: Extract<AuditEventType, 'mfa.failed' | 'mfa.denied'>;
  readonly who: Who;
  readonly reason: string;
  /** Extra event fields (never secrets). */
  readonly fields?: Record<string, unknown>;
  /** Log level when it differs from the type's usual one (e.g. an approval lost to a failed save: error). */
  readonly level?: 'error';
}

/** The same failure with plain words for people added (`details.explanation`); the original stays the cause. */
export function withExplanation(error: DuoMfaError, explanation: string): DuoMfaError {
  return new DuoMfaError(error.code, error.message, {
    cause: error.cause,
    details: { ...error.details, explanation },
    status: error.status,
  });
}

/** A 303 to a URL we built (Duo's prompt, a saved same-origin path), with the headers every answer carries. */
export function sendRedirect(req: Request, res: Response, url: string): void {
  applySecurityHeaders(req, res);
  res.redirect(303, url);
}

/**
 * The one failure path: reports the event (with the error's code), then passes the error to `next()`, so a host
 * error handler mounted after duoMfa() can render it; the default pages answer when none does.
 */
export function fail(
  instance: MfaInstance,
  req: Request,
  res: Response,
  next: NextFunction,
  error: DuoMfaError,
  report?: Report,
): void {
  if (report) {
    instance.events.emit(
      report.type,
      req,
      report.who,
      { reason: report.reason, code: error.code, ...report.fields },
      report.level,
    );
  }
  installErrorPages(req);
  if (res.headersSent) return;
  next(withLinks(error, instance.links));
}

/**
 * Anything thrown in a flow: a DuoMfaError keeps its code; anything else is ERR_INTERNAL (never dressed up as a
 * store or Duo outage), logged with its cause, reported as `mfa.failed` with `reason`.
 */
export function failUnexpected(
  instance: MfaInstance,
  req: Request,
  res: Response,
  next: NextFunction,
  who: Who,
  error: unknown,
  reason: string,
): void {
  const failure = isDuoMfaError(error)
    ? error
    : new DuoMfaError('ERR_INTERNAL', 'unexpected failure', { cause: error });
  instance.logger.error(
    { err: errorSummary(failure), cause: errorSummary(failure.cause), reason },
    'express-duo-mfa request failed',
  );
  fail(instance, req, res, next, failure, { type: 'mfa.failed', who, reason });
}

/**
 * One of our request handlers with every throw and rejection — a host `getUser` or `toDuoUsername` that throws, a
 * bug — sent through failUnexpected() as `reason`: never handed raw to next(), never a pass.
 *
 * @example
 * ```ts
 * routes.get(startPath, guarded(instance, 'start_failed', async (req, res, next) => { … }));
 * ```
 */
export function guarded(
  instance: MfaInstance,
  reason: string,
  handler: (req: Request, res: Response, next: NextFunction) => Promise<void> | void,
): RequestHandler {
  return function duoMfaGuarded(req: Request, res: Response, next: NextFunction): void {
    const failed = (error: unknown) => failUnexpected(instance, req, res, next, {}, error, reason);
    try {
      handler(req, res, next)?.catch(failed);
    } catch (error) {
      failed(error);
    }
  };
}

/** Answers 405 (with `Allow`) for a method one of our routes does not serve. */
export function methodNotAllowed(instance: MfaInstance, allow: string): RequestHandler {
  return function duoMfaMethodNotAllowed(req: Request, res: Response, next: NextFunction): void {
    res.setHeader('Allow', allow);
    const error = new DuoMfaError('ERR_DUO_CALLBACK_INVALID', 'wrong method', { status: 405 });
    fail(instance, req, res, next, error);
  };
}

/** The request's session, or undefined after failing the request (S35, S39): no session is never a pass. */
export function requireSession(
  instance: MfaInstance,
  req: Request,
  res: Response,
  next: NextFunction,
): SessionLike | undefined {
  const session = sessionOf(req);
  if (session) return session;
  instance.warnNoSession(hasForeignSession(req));
  fail(instance, req, res, next, new DuoMfaError('ERR_SESSION_MISSING', 'no session on this request'));
  return undefined;
}

/** Apps whose router already ends with the default pages. */
const appsWithPages = new WeakSet<object>();

/**
 * Appends the default pages to the end of the app's router the first time a failure passes through it, after
 * every error handler the host mounted: a host handler sees DuoMfaErrors first and may answer or pass them on;
 * without one, the middleware's own pages answer, as they always did.
 */
function installErrorPages(req: Request): void {
  const app = req.app as Express | undefined;
  if (!app || appsWithPages.has(app)) return;
  appsWithPages.add(app);
  if (!app.router.stack.some((layer: { handle?: unknown }) => layer.handle === errorPages))
    app.use(errorPages);
}
