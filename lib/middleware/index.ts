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
import type { CompiledTenant, Decision } from '../policy/types';
import { parseDuration } from '../util/duration';
import { canonicalName } from '../util/names';
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
import type { BypassCodes, Reactivation, StaffStatus } from '../duo/admin';

/** A tenant's effective settings, as loaded from the policy — without secrets. */
export interface TenantSettings {
  readonly tenant: string;
  readonly mfa: {
    readonly enabled: boolean;
    readonly rolesIncluded: readonly string[];
    readonly staffIncluded: readonly string[];
    readonly staffExcluded: readonly string[];
    readonly temporaryBypass: ReadonlyArray<{
      readonly username: string;
      readonly until: string;
      readonly reason: string;
    }>;
    /** The end of the enrollment grace period (ISO), when one is set. */
    readonly enforceFrom?: string;
  };
  readonly failmode: 'closed' | 'open';
  readonly challengeLimit: number;
  readonly trustedEndpoints: {
    readonly policy: 'off' | 'monitor' | 'block';
    readonly activation: 'disabled' | 'test-group' | 'all';
    readonly testGroup: { readonly roles: readonly string[]; readonly staff: readonly string[] };
  };
  readonly duo: {
    readonly clientId: string;
    readonly apiHost: string;
    /** The tenant's Duo Admin API application, when configured (without its secret key). */
    readonly adminApi?: { readonly integrationKey: string; readonly apiHost: string };
  };
  /** The tenant's version (changes with every change to it). */
  readonly policyVersion: string;
}

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
    return decideTenant(tenantId, tenant, canonical, instance.config.now());
  };
  middleware.deviceInsight = async (tenant, insightOptions = {}) =>
    summarizeDevices(
      await instance.store.deviceRecords(tenant, insightOptions.limit ?? 10_000),
      insightOptions.search,
    );
  middleware.requireRecent = (maxAge, guardOptions = {}) =>
    stepUp(instance, parseMaxAge(maxAge), parseFreshFactor(guardOptions));
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

function settingsOf(tenant: CompiledTenant): TenantSettings {
  return {
    tenant: tenant.id,
    mfa: {
      enabled: tenant.mfa.enabled,
      rolesIncluded: [...tenant.mfa.rolesIncluded],
      staffIncluded: [...tenant.mfa.staffIncluded],
      staffExcluded: [...tenant.mfa.staffExcluded],
      temporaryBypass: [...tenant.mfa.temporaryBypass.values()].map((b) => ({
        username: b.username,
        until: new Date(b.until).toISOString(),
        reason: b.reason,
      })),
      ...(tenant.mfa.enforceFrom === undefined
        ? {}
        : { enforceFrom: new Date(tenant.mfa.enforceFrom).toISOString() }),
    },
    failmode: tenant.failmode,
    challengeLimit: tenant.challengeLimit,
    trustedEndpoints: {
      policy: tenant.trustedEndpoints.policy,
      activation: tenant.trustedEndpoints.activation,
      testGroup: {
        roles: [...tenant.trustedEndpoints.testGroup.roles],
        staff: [...tenant.trustedEndpoints.testGroup.staff],
      },
    },
    duo: {
      clientId: tenant.duo.clientId,
      apiHost: tenant.duo.apiHost,
      ...(tenant.duo.adminApi
        ? {
            adminApi: {
              integrationKey: tenant.duo.adminApi.integrationKey,
              apiHost: tenant.duo.adminApi.apiHost,
            },
          }
        : {}),
    },
    policyVersion: tenant.version,
  };
}
