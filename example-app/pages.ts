// Server-rendered pages of the staff portal. Every piece of text that comes from a user, the session, the
// policy file or Duo goes through escapeHtml(); the only markup is written here.

import type { DuoMfaRequestState, Verification } from 'express-duo-mfa';

/** The signed-in staff member as the session keeps them. */
export interface PortalUser {
  readonly username: string;
  readonly tenant: string;
  readonly roles: readonly string[];
  readonly name: string;
}

/** Escapes text for element content and double-quoted attributes. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(
    /[&<>"'`]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c]!,
  );
}

type Section = 'dashboard' | 'verification' | 'admin' | undefined;

export interface LayoutOptions {
  readonly title: string;
  readonly body: string;
  readonly user?: PortalUser | undefined;
  readonly tenantName?: string | undefined;
  readonly current?: Section;
  /** False for pages met before the Duo check is done (failures): the user and Log out, without the menu. */
  readonly nav?: boolean;
  /** A same-origin module script for the page (the CSP allows no inline script). */
  readonly script?: string;
  /** `data-page` on <body>, for tests and screenshots. */
  readonly page: string;
}

export function isAdmin(user: PortalUser): boolean {
  return user.roles.includes('admin');
}

/**
 * The portal's page frame: header (brand, organization, menu, who is signed in, Log out) and the page's body.
 *
 * @example
 * ```ts
 * layout({ title: 'Reports', page: 'reports', user, tenantName: 'Acme Corp', body: '<h1>Reports</h1>' });
 * ```
 */
export function layout(options: LayoutOptions): string {
  const { user } = options;
  const link = (href: string, label: string, section: Section, id: string) =>
    `<a href="${href}" id="${id}"${options.current === section ? ' aria-current="page"' : ''}>${escapeHtml(label)}</a>`;
  const nav =
    user && options.nav !== false
      ? `<nav aria-label="Main">
${link('/', 'Dashboard', 'dashboard', 'nav-dashboard')}
${link('/account/verification', 'My verification', 'verification', 'nav-verification')}
${isAdmin(user) ? link('/admin', 'Admin Tools', 'admin', 'nav-admin') : ''}
</nav>`
      : '';
  const header = user
    ? `<header class="top">
<a class="brand" href="/">Staff Portal</a>
<span class="tenant" id="tenant-name">${escapeHtml(options.tenantName ?? user.tenant)}</span>
${nav}
<span class="who" id="signed-in-as">${escapeHtml(user.name)} (${escapeHtml(user.username)})</span>
<form method="post" action="/logout"><button type="submit" id="logout">Log out</button></form>
</header>`
    : `<header class="top"><a class="brand" href="/login">Staff Portal</a></header>`;
  const script = options.script ? `<script type="module" src="${escapeHtml(options.script)}"></script>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)} · Staff Portal</title>
<link rel="icon" href="/favicon.ico" sizes="32x32">
<link rel="stylesheet" href="/assets/portal.css">
${script}
</head>
<body data-page="${escapeHtml(options.page)}">
${header}
<main>
${options.body}
</main>
</body>
</html>
`;
}

/** A next step on a page: a link, or a button that POSTs to the portal (Sign out). */
export type PageAction =
  | { readonly href: string; readonly label: string; readonly id?: string }
  | { readonly post: string; readonly label: string; readonly id?: string };

function actionsHtml(actions: readonly PageAction[]): string {
  if (actions.length === 0) return '';
  const html = actions.map((action, index) => {
    const id = action.id ? ` id="${escapeHtml(action.id)}"` : '';
    const cls = index === 0 ? 'button' : 'button secondary';
    return 'href' in action
      ? `<a class="${cls}"${id} href="${escapeHtml(action.href)}">${escapeHtml(action.label)}</a>`
      : `<form method="post" action="${escapeHtml(action.post)}"><button class="${cls}"${id} type="submit">${escapeHtml(action.label)}</button></form>`;
  });
  return `<div class="actions">${html.join('')}</div>`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A moment as people read it, always in UTC so every admin sees the same: "30 Jun 2027, 00:00 UTC". JSON
 * answers keep ISO 8601.
 *
 * @example
 * ```ts
 * formatTime('2027-06-30T00:00:00Z'); // '30 Jun 2027, 00:00 UTC'
 * ```
 */
export function formatTime(value: number | string | undefined): string {
  if (value === undefined) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '—';
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}, ${two(
    date.getUTCHours(),
  )}:${two(date.getUTCMinutes())} UTC`;
}

/** ISO 8601 timestamps inside a sentence (the policy's explanations quote them). */
const ISO_TIMESTAMP = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/g;

/**
 * A sentence with every ISO timestamp in it written as formatTime() writes it, so a person reads one date format
 * everywhere ("until 2027-06-30T00:00:00.000Z" → "until 30 Jun 2027, 00:00 UTC").
 *
 * @example
 * ```ts
 * humanDates('"frank" has a temporary bypass until 2027-06-30T00:00:00.000Z'); // '… until 30 Jun 2027, 00:00 UTC'
 * ```
 */
export function humanDates(text: string): string {
  return text.replace(ISO_TIMESTAMP, (iso) => formatTime(iso));
}

export interface LoginView {
  readonly tenants: ReadonlyArray<{ readonly id: string; readonly name: string }>;
  readonly returnTo: string;
  readonly error?: string;
  readonly notice?: string;
  readonly tenant?: string;
  readonly username?: string;
}

export function loginPage(view: LoginView): string {
  const options = view.tenants
    .map(
      (t) =>
        `<option value="${escapeHtml(t.id)}"${t.id === view.tenant ? ' selected' : ''}>${escapeHtml(t.name)}</option>`,
    )
    .join('');
  const error = view.error
    ? `<p class="error" id="login-error" role="alert">${escapeHtml(view.error)}</p>`
    : '';
  const notice = view.notice ? `<p class="ok" id="login-notice">${escapeHtml(view.notice)}</p>` : '';
  return layout({
    title: 'Sign in',
    page: 'login',
    body: `<section class="card login">
<h1>Sign in</h1>
${notice}${error}
<form method="post" action="/login" id="login-form">
<input type="hidden" name="returnTo" value="${escapeHtml(view.returnTo)}">
<label for="tenant">Organization</label>
<select id="tenant" name="tenant">${options}</select>
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required maxlength="256" value="${escapeHtml(view.username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
<button type="submit" id="sign-in">Sign in</button>
</form>
<p class="muted">After your password, your organization may ask you to approve a Duo Push.</p>
</section>`,
  });
}

/** A device's trust status as a coloured word. */
export function trustBadge(trusted: string | undefined, id?: string): string {
  if (trusted === undefined) return '<span class="none">not reported</span>';
  const attr = id ? ` id="${id}"` : '';
  return `<span class="trust trust-${escapeHtml(trusted.replace(/\s+/g, '-'))}"${attr}>${escapeHtml(trusted)}</span>`;
}

/** One line saying how this request passed the MFA gate. */
function mfaSummary(state: DuoMfaRequestState | undefined): string {
  if (!state) return '<span class="none">unknown</span>';
  if (!state.verified && state.reason.code === 'grace_period') {
    const until = new RegExp(ISO_TIMESTAMP.source).exec(state.reason.detail)?.[0];
    return `Duo set-up postponed: you chose “Remind me later”. Your organization requires Duo from ${escapeHtml(
      formatTime(until),
    )}.`;
  }
  if (state.verified) {
    const how =
      state.via === 'failopen' ? 'let in while Duo was unreachable (fail-open)' : 'verified with Duo';
    return `${escapeHtml(how)} on ${escapeHtml(formatTime(state.verifiedAt))}${
      state.factor ? ` (${escapeHtml(state.factor)})` : ''
    }`;
  }
  return `Duo not required: ${escapeHtml(humanDates(state.reason.detail))}`;
}

/** A key/value table: one row per fact, label left (above on a phone). */
export function facts(
  rows: ReadonlyArray<readonly [label: string, html: string, id?: string]>,
  id?: string,
): string {
  return `<table class="facts"${id ? ` id="${id}"` : ''}>${rows
    .map(
      ([label, html, cellId]) =>
        `<tr><th scope="row">${escapeHtml(label)}</th><td${cellId ? ` id="${cellId}"` : ''}>${html}</td></tr>`,
    )
    .join('\n')}</table>`;
}

/** A list table: column headers on a wide screen, one card per row (each value labelled) on a phone. */
export function list(
  id: string | undefined,
  headers: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
): string {
  const head = headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map(
      (cells) =>
        `<tr>${cells
          .map((cell, i) => `<td data-label="${escapeHtml(headers[i] ?? '')}">${cell}</td>`)
          .join('')}</tr>`,
    )
    .join('\n');
  return `<table class="list"${id ? ` id="${id}"` : ''}><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export interface DashboardView {
  readonly user: PortalUser;
  readonly tenantName: string;
  readonly mfa: DuoMfaRequestState | undefined;
}

export function dashboardPage(view: DashboardView): string {
  const { user } = view;
  const admin = isAdmin(user)
    ? `<section class="card">
<h2>Admin Tools</h2>
<p>Your organization's sign-in settings: <a href="/admin/mfa-settings" id="dashboard-mfa-settings">MFA Settings</a>.</p>
</section>`
    : '';
  return layout({
    title: 'Dashboard',
    page: 'dashboard',
    current: 'dashboard',
    user,
    tenantName: view.tenantName,
    body: `<h1>Welcome, ${escapeHtml(user.name)}</h1>
<section class="card">
<h2>Your account</h2>
${facts([
  ['Organization', `${escapeHtml(view.tenantName)} (<code>${escapeHtml(user.tenant)}</code>)`],
  ['Username', `<code>${escapeHtml(user.username)}</code>`],
  ['Roles', chips(user.roles)],
  ['Sign-in check', mfaSummary(view.mfa), 'mfa-summary'],
])}
</section>
<section class="card" id="private-data">
<h2>Today at ${escapeHtml(view.tenantName)}</h2>
${list(
  'queues',
  ['Queue', 'Open', 'Oldest'],
  [
    ['Customer tickets', '12', '3 h'],
    ['Refund approvals', '4', '1 day'],
    ['Payroll changes', '2', '20 min'],
  ],
)}
<p class="muted">Confidential: staff only.</p>
</section>
${admin}`,
  });
}

export interface VerificationView {
  readonly user: PortalUser;
  readonly tenantName: string;
  readonly mfa: DuoMfaRequestState | undefined;
  readonly verification: Verification | undefined;
}

export function verificationPage(view: VerificationView): string {
  const v = view.verification;
  const device = v?.device;
  const body = v
    ? facts(
        [
          [
            'Result',
            v.via === 'failopen'
              ? 'Let in while Duo was unreachable (tenant failmode “open”)'
              : 'Verified with Duo',
            'verification-result',
          ],
          ['When', escapeHtml(formatTime(v.at)), 'verified-at'],
          ['Factor', v.factor ? escapeHtml(v.factor) : '<span class="none">—</span>', 'factor'],
          ['Device trust', trustBadge(device?.trusted, 'device-trust')],
          [
            'Device',
            escapeHtml([device?.os, device?.browser, device?.hostname].filter(Boolean).join(' · ') || '—'),
            'device',
          ],
          ['Duo transaction', `<code>${escapeHtml(v.txid ?? '—')}</code>`],
          ['Why you were asked', escapeHtml(humanDates(view.mfa?.reason.detail ?? '—'))],
        ],
        'verification',
      )
    : `<p id="verification-none">You have not been asked for Duo in this session: ${escapeHtml(
        humanDates(view.mfa?.reason.detail ?? 'no verification'),
      )}.</p>`;
  return layout({
    title: 'My sign-in verification',
    page: 'verification',
    current: 'verification',
    user: view.user,
    tenantName: view.tenantName,
    body: `<h1>My sign-in verification</h1>
<section class="card">
<h2>Last Duo verification</h2>
${body}
</section>
<section class="card">
<h2>Lost or changed your phone?</h2>
<p>Ask your administrator: from MFA Settings they send a new Duo Mobile activation to your phone, and can give
you a one-time bypass code (or a short temporary bypass) to sign in meanwhile.</p>
</section>`,
  });
}

/** Read-only chips: one per value, or "none". */
export function chips(values: readonly string[]): string {
  return values.length === 0
    ? '<span class="none">none</span>'
    : values.map((v) => `<span class="chip">${escapeHtml(v)}</span>`).join('');
}

export interface AdminToolsView {
  readonly user: PortalUser;
  readonly tenantName: string;
}

export function adminToolsPage(view: AdminToolsView): string {
  return layout({
    title: 'Admin Tools',
    page: 'admin-tools',
    current: 'admin',
    user: view.user,
    tenantName: view.tenantName,
    body: `<h1>Admin Tools — ${escapeHtml(view.tenantName)}</h1>
<section class="card tool">
<h2><a href="/admin/mfa-settings" id="tool-mfa-settings">MFA Settings</a></h2>
<p>Who is asked for Duo at sign-in, a grace period for newcomers, temporary bypasses, what happens when Duo is
unreachable, trusted endpoints and your Duo application — and each person's Duo account, with a new Duo Mobile
activation or a bypass code for someone who changed phones.</p>
</section>`,
  });
}

export interface ErrorView {
  readonly status: number;
  readonly title: string;
  /** Plain-text paragraphs, escaped here. */
  readonly paragraphs: readonly string[];
  /** The stable error code, shown small (what support asks for). */
  readonly code?: string | undefined;
  /** When trying again makes sense (Retry-After), already in words. */
  readonly retry?: string | undefined;
  readonly actions: readonly PageAction[];
  readonly user?: PortalUser | undefined;
  readonly tenantName?: string | undefined;
  /** False while the person has not passed the Duo check: the header shows no menu. */
  readonly nav?: boolean;
}

/**
 * Every failure page: the portal's own (404, refused form) and express-duo-mfa's (through the portal's error
 * handler), in the portal's layout, always with a next step.
 */
export function errorPage(view: ErrorView): string {
  const paragraphs = view.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n');
  return layout({
    title: view.title,
    page: `error-${view.status}`,
    user: view.user,
    tenantName: view.tenantName,
    nav: view.nav,
    body: `<section class="card message" id="error">
<h1 id="error-title">${escapeHtml(view.title)}</h1>
<div id="error-message">${paragraphs}</div>
${view.retry ? `<p class="notice" id="error-retry">${escapeHtml(view.retry)}</p>` : ''}
${actionsHtml(view.actions)}
${view.code ? `<p class="code">Error code: <code id="error-code">${escapeHtml(view.code)}</code></p>` : ''}
</section>`,
  });
}
