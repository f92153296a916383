// Ending a login: the outcome a scripted user produces, the single-use code it is carried by, and the
// redirect back to the application (with duo_code / code, or Duo's error parameters).

import { randomBytes } from 'node:crypto';
import { redirectReply, type Reply } from './reply';
import type { EmulatorState, PendingLogin, UserRecord } from './state';
import { DEFAULT_PHONE } from './tokens';

/** What the prompt ended with. */
export type LoginOutcome =
  | { readonly kind: 'code'; readonly result: 'allow' | 'deny'; readonly reason: string }
  | { readonly kind: 'error'; readonly description: string };

/** What ended the prompt: auto mode, or the Approve / Deny buttons of the emulated phone. */
export type LoginTrigger = 'auto' | 'approve' | 'deny';

/**
 * The outcome for `user` when the prompt ends by `trigger`. The Deny button always denies with
 * `user_marked_fraud`; otherwise the scripted result applies with its reason, or the defaults
 * (`user_approved`; deny: `user_marked_fraud` in auto mode, `denied_by_policy` after an approval).
 *
 * @example
 * ```ts
 * outcomeFor(state.user('alice'), 'auto'); // { kind: 'code', result: 'allow', reason: 'user_approved' }
 * ```
 */
export function outcomeFor(user: UserRecord, trigger: LoginTrigger): LoginOutcome {
  if (trigger === 'deny') return { kind: 'code', result: 'deny', reason: 'user_marked_fraud' };
  switch (user.result) {
    case 'error':
      return { kind: 'error', description: user.reason ?? 'The user is not allowed to authenticate.' };
    case 'deny':
      return {
        kind: 'code',
        result: 'deny',
        reason: user.reason ?? (trigger === 'auto' ? 'user_marked_fraud' : 'denied_by_policy'),
      };
    case 'allow':
      return { kind: 'code', result: 'allow', reason: user.reason ?? 'user_approved' };
  }
}

/**
 * Issues the code (or Duo's error) for `login` and answers the redirect back to its redirect_uri, keeping any
 * query the redirect_uri already had.
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
  state.storeCode(code, {
    login,
    auth: {
      result: outcome.result,
      reason: outcome.reason,
      factor: user.factor ?? 'duo_push',
      device: user.device,
      authDeviceName: user.phone ?? DEFAULT_PHONE,
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
