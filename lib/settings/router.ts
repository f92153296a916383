// mfa.settingsRouter({ authorize }): the JSON API a host mounts behind its own admin login for its customers'
// "MFA Settings" page (S48): GET, PATCH (merge patch + If-Match), POST …/test. JSON in and out, same origin only.

import express, {
  Router,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { DuoMfaError, isDuoMfaError, type DuoMfaErrorCode } from '../errors';
import { errorSummary } from '../middleware/events';
import type { MfaInstance } from '../middleware/instance';
import { applySecurityHeaders } from '../middleware/pages';
import { tryResolveUser } from '../middleware/user';
import { isPlainObject } from '../util/objects';
import { readSettings, testConnection, updateSettings, type CandidateDuo } from './service';

/** Options of settingsRouter(). */
export interface SettingsRouterOptions {
  /**
   * Whether this request may read and change this tenant's settings — the host's own rule (e.g. the signed-in
   * user is an admin of that tenant). May be async. Anything but `true` answers 403 and changes nothing.
   */
  readonly authorize: (req: Request, tenant: string) => boolean | Promise<boolean>;
  /**
   * Who is making a change, for the audit trail. Default: the signed-in user (`getUser`) as `username@tenant`.
   */
  readonly actor?: (req: Request) => string | undefined;
  /** Largest accepted body. Default 64 kB. */
  readonly limit?: string;
}

const MEDIA_TYPES = ['application/json', 'application/merge-patch+json'];

/**
 * "Test configuration" calls Duo from this server: at most this many per tenant per minute on one instance, so one
 * tenant's admin (or a script with their session) cannot get this server's address rate-limited by Duo for every
 * tenant.
 */
export const TEST_LIMIT_PER_MINUTE = 10;
/** …and at most this many for all tenants together, whatever `authorize` lets one caller name. */
export const TEST_LIMIT_ALL_TENANTS_PER_MINUTE = 60;
const TEST_WINDOW_MS = 60_000;
/** Tenants whose recent tests are remembered at once; the oldest entry is forgotten beyond it. */
const TEST_BUDGETS_KEPT = 10_000;

/**
 * The settings API as an Express Router: `GET /:tenant` (with `ETag`), `PATCH /:tenant` (a JSON merge patch with
 * `If-Match: "<version>"`, or `If-None-Match: *` to create a tenant), `POST /:tenant/test` (optional body
 * `{ "duo": { clientId, clientSecret, apiHost } }`).
 *
 * @example
 * ```ts
 * app.use('/admin/mfa', requireAdminLogin, mfa.settingsRouter({
 *   authorize: (req, tenant) => req.session.user?.roles.includes('admin') && req.session.user.tenant === tenant,
 * }));
 * ```
 */
export function settingsRouter(instance: MfaInstance, options: SettingsRouterOptions): Router {
  if (typeof options?.authorize !== 'function') {
    throw new TypeError(
      'express-duo-mfa: settingsRouter({ authorize }) needs authorize(req, tenant): your rule for who may manage which tenant',
    );
  }
  const json = express.json({ limit: options.limit ?? '64kb', type: MEDIA_TYPES, strict: true });
  const router = Router({ caseSensitive: true, strict: true });
  router.use(sameOrigin(instance));
  router.get('/:tenant', allowed(options), (req, res) => {
    const tenant = tenantOf(req);
    readSettings(instance, tenant)
      .then((document) => {
        if (document.version === null) {
          return sendError(
            res,
            new DuoMfaError('ERR_DUO_UNKNOWN_TENANT', `no tenant ${JSON.stringify(tenant)}`),
            404,
          );
        }
        res.setHeader('ETag', `"${document.version}"`);
        sendJson(res, 200, document);
      })
      .catch((error: unknown) => failed(instance, res, error));
  });
  router.patch('/:tenant', allowed(options), jsonOnly, json, (req, res) => {
    const tenant = tenantOf(req);
    const version = expectedVersion(req);
    if (version === undefined) {
      return sendError(
        res,
        new DuoMfaError(
          'ERR_SETTINGS_REQUEST_INVALID',
          'send If-Match: "<version>" (from GET), or If-None-Match: * to create the tenant',
        ),
        428,
      );
    }
    const actor = actorOf(instance, options, req);
    updateSettings(instance, tenant, req.body, { actor, version })
      .then((document) => {
        res.setHeader('ETag', `"${document.version}"`);
        sendJson(res, 200, document);
      })
      .catch((error: unknown) => failed(instance, res, error));
  });
  router.post('/:tenant/test', allowed(options), jsonOrEmpty, json, testBudget(instance), (req, res) => {
    const body: unknown = req.body;
    const duo = isPlainObject(body) && isPlainObject(body.duo) ? (body.duo as CandidateDuo) : undefined;
    testConnection(instance, tenantOf(req), duo)
      .then((result) => sendJson(res, 200, result))
      .catch((error: unknown) => failed(instance, res, error));
  });
  router.all('/:tenant', (_req, res) => {
    res.setHeader('Allow', 'GET, PATCH');
    sendError(res, new DuoMfaError('ERR_SETTINGS_REQUEST_INVALID', 'use GET or PATCH'), 405);
  });
  router.all('/:tenant/test', (_req, res) => {
    res.setHeader('Allow', 'POST');
    sendError(res, new DuoMfaError('ERR_SETTINGS_REQUEST_INVALID', 'use POST'), 405);
  });
  // Body parser failures (not JSON, too large, a charset other than UTF-8) answer JSON too.
  router.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500 && !isDuoMfaError(error)) {
      const message =
        status === 413 ? 'the request body is too large' : 'the request body must be a JSON object (UTF-8)';
      return sendError(res, new DuoMfaError('ERR_SETTINGS_REQUEST_INVALID', message), status);
    }
    failed(instance, res, error);
  });
  return router;
}

/**
 * S48: a browser request another site sent is refused before anything is read or written (Sec-Fetch-Site, and an
 * Origin that is not this app's own). Clients that send neither (scripts, curl) are judged by `authorize` alone.
 */
function sameOrigin(instance: MfaInstance): RequestHandler {
  return (req, res, next) => {
    const site = req.headers['sec-fetch-site'];
    const origin = req.headers.origin;
    if (
      (site !== undefined && site !== 'same-origin' && site !== 'none') ||
      (origin !== undefined && origin !== instance.config.origin)
    ) {
      return sendError(
        res,
        new DuoMfaError('ERR_SETTINGS_REQUEST_INVALID', 'cross-site requests are refused'),
        403,
      );
    }
    next();
  };
}

/** The host's authorize(): anything but true (or a throw) answers 403 / an error, and nothing is read. */
function allowed(options: SettingsRouterOptions): RequestHandler {
  return (req, res, next) => {
    const tenant = tenantOf(req);
    Promise.resolve()
      .then(() => options.authorize(req, tenant))
      .then((ok) => {
        if (ok === true) return next();
        sendError(res, new DuoMfaError('ERR_FORBIDDEN', 'not authorized for this tenant'), 403);
      })
      .catch(next);
  };
}

/**
 * At most TEST_LIMIT_PER_MINUTE tests per tenant, and TEST_LIMIT_ALL_TENANTS_PER_MINUTE in all, in any 60 s on
 * this instance; beyond it 429 with Retry-After, and Duo is not called. Counted after authorize() and the body's
 * checks, so nobody else can spend a tenant's tests and a malformed request spends none.
 */
function testBudget(instance: MfaInstance): RequestHandler {
  const recent = new Map<string, number[]>();
  let everyone: number[] = [];
  return (req, res, next) => {
    const tenant = tenantOf(req);
    const now = instance.config.now();
    const young = (at: number) => now - at < TEST_WINDOW_MS;
    const times = (recent.get(tenant) ?? []).filter(young);
    everyone = everyone.filter(young);
    recent.delete(tenant); // re-inserted below: the Map's order is then least recently tested first
    if (times.length > 0) recent.set(tenant, times);
    const full =
      times.length >= TEST_LIMIT_PER_MINUTE
        ? { oldest: times[0]!, limit: `${TEST_LIMIT_PER_MINUTE} tests a minute` }
        : everyone.length >= TEST_LIMIT_ALL_TENANTS_PER_MINUTE
          ? {
              oldest: everyone[0]!,
              limit: `${TEST_LIMIT_ALL_TENANTS_PER_MINUTE} tests a minute on this server`,
            }
          : undefined;
    if (full) {
      const retryAfter = Math.max(1, Math.ceil((full.oldest + TEST_WINDOW_MS - now) / 1000));
      res.setHeader('Retry-After', String(retryAfter));
      return sendError(
        res,
        new DuoMfaError('ERR_SETTINGS_TEST_LIMIT', `at most ${full.limit}: try again in ${retryAfter} s`, {
          details: { retryAfterSeconds: retryAfter },
        }),
        429,
      );
    }
    recent.set(tenant, [...times, now]);
    everyone.push(now);
    if (recent.size > TEST_BUDGETS_KEPT) recent.delete(recent.keys().next().value!);
    next();
  };
}

/** A change is JSON: any other content type is refused (415) before it is read. */
function jsonOnly(req: Request, res: Response, next: NextFunction): void {
  if (req.is(MEDIA_TYPES)) return next();
  sendError(res, new DuoMfaError('ERR_SETTINGS_REQUEST_INVALID', 'send the change as application/json'), 415);
}

/** "Test configuration" takes JSON, or no body at all. */
function jsonOrEmpty(req: Request, res: Response, next: NextFunction): void {
  if (!req.headers['content-type'] && !Number(req.headers['content-length'] ?? 0)) return next();
  jsonOnly(req, res, next);
}

/** If-Match "<version>" → that version; If-None-Match * → null (create); neither → undefined. */
function expectedVersion(req: Request): string | null | undefined {
  const match = req.headers['if-match'];
  if (typeof match === 'string') {
    const tag = /^(?:W\/)?"([^"]{1,200})"$/.exec(match.trim());
    return tag ? tag[1] : undefined;
  }
  return req.headers['if-none-match']?.trim() === '*' ? null : undefined;
}

/** The `:tenant` route parameter. */
function tenantOf(req: Request): string {
  return String(req.params.tenant);
}

function actorOf(instance: MfaInstance, options: SettingsRouterOptions, req: Request): string {
  const named = options.actor?.(req);
  if (typeof named === 'string' && named.trim() !== '') return named;
  const user = tryResolveUser(instance.config, req);
  return user ? `${user.username}@${user.tenant ?? instance.tenants.defaultTenant() ?? '?'}` : 'unknown';
}

/** The status each failure answers with here: invalid changes are 422, not the start-up 500 of a bad file. */
const STATUS: Partial<Record<DuoMfaErrorCode, number>> = { ERR_POLICY_INVALID: 422 };

function failed(instance: MfaInstance, res: Response, error: unknown): void {
  if (res.headersSent) return;
  if (error instanceof TypeError) {
    return sendError(
      res,
      new DuoMfaError('ERR_SETTINGS_REQUEST_INVALID', error.message.replace(/^express-duo-mfa: /, '')),
      400,
    );
  }
  if (!isDuoMfaError(error)) {
    instance.logger.error({ err: errorSummary(error) }, 'settings API request failed');
    return sendError(res, new DuoMfaError('ERR_INTERNAL', 'unexpected failure'), 500);
  }
  sendError(res, error, STATUS[error.code] ?? error.status);
}

/** Codes whose message is written for the caller; others answer their title (messages name files, hosts…). */
const OWN_WORDS: ReadonlySet<DuoMfaErrorCode> = new Set([
  'ERR_SETTINGS_REQUEST_INVALID',
  'ERR_SETTINGS_CONFLICT',
  'ERR_FORBIDDEN',
  'ERR_SECRETS_KEY_MISSING',
  'ERR_DUO_UNKNOWN_TENANT',
  'ERR_SETTINGS_TEST_LIMIT',
]);

function sendError(res: Response, error: DuoMfaError, status: number): void {
  const issues = error.details.issues;
  sendJson(res, status, {
    error: error.code.replace(/^ERR_(DUO_)?/, '').toLowerCase(),
    code: error.code,
    message: OWN_WORDS.has(error.code) ? error.message : error.title,
    ...(Array.isArray(issues) ? { issues } : {}),
    ...(typeof error.details.currentVersion === 'string'
      ? { currentVersion: error.details.currentVersion }
      : {}),
  });
}

function sendJson(res: Response, status: number, body: unknown): void {
  applySecurityHeaders(res.req, res);
  res.status(status).json(body);
}
