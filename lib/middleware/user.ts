// Who is signed in: getUser(req) checked once, names made canonical once (S20), and the Duo username.

import type { Request } from 'express';
import { canonicalName, hasControlCharacters, hasInvisibleCharacters } from '../util/names';
import type { MfaConfig, MfaUser } from './options';

const MAX_USERNAME = 256;

/** The signed-in user, checked: also the PolicyUser handed to decideTenant(), so no object is built per request. */
export interface ResolvedUser {
  readonly raw: MfaUser;
  /** Canonical. */
  readonly username: string;
  readonly tenant: string | undefined;
  readonly roles: readonly string[];
}

/**
 * getUser(req), validated: undefined means "not signed in". A malformed user is the host app's mistake: a
 * TypeError naming what is wrong, never a pass. It — and anything getUser itself throws — reaches the host's error
 * handler as the cause of an ERR_INTERNAL (the flows send every throw through failUnexpected()).
 */
export function resolveUser(config: MfaConfig, req: Request): ResolvedUser | undefined {
  const raw = config.getUser(req);
  if (raw === undefined || raw === null) return undefined;
  const username = (raw as { username?: unknown }).username;
  const canonical = typeof username === 'string' ? canonicalName(username) : '';
  if (typeof raw !== 'object' || canonical === '') {
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
  return { raw, username: canonical, tenant: tenant ?? undefined, roles: rolesRaw ?? [] };
}

/** resolveUser(), with a getUser that throws or returns a malformed user counted as nobody signed in. */
export function tryResolveUser(config: MfaConfig, req: Request): ResolvedUser | undefined {
  try {
    return resolveUser(config, req);
  } catch {
    return undefined;
  }
}

/**
 * True when the request's (possibly reloaded) session belongs to this canonical username and tenant: the check
 * made after every wait, so a logout or another sign-in meanwhile is never undone (S3, S8).
 */
export function isSameUser(
  config: MfaConfig,
  req: Request,
  username: string,
  tenant: string,
  defaultTenant: string | undefined,
): boolean {
  const now = tryResolveUser(config, req);
  return now !== undefined && now.username === username && (now.tenant ?? defaultTenant) === tenant;
}

/** The Duo username: toDuoUsername(user) or the canonical username; undefined when it cannot be sent to Duo. */
export function duoUsernameOf(config: MfaConfig, user: ResolvedUser): string | undefined {
  // toDuoUsername sees the canonical username, so " ALICE" and "alice" can never map to two Duo users (S20).
  const name = config.toDuoUsername
    ? config.toDuoUsername({ ...user.raw, tenant: user.tenant, username: user.username })
    : user.username;
  if (typeof name !== 'string' || name === '' || name.length > MAX_USERNAME) return undefined;
  if (hasControlCharacters(name) || hasInvisibleCharacters(name) || name !== name.trim()) return undefined;
  return name;
}
