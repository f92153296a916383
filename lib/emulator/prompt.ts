// The interactive Universal Prompt stand-in: a server-side transaction walked through enrollment, "Send me a
// Push", the emulated phone's Approve / Deny and the device check, each step a page whose form posts back here.

import { randomBytes } from 'node:crypto';
import type { FormParams } from './body';
import { finishLogin, logFields, outcomeFor, type LoginTrigger } from './grants';
import { PROMPT_PATH, renderErrorPage, renderPromptPage } from './pages';
import { htmlReply, redirectReply, type Reply } from './reply';
import type { EmulatorState, PendingLogin, PromptTransaction, UserRecord } from './state';
import { DEFAULT_PHONE } from './tokens';
import type { DevicePlatform } from './types';

/**
 * Opens a prompt transaction for a validated authorize request and sends the browser to its first page
 * (enrollment for users not enrolled, otherwise "Send me a Push").
 *
 * @example
 * ```ts
 * return startPrompt(state, login, state.user(login.username)); // 303 → /frame/prompt?sid=…
 * ```
 */
export function startPrompt(state: EmulatorState, login: PendingLogin, user: UserRecord): Reply {
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
  };
  state.storePrompt(prompt);
  state.record({ ...logFields(login), outcome: user.enrolled ? 'prompt:auth' : 'prompt:enroll' });
  return redirectReply(303, promptLocation(prompt));
}

/**
 * `GET /frame/prompt?sid=…`: the page for the transaction's current step, or an error page when the
 * transaction is unknown, finished or expired.
 *
 * @example
 * ```ts
 * const reply = showPrompt(state, url.searchParams.get('sid'));
 * ```
 */
export function showPrompt(state: EmulatorState, promptId: unknown): Reply {
  const prompt = state.prompt(promptId);
  if (!prompt) return expired();
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
        username: prompt.login.username,
        phone: prompt.phone ?? user.phone ?? DEFAULT_PHONE,
        platform: prompt.platform,
        activationCode: prompt.activationCode,
        notice,
        justEnrolled: prompt.justEnrolled,
        device: user.device,
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
 * const reply = advancePrompt(state, params); // params: sid, action (+ phone, platform)
 * ```
 */
export function advancePrompt(state: EmulatorState, params: FormParams): Reply {
  const prompt = state.prompt(params.get('sid'));
  if (!prompt) return expired();
  const user = state.user(prompt.login.username);
  const action = params.get('action');
  const finish = (trigger: LoginTrigger) => {
    state.prompts.delete(prompt.id);
    return finishLogin(state, prompt.login, outcomeFor(user, trigger), 303);
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
        prompt.platform = platform satisfies DevicePlatform;
        prompt.step = 'enroll-install';
      }
      break;
    }
    case 'enroll-install installed':
      prompt.activationCode = activationCode();
      prompt.step = 'enroll-activate';
      break;
    case 'enroll-activate activated':
      user.enrolled = true;
      user.phone = prompt.phone;
      user.phonePlatform = prompt.platform;
      prompt.justEnrolled = true;
      prompt.step = 'auth';
      state.record({ ...logFields(prompt.login), outcome: 'prompt:enrolled' });
      break;
    case 'auth push':
      prompt.step = 'pushed';
      break;
    case 'pushed approve':
      if (!user.device) return finish('approve');
      prompt.step = 'device-check';
      break;
    case 'pushed deny':
      return finish('deny');
    case 'device-check continue':
      return finish('approve');
    default:
      break;
  }
  return redirectReply(303, promptLocation(prompt));
}

function promptLocation(prompt: PromptTransaction): string {
  return `${PROMPT_PATH}?sid=${encodeURIComponent(prompt.id)}`;
}

function expired(): Reply {
  return htmlReply(400, (nonce) =>
    renderErrorPage(
      nonce,
      'This login has expired',
      'This Duo login is unknown, already completed or expired. Return to the application and sign in again.',
    ),
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
function activationCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(16);
  let code = '';
  for (const byte of bytes) code += alphabet[byte % alphabet.length];
  return `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8, 12)}-${code.slice(12, 16)}`;
}
