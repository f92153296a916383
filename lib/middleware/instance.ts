// What one duoMfa() holds: its checked configuration, logger, audit events, the Duo adapter and Duo's health,
// the store for pending logins and limits, and the policy source. Built once; every request reads it.

import type { Request } from 'express';
import pino from 'pino';
import { DuoAdapter } from '../duo/adapter';
import { DuoAdminApi } from '../duo/admin';
import { openTenantSource } from '../policy/open';
import type { TenantSource } from '../policy/source';
import type { Decision } from '../policy/types';
import { MemoryStore } from '../stores/memory';
import { RedisStore } from '../stores/redis';
import type { MfaStore } from '../stores/types';
import { errorSummary, EventSink } from './events';
import { HealthMonitor } from './health';
import type { MfaConfig, MfaLogger } from './options';
import type { PageLinks } from './pages';

/** A bypass is reported at most this often per user, so audit logs are not flooded. */
const BYPASS_EVENT_INTERVAL_MS = 10 * 60_000;
/** A `.` or `..` segment, an encoded dot, slash or backslash, or a backslash: a path whose meaning decoding changes. */
const MAY_LEAVE_ITS_PREFIX = /(?:^|\/)\.{1,2}(?:\/|$)|%2e|%2f|%5c|\\/i;

/** How many (tenant, user, reason) report times are remembered before the memory starts afresh. */
const BYPASS_REPORTS_KEPT = 10_000;

export class MfaInstance {
  readonly logger: MfaLogger;
  readonly events: EventSink;
  readonly adapter: DuoAdapter;
  /** The Duo Admin API client (staff status, reactivation, bypass codes), with the same CA, proxy and timeout. */
  readonly admin: DuoAdminApi;
  readonly health: HealthMonitor;
  readonly store: MfaStore;
  readonly tenants: TenantSource;
  /** Resolves once the policy source can answer (the default tenant and the tenant list are known). */
  readonly ready: Promise<void>;
  /** True once `ready` resolved: the hot path checks a boolean, not a promise. */
  isReady = false;
  /** Where error pages send people: back to sign-in, and the host's sign-out when configured. */
  readonly links: PageLinks;
  /** `ignore` with each string's segment prefix ("/health" → "/health/") made once, not per request. */
  private readonly ignoreRules: ReadonlyArray<{ readonly path: string; readonly prefix: string } | RegExp>;
  /**
   * When each (tenant, user, reason) bypass was last reported: tenant → username → reason code → time. Nested
   * rather than one joined key, so an exempt user's request looks up strings it already holds instead of
   * building, flattening and hashing a new one.
   */
  private readonly bypassReported = new Map<string | undefined, Map<string, Map<string, number>>>();
  private bypassReports = 0;
  private sessionWarningLogged = false;

  constructor(readonly config: MfaConfig) {
    this.logger = config.logger ?? pino({ name: 'express-duo-mfa' });
    this.links = { retry: config.afterLoginPath, signOut: config.signOutPath };
    this.ignoreRules = config.ignore.map((rule) =>
      typeof rule === 'string' ? { path: rule, prefix: rule.endsWith('/') ? rule : rule + '/' } : rule,
    );
    this.events = new EventSink(this.logger, config.onEvent, config.now);
    this.tenants = openTenantSource(config.policy, {
      env: config.env,
      secretsKey: config.secretsKey,
      now: config.now,
      onChange: (change) =>
        this.events.emit(
          'policy.reloaded',
          undefined,
          // A one-tenant change names the tenant, as every other event does.
          { tenant: change.tenants.length === 1 ? change.tenants[0]!.tenant : undefined },
          {
            source: change.source,
            tenants: change.tenants,
            ...(change.tenants.length === 1 ? { version: change.tenants[0]!.version } : {}),
            ...(change.defaultTenant !== undefined ? { defaultTenant: change.defaultTenant } : {}),
          },
        ),
      // The worker thread's fallback and a throwing callback reach the app's logger, not stderr.
      onWarning: (message, code) => this.logger.warn({ code }, message),
      ...(config.startPolicyWorker ? { startWorker: config.startPolicyWorker } : {}),
      onInvalid: (error) =>
        this.events.emit(
          'policy.invalid',
          undefined,
          { tenant: typeof error.details.tenant === 'string' ? error.details.tenant : undefined },
          {
            code: error.code,
            message: error.message,
            issues: error.details.issues,
            source: error.details.source,
            ...(typeof error.details.file === 'string' ? { file: error.details.file } : {}),
          },
        ),
    });
    // Redis learns the tenant list and the default tenant with its first read: until then requests wait for it.
    this.ready = this.tenants.ready().then(() => {
      this.isReady = true;
    });
    // Both throw a TypeError naming duoProxy when the proxy URL is not usable (its credentials masked).
    const duo = { timeoutMs: config.duoTimeoutMs, ca: config.duoCa, proxy: config.duoProxy };
    this.adapter = new DuoAdapter({ redirectUrl: config.redirectUrl, ...duo });
    this.admin = new DuoAdminApi(duo);
    // The Duo client signs with the real clock, so skew is measured against it, not against the test clock.
    this.health = new HealthMonitor(this.adapter, this.logger, config.now);
    this.store = config.redis
      ? new RedisStore(config.redis, config.redisPrefix, config.redisTimeoutMs, {
          // Device insight is written after the response: a failed batch is a log line, never a failed request.
          onDeviceError: (error, count) =>
            this.logger.warn({ err: errorSummary(error), records: count }, 'could not record device insight'),
          now: config.now,
        })
      : new MemoryStore(config.now, config.deviceLogFile);
  }

  /** Writes queued device records, releases the policy watcher and Duo sockets. */
  close(): void {
    void this.store.flush(); // device records still queued are written while the Redis client is open
    this.tenants.close();
    this.adapter.close();
    this.admin.close();
  }

  /**
   * True for paths the host listed in `ignore` — unless the path holds a dot segment or an encoded dot, slash or
   * backslash: what serves it (express.static, a proxy) may decode and normalise it into a path outside the rule
   * (`/assets/..%2Freports/q3.pdf` is `/reports/q3.pdf`), so it is gated like any other path.
   */
  isIgnored(path: string): boolean {
    for (const rule of this.ignoreRules) {
      if (rule instanceof RegExp ? rule.test(path) : path === rule.path || path.startsWith(rule.prefix))
        return !MAY_LEAVE_ITS_PREFIX.test(path);
    }
    return false;
  }

  /** Emits `mfa.bypassed` for an exempt user, at most once per user and reason every 10 minutes. */
  reportBypass(req: Request, username: string, decision: Decision): void {
    const now = this.config.now();
    const code = decision.reason.code;
    const reasons = this.bypassReported.get(decision.tenant)?.get(username);
    if ((reasons?.get(code) ?? -Infinity) + BYPASS_EVENT_INTERVAL_MS > now) return;
    this.rememberBypassReport(decision.tenant, username, code, now);
    this.events.emit(
      'mfa.bypassed',
      req,
      { tenant: decision.tenant, username },
      { reason: decision.reason.code, detail: decision.reason.detail },
    );
  }

  private rememberBypassReport(
    tenant: string | undefined,
    username: string,
    code: string,
    now: number,
  ): void {
    if (this.bypassReports >= BYPASS_REPORTS_KEPT) {
      this.bypassReported.clear();
      this.bypassReports = 0;
    }
    let users = this.bypassReported.get(tenant);
    if (!users) this.bypassReported.set(tenant, (users = new Map<string, Map<string, number>>()));
    let reasons = users.get(username);
    if (!reasons) users.set(username, (reasons = new Map<string, number>()));
    if (!reasons.has(code)) this.bypassReports++;
    reasons.set(code, now);
  }

  /** Logs, once per instance, why requests are refused for want of a session (S35, S39). */
  warnNoSession(foreignSession: boolean): void {
    if (this.sessionWarningLogged) return;
    this.sessionWarningLogged = true;
    this.logger.error(
      { foreignSession },
      'express-duo-mfa: req.session is missing or is not an express-session Session. Mount express-session ' +
        '(app.use(session({...}))) before duoMfa(); if it is mounted, its store is disconnected. Requests are refused until it is back.',
    );
  }
}
