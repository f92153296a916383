// The emulator's HTML: the Universal Prompt stand-in (enrollment, push, device check) and error pages.
// Self-contained (inline CSS under a nonce, no scripts, no external loads); every dynamic text is escaped.

import { createHash } from 'node:crypto';
import { managerName } from '../devices/managers';
import { isPhone, type AccessDeviceSnapshot } from './access-device';
import type { PromptStep } from './state';
import type { PhonePlatform } from './types';

/** Where the prompt's forms post. */
export const PROMPT_PATH = '/frame/prompt';

/** What a prompt page shows. */
export interface PromptView {
  readonly step: PromptStep;
  readonly promptId: string;
  readonly appName: string;
  /** Where the application lives (the redirect_uri's origin): every page links back to it. */
  readonly appOrigin: string;
  readonly username: string;
  readonly phone: string;
  readonly platform: PhonePlatform | undefined;
  readonly activationCode: string | undefined;
  readonly notice: string | undefined;
  readonly justEnrolled: boolean;
  readonly device: AccessDeviceSnapshot | undefined;
}

/**
 * Escapes text for HTML element content and quoted attribute values.
 *
 * @example
 * ```ts
 * escapeHtml('<script>alert(1)</script>'); // '&lt;script&gt;alert(1)&lt;/script&gt;'
 * ```
 */
export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = `
  *{box-sizing:border-box}
  body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1f2430}
  main{max-width:28rem;margin:3rem auto;background:#fff;border-radius:12px;padding:2rem;box-shadow:0 2px 12px rgba(0,0,0,.08)}
  header{display:flex;justify-content:space-between;align-items:center;margin-bottom:1.5rem;font-size:.85rem;color:#5b6270}
  .badge{background:#fff4ce;color:#6b5200;border-radius:999px;padding:.1rem .6rem;font-size:.75rem}
  h1{font-size:1.4rem;margin:.2rem 0 1rem}
  p{margin:.5rem 0}
  form{margin:1rem 0 0}
  button{display:block;width:100%;padding:.75rem 1rem;margin:.5rem 0;border:0;border-radius:8px;font:inherit;font-weight:600;cursor:pointer;background:#1a73e8;color:#fff}
  button.secondary{background:#e8eaed;color:#1f2430}
  button.danger{background:#c5221f}
  button:disabled{background:#e8eaed;color:#9aa0a6;cursor:not-allowed}
  input[type=tel],input[type=text]{width:100%;padding:.6rem;font:inherit;border:1px solid #c4c7cc;border-radius:8px}
  a.back{display:inline-block;margin-top:1rem;color:#1a73e8;font-weight:600}
  label.choice{display:flex;gap:.6rem;align-items:center;padding:.6rem;border:1px solid #c4c7cc;border-radius:8px;margin:.4rem 0}
  .notice{background:#fce8e6;color:#a50e0e;padding:.6rem;border-radius:8px}
  .ok{background:#e6f4ea;color:#137333;padding:.6rem;border-radius:8px}
  .phone{border:2px dashed #c4c7cc;border-radius:16px;padding:1rem;margin-top:1rem}
  .phone h2{font-size:1rem;margin:0 0 .5rem}
  .qr{display:block;width:200px;height:200px;margin:1rem auto}
  .muted{color:#5b6270;font-size:.85rem}
  dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}
  dt{font-weight:600}
  dd{margin:0}
  code{font-size:1.1rem;letter-spacing:.05em}
`;

/**
 * A complete page around `body`, with the nonce'd stylesheet.
 *
 * @example
 * ```ts
 * renderPage({ nonce, title: 'Duo Security', body: '<h1>Hello</h1>' });
 * ```
 */
export function renderPage(options: {
  nonce: string;
  title: string;
  body: string;
  appName?: string;
}): string {
  const app = options.appName === undefined ? '' : `<span>${escapeHtml(options.appName)}</span>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${escapeHtml(options.title)}</title>
<style nonce="${escapeHtml(options.nonce)}">${STYLE}</style>
</head>
<body>
<main>
<header><strong>Duo Security</strong>${app}<span class="badge">Offline emulator</span></header>
${options.body}
</main>
</body>
</html>
`;
}

/**
 * A page that ends a flow (invalid request, expired login): says what happened once, then links back to the
 * application (`appOrigin`, the origin of its redirect_uri when the emulator knows it), or says where to go when
 * it does not. `title` and `message` are escaped; the link is built only from an http(s) origin.
 *
 * @example
 * ```ts
 * htmlReply(400, (nonce) => renderDeadEndPage(nonce, { title: 'Invalid request', message: 'The request signature is invalid.', appOrigin: 'https://portal.example' }));
 * ```
 */
export function renderDeadEndPage(
  nonce: string,
  page: { title: string; message: string; appOrigin?: string | undefined; appName?: string | undefined },
): string {
  const origin = safeOrigin(page.appOrigin);
  const next =
    origin === undefined
      ? `<p class="muted" id="where-to-go">Go back to the application you were signing in to and sign in again.</p>`
      : `<p><a class="back" id="back-to-app" href="${escapeHtml(origin)}/">Back to ${escapeHtml(page.appName ?? origin)}</a></p>`;
  return renderPage({
    nonce,
    title: `Duo Security — ${page.title}`,
    body: `<h1 id="error-title">${escapeHtml(page.title)}</h1>
<p id="error-message" class="notice">${escapeHtml(page.message)}</p>
${next}`,
  });
}

/** `https://host[:port]` from a URL or origin, only for http(s); undefined for anything else. */
function safeOrigin(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The prompt page for the transaction's current step. Buttons have stable ids for browser tests:
 * `enroll-start`, `enroll-mobile`, `enroll-phone-continue` (field `phone-number`), `platform-ios` /
 * `platform-android` + `enroll-platform-continue`, `enroll-installed`, `enroll-activate-continue`,
 * `send-push`, `use-passcode` (field `passcode`, `passcode-submit`, `passcode-cancel`), `approve`, `deny`,
 * `report-fraud`, `device-continue`; every page has `cancel-to-app`, a link back to the application.
 *
 * @example
 * ```ts
 * htmlReply(200, (nonce) => renderPromptPage(nonce, view), [appOrigin]);
 * ```
 */
export function renderPromptPage(nonce: string, view: PromptView): string {
  const notice = view.notice ? `<p class="notice" id="notice">${escapeHtml(view.notice)}</p>` : '';
  const form = (inner: string) => `<form method="post" action="${PROMPT_PATH}">
<input type="hidden" name="sid" value="${escapeHtml(view.promptId)}">
${inner}
</form>`;
  const button = (id: string, action: string, label: string, className = '') =>
    `<button type="submit" id="${id}" name="action" value="${action}"${className ? ` class="${className}"` : ''}>${escapeHtml(label)}</button>`;
  const who = `<p class="muted">Signing in as <strong id="username">${escapeHtml(view.username)}</strong></p>`;
  const back = safeOrigin(view.appOrigin);
  const cancel =
    back === undefined
      ? ''
      : `<p class="muted"><a id="cancel-to-app" href="${escapeHtml(back)}/">Cancel and return to ${escapeHtml(view.appName)}</a></p>`;

  let title: string;
  let body: string;
  switch (view.step) {
    case 'enroll-welcome':
      title = 'Protect your account';
      body = `<h1>Protect your account</h1>
${who}
<p>${escapeHtml(view.appName)} uses Duo to make sure it is really you when you sign in. Let's set up a way to verify your identity.</p>
${form(button('enroll-start', 'enroll-start', 'Next'))}`;
      break;
    case 'enroll-method':
      title = 'Select an option';
      body = `<h1>Select an option</h1>
<p>Choose how you would like to verify your identity.</p>
${form(`${button('enroll-mobile', 'choose-mobile', 'Mobile phone (recommended)')}
<button type="button" id="enroll-security-key" class="secondary" disabled>Security key (not emulated)</button>
<button type="button" id="enroll-tablet" class="secondary" disabled>Tablet (not emulated)</button>`)}`;
      break;
    case 'enroll-phone':
      title = 'Enter your phone number';
      body = `<h1>Enter your phone number</h1>
${notice}
${form(`<label for="phone-number">Phone number</label>
<input type="tel" id="phone-number" name="phone" autocomplete="tel" required maxlength="32" placeholder="+1 734-555-0100">
${button('enroll-phone-continue', 'phone', 'Continue')}`)}`;
      break;
    case 'enroll-platform':
      title = 'What type of phone is it?';
      body = `<h1>What type of phone is ${escapeHtml(view.phone)}?</h1>
${notice}
${form(`<label class="choice"><input type="radio" id="platform-ios" name="platform" value="iOS" required> iPhone</label>
<label class="choice"><input type="radio" id="platform-android" name="platform" value="Android"> Android</label>
${button('enroll-platform-continue', 'platform', 'Continue')}`)}`;
      break;
    case 'enroll-install':
      title = 'Install Duo Mobile';
      body = `<h1>Install Duo Mobile</h1>
<p>Download and install Duo Mobile from ${view.platform === 'Android' ? 'Google Play' : 'the App Store'} on your ${
        view.platform === 'Android' ? 'Android phone' : 'iPhone'
      }.</p>
${form(button('enroll-installed', 'installed', 'I have Duo Mobile installed'))}`;
      break;
    case 'enroll-activate':
      title = 'Scan this QR code';
      body = `<h1>Scan this QR code</h1>
<p>Open Duo Mobile, tap "+" and scan this code to activate it for ${escapeHtml(view.username)}.</p>
${activationSvg(view.activationCode ?? '')}
<p class="muted" id="qr-label">Emulator stand-in: a pattern derived from the activation code, not a scannable QR code.</p>
<p>Activation code: <code id="activation-code">${escapeHtml(view.activationCode ?? '')}</code></p>
${form(button('enroll-activate-continue', 'activated', 'Continue'))}`;
      break;
    case 'auth': {
      title = 'Verify it’s you';
      const enrolled = view.justEnrolled
        ? `<p class="ok" id="enrolled">You're all set: Duo Mobile is activated on ${escapeHtml(view.phone)}.</p>`
        : '';
      body = `${enrolled}<h1>Verify it’s you</h1>
${who}
<p>We will send a login request to Duo Mobile on ${escapeHtml(view.phone)}.</p>
${form(`${button('send-push', 'push', 'Send me a Push')}
${button('use-passcode', 'use-passcode', 'Enter a bypass code', 'secondary')}`)}`;
      break;
    }
    case 'passcode':
      title = 'Enter a passcode';
      body = `<h1>Enter a passcode</h1>
${who}
${notice}
<p>Enter a bypass code your administrator gave you.</p>
${form(`<label for="passcode">Passcode</label>
<input type="text" id="passcode" name="passcode" inputmode="numeric" autocomplete="one-time-code" required maxlength="32">
${button('passcode-submit', 'passcode', 'Verify')}`)}
${form(button('passcode-cancel', 'passcode-cancel', 'Other options', 'secondary'))}`;
      break;
    case 'pushed':
      title = 'Check for a Duo Push';
      body = `<h1>Check for a Duo Push</h1>
${who}
<p id="push-status">Pushed a login request to your device… (${escapeHtml(view.phone)})</p>
<section class="phone" aria-label="Your phone (emulated)">
<h2>Duo Mobile (emulated phone)</h2>
<p>Are you logging in to ${escapeHtml(view.appName)}?</p>
${form(`${button('approve', 'approve', 'Approve')}
${button('deny', 'deny', 'Deny', 'danger')}
${button('report-fraud', 'report-fraud', 'Report fraud', 'danger')}`)}
<p class="muted">Deny if you pressed something by mistake; Report fraud if you are not signing in.</p>
</section>`;
      break;
    case 'device-check': {
      title = 'Checking your device';
      const device = view.device;
      const trust = device?.trust ?? 'unknown';
      // Duo Mobile checks a phone; Duo Desktop (or the management integration through it) checks a computer.
      const checker = !device
        ? ''
        : isPhone(device.platform)
          ? ' with Duo Mobile'
          : device.managedBy !== undefined
            ? ' with Duo Desktop'
            : '';
      const manager = device?.managedBy === undefined ? 'nothing (unmanaged)' : managerName(device.managedBy);
      body = `<h1>Checking your device${checker}…</h1>
${who}
<dl id="device-check">
<dt>Platform</dt><dd id="device-platform">${escapeHtml(device?.platform ?? 'unknown')}</dd>
<dt>Managed by</dt><dd id="device-managed-by">${escapeHtml(manager)}</dd>
<dt>Result</dt><dd id="device-trust" class="${trust === 'trusted' ? 'ok' : 'notice'}">${escapeHtml(trust)}</dd>
</dl>
${form(button('device-continue', 'continue', 'Continue'))}`;
      break;
    }
  }
  return renderPage({
    nonce,
    title: `Duo Security — ${title}`,
    body: `${body}\n${cancel}`,
    appName: view.appName,
  });
}

/**
 * The activation "QR code": a deterministic 29×29 pattern (three finder squares plus modules from SHA-256 of
 * the code) standing in for a real QR code, which the emulator does not need to encode.
 *
 * @example
 * ```ts
 * activationSvg('EMU-1234-5678'); // '<svg … id="activation-qr">…</svg>', the same for the same code
 * ```
 */
export function activationSvg(activationCode: string): string {
  const size = 29;
  const quiet = 2;
  const dark = activationPattern(activationCode, size);
  let path = '';
  dark.forEach((row, y) =>
    row.forEach((on, x) => {
      if (on) path += `M${x + quiet} ${y + quiet}h1v1h-1z`;
    }),
  );
  const box = size + 2 * quiet;
  return `<svg xmlns="http://www.w3.org/2000/svg" id="activation-qr" class="qr" viewBox="0 0 ${box} ${box}" role="img" aria-label="Activation code pattern (emulator stand-in, not a scannable QR code)" data-activation-code="${escapeHtml(activationCode)}" shape-rendering="crispEdges"><rect width="${box}" height="${box}" fill="#fff"/><path fill="#000" d="${path}"/></svg>`;
}

/**
 * The module matrix behind activationSvg(): finder squares in three corners, hashed bits elsewhere.
 *
 * @example
 * ```ts
 * activationPattern('ABCD-EFGH')[0][0]; // true: the top-left finder square
 * ```
 */
export function activationPattern(activationCode: string, size = 29): boolean[][] {
  const bits: boolean[] = [];
  for (let block = 0; bits.length < size * size; block++) {
    const digest = createHash('sha256').update(`${block}\0${activationCode}`).digest();
    for (const byte of digest) for (let bit = 7; bit >= 0; bit--) bits.push(((byte >> bit) & 1) === 1);
  }
  const finder = (x: number, y: number): boolean | undefined => {
    for (const [ox, oy] of [
      [0, 0],
      [size - 7, 0],
      [0, size - 7],
    ] as const) {
      const dx = x - ox;
      const dy = y - oy;
      if (dx >= -1 && dx <= 7 && dy >= -1 && dy <= 7) {
        if (dx < 0 || dy < 0 || dx > 6 || dy > 6) return false; // separator
        const ring = Math.min(dx, dy, 6 - dx, 6 - dy);
        return ring !== 1;
      }
    }
    return undefined;
  };
  return Array.from({ length: size }, (_, y) =>
    Array.from({ length: size }, (_, x) => finder(x, y) ?? bits[y * size + x] === true),
  );
}
