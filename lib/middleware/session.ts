// Session discipline: the duoMfa data kept in req.session, id rotation that keeps the host's data, awaited saves.

import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { TrustStatus } from '../duo/result';

/** A login in progress, as the session remembers it, keyed by the SHA-256 of its state. */
export interface PendingRef {
  readonly tenant: string;
  readonly username: string;
  readonly startedAt: number;
  readonly returnTo: string;
  /** True for a step-up. */
  readonly stepUp?: boolean;
  /** A step-up that needs a live factor (the pending record's `requireFresh`): what a repeated start may reuse. */
  readonly requireFresh?: true;
  /**
   * Duo's prompt URL for this login, so a repeated start within a few minutes goes back to the same prompt instead
   * of counting a new challenge (S42). It holds the state; it lives only in the session, never in the MfaStore.
   */
  readonly authUrl?: string;
}

/** A start waiting for the person's own click (S42): the "Continue to Duo" page's proof that it came from here. */
export interface StartConfirmation {
  /** Random, compared in constant time with the form's field. */
  readonly token: string;
  readonly returnTo: string;
  readonly stepUp: boolean;
  readonly freshFactor: boolean;
  /** The page offered the grace period's "Remind me later". */
  readonly grace: boolean;
  /** Epoch ms. */
  readonly at: number;
}

/** The verification written after a successful Duo callback (or a fail-open pass). */
export interface Verification {
  /** Canonical username the verification is bound to. */
  readonly username: string;
  /** Tenant the verification is bound to. */
  readonly tenant: string;
  /** Epoch ms: maxAge is enforced from this stored time, not by cookie expiry (S9). */
  readonly at: number;
  readonly via: 'duo' | 'failopen';
  /** Duo's `auth_context.factor`, e.g. duo_push, passcode, remembered_device. */
  readonly factor?: string;
  /** Duo's `auth_context.reason` when it says no live factor was used (remembered_device, bypass_user…). */
  readonly reason?: string;
  readonly txid?: string;
  readonly device?: {
    readonly trusted: TrustStatus;
    readonly os?: string;
    readonly browser?: string;
    readonly hostname?: string;
    readonly epkey?: string;
  };
}

/** What express-duo-mfa keeps under `req.session.duoMfa`. */
export interface DuoMfaSessionData {
  /** Logins in progress, keyed by the SHA-256 of their state (one per tab, at most a few). */
  pending?: Record<string, PendingRef>;
  verified?: Verification;
  /** The "Continue to Duo" (or grace period) page waiting for its button (S42). */
  confirm?: StartConfirmation;
  /** "Remind me later" during the enrollment grace period: this session passes until the date. */
  deferred?: { readonly username: string; readonly tenant: string; readonly until: number };
}

/** The parts of an express-session Session the middleware uses. */
export interface SessionLike {
  duoMfa?: DuoMfaSessionData;
  reload(callback: (err?: unknown) => void): void;
  regenerate(callback: (err?: unknown) => void): void;
  save(callback: (err?: unknown) => void): void;
  [key: string]: unknown;
}

/** A pending login lives this long (S15). */
export const PENDING_TTL_MS = 10 * 60_000;

export const MAX_PENDING_PER_SESSION = 5;

/** The id a pending login is stored under: SHA-256 of its state, so stores never hold the state itself. */
export function stateId(state: string): string {
  return createHash('sha256').update(state).digest('base64url');
}

/**
 * Whose challenge window and pending logins these are, for the store: SHA-256 of tenant and canonical username,
 * so stores never hold either in a key.
 */
export function ownerKey(tenant: string, username: string): string {
  return createHash('sha256').update(`${tenant}\0${username}`).digest('base64url');
}

/** The request's session, or undefined when no session middleware ran (or its store is disconnected). */
export function sessionOf(req: Request): SessionLike | undefined {
  const session = (req as { session?: unknown }).session;
  if (typeof session !== 'object' || session === null) return undefined;
  const s = session as Partial<SessionLike>;
  return typeof s.regenerate === 'function' && typeof s.save === 'function'
    ? (session as SessionLike)
    : undefined;
}

/** True when something sits at req.session that is not an express-session Session (e.g. cookie-session). */
export function hasForeignSession(req: Request): boolean {
  const session = (req as { session?: unknown }).session;
  return typeof session === 'object' && session !== null && sessionOf(req) === undefined;
}

/** The duoMfa data of a session, read-only view (never creates it). */
export function mfaData(session: SessionLike): Readonly<DuoMfaSessionData> {
  const data = session.duoMfa;
  return typeof data === 'object' && data !== null ? data : {};
}

/**
 * Drops what express-duo-mfa keeps in a session (verification, pending logins) when there is something to drop;
 * express-session then saves the change with the response.
 */
export function forgetMfa(session: SessionLike): void {
  if (session.duoMfa !== undefined) delete session.duoMfa;
}

/** The session changed under us while we waited for Duo or Redis: logged out, revoked, or another user. */
export class SessionChangedError extends Error {
  override readonly name = 'SessionChangedError';
}

/**
 * Re-reads the session from the store — so a logout or revocation that happened while we awaited Duo or Redis is
 * seen — and checks `stillValid` on it; then gives it a new id (the old store entry is destroyed), copies the host
 * app's data across, applies `update` and saves, resolving only once the store has it (S1, S2, S8). The read is
 * never skipped: even one store round trip is long enough for the same browser to sign out.
 *
 * On any failure the request's session is dropped, so express-session neither re-saves what `update` wrote nor
 * sends a cookie for it: a failed rotation never leaves a half-granted session behind (S36).
 */
export async function rotateSession(
  req: Request,
  stillValid: () => boolean,
  update: (session: SessionLike) => void,
): Promise<void> {
  try {
    const stored = sessionOf(req);
    if (!stored) throw new SessionChangedError('no session');
    const found = await new Promise<boolean>((resolve, reject) =>
      stored.reload((err) => {
        if (!err) return resolve(true);
        // express-session says "failed to load session" when the store answered without it; anything else is
        // the store failing, which is an outage, not a logout.
        if (err instanceof Error && err.message === 'failed to load session') return resolve(false);
        reject(toError(err));
      }),
    );
    if (!found) throw new SessionChangedError('session is gone from the store');
    if (!stillValid()) throw new SessionChangedError('session changed while waiting');
    const old = sessionOf(req)!;
    const kept: Record<string, unknown> = {};
    for (const key of Object.keys(old)) if (key !== 'cookie') kept[key] = old[key];
    await regenerateSession(old);
    const fresh = sessionOf(req);
    if (!fresh) throw new Error('session lost during regenerate');
    Object.assign(fresh, kept);
    update(fresh);
    await saveSession(fresh);
    skipRepeatedSave(fresh);
  } catch (error) {
    delete (req as { session?: unknown }).session;
    throw error;
  }
}

/**
 * express-session cannot tell that a regenerated session was already saved, so it saves it again when the
 * response ends — a second store write per rotation. The session's own `save` becomes a no-op while the session
 * is what was saved; any later change (the host's route after a fail-open pass) is saved as usual.
 */
function skipRepeatedSave(session: SessionLike): void {
  const saved = JSON.stringify(session);
  const save = session.save.bind(session);
  Object.defineProperty(session, 'save', {
    configurable: true,
    enumerable: false,
    writable: true,
    value: function saveIfChanged(this: SessionLike, callback: (err?: unknown) => void) {
      if (JSON.stringify(this) === saved) {
        callback();
        return this;
      }
      return save(callback);
    },
  });
}

/** Gives the session a new id (the old one is destroyed in the store) with nothing in it, and waits. */
export function regenerateSession(session: SessionLike): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    session.regenerate((err) => (err ? reject(toError(err)) : resolve())),
  );
}

/** Saves now and waits for the store. */
export function saveSession(session: SessionLike): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    session.save((err) => (err ? reject(toError(err)) : resolve())),
  );
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
