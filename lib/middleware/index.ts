// duoMfa(options): validated once, returns the named middleware; requireRecentMfa(maxAge) for step-up.

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { summarizeDevices, type DeviceSummary } from '../devices/insight';
import { decide } from '../policy/decide';
import type { CompiledTenant, Decision } from '../policy/types';
import { parseDuration } from '../util/duration';
import { canonicalName } from '../util/names';
import { engineOf, MfaEngine } from './engine';
import { parseOptions, type DuoMfaOptions, type MfaUser } from './options';

/** A tenant's effective settings, as loaded from the policy file — without secrets. */
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
  };
  readonly failmode: 'closed' | 'open';
  readonly challengeLimit: number;
  readonly trustedEndpoints: {
    readonly policy: 'off' | 'monitor' | 'block';
    readonly activation: 'disabled' | 'test-group' | 'all';
    readonly testGroup: { readonly roles: readonly string[]; readonly staff: readonly string[] };
  };
  readonly duo: { readonly clientId: string; readonly apiHost: string };
  /** The policy version (content hash) these settings come from. */
  readonly policyVersion: string;
}

/** The middleware `duoMfa()` returns, with a few read-only helpers for host apps. */
export interface DuoMfaMiddleware extends RequestHandler {
  /** The tenant ids in the policy now, in file order. */
  tenants(): string[];
  /** The effective settings of one tenant (secrets left out), or undefined when it is not in the policy. */
  tenantSettings(tenant: string): TenantSettings | undefined;
  /** Whether the policy asks this user for Duo right now, and why (pure; does not touch the session). */
  explain(user: MfaUser): Decision;
  /** Device insight for a tenant: access devices seen, their trust status, last seen and by whom. */
  deviceInsight(tenant: string, options?: { search?: string; limit?: number }): Promise<DeviceSummary[]>;
  /** Stops watching the policy file and closes Duo connections (for tests and graceful shutdown). */
  close(): void;
}

/**
 * Adds Duo two-factor authentication after the host app's password login.
 *
 * @example
 * ```ts
 * app.use(session({ secret, resave: false, saveUninitialized: false, cookie: { sameSite: 'lax', secure: true } }));
 * app.post('/login', verifyPassword); // sets req.session.user = { username, tenant, roles }
 * app.use(duoMfa({ policy: './duo-mfa.json', baseUrl: 'https://portal.example.com', ignore: ['/login', '/logout'] }));
 * ```
 */
export function duoMfa(options: DuoMfaOptions): DuoMfaMiddleware {
  if (isRequestLike(options) || arguments.length === 3) {
    throw new TypeError(
      'express-duo-mfa: duoMfa was used as middleware without being called. Write app.use(duoMfa({ policy, baseUrl })) ' +
        'instead of app.use(duoMfa).',
    );
  }
  const engine = new MfaEngine(parseOptions(options));

  const middleware = function duoMfaMiddleware(req: Request, res: Response, next: NextFunction): void {
    let pending: Promise<void> | void;
    try {
      pending = engine.handle(req, res, next);
    } catch (error) {
      next(error);
      return;
    }
    pending?.catch(next);
  } as DuoMfaMiddleware;

  middleware.tenants = () => [...engine.policy.current().tenants.keys()];
  middleware.tenantSettings = (tenant) => {
    const policy = engine.policy.current();
    const compiled = policy.tenants.get(tenant);
    return compiled ? settingsOf(compiled, policy.version) : undefined;
  };
  middleware.explain = (user) =>
    decide(
      engine.policy.current(),
      { username: canonicalName(user.username), tenant: user.tenant, roles: user.roles },
      engine.config.now(),
    );
  middleware.deviceInsight = async (tenant, insightOptions = {}) =>
    summarizeDevices(
      await engine.store.deviceRecords(tenant, insightOptions.limit ?? 10_000),
      insightOptions.search,
    );
  middleware.close = () => engine.close();
  return middleware;
}

/**
 * A route guard for sensitive actions (step-up): sends the user through Duo again when their last Duo
 * verification is older than `maxAge`. Mount it after `duoMfa()`. It never fails open.
 *
 * @example
 * ```ts
 * app.post('/admin/payouts', requireRecentMfa('5m'), approvePayout);
 * ```
 */
export function requireRecentMfa(maxAge: number | string): RequestHandler {
  const maxAgeMs = parseDuration(maxAge);
  if (maxAgeMs === undefined) {
    throw new TypeError(
      `express-duo-mfa: requireRecentMfa(maxAge) needs milliseconds or a duration such as "5m" (got ${JSON.stringify(maxAge)})`,
    );
  }
  return function requireRecentMfaMiddleware(req: Request, res: Response, next: NextFunction): void {
    const engine = engineOf(req);
    if (!engine) {
      next(
        new TypeError(
          'express-duo-mfa: requireRecentMfa() needs duoMfa() mounted before it (app.use(duoMfa({...})))',
        ),
      );
      return;
    }
    engine.stepUp(req, res, next, maxAgeMs).catch(next);
  };
}

function isRequestLike(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && 'headers' in value && 'method' in value && 'url' in value
  );
}

function settingsOf(tenant: CompiledTenant, version: string): TenantSettings {
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
    duo: { clientId: tenant.duo.clientId, apiHost: tenant.duo.apiHost },
    policyVersion: version,
  };
}
