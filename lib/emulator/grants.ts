// Ending a login: the outcome a scripted user produces (a live factor, or Duo's policy letting them in or keeping
// them out without one), the single-use code it is carried by, and the redirect back to the application.

import { randomBytes } from 'node:crypto';
import { redirectReply, type Reply } from './reply';
import type { EmulatorState, PendingLogin, UserRecord } from './state';

/** What the prompt ended with. */
export type LoginOutcome =
  | {
      readonly kind: 'code';
      readonly result: 'allow' | 'deny';
      readonly reason: string;
      readonly factor: string;
      /** True when the user reported the request as fraud (auth_context.result "fraud"). */
      readonly fraud?: boolean;
      /** False when Duo decided without a live factor (bypass status, remembered device, …). */
      readonly liveFactor: boolean;
    }
  | { readonly kind: 'error'; readonly description: string };

/**
 * What ended the prompt: auto mode, or the emulated phone's Approve / Deny / Report fraud buttons, or a valid
 * bypass code typed into the prompt.
 */
export type LoginTrigger = 'auto' | 'approve' | 'deny' | 'fraud' | 'passcode';

/** Factor Duo logs when no factor ran (bypass status, an unenrolled user let in). */
const NO_FACTOR = 'not_available';

/**
 * The outcome Duo reaches for `user` before any prompt page, or undefined when the user must complete a factor.
 * In Duo's order: a disabled or locked-out user is denied; a user in bypass status is let in; a user not enrolled
 * meets the New User policy (allow / deny; require-enrollment goes on to enrollment); then a remembered device or
 * an authorized network lets a user scripted to be allowed in.
 * `reason` / `factor` overrides apply to these as to any outcome.
 *
 * @example
 * ```ts
 * shortcutFor(state.user('bob')); // { kind: 'code', result: 'allow', reason: 'remembered_device', factor: 'remembered_device', liveFactor: false }
 * ```
 */
export function shortcutFor(user: UserRecord): LoginOutcome | undefined {
  const code = (result: 'allow' | 'deny', reason: string, factor: string): LoginOutcome => ({
    kind: 'code',
    result,
    reason: user.reason ?? reason,
    factor: user.factor ?? factor,
    liveFactor: false,
  });
  if (user.status === 'disabled') return code('deny', 'user_disabled', NO_FACTOR);
  if (user.status === 'locked out') return code('deny', 'locked_out', NO_FACTOR);
  if (user.status === 'bypass') return code('allow', 'bypass_user', NO_FACTOR);
  if (!user.enrolled && user.newUserPolicy === 'allow')
    return code('allow', 'allow_unenrolled_user', NO_FACTOR);
  if (!user.enrolled && user.newUserPolicy === 'deny') return code('deny', 'deny_unenrolled_user', NO_FACTOR);
  if (user.result === 'allow' && user.rememberedDevice)
    return code('allow', 'remembered_device', 'remembered_device');
  if (user.result === 'allow' && user.trustedNetwork)
    return code('allow', 'trusted_network', 'trusted_network');
  return undefined;
}

/**
 * The outcome for `user` when the prompt ends by `trigger`. Deny on the phone denies with `user_mistake` (Duo
 * Mobile's "not suspicious" answer); Report fraud denies with `user_marked_fraud` and auth_context.result
 * "fraud". Otherwise the scripted result applies with its reason, or the defaults (`user_approved`, or
 * `valid_passcode` with factor `bypass_code`; deny: `user_marked_fraud` in auto mode, `denied_by_policy` after
 * the user completed a factor).
 *
 * @example
 * ```ts
 * outcomeFor(state.user('alice'), 'auto'); // { kind: 'code', result: 'allow', reason: 'user_approved', factor: 'duo_push', liveFactor: true }
 * ```
 */
export function outcomeFor(user: UserRecord, trigger: LoginTrigger): LoginOutcome {
  const push = user.factor ?? 'duo_push';
  if (trigger === 'deny') {
    return { kind: 'code', result: 'deny', reason: 'user_mistake', factor: push, liveFactor: true };
  }
  if (trigger === 'fraud') {
    return {
      kind: 'code',
      result: 'deny',
      reason: 'user_marked_fraud',
      factor: push,
      fraud: true,
      liveFactor: true,
    };
  }
  const factor = trigger === 'passcode' ? (user.factor ?? 'bypass_code') : push;
  switch (user.result) {
    case 'error':
      return { kind: 'error', description: user.reason ?? 'The user is not allowed to authenticate.' };
    case 'deny':
      return {
        kind: 'code',
        result: 'deny',
        reason: user.reason ?? (trigger === 'auto' ? 'user_marked_fraud' : 'denied_by_policy'),
        factor,
        liveFactor: true,
      };
    case 'allow':
      return {
        kind: 'code',
        result: 'allow',
        reason: user.reason ?? (trigger === 'passcode' ? 'valid_passcode' : 'user_approved'),
        factor,
        liveFactor: true,
      };
  }
}

/**
 * Issues the code (or Duo's error) for `login` and answers the redirect back to its redirect_uri, keeping any
 * query the redirect_uri already had. An allowed login is the user's last login (Admin API `last_login`).
 *
 * @example
 * ```ts
 * return finishLogin(state, login, outcomeFor(state.user(login.username), 'auto'), 302);
 * ```
 */
export function finishLogin(
  state: EmulatorState,
  login: PendingLogin,
  outcome: LoginOutcome,
  status: 302 | 303,
): Reply {
  const target = new URL(login.redirectUri);
  if (outcome.kind === 'error') {
    target.searchParams.set('error', 'access_denied');
    target.searchParams.set('error_description', outcome.description);
    target.searchParams.set('state', login.state);
    state.record({ ...logFields(login), outcome: 'redirect:error' });
    return redirectReply(status, target.href);
  }
  const user = state.user(login.username);
  const code = randomBytes(24).toString('base64url');
  const now = state.now();
  if (outcome.result === 'allow') user.lastLogin = now;
  state.storeCode(code, {
    login,
    auth: {
      result: outcome.result,
      reason: outcome.reason,
      factor: outcome.factor,
      fraud: outcome.fraud === true,
      access: state.accessSnapshot(user),
      authDeviceName:
        outcome.liveFactor && outcome.factor !== 'bypass_code' ? (user.phone?.display ?? null) : null,
      at: now,
    },
    issuedAt: now,
    used: false,
  });
  target.searchParams.set(login.useDuoCode ? 'duo_code' : 'code', code);
  target.searchParams.set('state', login.state);
  state.record({ ...logFields(login), outcome: `redirect:${outcome.result}` });
  return redirectReply(status, target.href);
}

/**
 * The non-secret fields of a login for the log (never its state or nonce).
 *
 * @example
 * ```ts
 * state.record({ ...logFields(login), outcome: 'redirect:allow' });
 * ```
 */
export function logFields(login: PendingLogin): {
  endpoint: 'authorize';
  clientId: string;
  username: string;
  redirectUri: string;
} {
  return {
    endpoint: 'authorize',
    clientId: login.app.clientId,
    username: login.username,
    redirectUri: login.redirectUri,
  };
}
