// The staff list's JSON endpoints on MFA Settings: each person's Duo account, "Send reactivation" and "Issue bypass
// code", through the tenant's Duo Admin API application (mfa.staffStatus / reactivateStaff / issueBypassCodes).
// Mounted behind the portal's admin check; an admin acts on their own organization's staff only.

import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import {
  isDuoMfaError,
  type DuoMfaMiddleware,
  type MfaLogger,
  type StaffPhone,
  type StaffStatus,
} from 'express-duo-mfa';
import { formatTime, type PortalUser } from './pages';
import type { StaffDirectory, StaffMember } from './staff';

/** One person's Duo account as the staff list shows it. */
export interface DuoAccountView {
  readonly username: string;
  /** `enrolled`, `not-enrolled`, `not-in-duo`, or `error` (then `error` says why). */
  readonly state: 'enrolled' | 'not-enrolled' | 'not-in-duo' | 'error';
  /** The words in the cell: "enrolled", "not enrolled", "not in Duo". */
  readonly label: string;
  /** Phones, Duo status and last sign-in, in plain words. */
  readonly detail: string;
  readonly error?: ProblemView;
}

/** A Duo or Admin API failure in the words express-duo-mfa gives it. */
export interface ProblemView {
  readonly code: string;
  readonly title: string;
  readonly advice: string;
  readonly message: string;
}

export interface StaffRecoveryOptions {
  readonly mfa: DuoMfaMiddleware;
  readonly staff: StaffDirectory;
  /** The portal's origin: a browser's POST from anywhere else is refused. */
  readonly ownOrigin: string;
  readonly logger: MfaLogger;
  /** Admin API calls at once when listing the staff. Default 4 (Duo rate-limits the Admin API). */
  readonly concurrency?: number;
}

/** Admin API failures that concern the whole tenant (not one person): the list stops at the first one. */
const TENANT_WIDE = new Set([
  'ERR_ADMIN_API_NOT_CONFIGURED',
  'ERR_ADMIN_API_CREDENTIALS',
  'ERR_ADMIN_API_PERMISSION',
  'ERR_ADMIN_API_RATE_LIMITED',
  'ERR_ADMIN_API_UNAVAILABLE',
  'ERR_DUO_TLS',
  'ERR_DUO_HOST_NOT_FOUND',
  'ERR_DUO_CONFIG',
]);

/**
 * The staff-recovery endpoints, for a Router mounted behind the portal's admin check:
 * `GET /` → `{ staff: DuoAccountView[] }` or `{ problem }`; `POST /:username/reactivate` →
 * `{ sentBySms, activationUrl?, expiresAt, expires }`; `POST /:username/bypass-code` → `{ codes, expiresAt, expires }`.
 * Links and codes go to the admin's page once and nowhere else (never logged).
 *
 * @example
 * ```ts
 * app.use('/admin/mfa-settings/staff', adminsOnly, staffRecovery({ mfa, staff, ownOrigin, logger }));
 * ```
 */
export function staffRecovery(options: StaffRecoveryOptions): Router {
  const { mfa, staff, logger } = options;
  const router = express.Router({ caseSensitive: true, strict: true });
  const userOf = (req: Request): PortalUser => req.session.user!;
  const actorOf = (user: PortalUser) => `${user.username}@${user.tenant}`;

  router.get('/', async (req, res) => {
    const user = userOf(req);
    const members = staff.ofTenant(user.tenant);
    const [first, ...rest] = members;
    if (!first) return void res.json({ staff: [] });
    // The first call tells whether the tenant's Admin API works at all; the others then run a few at a time.
    const firstView = await accountView(mfa, user, first);
    if (firstView.error && TENANT_WIDE.has(firstView.error.code))
      return void res.json({ problem: firstView.error });
    const others = await mapLimited(rest, options.concurrency ?? 4, (member) =>
      accountView(mfa, user, member),
    );
    res.json({ staff: [firstView, ...others] });
  });

  const member = (req: Request, res: Response): StaffMember | undefined => {
    const wanted = String(req.params.username).trim().toLowerCase();
    const found = staff
      .ofTenant(userOf(req).tenant)
      .find((candidate) => candidate.username.toLowerCase() === wanted);
    if (!found) res.status(404).json({ error: 'not_found', message: 'No such person in your organization' });
    return found;
  };

  const guard = [sameSiteJson(options.ownOrigin), express.json({ limit: '1kb' })];
  router.post('/:username/reactivate', ...guard, async (req, res) => {
    const person = member(req, res);
    if (!person) return;
    const user = userOf(req);
    try {
      const result = await mfa.reactivateStaff(user.tenant, person.username, { actor: actorOf(user) });
      res.json({
        sentBySms: result.sentBySms,
        ...(result.activationUrl ? { activationUrl: result.activationUrl } : {}),
        expiresAt: result.expiresAt,
        expires: formatTime(result.expiresAt),
      });
    } catch (error) {
      failed(res, error, logger);
    }
  });

  router.post('/:username/bypass-code', ...guard, async (req, res) => {
    const person = member(req, res);
    if (!person) return;
    const user = userOf(req);
    try {
      // One code, for one sign-in, valid an hour: enough to get someone through today without a phone.
      const result = await mfa.issueBypassCodes(user.tenant, person.username, {
        actor: actorOf(user),
        count: 1,
        validSecs: 3600,
      });
      res.json({ codes: result.codes, expiresAt: result.expiresAt, expires: formatTime(result.expiresAt) });
    } catch (error) {
      failed(res, error, logger);
    }
  });

  return router;
}

/** One person's Duo account, or the problem Duo's Admin API reported for them. */
async function accountView(
  mfa: DuoMfaMiddleware,
  user: PortalUser,
  member: StaffMember,
): Promise<DuoAccountView> {
  try {
    const status = await mfa.staffStatus(user.tenant, member.username, {
      actor: `${user.username}@${user.tenant}`,
    });
    return describeAccount(member.username, status);
  } catch (error) {
    if (!isDuoMfaError(error)) throw error;
    return {
      username: member.username,
      state: 'error',
      label: 'unknown',
      detail: error.title,
      error: problemOf(error),
    };
  }
}

/**
 * A Duo account in the staff list's words.
 *
 * @example
 * ```ts
 * describeAccount('nora', { username: 'nora', found: true, status: 'active', enrolled: false, phones: [] });
 * // { username: 'nora', state: 'not-enrolled', label: 'not enrolled', detail: 'no phone yet: enrolls at the next Duo sign-in; no Duo sign-in yet' }
 * ```
 */
export function describeAccount(username: string, status: StaffStatus): DuoAccountView {
  if (!status.found)
    return {
      username,
      state: 'not-in-duo',
      label: 'not in Duo',
      detail: 'Duo has no user by this name yet: Duo creates it at the first Duo sign-in.',
    };
  const facts: string[] = [];
  if (status.phones.length === 0) facts.push('no phone yet: enrolls at the next Duo sign-in');
  for (const phone of status.phones) facts.push(phoneWords(phone));
  if (status.status && status.status !== 'active') facts.push(`Duo status: ${status.status}`);
  facts.push(status.lastLogin ? `last Duo sign-in ${formatTime(status.lastLogin)}` : 'no Duo sign-in yet');
  return {
    username,
    state: status.enrolled ? 'enrolled' : 'not-enrolled',
    label: status.enrolled ? 'enrolled' : 'not enrolled',
    detail: facts.join('; '),
  };
}

function phoneWords(phone: StaffPhone): string {
  const name = [phone.model, phone.platform && phone.platform !== phone.model ? `(${phone.platform})` : '']
    .filter(Boolean)
    .join(' ');
  return `${name || 'a phone'}: ${phone.activated ? 'Duo Mobile activated' : 'Duo Mobile not activated'}`;
}

function problemOf(error: { code: string; title: string; advice: string; message: string }): ProblemView {
  return { code: error.code, title: error.title, advice: error.advice, message: error.message };
}

function failed(res: Response, error: unknown, logger: MfaLogger): void {
  if (isDuoMfaError(error)) {
    res.status(error.status).json({ error: error.code, ...problemOf(error) });
    return;
  }
  logger.error(
    { err: { name: (error as Error)?.name, message: (error as Error)?.message } },
    'staff action failed',
  );
  res.status(500).json({ error: 'internal', message: 'The portal could not complete this request.' });
}

/**
 * These buttons change someone's Duo account: only the portal's own page may press them. A browser tells where a
 * request comes from (Sec-Fetch-Site, Origin); a JSON content type cannot be sent by another site's form.
 */
function sameSiteJson(ownOrigin: string): RequestHandler {
  return (req, res, next) => {
    const site = req.headers['sec-fetch-site'];
    const origin = req.headers.origin;
    if ((site !== undefined && site !== 'same-origin') || (origin !== undefined && origin !== ownOrigin)) {
      res.status(403).json({ error: 'cross_site', message: 'Send this from the MFA Settings page.' });
      return;
    }
    if (!req.is('application/json')) {
      res
        .status(415)
        .json({ error: 'unsupported_media_type', message: 'Send the request as application/json.' });
      return;
    }
    next();
  };
}

/** `fn` over `items`, at most `limit` at a time, results in order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
