// The example staff portal: its own password login, then express-duo-mfa deciding per tenant policy whether
// Duo is needed; tenant admins edit their MFA Settings (the settings API) and recover staff (Duo's Admin API).
// Uses only the package's public API. createApp() builds it; it never listens (main.ts does).

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { RedisStore } from 'connect-redis';
import express, {
  type ErrorRequestHandler,
  type Express,
  type NextFunction,
  type Request,
  type Response,
} from 'express';
import session from 'express-session';
import type { Redis } from 'ioredis';
import {
  duoMfa,
  isDuoMfaError,
  type DuoMfaError,
  safeReturnPath as libraryReturnPath,
  type AuditEvent,
  type DuoMfaMiddleware,
  type DuoMfaOptions,
  type DuoMfaSessionData,
  type MfaLogger,
  type TenantSettings,
} from 'express-duo-mfa';
import { FAVICON_ICO, PORTAL_CSS } from './assets';
import { DEMO_LOGINS, TENANTS } from './demo';
import {
  adminToolsPage,
  dashboardPage,
  errorPage,
  formatTime,
  isAdmin,
  loginPage,
  verificationPage,
  type PageAction,
  type PortalUser,
} from './pages';
import { PolicyFileStatus } from './policy-status';
import { settingsPage } from './settings-page';
import { StaffDirectory, type StaffSeed } from './staff';
import { staffRecovery } from './staff-recovery';

/** The MFA Settings page's script (a module: the CSP allows no inline script), read once. */
const SETTINGS_MODULE = readFileSync(join(__dirname, 'public', 'mfa-settings.mjs'), 'utf8');

/** Where the settings API is mounted: GET / PATCH /admin/mfa/api/<tenant>, POST …/<tenant>/test. */
export const SETTINGS_API = '/admin/mfa/api';

declare module 'express-session' {
  interface SessionData {
    /** Set by POST /login after the password check: what duoMfa() reads as the signed-in user. */
    user?: PortalUser;
    /** Written by express-duo-mfa. */
    duoMfa?: DuoMfaSessionData;
  }
}

export interface PortalOptions {
  /** The MFA policy: a JSON file path (hot-reloaded) or the parsed object. Default: ./duo-mfa.json next to this file. */
  policy?: string | object;
  /** Public origin of the portal, e.g. `http://127.0.0.1:3000`. Default `http://127.0.0.1:3000`. */
  baseUrl?: string;
  /** Trust this CA for Duo (the emulator's `ca`). Default: Duo's own pinned CAs. */
  duoTls?: DuoMfaOptions['duoTls'];
  /** An ioredis client: sessions (connect-redis) and express-duo-mfa's state go there. Default: in memory. */
  redis?: Redis;
  /** Signs the session cookie. Default: random at each start (main.ts keeps one in example-app/.data/). */
  sessionSecret?: string;
  /**
   * Encrypts the Duo secrets an admin saves on MFA Settings (express-duo-mfa's `secretsKey`). Default: the
   * middleware's own, `DUO_MFA_SECRETS_KEY` (main.ts keeps a development key in example-app/.data/).
   */
  secretsKey?: string;
  /** The session cookie's SameSite. Default `lax`. */
  sameSite?: 'lax' | 'strict';
  /** Staff who can sign in. Default: the demo staff (demo.ts). */
  staff?: readonly StaffSeed[];
  /** The customers, for the login page. Default: the demo tenants. */
  tenants?: ReadonlyArray<{ readonly id: string; readonly name: string }>;
  /** Where express-duo-mfa and the portal log. Default: one line per message on the console. */
  logger?: MfaLogger;
  /** Called with every express-duo-mfa audit event. */
  onEvent?: (event: AuditEvent) => void;
  /**
   * How recent an admin's Duo approval must be (ms or `'15m'`): to open MFA Settings (`page`, default `'15m'`) and
   * to save a change, test a configuration or recover someone's Duo account (`changes`, default `'1h'`).
   */
  recentDuo?: { readonly page?: number | string; readonly changes?: number | string };
}

/** The Express app, with the MFA middleware it mounted and a close() that releases it. */
export type PortalApp = Express & {
  readonly mfa: DuoMfaMiddleware;
  /** Stops watching the policy file and closes Duo connections (does not close the Redis client passed in). */
  close(): void;
};

/** The session cookie's name. */
export const SESSION_COOKIE = 'portal.sid';

/** express-duo-mfa's start route (its default `startPath`). */
const DUO_START_PATH = '/duo/start';

/** A session store failure (Redis down…): answered 503, never a pass. */
class SessionUnavailableError extends Error {
  readonly status = 503;
  constructor(cause: unknown) {
    super('The session store is unavailable', { cause });
    this.name = 'SessionUnavailableError';
  }
}

let demoDirectory: StaffDirectory | undefined;

/**
 * Builds the staff portal.
 *
 * @example
 * ```ts
 * const portal = createApp({ policy: './duo-mfa.json', baseUrl: 'http://127.0.0.1:3000', duoTls: { ca: emulator.ca } });
 * const server = portal.listen(3000, '127.0.0.1');
 * // later: server.close(); portal.close();
 * ```
 */
export function createApp(options: PortalOptions = {}): PortalApp {
  const baseUrl = options.baseUrl ?? 'http://127.0.0.1:3000';
  const policy = options.policy ?? `${__dirname}/duo-mfa.json`;
  const tenants = options.tenants ?? TENANTS;
  const staff = options.staff
    ? new StaffDirectory(options.staff)
    : (demoDirectory ??= new StaffDirectory(DEMO_LOGINS));
  const logger = options.logger ?? consoleLogger();
  const secure = new URL(baseUrl).protocol === 'https:';
  const sameSite = options.sameSite ?? 'lax';
  const tenantName = (id: string) => tenants.find((t) => t.id === id)?.name ?? id;

  // What the MFA Settings page says about the file: when the policy in force was loaded, and whether the file on
  // disk is valid now (checked by the portal itself: see policy-status.ts).
  let loadedAt = Date.now();
  const secretsKey = options.secretsKey ?? (process.env.DUO_MFA_SECRETS_KEY || undefined);
  const fileStatus =
    typeof policy === 'string' ? new PolicyFileStatus(resolve(policy), { secretsKey }) : undefined;
  const onEvent = (event: AuditEvent) => {
    if (event.type === 'policy.reloaded') loadedAt = Date.parse(event.at);
    else if (event.type === 'policy.invalid') fileStatus?.refusedAt(Date.parse(event.at));
    options.onEvent?.(event);
  };

  const mfa = duoMfa({
    policy,
    baseUrl,
    duoTls: options.duoTls,
    redis: options.redis,
    secretsKey,
    logger,
    onEvent,
    // The password login and static files are never gated; everything else is.
    ignore: ['/login', '/logout', '/assets', '/favicon.ico', '/healthz'],
    // Denied and error pages offer "Sign out" (a POST here) beside "Back to sign-in".
    signOutPath: '/logout',
  });

  const app = express();
  app.disable('x-powered-by');

  // Every response: a strict CSP (no external assets), no caching of pages (the back button after logout must
  // show nothing private), no framing. The middleware's own pages set the same kind of headers.
  app.use((req, res, next) => {
    res.setHeader('Content-Security-Policy', contentSecurityPolicy(mfa, tenants));
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    // same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on our own form posts.
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    next();
  });

  // Forms are posted from our own pages only (login CSRF): a browser's Origin must be ours. Clients that send
  // no Origin (curl, old browsers) pass; the session cookie's SameSite covers the rest.
  const ownOrigin = new URL(baseUrl).origin;
  app.use((req, res, next) => {
    const from = req.headers.origin;
    // Exempt: logout, which the middleware's error pages post with "Origin: null" (they send no-referrer) and whose
    // forgery harms no one; and the middleware's own start route, whose pages ("Set up Duo now" / "Remind me
    // later", "Continue to Duo") post with "Origin: null" too and prove themselves with a one-time token.
    if (
      req.method !== 'POST' ||
      from === undefined ||
      from === ownOrigin ||
      req.path === '/logout' ||
      req.path === DUO_START_PATH
    )
      return next();
    res
      .status(403)
      .type('html')
      .send(
        errorPage({
          status: 403,
          title: 'Request refused',
          paragraphs: [`This form was not sent from the portal. Open ${ownOrigin} and try again.`],
          actions: [{ href: '/', label: 'Open the portal' }],
        }),
      );
  });

  app.get('/assets/portal.css', (req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type('text/css').send(PORTAL_CSS);
  });
  app.get('/assets/mfa-settings.mjs', (req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type('text/javascript').send(SETTINGS_MODULE);
  });
  // Browsers ask for it on every page, signed in or not (and on the middleware's own pages): never a 401 or 404.
  app.get('/favicon.ico', (req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.type('image/x-icon').send(FAVICON_ICO);
  });
  app.get('/healthz', (req, res) => {
    res.type('text/plain').send('ok');
  });

  const sessions = session({
    name: SESSION_COOKIE,
    secret: options.sessionSecret ?? randomBytes(32).toString('hex'),
    resave: false, // required by express-duo-mfa: a resaved stale session could bring back a rotated id
    saveUninitialized: false,
    store: options.redis
      ? new RedisStore({ client: options.redis, prefix: 'portal-sess:' })
      : new session.MemoryStore(),
    cookie: { httpOnly: true, secure, sameSite, maxAge: 12 * 3600_000 },
  });
  // A store failure while loading the session becomes a 503 page (see the error handler), never a pass.
  // express-session also reports a failed save *after* the response went out: only log that one.
  app.use((req, res, next) => {
    sessions(req, res, (error?: unknown) => {
      if (error === undefined) return next();
      if (res.headersSent) {
        logger.warn(
          { err: { message: (error as Error)?.message } },
          'session store: saving the session failed',
        );
        return;
      }
      next(new SessionUnavailableError(error));
    });
  });
  app.use(express.urlencoded({ extended: false, limit: '10kb' }));

  app.get('/login', (req, res) => {
    if (req.session?.user) {
      res.redirect(303, '/');
      return;
    }
    res.type('html').send(
      loginPage({
        tenants,
        returnTo: safeReturnPath(req.query.returnTo),
        notice: req.query.loggedOut === '1' ? 'You are signed out.' : undefined,
      }),
    );
  });

  app.post('/login', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const returnTo = safeReturnPath(body.returnTo);
    const member = await staff.verify(body.tenant, body.username, body.password);
    if (!member) {
      // The same answer for an unknown organization, an unknown user and a wrong password.
      res
        .status(401)
        .type('html')
        .send(
          loginPage({
            tenants,
            returnTo,
            error: 'Wrong organization, username or password.',
            tenant: typeof body.tenant === 'string' ? body.tenant : undefined,
            username: typeof body.username === 'string' ? body.username.slice(0, 256) : undefined,
          }),
        );
      return;
    }
    // A new session id at login (no session fixation), then the user express-duo-mfa reads.
    await sessionCall(req, 'regenerate');
    req.session.user = {
      username: member.username,
      tenant: member.tenant,
      roles: [...member.roles],
      name: member.name,
    };
    await sessionCall(req, 'save');
    res.redirect(303, returnTo);
  });

  app.post('/logout', async (req, res) => {
    if (req.session) await sessionCall(req, 'destroy');
    res.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, secure, sameSite });
    res.redirect(303, '/login?loggedOut=1');
  });

  app.use(mfa);

  // After duoMfa: nobody signed in yet → the login page, then back here.
  app.use((req, res, next) => {
    if (req.session?.user) return next();
    if (req.method === 'GET' && req.accepts(['json', 'html']) === 'html') {
      res.redirect(303, `/login?returnTo=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    res.status(401).json({ error: 'not_signed_in' });
  });

  app.get('/', (req, res) => {
    const user = req.session.user!;
    res.type('html').send(dashboardPage({ user, tenantName: tenantName(user.tenant), mfa: req.duoMfa }));
  });

  app.get('/account/verification', (req, res) => {
    const user = req.session.user!;
    res.type('html').send(
      verificationPage({
        user,
        tenantName: tenantName(user.tenant),
        mfa: req.duoMfa,
        verification: req.session.duoMfa?.verified,
      }),
    );
  });

  const adminsOnly = (req: Request, res: Response, next: NextFunction) => {
    const user = req.session.user!;
    if (isAdmin(user)) return next();
    res.status(403);
    if (!wantsHtml(req)) {
      res.json({ error: 'forbidden', message: 'Admin Tools are for administrators' });
      return;
    }
    res.type('html').send(
      errorPage({
        status: 403,
        title: 'Admin Tools are for administrators',
        paragraphs: ['Ask an administrator of your organization for access.'],
        actions: [{ href: '/', label: 'Back to the dashboard' }],
        user,
        tenantName: tenantName(user.tenant),
      }),
    );
  };
  // The page reloads itself when this changes: a new policy in force, or the file on disk turning invalid, changing
  // its problems, or becoming valid again (even with exactly the content already in force).
  const revisionOf = (version: string) => {
    const file = fileStatus?.check();
    return `${version}:${file && !file.valid ? file.key : ''}`;
  };

  // Step-up (mfa.requireRecent) for what an attacker holding an admin's session would want most: turning MFA off,
  // editing who is asked, reactivating someone's Duo Mobile or taking a bypass code. Opening MFA Settings needs a
  // Duo approval from the last 15 minutes, acting one from the last hour: a page left open over 45 minutes asks
  // again before it saves. Only admins Duo protects are asked: an admin of a tenant with MFA off has no Duo to ask.
  const recentDuo = (maxAge: number | string, onlyChanges: boolean) => {
    // freshFactor: false — a Duo application that remembers devices answers a step-up without a live factor, and
    // insisting on one would lock such admins out of MFA Settings; a recent Duo approval is what is asked here.
    const guard = mfa.requireRecent(maxAge, { freshFactor: false });
    return (req: Request, res: Response, next: NextFunction) => {
      if (onlyChanges && (req.method === 'GET' || req.method === 'HEAD')) return next();
      if (!req.duoMfa?.required) return next();
      guard(req, res, next);
    };
  };
  const recentForPage = recentDuo(options.recentDuo?.page ?? '15m', false);
  const recentForChanges = recentDuo(options.recentDuo?.changes ?? '1h', true);

  app.get('/admin', adminsOnly, (req, res) => {
    const user = req.session.user!;
    res.type('html').send(adminToolsPage({ user, tenantName: tenantName(user.tenant) }));
  });

  app.get('/admin/mfa-settings', adminsOnly, recentForPage, async (req, res) => {
    const user = req.session.user!;
    // An admin sees their own organization's settings only: the tenant comes from the session, never the URL.
    const inForce = mfa.tenantSettings(user.tenant);
    const file = fileStatus?.check();
    // The file on disk not valid now (saved half-way, a typo…): the page shows the settings in force, which cannot
    // be changed here until the file is fixed. Otherwise the tenant as stored, with the version to save against.
    let unreadable = file !== undefined && !file.valid;
    let stored: { version: string | null; settings: Record<string, unknown> | null } | undefined;
    // A file, a directory or Redis can be written through the settings API; a parsed object cannot.
    let writable = false;
    if (!unreadable) {
      try {
        const document = await mfa.settings(user.tenant);
        ({ writable } = document);
        stored = document;
      } catch (error) {
        if (!isDuoMfaError(error) || !inForce) throw error;
        unreadable = true;
      }
    }
    if (unreadable && inForce) stored = { version: inForce.policyVersion, settings: storedFormOf(inForce) };
    if (!stored || stored.version === null || stored.settings === null || !inForce)
      throw Object.assign(new Error('tenant not in the MFA policy'), { status: 404 });
    res.type('html').send(
      settingsPage({
        user,
        tenantName: tenantName(user.tenant),
        settings: stored.settings,
        version: stored.version,
        api: `${SETTINGS_API}/${encodeURIComponent(user.tenant)}`,
        editable: writable && !unreadable,
        readOnlyReason: unreadable
          ? 'the policy cannot be read now (see above): these are the settings in force; fix the file to change them'
          : !writable
            ? 'this portal was given its policy as an object, so these settings cannot be saved from here'
            : undefined,
        revision: revisionOf(inForce.policyVersion),
        source: typeof policy === 'string' ? basename(policy) : undefined,
        loadedAt,
        fileInvalid: file && !file.valid ? { since: file.since, problems: file.problems } : undefined,
        staff: staff.ofTenant(user.tenant).map((member) => {
          const decision = mfa.explain(member);
          return {
            username: member.username,
            name: member.name,
            roles: member.roles,
            required: decision.required,
            detail: decision.reason.detail,
            graceUntil: decision.gracePeriodUntil,
          };
        }),
        devices: await mfa.deviceInsight(user.tenant, { limit: 1000 }),
        now: Date.now(),
      }),
    );
  });

  app.get('/admin/mfa-settings/revision', adminsOnly, (req, res) => {
    const settings = mfa.tenantSettings(req.session.user!.tenant);
    res.json({ revision: settings ? revisionOf(settings.policyVersion) : null });
  });

  // Staff status and recovery through the tenant's Duo Admin API application (staff-recovery.ts).
  app.use(
    '/admin/mfa-settings/staff',
    adminsOnly,
    recentForChanges,
    staffRecovery({ mfa, staff, ownOrigin, logger }),
  );

  // The settings API the page's script talks to: an admin manages their own organization only. The router refuses
  // cross-site requests itself (Sec-Fetch-Site, Origin) and takes JSON only.
  app.use(
    SETTINGS_API,
    recentForChanges,
    mfa.settingsRouter({
      authorize: (req, tenant) => {
        const user = req.session?.user;
        return user !== undefined && isAdmin(user) && user.tenant === tenant;
      },
      actor: (req) => {
        const user = req.session?.user;
        return user ? `${user.username}@${user.tenant}` : undefined;
      },
    }),
  );

  app.use((req, res) => {
    const user = req.session?.user;
    res
      .status(404)
      .type('html')
      .send(
        errorPage({
          status: 404,
          title: 'Page not found',
          paragraphs: ['There is no page at this address.'],
          actions: [{ href: '/', label: user ? 'Back to the dashboard' : 'Sign in' }],
          user,
          tenantName: user ? tenantName(user.tenant) : undefined,
        }),
      );
  });

  app.use(errorHandler(logger, tenantName));

  return Object.assign(app, {
    mfa,
    close: () => mfa.close(),
  });
}

/**
 * The settings in force in the policy's own shape (secrets as `{ "set": true }`), for the page when the stored
 * policy cannot be read: what `mfa.settings()` would answer for the last good version.
 */
function storedFormOf(settings: TenantSettings): Record<string, unknown> {
  return {
    mfa: settings.mfa,
    duo: {
      clientId: settings.duo.clientId,
      clientSecret: { set: true },
      apiHost: settings.duo.apiHost,
      ...(settings.duo.adminApi ? { adminApi: { ...settings.duo.adminApi, secretKey: { set: true } } } : {}),
    },
    failmode: settings.failmode,
    challengeLimit: settings.challengeLimit,
    trustedEndpoints: settings.trustedEndpoints,
  };
}

/**
 * Every failure in the portal's layout. express-duo-mfa's (a DuoMfaError: denied, Duo down, too many prompts…)
 * with its title, advice, explanation and code; session store errors → 503; client errors keep their 4xx;
 * anything else → 500, never a stack trace. API clients get JSON, as the middleware's own pages give it.
 */
function errorHandler(logger: MfaLogger, tenantName: (id: string) => string): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    if (isDuoMfaError(error)) {
      mfaFailure(error, req, res, tenantName);
      return;
    }
    const status = statusOf(error);
    const unavailable = status === 503;
    if (status >= 500) {
      logger.error(
        { err: { name: (error as Error)?.name, message: (error as Error)?.message }, path: req.path },
        'request failed',
      );
    }
    if (unavailable) res.setHeader('Retry-After', '30');
    const title = unavailable
      ? 'Temporarily unavailable'
      : status >= 500
        ? 'Something went wrong'
        : status === 404
          ? 'Page not found'
          : 'Request not accepted';
    const message = unavailable
      ? 'The portal cannot reach its session store right now. Please try again in a minute.'
      : status >= 500
        ? 'The portal could not complete this request. Please try again.'
        : 'This request could not be processed.';
    res.status(status);
    if (!wantsHtml(req)) {
      res.json({ error: unavailable ? 'unavailable' : 'error', message });
      return;
    }
    // The session may be what failed: no user, no menu, and the way back is the sign-in page.
    res.type('html').send(
      errorPage({
        status,
        title,
        paragraphs: [message],
        retry: unavailable ? retryWords(30) : undefined,
        actions: [{ href: unavailable ? req.originalUrl : '/', label: 'Try again' }],
      }),
    );
  };
}

/**
 * A DuoMfaError in the portal's layout. The next step depends on where the person stands: still signed in (Duo
 * down, too many prompts, a stale link) → back to sign-in (which goes through Duo again) or sign out; signed out
 * (after a deny or a fraud report, S47) → the sign-in page.
 */
function mfaFailure(
  error: DuoMfaError,
  req: Request,
  res: Response,
  tenantName: (id: string) => string,
): void {
  res.status(error.status);
  // The middleware sets Retry-After for the push-fatigue limit (15 minutes); an outage is worth a retry soon.
  if (error.status === 503 && !res.getHeader('Retry-After')) res.setHeader('Retry-After', '30');
  if (!wantsHtml(req)) {
    res.json({ error: jsonErrorName(error.code), code: error.code, message: error.title });
    return;
  }
  const user = req.session?.user;
  const explanation = error.details.explanation;
  const retryAfter = Number(res.getHeader('Retry-After'));
  const actions: PageAction[] = user
    ? [
        { href: '/', label: 'Back to sign-in', id: 'error-retry-link' },
        { post: '/logout', label: 'Sign out', id: 'error-sign-out' },
      ]
    : [{ href: '/login', label: 'Back to sign-in', id: 'error-sign-in' }];
  res.type('html').send(
    errorPage({
      status: error.status,
      title: error.title,
      paragraphs: [typeof explanation === 'string' ? explanation : undefined, error.advice].filter(
        (p): p is string => Boolean(p),
      ),
      code: error.code,
      retry:
        (error.status === 429 || error.status === 503) && retryAfter > 0 ? retryWords(retryAfter) : undefined,
      actions,
      user,
      tenantName: user ? tenantName(user.tenant) : undefined,
      nav: false,
    }),
  );
}

/** Retry-After in words: "Try again after 30 Jun 2027, 10:57 UTC (in 15 minutes)." */
function retryWords(seconds: number, now: number = Date.now()): string {
  const minutes = Math.round(seconds / 60);
  const wait = seconds < 90 ? `${seconds} seconds` : `${minutes} minutes`;
  return `Try again after ${formatTime(now + seconds * 1000)} (in ${wait}).`;
}

/** The `error` field of the middleware's JSON answers: `ERR_DUO_DENIED` → `denied`. */
function jsonErrorName(code: string): string {
  return code.replace(/^ERR_(DUO_)?/, '').toLowerCase();
}

/** A page for browsers, JSON for API clients (fetch, XHR, no text/html in Accept), as the middleware decides. */
export function wantsHtml(req: Request): boolean {
  if (req.headers['x-requested-with'] === 'XMLHttpRequest') return false;
  return req.accepts(['json', 'html']) === 'html';
}

function statusOf(error: unknown): number {
  if (error instanceof SessionUnavailableError) return 503;
  const status =
    (error as { status?: unknown; statusCode?: unknown } | null)?.status ??
    (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

/** Runs a session method and waits for it; a store failure becomes SessionUnavailableError. */
function sessionCall(req: Request, method: 'regenerate' | 'save' | 'destroy'): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!req.session) {
      reject(new SessionUnavailableError(new Error('no session (store disconnected)')));
      return;
    }
    req.session[method]((error?: unknown) =>
      error ? reject(new SessionUnavailableError(error)) : resolve(),
    );
  });
}

/**
 * A same-origin path to go back to after login: `/reports?x=1` stays; anything express-duo-mfa's return-path filter
 * refuses (`//evil.example`, `/\evil`, `https://…`, control characters), and the login and logout pages themselves,
 * become `/`.
 */
export function safeReturnPath(value: unknown): string {
  const path = libraryReturnPath(value, PORTAL_ORIGIN);
  if (path === undefined) return '/';
  const pathname = path.split('?')[0];
  return pathname === '/login' || pathname === '/logout' ? '/' : path;
}

/** Return paths are relative, so any origin serves to check them; the real one is never needed here. */
const PORTAL_ORIGIN = 'http://portal.invalid';

/**
 * The portal's CSP: nothing external. Forms may post to the portal itself and, because the login's redirect chain
 * continues into Duo, to each tenant's Duo host.
 */
function contentSecurityPolicy(
  mfa: DuoMfaMiddleware,
  tenants: ReadonlyArray<{ readonly id: string }>,
): string {
  const duoOrigins = new Set<string>();
  for (const tenant of tenants) {
    const apiHost = mfa.tenantSettings(tenant.id)?.duo.apiHost;
    if (!apiHost) continue;
    duoOrigins.add(`https://${apiHost}`);
    if (/\.duosecurity\.com$/i.test(apiHost)) duoOrigins.add('https://*.duosecurity.com');
  }
  return [
    "default-src 'none'",
    "style-src 'self'",
    "script-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    `form-action 'self' ${[...duoOrigins].join(' ')}`.trim(),
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * A small console logger for express-duo-mfa's logs and audit events: one readable line each, debug left out.
 *
 * @example
 * ```ts
 * createApp({ logger: consoleLogger() }); // 10:42:07 info  mfa.succeeded alice@acme factor=duo_push device=trusted
 * ```
 */
export function consoleLogger(options: { debug?: boolean } = {}): MfaLogger {
  const line = (level: string, obj: object, msg?: string) => {
    const time = new Date().toISOString().slice(11, 19);
    const event = (obj as { event?: AuditEvent }).event;
    let text: string;
    if (event) {
      const who = event.username ? ` ${event.username}@${event.tenant ?? '?'}` : '';
      const facts = Object.entries(event)
        .filter(
          ([key, value]) =>
            !['type', 'at', 'tenant', 'username', 'ip', 'requestId', 'issues'].includes(key) &&
            value !== undefined,
        )
        .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
        .join(' ');
      text = `${event.type}${who}${facts ? ` ${facts}` : ''}`;
    } else {
      text = `${msg ?? ''} ${JSON.stringify(obj)}`;
    }
    const out = level === 'error' || level === 'warn' ? console.error : console.log;
    out(`${time} ${level.padEnd(5)} ${text}`);
  };
  return {
    debug: (obj, msg) => {
      if (options.debug) line('debug', obj, msg);
    },
    info: (obj, msg) => line('info', obj, msg),
    warn: (obj, msg) => line('warn', obj, msg),
    error: (obj, msg) => line('error', obj, msg),
  };
}
