// The interactive Universal Prompt stand-in: a server-side transaction walked through enrollment, "Send me a
// Push" (or "Enter a bypass code"), the emulated phone's Approve / Deny / Report fraud and the device check, each
// step a page whose form posts back here.

import { randomBytes } from 'node:crypto';
import { finishLogin, logFields, outcomeFor, shortcutFor, type LoginTrigger } from './grants';
import { PROMPT_PATH, renderDeadEndPage, renderPromptPage } from './pages';
import type { FormParams } from './params';
import { htmlReply, redirectReply, type Reply } from './reply';
import {
  DEFAULT_PHONE,
  type EmulatorState,
  type PendingLogin,
  type PromptTransaction,
  type UserRecord,
} from './state';

/** Wrong bypass codes allowed per prompt before the login is denied (`invalid_passcode`), as Duo's lockout would. */
const MAX_PASSCODE_ATTEMPTS = 5;

/**
 * Starts the interactive prompt for a validated authorize request: Duo's own decision when no factor is needed
 * (bypass status, a remembered device, the New User policy…) redirects back at once; otherwise the browser goes
 * to the first page (enrollment for users not enrolled, otherwise "Send me a Push").
 *
 * @example
 * ```ts
 * return startPrompt(state, login, state.user(login.username)); // 303 → /frame/prompt?sid=…
 * ```
 */
export function startPrompt(state: EmulatorState, login: PendingLogin, user: UserRecord): Reply {
  const shortcut = shortcutFor(user);
  if (shortcut) return finishLogin(state, login, shortcut, 302);
  const prompt: PromptTransaction = {
    id: randomBytes(18).toString('base64url'),
    login,
    createdAt: state.now(),
    step: user.enrolled ? 'auth' : 'enroll-welcome',
    phone: undefined,
    platform: undefined,
    activationCode: undefined,
    notice: undefined,
    justEnrolled: false,
    completedWith: undefined,
    passcodeAttempts: 0,
  };
  state.storePrompt(prompt);
  state.record({ ...logFields(login), outcome: user.enrolled ? 'prompt:auth' : 'prompt:enroll' });
  return redirectReply(303, promptLocation(prompt));
}

/**
 * `GET /frame/prompt?sid=…`: the page for the transaction's current step, or the dead-end page (400, with a
 * link back to the application when the emulator knows it) when the transaction is unknown, finished or expired.
 *
 * @example
 * ```ts
 * const reply = showPrompt(state, params.get('sid'));
 * ```
 */
export function showPrompt(state: EmulatorState, promptId: unknown): Reply {
  const prompt = state.prompt(promptId);
  if (!prompt) return expired(state.finishedApp(promptId));
  const user = state.user(prompt.login.username);
  const notice = prompt.notice;
  prompt.notice = undefined;
  return htmlReply(
    200,
    (nonce) =>
      renderPromptPage(nonce, {
        step: prompt.step,
        promptId: prompt.id,
        appName: prompt.login.app.name ?? 'This application',
        appOrigin: new URL(prompt.login.redirectUri).origin,
        username: prompt.login.username,
        phone: prompt.phone ?? user.phone?.display ?? DEFAULT_PHONE,
        platform: prompt.platform,
        activationCode: prompt.activationCode,
        notice,
        justEnrolled: prompt.justEnrolled,
        device: state.accessSnapshot(user),
      }),
    [new URL(prompt.login.redirectUri).origin],
  );
}

/**
 * `POST /frame/prompt`: applies the button pressed (`action`) to the transaction. An action that does not belong
 * to the current step changes nothing (no skipping enrollment). The last step answers the redirect back to the
 * application; the others answer 303 to the next page.
 *
 * @example
 * ```ts
 * const reply = advancePrompt(state, params); // params: sid, action (+ phone, platform, passcode)
 * ```
 */
export function advancePrompt(state: EmulatorState, params: FormParams): Reply {
  const promptId = params.get('sid');
  const prompt = state.prompt(promptId);
  if (!prompt) return expired(state.finishedApp(promptId));
  const user = state.user(prompt.login.username);
  const action = params.get('action');
  const finish = (trigger: LoginTrigger) => {
    state.finishPrompt(prompt);
    return finishLogin(state, prompt.login, outcomeFor(user, trigger), 303);
  };
  /** After a completed factor: the device check when the sign-in comes from a described device, else done. */
  const completed = (trigger: 'approve' | 'passcode') => {
    if (!user.accessDevice) return finish(trigger);
    prompt.completedWith = trigger;
    prompt.step = 'device-check';
    return redirectReply(303, promptLocation(prompt));
  };
  const seenByDuoMobile = () => {
    if (user.phone) user.phone.lastSeen = state.now();
  };

  switch (`${prompt.step} ${action ?? ''}`) {
    case 'enroll-welcome enroll-start':
      prompt.step = 'enroll-method';
      break;
    case 'enroll-method choose-mobile':
      prompt.step = 'enroll-phone';
      break;
    case 'enroll-phone phone': {
      const phone = normalisePhone(params.get('phone'));
      if (phone === undefined) prompt.notice = 'Enter a valid phone number (7 to 15 digits).';
      else {
        prompt.phone = phone;
        prompt.step = 'enroll-platform';
      }
      break;
    }
    case 'enroll-platform platform': {
      const platform = params.get('platform');
      if (platform !== 'iOS' && platform !== 'Android') prompt.notice = 'Choose iPhone or Android.';
      else {
        prompt.platform = platform;
        prompt.step = 'enroll-install';
      }
      break;
    }
    case 'enroll-install installed':
      prompt.activationCode = activationCode(state);
      prompt.step = 'enroll-activate';
      break;
    case 'enroll-activate activated':
      state.enrollPhone(user, prompt.phone ?? DEFAULT_PHONE, prompt.platform ?? 'iOS');
      prompt.justEnrolled = true;
      prompt.step = 'auth';
      state.record({ ...logFields(prompt.login), outcome: 'prompt:enrolled' });
      break;
    case 'auth push':
      prompt.step = 'pushed';
      break;
    case 'auth use-passcode':
      prompt.step = 'passcode';
      break;
    case 'passcode passcode-cancel':
      prompt.step = 'auth';
      break;
    case 'passcode passcode': {
      const passcode = (params.get('passcode') ?? '').replace(/\s/g, '');
      if (/^\d{1,16}$/.test(passcode) && state.useBypassCode(user, passcode)) {
        state.record({ ...logFields(prompt.login), outcome: 'prompt:bypass_code' });
        return completed('passcode');
      }
      prompt.passcodeAttempts += 1;
      if (prompt.passcodeAttempts >= MAX_PASSCODE_ATTEMPTS) {
        state.finishPrompt(prompt);
        return finishLogin(
          state,
          prompt.login,
          {
            kind: 'code',
            result: 'deny',
            reason: 'invalid_passcode',
            factor: 'bypass_code',
            liveFactor: true,
          },
          303,
        );
      }
      prompt.notice = 'Incorrect passcode. Enter a valid bypass code from your administrator.';
      break;
    }
    case 'pushed approve':
      seenByDuoMobile();
      return completed('approve');
    case 'pushed deny':
      seenByDuoMobile();
      return finish('deny');
    case 'pushed report-fraud':
      seenByDuoMobile();
      return finish('fraud');
    case 'device-check continue':
      return finish(prompt.completedWith ?? 'approve');
    default:
      break;
  }
  return redirectReply(303, promptLocation(prompt));
}

function promptLocation(prompt: PromptTransaction): string {
  return `${PROMPT_PATH}?sid=${encodeURIComponent(prompt.id)}`;
}

/** The page a finished, expired or unknown prompt gets: said once, with the way back to the application. */
function expired(app: { origin: string; appName: string | undefined } | undefined): Reply {
  return htmlReply(400, (nonce) =>
    renderDeadEndPage(nonce, {
      title: 'This login has expired',
      message: 'This Duo login is unknown, already completed or expired.',
      appOrigin: app?.origin,
      appName: app?.appName,
    }),
  );
}

/** Digits with an optional leading +, spaces, dots, dashes or parentheses; 7–15 digits. */
function normalisePhone(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed.length > 32 || !/^\+?[\d\s().-]+$/.test(trimmed)) return undefined;
  const digits = trimmed.replace(/\D/g, '');
  return digits.length >= 7 && digits.length <= 15 ? trimmed : undefined;
}

/** Duo-style activation code shown under the stand-in QR pattern. */
function activationCode(state: EmulatorState): string {
  const code = state.randomCode(16);
  return `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8, 12)}-${code.slice(12, 16)}`;
}
