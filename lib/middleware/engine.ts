// The gate: decides per request whether Duo is needed, starts it (health, limits, state, session rotation), and
// hands the callback to callback.ts. Holds everything one duoMfa() instance shares.

import { createHash, randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import pino from 'pino';
import { DuoAdapter } from '../duo/adapter';
import { DuoMfaError, isDuoMfaError } from '../errors';
import { decide } from '../policy/decide';
import { openPolicy, type PolicySource } from '../policy/load';
import type { CompiledTenant, Decision } from '../policy/types';
import { MemoryStore } from '../stores/memory';
import { RedisStore } from '../stores/redis';
import type { MfaStore, PendingRecord } from '../stores/types';
import { canonicalName, hasControlCharacters } from '../util/names';
import { handleCallback } from './callback';
import { errorSummary, EventSink } from './events';
import { HealthMonitor } from './health';
import type { MfaConfig, MfaLogger, MfaUser } from './options';
import { applySecurityHeaders, sendError, sendMfaRequired, wantsHtml, type PageLinks } from './pages';
import { safeReturnPath } from './return-path';
import {
  MAX_PENDING_PER_SESSION,
  mfaData,
  rotateSession,
  sessionOf,
  hasForeignSession,
  SessionChangedError,
  type SessionLike,
  type Verification,
} from './session';
import type { DuoMfaRequestState } from './state';

/** A pending login lives this long (S15). */
export const PENDING_TTL_MS = 10 * 60_000;
/** The push-fatigue window (S41). */
export const CHALLENGE_WINDOW_MS = 15 * 60_000;
/** A bypass is reported at most this often per user, so audit logs are not flooded. */
const BYPASS_EVENT_INTERVAL_MS = 10 * 60_000;

const MAX_USERNAME = 256;

/** A signed-in user after validation: canonical names resolved once (S20). */
/** The signed-in user, checked: also the PolicyUser handed to decide(), so no object is built per request. */
export interface ResolvedUser {
  readonly raw: MfaUser;
  /** Canonical. */
  readonly username: string;
  readonly tenant: string | undefined;
  readonly roles: readonly string[];
}

export class MfaEngine {
  readonly logger: MfaLogger;
  readonly events: EventSink;
  readonly adapter: DuoAdapter;
  readonly store: MfaStore;
  readonly policy: PolicySource;
  readonly health: HealthMonitor;
  private readonly bypassReported = new Map<string, number>();
  private readonly links: PageLinks;
  /** `ignore` with each string's segment prefix ("/health" → "/health/") made once, not per request. */
  private readonly ignoreRules: ReadonlyArray<{ readonly path: string; readonly prefix: string } | RegExp>;
  private sessionWarningLogged = false;

  constructor(readonly config: MfaConfig) {
    this.logger = config.logger ?? pino({ name: 'express-duo-mfa' });
    this.links = { retry: config.afterLoginPath, signOut: config.signOutPath };
    this.ignoreRules = config.ignore.map((rule) =>
      typeof rule === 'string' ? { path: rule, prefix: rule.endsWith('/') ? rule : rule + '/' } : rule,
    );
    this.events = new EventSink(this.logger, config.onEvent, config.now);
    this.policy = openPolicy(config.policy, {
      env: config.env,
      onReload: (policy) =>
        this.events.emit(
          'policy.reloaded',
          undefined,
          {},
          { version: policy.version, source: policy.source },
        ),
      onInvalid: (error) =>
        this.events.emit(
          'policy.invalid',
          undefined,
          {},
          {
            code: error.code,
            message: error.message,
            issues: error.details.issues,
          },
        ),
    });
    // The Duo client signs with the real clock, so skew is measured against it, not against options.now.
    this.adapter = new DuoAdapter({
      redirectUrl: config.redirectUrl,
      timeoutMs: config.duoTimeoutMs,
      ca: config.duoCa,
    });
    this.health = new HealthMonitor(this.adapter, this.logger, config.now);
    this.store = config.redis
      ? new RedisStore(config.redis, config.redisPrefix, config.redisTimeoutMs)
      : new MemoryStore(config.now, config.deviceLogFile);
  }

  /** Releases the policy watcher and Duo sockets. */
  close(): void {
    this.policy.close();
    this.adapter.close();
  }

  /**
   * The middleware body. Synchronous for requests that pass (verified, exempt, ignored, anonymous): they create no
   * promise on the hot path. Returns a promise for the flows that wait on Duo or a store; its rejection, and any
   * throw, must go to next(err).
   */
  handle(req: Request, res: Response, next: NextFunction): Promise<void> | void {
    const path = req.path;
    if (path === this.config.callbackPath) {
      attachEngine(req, this);
      return handleCallback(this, req, res);
    }
    if (path === this.config.startPath) {
      attachEngine(req, this);
      return this.handleStart(req, res, next);
    }
    if (this.isIgnored(path)) {
      attachEngine(req, this);
      return next();
    }

    const session = this.requireSession(req, res);
    if (!session) return;
    const user = this.resolveUser(req);
    if (user === undefined) {
      setState(req, this, {
        verified: false,
        required: false,
        reason: { code: 'not_signed_in', detail: 'no user is signed in' },
      });
      return next();
    }

    const decision = this.decideFor(user);
    if (decision.tenant === undefined) return this.refuseUnknownTenant(req, res, user);

    const verification = this.currentVerification(session, user, decision.tenant);
    if (verification) {
      setState(req, this, {
        verified: true,
        required: decision.required,
        reason: decision.reason,
        verification,
      });
      return next();
    }
    if (!decision.required) {
      this.reportBypass(req, user, decision);
      setState(req, this, { verified: false, required: false, reason: decision.reason });
      return next();
    }

    setState(req, this, { verified: false, required: true, reason: decision.reason });
    if (req.method === 'GET' && wantsHtml(req)) {
      return this.start(req, res, next, user, decision, { returnTo: this.returnPathOf(req), stepUp: false });
    }
    sendMfaRequired(req, res, this.startLocation(req, false));
  }

  /** The step-up guard behind requireRecentMfa(maxAge). */
  async stepUp(req: Request, res: Response, next: NextFunction, maxAgeMs: number): Promise<void> {
    const session = this.requireSession(req, res);
    if (!session) return;
    const user = this.resolveUser(req);
    if (user === undefined) {
      return this.deny(req, res, new DuoMfaError('ERR_DUO_MFA_REQUIRED', 'sign in first'), {});
    }
    const decision = this.decideFor(user);
    if (decision.tenant === undefined) return this.refuseUnknownTenant(req, res, user);
    const verification = this.currentVerification(session, user, decision.tenant);
    if (verification && verification.via === 'duo' && this.config.now() - verification.at <= maxAgeMs)
      return next();
    if (req.method === 'GET' && wantsHtml(req)) {
      return this.start(req, res, next, user, decision, { returnTo: this.returnPathOf(req), stepUp: true });
    }
    sendMfaRequired(req, res, this.startLocation(req, true));
  }

  /** GET startPath?returnTo=/x[&stepUp=1]: where API clients send the browser to start Duo. */
  private async handleStart(req: Request, res: Response, next: NextFunction): Promise<void> {
    const session = this.requireSession(req, res);
    if (!session) return;
    const user = this.resolveUser(req);
    if (user === undefined) {
      applySecurityHeaders(req, res);
      return res.redirect(303, this.config.afterLoginPath);
    }
    const decision = this.decideFor(user);
    if (decision.tenant === undefined) return this.refuseUnknownTenant(req, res, user);
    const stepUp = singleParam(req.query.stepUp) === '1';
    const returnTo = this.landingOf(req.query.returnTo);
    const verification = this.currentVerification(session, user, decision.tenant);
    if (!stepUp && (verification || !decision.required)) {
      applySecurityHeaders(req, res);
      return res.redirect(303, returnTo);
    }
    return this.start(req, res, next, user, decision, { returnTo, stepUp });
  }

  /**
   * Sends the browser to Duo: health check (or the tenant's failmode), push-fatigue limit, a fresh state kept
   * server-side, session id rotated (S1) and saved before the 303.
   */
  private async start(
    req: Request,
    res: Response,
    next: NextFunction,
    user: ResolvedUser,
    decision: Decision,
    how: { returnTo: string; stepUp: boolean },
  ): Promise<void> {
    const tenantId = decision.tenant!;
    const tenant = this.policy.current().tenants.get(tenantId);
    if (!tenant) return this.refuseUnknownTenant(req, res, user);
    const who = { tenant: tenantId, username: user.username };

    const duoUsername = this.duoUsernameOf(user);
    if (duoUsername === undefined) {
      // Input a user controls must never look like an outage (S27): refuse, never fail open.
      const error = new DuoMfaError('ERR_DUO_USERNAME_INVALID', 'this username cannot be sent to Duo');
      return this.refuse(req, res, who, 'invalid_username', error);
    }

    try {
      await this.health.ensure(tenant.duo);
    } catch (error) {
      return this.duoUnavailable(req, res, next, user, tenant, error, how.stepUp);
    }

    try {
      const count = await this.store.hitChallenge(challengeKey(tenantId, user.username), CHALLENGE_WINDOW_MS);
      if (count > tenant.challengeLimit) {
        const error = new DuoMfaError('ERR_DUO_CHALLENGE_LIMIT', 'too many Duo challenges');
        this.events.emit('mfa.denied', req, who, {
          reason: 'challenge_limit',
          code: error.code,
          limit: tenant.challengeLimit,
        });
        res.setHeader('Retry-After', String(CHALLENGE_WINDOW_MS / 1000));
        return this.deny(req, res, error);
      }

      const state = randomBytes(32).toString('base64url');
      const id = stateId(state);
      const authUrl = await this.adapter.createAuthUrl(tenant.duo, duoUsername, state);
      const startedAt = this.config.now();
      const record: PendingRecord = {
        username: user.username,
        duoUsername,
        tenant: tenantId,
        clientId: tenant.duo.clientId,
        returnTo: how.returnTo,
        startedAt,
        stepUp: how.stepUp,
      };
      await this.store.putPending(id, record, PENDING_TTL_MS);
      try {
        await rotateSession(
          req,
          () => this.sameUser(req, user.username, tenantId),
          (session) => {
            const data = mfaData(session);
            const pending = Object.entries(data.pending ?? {})
              .filter(([, ref]) => startedAt - ref.startedAt < PENDING_TTL_MS)
              .slice(-(MAX_PENDING_PER_SESSION - 1));
            const keepVerified =
              data.verified && data.verified.username === user.username && data.verified.tenant === tenantId;
            session.duoMfa = {
              ...data,
              verified: keepVerified ? data.verified : undefined,
              pending: Object.fromEntries([
                ...pending,
                [id, { tenant: tenantId, username: user.username, startedAt, returnTo: how.returnTo }],
              ]),
            };
          },
        );
      } catch (error) {
        await this.store.deletePending(id).catch(() => undefined);
        if (error instanceof SessionChangedError) return this.sessionChanged(req, res, who);
        throw new DuoMfaError(
          'ERR_SESSION_SAVE_FAILED',
          'the session could not be saved before going to Duo',
          { cause: error },
        );
      }
      this.events.emit('mfa.started', req, who, { stepUp: how.stepUp, challenge: count });
      applySecurityHeaders(req, res);
      res.redirect(303, authUrl);
    } catch (error) {
      this.failRequest(req, res, who, error, 'start_failed');
    }
  }

  /** Health check failed before the redirect: the tenant's failmode decides (S25, S26). Step-ups never fail open. */
  private async duoUnavailable(
    req: Request,
    res: Response,
    next: NextFunction,
    user: ResolvedUser,
    tenant: CompiledTenant,
    error: unknown,
    stepUp: boolean,
  ): Promise<void> {
    const who = { tenant: tenant.id, username: user.username };
    const failure = isDuoMfaError(error)
      ? error
      : new DuoMfaError('ERR_DUO_UNAVAILABLE', 'Duo health check failed', { cause: error });
    this.logger.warn({ err: errorSummary(failure), tenant: tenant.id }, 'Duo health check failed');
    // Only an outage may fail open: a wrong local clock or refused credentials are our own misconfiguration.
    const outage = failure.code === 'ERR_DUO_UNAVAILABLE' || failure.code === 'ERR_DUO_TIMEOUT';
    if (tenant.failmode !== 'open' || stepUp || !outage) {
      this.events.emit('mfa.failed', req, who, {
        reason: 'duo_unavailable',
        code: failure.code,
        failmode: 'closed',
      });
      return this.deny(req, res, failure);
    }
    const verification: Verification = {
      username: user.username,
      tenant: tenant.id,
      at: this.config.now(),
      via: 'failopen',
    };
    try {
      await rotateSession(
        req,
        () => this.sameUser(req, user.username, tenant.id),
        (session) => {
          session.duoMfa = { ...mfaData(session), verified: verification };
        },
      );
    } catch (saveError) {
      if (saveError instanceof SessionChangedError) return this.sessionChanged(req, res, who);
      return this.failRequest(
        req,
        res,
        who,
        new DuoMfaError('ERR_SESSION_SAVE_FAILED', 'session save failed', { cause: saveError }),
        'session_save_failed',
      );
    }
    this.events.emit('mfa.failopen', req, who, {
      code: failure.code,
      validForMs: this.config.failOpenMaxAgeMs,
    });
    setState(req, this, {
      verified: true,
      required: true,
      reason: { code: 'failopen', detail: 'Duo is unavailable and the tenant fails open' },
      verification,
    });
    next();
  }

  /** True when the request's (possibly reloaded) session belongs to this canonical username and tenant. */
  sameUser(req: Request, username: string, tenant: string): boolean {
    const now = this.tryResolveUser(req);
    return now !== undefined && now.username === username && this.decideFor(now).tenant === tenant;
  }

  /** resolveUser(), with a getUser that throws or returns a malformed user counted as nobody signed in. */
  tryResolveUser(req: Request): ResolvedUser | undefined {
    try {
      return this.resolveUser(req);
    } catch {
      return undefined;
    }
  }

  /** The session was logged out, revoked or taken over while we waited: grant nothing, start from the top. */
  private sessionChanged(req: Request, res: Response, who: { tenant?: string; username?: string }): void {
    this.events.emit('mfa.failed', req, who, { reason: 'session_changed', code: 'ERR_DUO_STATE_MISMATCH' });
    applySecurityHeaders(req, res);
    res.redirect(303, this.config.afterLoginPath);
  }

  /** Answers an error page (or JSON) with this instance's links: back to sign-in, and sign-out when configured. */
  deny(
    req: Request,
    res: Response,
    error: DuoMfaError,
    options: { explanation?: string; status?: number } = {},
  ): void {
    sendError(req, res, error, { ...options, links: this.links });
  }

  /** Refuses the request with `failure`'s page and reports it as an `mfa.failed` event with `reason`. */
  refuse(
    req: Request,
    res: Response,
    who: { tenant?: string; username?: string },
    reason: string,
    failure: DuoMfaError,
    options?: { explanation?: string; status?: number },
  ): void {
    this.events.emit('mfa.failed', req, who, { reason, code: failure.code });
    this.deny(req, res, failure, options);
  }

  /** Answers a failure page for anything thrown in a flow, with an event; never a stack trace. */
  failRequest(
    req: Request,
    res: Response,
    who: { tenant?: string; username?: string },
    error: unknown,
    reason: string,
  ): void {
    const failure = isDuoMfaError(error)
      ? error
      : new DuoMfaError('ERR_STORE_UNAVAILABLE', 'unexpected failure', { cause: error });
    this.logger.error(
      { err: errorSummary(failure), cause: errorSummary(failure.cause), reason },
      'express-duo-mfa request failed',
    );
    this.events.emit('mfa.failed', req, who, { reason, code: failure.code });
    if (!res.headersSent) this.deny(req, res, failure);
  }

  /** The session, or a 503 answered (S35, S39): no session is never a pass. */
  requireSession(req: Request, res: Response): SessionLike | undefined {
    const session = sessionOf(req);
    if (session) return session;
    if (!this.sessionWarningLogged) {
      this.sessionWarningLogged = true;
      this.logger.error(
        { foreignSession: hasForeignSession(req) },
        'express-duo-mfa: req.session is missing or is not an express-session Session. Mount express-session ' +
          '(app.use(session({...}))) before duoMfa(); if it is mounted, its store is disconnected. Requests are refused until it is back.',
      );
    }
    this.deny(req, res, new DuoMfaError('ERR_SESSION_MISSING', 'no session on this request'), {});
    return undefined;
  }

  /** getUser(req), validated: undefined means "not signed in"; a malformed user is an error, never a pass. */
  resolveUser(req: Request): ResolvedUser | undefined {
    const raw = this.config.getUser(req);
    if (raw === undefined || raw === null) return undefined;
    const username = (raw as { username?: unknown }).username;
    if (typeof raw !== 'object' || typeof username !== 'string' || canonicalName(username) === '') {
      throw new TypeError(
        'express-duo-mfa: getUser(req) returned a user without a non-empty string "username"; return undefined when nobody is signed in',
      );
    }
    const tenant = (raw as { tenant?: unknown }).tenant;
    if (tenant !== undefined && tenant !== null && typeof tenant !== 'string') {
      throw new TypeError('express-duo-mfa: getUser(req) returned a user whose "tenant" is not a string');
    }
    const rolesRaw = (raw as { roles?: unknown }).roles;
    if (
      rolesRaw !== undefined &&
      rolesRaw !== null &&
      !(Array.isArray(rolesRaw) && rolesRaw.every((r) => typeof r === 'string'))
    ) {
      // A role in the wrong shape must not silently exempt its holder from Duo (S7).
      throw new TypeError(
        'express-duo-mfa: getUser(req) returned a user whose "roles" is not an array of strings',
      );
    }
    const roles = rolesRaw ?? [];
    return { raw, username: canonicalName(username), tenant: tenant ?? undefined, roles };
  }

  /** The policy decision for this user now: computed on every request, never cached (S6). */
  decideFor(user: ResolvedUser): Decision {
    return decide(this.policy.current(), user, this.config.now());
  }

  /** The session's verification when it is for this user and tenant and still young enough (S3, S5, S9). */
  currentVerification(session: SessionLike, user: ResolvedUser, tenant: string): Verification | undefined {
    const verified = mfaData(session).verified;
    if (!verified || verified.username !== user.username || verified.tenant !== tenant) return undefined;
    // A fail-open pass ends as soon as the tenant no longer fails open.
    if (verified.via === 'failopen' && this.policy.current().tenants.get(tenant)?.failmode !== 'open')
      return undefined;
    const age = this.config.now() - verified.at;
    const maxAge = verified.via === 'failopen' ? this.config.failOpenMaxAgeMs : this.config.maxAgeMs;
    return age >= 0 && age <= maxAge ? verified : undefined;
  }

  /** The Duo username: toDuoUsername(user) or the canonical username; undefined when unusable. */
  duoUsernameOf(user: ResolvedUser): string | undefined {
    // toDuoUsername sees the canonical username, so " ALICE" and "alice" can never map to two Duo users (S20).
    const name = this.config.toDuoUsername
      ? this.config.toDuoUsername({ ...user.raw, tenant: user.tenant, username: user.username })
      : user.username;
    if (typeof name !== 'string' || name === '' || name.length > MAX_USERNAME) return undefined;
    if (hasControlCharacters(name) || name !== name.trim()) return undefined;
    return name;
  }

  landingFor(path: string): string {
    return path === this.config.callbackPath ||
      path.startsWith(this.config.callbackPath + '?') ||
      path.startsWith(this.config.startPath)
      ? this.config.afterLoginPath
      : path;
  }

  private refuseUnknownTenant(req: Request, res: Response, user: ResolvedUser): void {
    const error = new DuoMfaError('ERR_DUO_UNKNOWN_TENANT', 'the user’s tenant is not in the policy file');
    this.events.emit(
      'mfa.denied',
      req,
      { tenant: user.tenant, username: user.username },
      { reason: 'unknown_tenant', code: error.code },
    );
    this.deny(req, res, error);
  }

  private reportBypass(req: Request, user: ResolvedUser, decision: Decision): void {
    const key = `${decision.tenant}\0${user.username}\0${decision.reason.code}`;
    const now = this.config.now();
    if ((this.bypassReported.get(key) ?? -Infinity) + BYPASS_EVENT_INTERVAL_MS > now) return;
    if (this.bypassReported.size > 10_000) this.bypassReported.clear();
    this.bypassReported.set(key, now);
    this.events.emit(
      'mfa.bypassed',
      req,
      { tenant: decision.tenant, username: user.username },
      { reason: decision.reason.code, detail: decision.reason.detail },
    );
  }

  private isIgnored(path: string): boolean {
    for (const rule of this.ignoreRules) {
      if (rule instanceof RegExp ? rule.test(path) : path === rule.path || path.startsWith(rule.prefix))
        return true;
    }
    return false;
  }

  private returnPathOf(req: Request): string {
    return this.landingOf(req.originalUrl);
  }

  /** Where to land after Duo for a requested path: a safe local path (never our own routes), else afterLoginPath. */
  private landingOf(candidate: unknown): string {
    return this.landingFor(safeReturnPath(candidate, this.config.origin) ?? this.config.afterLoginPath);
  }

  private startLocation(req: Request, stepUp: boolean): string {
    const params = new URLSearchParams();
    if (req.method === 'GET') {
      const returnTo = safeReturnPath(req.originalUrl, this.config.origin);
      if (returnTo) params.set('returnTo', returnTo);
    }
    if (stepUp) params.set('stepUp', '1');
    const query = params.toString();
    return this.config.startPath + (query ? `?${query}` : '');
  }
}

/** The id a pending login is stored under: SHA-256 of its state, so stores never hold the state itself. */
export function stateId(state: string): string {
  return createHash('sha256').update(state).digest('base64url');
}

function challengeKey(tenant: string, username: string): string {
  return createHash('sha256').update(`${tenant}\0${username}`).digest('base64url');
}

/** A query parameter when it is exactly one string; arrays and objects (repeated or nested params) are refused. */
export function singleParam(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function setState(
  req: Request,
  engine: MfaEngine,
  state: Pick<DuoMfaRequestState, 'verified' | 'required' | 'reason'> & { verification?: Verification },
): void {
  const verification = state.verification;
  const value = {
    verified: state.verified,
    required: state.required,
    reason: state.reason,
    via: verification?.via,
    verifiedAt: verification?.at,
    factor: verification?.factor,
    device: verification?.device,
  };
  // The engine rides on the state (non-enumerable: invisible to JSON and deepStrictEqual) for requireRecentMfa,
  // rather than on req: a new property on an Express 5 request takes V8's slow path.
  Object.defineProperty(value, ENGINE, { value: engine });
  (req as { duoMfa?: DuoMfaRequestState }).duoMfa = Object.freeze(value);
}

const ENGINE = Symbol.for('express-duo-mfa.engine');

/** Puts the engine on a request that gets no `req.duoMfa` (ignored paths, start, callback). */
function attachEngine(req: Request, engine: MfaEngine): void {
  (req as unknown as Record<symbol, unknown>)[ENGINE] = engine;
}

/** The engine of the duoMfa() that saw this request, if any (for requireRecentMfa). */
export function engineOf(req: Request): MfaEngine | undefined {
  const fromState = (req.duoMfa as unknown as Record<symbol, unknown> | undefined)?.[ENGINE];
  return (fromState ?? (req as unknown as Record<symbol, unknown>)[ENGINE]) as MfaEngine | undefined;
}
