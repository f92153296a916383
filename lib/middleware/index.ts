// duoMfa(options): options checked once, one instance built, the start and callback routes mounted on a Router
// with the gate after them; requireRecentMfa(maxAge) for step-up.

import {
  Router,
  urlencoded,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { summarizeDevices, type DeviceSummary } from '../devices/insight';
import { decideTenant } from '../policy/decide';
import type { Decision } from '../policy/types';
import type { TenantEntry } from '../policy/source';
import { parseDuration } from '../util/duration';
import { canonicalName } from '../util/names';
import { settingsRouter, type SettingsRouterOptions } from '../settings/router';
import {
  readSettings,
  testConnection,
  updateSettings,
  type CandidateDuo,
  type ConnectionTest,
  type SettingsDocument,
  type UpdateSettingsOptions,
} from '../settings/service';
import { callbackRoute } from './callback';
import { gate, stepUp } from './gate';
import { MfaInstance } from './instance';
import { parseOptions, type DuoMfaOptions, type MfaUser, type TestingHooks } from './options';
import { errorPages } from './pages';
import { methodNotAllowed } from './respond';
import { confirmRoute, startRoute } from './start-route';
import {
  issueBypassCodes,
  reactivateStaff,
  staffStatus,
  type BypassCodeOptions,
  type StaffActionOptions,
} from './staff';
import { RequestState } from './state';
import { settingsOf, type TenantSettings } from './tenant-settings';
import type { BypassCodes, Reactivation, StaffStatus } from '../duo/admin';

/** Options of the step-up guard. */
export interface RequireRecentOptions {
  /**
   * Require a live factor (default true): a verification Duo granted without asking — a remembered device, a
   * bypass user or code, a trusted network, an unenrolled user allowed — does not satisfy the step-up. Set false
   * to accept any recent Duo verification.
   */
  readonly freshFactor?: boolean;
}

/** The middleware `duoMfa()` returns, with the helpers host apps use. */
export interface DuoMfaMiddleware extends RequestHandler {
  /** The tenant ids in the policy now, in the policy's order. */
  tenants(): string[];
  /**
   * The effective settings of one tenant (secrets left out), or undefined when it is not in the policy — or, for
   * a directory or Redis, not looked up yet (`mfa.settings(tenant)` reads it).
   */
  tenantSettings(tenant: string): TenantSettings | undefined;
  /** Whether the policy asks this user for Duo right now, and why (pure; does not touch the session). */
  explain(user: MfaUser): Decision;
  /** Device insight for a tenant: access devices seen, their trust status, last seen and by whom. */
  deviceInsight(tenant: string, options?: { search?: string; limit?: number }): Promise<DeviceSummary[]>;
  /**
   * A route guard for sensitive actions (step-up), bound to this instance: sends the user through Duo again
   * when their last Duo verification is older than `maxAge`. It never fails open.
   */
  requireRecent(maxAge: number | string, options?: RequireRecentOptions): RequestHandler;
  /**
   * The default error pages as Express error-handling middleware. duoMfa() appends them to the app by itself at
   * its first failure (after your own error handlers); mount them yourself to choose where they sit.
   */
  readonly errorPages: typeof errorPages;
  /**
   * A staff member's Duo status through the tenant's Duo Admin API application: found, status, enrolled, phones,
   * last login. ERR_ADMIN_API_NOT_CONFIGURED when the tenant has no `duo.adminApi`.
   */
  staffStatus(tenant: string, username: string, options?: Partial<StaffActionOptions>): Promise<StaffStatus>;
  /**
   * Duo Mobile reactivation after a phone change: Duo texts the activation when it can, else the link comes back
   * for the admin to pass on (once; never logged). Audited as `staff.reactivated` with `actor`.
   */
  reactivateStaff(tenant: string, username: string, options: StaffActionOptions): Promise<Reactivation>;
  /** Time-limited bypass codes, returned once (never logged). Audited as `staff.bypass_issued` with `actor`. */
  issueBypassCodes(tenant: string, username: string, options: BypassCodeOptions): Promise<BypassCodes>;
  /**
   * A tenant's settings as stored (the policy format), every secret as `{ "set": true }`, with the version to send
   * back with a change. `{ version: null, settings: null }` when the tenant does not exist.
   */
  settings(tenant: string): Promise<SettingsDocument>;
  /**
   * Changes a tenant's settings with a JSON merge patch, if `version` is still the current one
   * (ERR_SETTINGS_CONFLICT otherwise; ERR_POLICY_INVALID with every problem's path when the result is invalid —
   * nothing is written either way). A new secret (a string) is stored encrypted with `secretsKey`. Audited as
   * `settings.changed` with `actor` and the paths changed.
   */
  updateSettings(tenant: string, changes: unknown, options: UpdateSettingsOptions): Promise<SettingsDocument>;
  /** Duo's health check with the tenant's saved Duo application, or with `duo` before saving it. */
  testConnection(tenant: string, duo?: CandidateDuo): Promise<ConnectionTest>;
  /** The settings API as a Router to mount behind the host's own admin login: see docs/settings.md. */
  settingsRouter(options: SettingsRouterOptions): Router;
  /** Stops watching the policy and closes Duo connections (for tests and graceful shutdown). */
  close(): void;
}

/**
 * Adds Duo two-factor authentication after the host app's password login.
 *
 * @example
 * ```ts
 * app.use(session({ secret, resave: false, saveUninitialized: false, cookie: { sameSite: 'lax', secure: true } }));
 * app.post('/login', verifyPassword); // sets req.session.user = { username, tenant, roles }
 * const mfa = duoMfa({ policy: './duo-mfa.json', baseUrl: 'https://portal.example.com', ignore: ['/login', '/logout'] });
 * app.use(mfa);
 * app.post('/payouts', mfa.requireRecent('5m'), approvePayout);
 * ```
 */
export function duoMfa(options: DuoMfaOptions): DuoMfaMiddleware {
  if (isRequestLike(options) || arguments.length === 3) {
    throw new TypeError(
      'express-duo-mfa: duoMfa was used as middleware without being called. Write app.use(duoMfa({ policy, baseUrl })) ' +
        'instead of app.use(duoMfa).',
    );
  }
  return createDuoMfa(options);
}

/**
 * duoMfa() with the testing hooks (a fake clock, an environment for `{ "env" }` secrets). Internal: not part of
 * the package's exports.
 *
 * @example
 * ```ts
 * const mfa = createDuoMfa({ policy, baseUrl }, { now: () => fakeNow });
 * ```
 */
export function createDuoMfa(options: DuoMfaOptions, hooks: TestingHooks = {}): DuoMfaMiddleware {
  const instance = new MfaInstance(parseOptions(options, hooks));
  const { callbackPath, startPath } = instance.config;
  // Our two routes, on a Router: exact paths as configured (no case folding, no trailing-slash variants), every
  // method answered (a method we do not serve is a 405, never a pass to the host's routes).
  const routes = Router({ caseSensitive: true, strict: true });
  routes.get(startPath, startRoute(instance));
  routes.post(startPath, urlencoded({ extended: false, limit: '4kb' }), confirmRoute(instance));
  routes.all(startPath, methodNotAllowed(instance, 'GET, POST'));
  routes.all(callbackPath, callbackRoute(instance));
  const gateRequest = gate(instance);

  // Only requests for our own paths enter the Router: dispatching every request of the host app through it costs
  // several microseconds, more than the whole gate (bench/dispatch.ts measures both).
  const middleware = function duoMfaMiddleware(req: Request, res: Response, next: NextFunction): void {
    const path = req.path;
    if (path === startPath || path === callbackPath) {
      routes(req, res, next);
      return;
    }
    gateRequest(req, res, next);
  } as DuoMfaMiddleware;

  middleware.tenants = () => [...instance.tenants.tenantIds()];
  middleware.tenantSettings = (tenant) => {
    const entry = instance.tenants.peek(tenant) ?? instance.tenants.loadSync?.(tenant);
    return entry?.state === 'ready' ? settingsOf(entry.tenant) : undefined;
  };
  middleware.explain = (user) => {
    const tenantId = user.tenant ?? instance.tenants.defaultTenant();
    const entry =
      tenantId === undefined
        ? undefined
        : (instance.tenants.peek(tenantId) ?? instance.tenants.loadSync?.(tenantId));
    const canonical = { username: canonicalName(user.username), tenant: user.tenant, roles: user.roles };
    const tenant = entry?.state === 'ready' ? entry.tenant : undefined;
    const decision = decideTenant(tenantId, tenant, canonical, instance.config.now());
    const why = notDecidedWhy(instance, tenantId, entry);
    return why ? { ...decision, reason: { code: decision.reason.code, detail: why } } : decision;
  };
  middleware.deviceInsight = async (tenant, insightOptions = {}) =>
    summarizeDevices(
      await instance.store.deviceRecords(tenant, insightOptions.limit ?? 10_000),
      insightOptions.search,
    );
  middleware.requireRecent = (maxAge, guardOptions = {}) =>
    stepUp(instance, parseMaxAge(maxAge), parseFreshFactor(guardOptions));
  middleware.settings = (tenant) => readSettings(instance, tenant);
  middleware.updateSettings = (tenant, changes, updateOptions) =>
    updateSettings(instance, tenant, changes, updateOptions);
  middleware.testConnection = (tenant, duo) => testConnection(instance, tenant, duo);
  middleware.settingsRouter = (routerOptions) => settingsRouter(instance, routerOptions);
  middleware.staffStatus = (tenant, username, staffOptions) =>
    staffStatus(instance, tenant, username, staffOptions);
  middleware.reactivateStaff = (tenant, username, staffOptions) =>
    reactivateStaff(instance, tenant, username, staffOptions);
  middleware.issueBypassCodes = (tenant, username, staffOptions) =>
    issueBypassCodes(instance, tenant, username, staffOptions);
  Object.defineProperty(middleware, 'errorPages', { value: errorPages, enumerable: true });
  middleware.close = () => instance.close();
  return middleware;
}

/**
 * A route guard for sensitive actions (step-up): sends the user through Duo again when their last Duo
 * verification is older than `maxAge`. Mount it after `duoMfa()` on a gated path (it finds the instance through
 * `req.duoMfa`); `mfa.requireRecent(maxAge)` works anywhere. It never fails open.
 *
 * @example
 * ```ts
 * app.post('/admin/payouts', requireRecentMfa('5m'), approvePayout);
 * ```
 */
export function requireRecentMfa(
  maxAge: number | string,
  options: RequireRecentOptions = {},
): RequestHandler {
  const maxAgeMs = parseMaxAge(maxAge);
  const freshFactor = parseFreshFactor(options);
  const guards = new WeakMap<MfaInstance, RequestHandler>();
  return function requireRecentMfaMiddleware(req: Request, res: Response, next: NextFunction): void {
    const instance = RequestState.ownerOf<MfaInstance>(req.duoMfa);
    if (!instance) {
      next(
        new TypeError(
          'express-duo-mfa: requireRecentMfa() needs duoMfa() mounted before it on this path ' +
            '(app.use(duoMfa({...}))), or use mfa.requireRecent(maxAge) from the duoMfa() you mounted',
        ),
      );
      return;
    }
    let guard = guards.get(instance);
    if (!guard) guards.set(instance, (guard = stepUp(instance, maxAgeMs, freshFactor)));
    guard(req, res, next);
  };
}

/**
 * Why explain() could not decide for a tenant: its settings cannot be used now, or it is not loaded yet. Undefined
 * when the tenant was decided, or is known not to be in the policy.
 */
function notDecidedWhy(
  instance: MfaInstance,
  tenantId: string | undefined,
  entry: TenantEntry | undefined,
): string | undefined {
  if (tenantId === undefined) {
    return instance.tenants.listed?.() === false
      ? 'the user has no tenant, and the policy has not been read yet (its store does not answer): sign-ins are refused'
      : undefined;
  }
  if (entry?.state === 'unavailable') {
    // The code and title only: the message may name a server path or a Redis address, and hosts show this detail.
    const why = `${entry.error.code}: ${entry.error.title}`;
    return `tenant ${JSON.stringify(tenantId)} cannot be used now (${why}): its sign-ins are refused`;
  }
  if (entry === undefined) {
    // Not looked up yet (a directory or Redis reads a tenant at its first sign-in): not known to be missing either.
    return (
      `tenant ${JSON.stringify(tenantId)} is not loaded yet: this policy source reads a tenant at its first ` +
      'sign-in (await mfa.settings(tenant) reads it now)'
    );
  }
  return undefined;
}

function parseMaxAge(maxAge: number | string): number {
  const maxAgeMs = parseDuration(maxAge);
  if (maxAgeMs === undefined) {
    throw new TypeError(
      `express-duo-mfa: requireRecentMfa(maxAge) needs milliseconds or a duration such as "5m" (got ${JSON.stringify(maxAge)})`,
    );
  }
  return maxAgeMs;
}

function parseFreshFactor(options: unknown): boolean {
  const value = (options as RequireRecentOptions | null)?.freshFactor;
  if (value !== undefined && typeof value !== 'boolean') {
    throw new TypeError(
      `express-duo-mfa: requireRecentMfa(maxAge, { freshFactor }) takes true or false (got ${JSON.stringify(value)})`,
    );
  }
  return value ?? true;
}

function isRequestLike(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && 'headers' in value && 'method' in value && 'url' in value
  );
}
