// Server-rendered pages of the staff portal. Every piece of text that comes from a user, the session, the
// policy file or Duo goes through escapeHtml(); the only markup is written here.

import type { DeviceSummary, DuoMfaRequestState, TenantSettings, Verification } from 'express-duo-mfa';

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

type Section = 'dashboard' | 'verification' | 'mfa-settings' | undefined;

interface LayoutOptions {
  readonly title: string;
  readonly body: string;
  readonly user?: PortalUser | undefined;
  readonly tenantName?: string | undefined;
  readonly current?: Section;
  readonly script?: string;
  /** `data-page` on <body>, for tests and screenshots. */
  readonly page: string;
}

export function isAdmin(user: PortalUser): boolean {
  return user.roles.includes('admin');
}

function layout(options: LayoutOptions): string {
  const { user } = options;
  const link = (href: string, label: string, section: Section) =>
    `<a href="${href}"${options.current === section ? ' aria-current="page"' : ''}>${escapeHtml(label)}</a>`;
  const header = user
    ? `<header class="top">
<a class="brand" href="/">Staff Portal</a>
<span class="tenant" id="tenant-name">${escapeHtml(options.tenantName ?? user.tenant)}</span>
<nav aria-label="Main">
${link('/', 'Dashboard', 'dashboard')}
${link('/account/verification', 'My sign-in verification', 'verification')}
${isAdmin(user) ? `<span class="menu">Admin Tools →</span>${link('/admin/mfa-settings', 'MFA Settings', 'mfa-settings')}` : ''}
</nav>
<span id="signed-in-as">${escapeHtml(user.name)} (${escapeHtml(user.username)})</span>
<form method="post" action="/logout"><button type="submit" id="logout">Log out</button></form>
</header>`
    : `<header class="top"><span class="brand">Staff Portal</span></header>`;
  const script = options.script ? `<script src="${options.script}" defer></script>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)} · Staff Portal</title>
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

function formatTime(epochMs: number | string | undefined): string {
  if (epochMs === undefined) return '—';
  const date = new Date(epochMs);
  return Number.isNaN(date.getTime())
    ? '—'
    : date
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC');
}

function trustBadge(trusted: string | undefined): string {
  if (trusted === undefined) return '<span class="none">not reported</span>';
  return `<span class="trust-${escapeHtml(trusted.replace(/\s+/g, '-'))}" id="device-trust">${escapeHtml(trusted)}</span>`;
}

/** One line saying how this request passed the MFA gate. */
function mfaSummary(state: DuoMfaRequestState | undefined): string {
  if (!state) return '<span class="none">unknown</span>';
  if (state.verified) {
    const how =
      state.via === 'failopen' ? 'let in while Duo was unreachable (fail-open)' : 'verified with Duo';
    return `${escapeHtml(how)} at ${escapeHtml(formatTime(state.verifiedAt))}${
      state.factor ? ` (${escapeHtml(state.factor)})` : ''
    }`;
  }
  return `Duo not required: ${escapeHtml(state.reason.detail)}`;
}

export interface DashboardView {
  readonly user: PortalUser;
  readonly tenantName: string;
  readonly mfa: DuoMfaRequestState | undefined;
}

export function dashboardPage(view: DashboardView): string {
  const { user } = view;
  return layout({
    title: 'Dashboard',
    page: 'dashboard',
    current: 'dashboard',
    user,
    tenantName: view.tenantName,
    body: `<h1>Welcome, ${escapeHtml(user.name)}</h1>
<section class="card">
<h2>Your account</h2>
<table>
<tr><th>Organization</th><td>${escapeHtml(view.tenantName)} (<code>${escapeHtml(user.tenant)}</code>)</td></tr>
<tr><th>Username</th><td><code>${escapeHtml(user.username)}</code></td></tr>
<tr><th>Roles</th><td>${chips(user.roles)}</td></tr>
<tr><th>Sign-in check</th><td id="mfa-summary">${mfaSummary(view.mfa)}</td></tr>
</table>
</section>
<section class="card" id="private-data">
<h2>Today at ${escapeHtml(view.tenantName)}</h2>
<table>
<thead><tr><th>Queue</th><th>Open</th><th>Oldest</th></tr></thead>
<tbody>
<tr><td>Customer tickets</td><td>12</td><td>3 h</td></tr>
<tr><td>Refund approvals</td><td>4</td><td>1 day</td></tr>
<tr><td>Payroll changes</td><td>2</td><td>20 min</td></tr>
</tbody>
</table>
<p class="muted">Confidential: staff only.</p>
</section>`,
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
    ? `<table id="verification">
<tr><th>Result</th><td id="verification-result">${
        v.via === 'failopen'
          ? 'Let in while Duo was unreachable (tenant failmode “open”)'
          : 'Verified with Duo'
      }</td></tr>
<tr><th>When</th><td id="verified-at">${escapeHtml(formatTime(v.at))}</td></tr>
<tr><th>Factor</th><td id="factor">${v.factor ? escapeHtml(v.factor) : '<span class="none">—</span>'}</td></tr>
<tr><th>Device trust</th><td>${trustBadge(device?.trusted)}</td></tr>
<tr><th>Device</th><td>${escapeHtml([device?.os, device?.browser, device?.hostname].filter(Boolean).join(' · ') || '—')}</td></tr>
<tr><th>Duo transaction</th><td><code>${escapeHtml(v.txid ?? '—')}</code></td></tr>
<tr><th>Why you were asked</th><td>${escapeHtml(view.mfa?.reason.detail ?? '—')}</td></tr>
</table>`
    : `<p id="verification-none">You have not been asked for Duo in this session: ${escapeHtml(
        view.mfa?.reason.detail ?? 'no verification',
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
<p>Ask your administrator: they re-activate Duo Mobile on your new phone, and can give you a short temporary
bypass while they do.</p>
</section>`,
  });
}

function chips(values: readonly string[]): string {
  return values.length === 0
    ? '<span class="none">none</span>'
    : values.map((v) => `<span class="chip">${escapeHtml(v)}</span>`).join('');
}

export interface SettingsView {
  readonly user: PortalUser;
  readonly tenantName: string;
  readonly settings: TenantSettings;
  /** Changes when the policy or its last refused edit changes: the page's script reloads on a new value. */
  readonly revision: string;
  /** Where the policy was loaded from (file name), when it is a file. */
  readonly source: string | undefined;
  readonly loadedAt: number | undefined;
  /** The last edit that was refused (the previous policy stays in force), when newer than the last reload. */
  readonly refused:
    { readonly at: number; readonly issues: ReadonlyArray<{ path: string; message: string }> } | undefined;
  readonly staff: ReadonlyArray<{
    readonly username: string;
    readonly name: string;
    readonly roles: readonly string[];
    readonly required: boolean;
    readonly detail: string;
  }>;
  readonly devices: readonly DeviceSummary[];
  readonly now: number;
}

export function settingsPage(view: SettingsView): string {
  const s = view.settings;
  const bypasses =
    s.mfa.temporaryBypass.length === 0
      ? '<span class="none">none</span>'
      : `<table id="temporary-bypass"><thead><tr><th>Staff</th><th>Until</th><th>Reason</th><th>Status</th></tr></thead><tbody>${s.mfa.temporaryBypass
          .map(
            (b) =>
              `<tr><td>${escapeHtml(b.username)}</td><td>${escapeHtml(formatTime(b.until))}</td><td>${escapeHtml(b.reason)}</td><td>${
                Date.parse(b.until) > view.now ? 'active' : 'expired (no effect)'
              }</td></tr>`,
          )
          .join('')}</tbody></table>`;
  const refused = view.refused
    ? `<div class="error" id="policy-refused" role="alert"><strong>The last edit of the policy file was refused</strong>
(${escapeHtml(formatTime(view.refused.at))}); the settings below are still in force.<ul>${view.refused.issues
        .slice(0, 20)
        .map((i) => `<li><code>${escapeHtml(i.path)}</code>: ${escapeHtml(i.message)}</li>`)
        .join('')}</ul></div>`
    : '';
  const staffRows = view.staff
    .map(
      (m) =>
        `<tr><td>${escapeHtml(m.name)} (<code>${escapeHtml(m.username)}</code>)</td><td>${chips(m.roles)}</td><td class="${
          m.required ? 'yes' : 'no'
        }">${m.required ? 'asked' : 'not asked'}</td><td>${escapeHtml(m.detail)}</td></tr>`,
    )
    .join('');
  const devices =
    view.devices.length === 0
      ? '<p class="none" id="devices-none">No device seen yet: devices appear after a Duo sign-in.</p>'
      : `<table id="devices"><thead><tr><th>Device</th><th>Trust</th><th>Last seen</th><th>Staff</th></tr></thead><tbody>${view.devices
          .slice(0, 50)
          .map(
            (d) =>
              `<tr><td>${escapeHtml([d.os, d.browser].filter(Boolean).join(' · ') || d.id)}</td><td>${trustBadge(d.trusted)}</td><td>${escapeHtml(
                formatTime(d.lastSeen),
              )}</td><td>${escapeHtml(d.users.join(', '))}</td></tr>`,
          )
          .join('')}</tbody></table>`;
  const te = s.trustedEndpoints;
  return layout({
    title: 'MFA Settings',
    page: 'mfa-settings',
    current: 'mfa-settings',
    user: view.user,
    tenantName: view.tenantName,
    script: '/assets/mfa-settings.js',
    body: `<p class="crumbs">Admin Tools › MFA Settings</p>
<h1>MFA Settings — ${escapeHtml(view.tenantName)}</h1>
<div id="mfa-settings" data-revision="${escapeHtml(view.revision)}" data-version="${escapeHtml(s.policyVersion)}">
${refused}
<p class="notice">Read-only: these are the settings in force, as loaded from ${
      view.source ? `<code>${escapeHtml(view.source)}</code>` : 'the policy'
    } (version <code id="policy-version">${escapeHtml(s.policyVersion)}</code>${
      view.loadedAt ? `, loaded ${escapeHtml(formatTime(view.loadedAt))}` : ''
    }). Edit the file to change them; this page updates by itself.</p>
<section class="card">
<h2>Multi-factor authentication</h2>
<table>
<tr><th>MFA</th><td><span class="toggle ${s.mfa.enabled ? 'on' : 'off'}" id="mfa-enabled">${
      s.mfa.enabled ? 'On' : 'Off'
    }</span></td></tr>
<tr><th>Roles included</th><td id="roles-included">${chips(s.mfa.rolesIncluded)}</td></tr>
<tr><th>Staff included</th><td id="staff-included">${chips(s.mfa.staffIncluded)}</td></tr>
<tr><th>Staff excluded</th><td id="staff-excluded">${chips(s.mfa.staffExcluded)}</td></tr>
<tr><th>Temporary bypass</th><td>${bypasses}</td></tr>
</table>
<p class="muted">${
      !s.mfa.enabled
        ? 'MFA is off: no one in this organization is asked.'
        : s.mfa.rolesIncluded.length === 0 && s.mfa.staffIncluded.length === 0
          ? 'No role or staff listed: every staff member is asked (except excluded staff and active bypasses).'
          : 'Only the roles and staff listed are asked; excluded staff never are.'
    }</p>
</section>
<section class="card">
<h2>When Duo is unreachable</h2>
<table>
<tr><th>Failmode</th><td id="failmode"><code>${escapeHtml(s.failmode)}</code> — ${
      s.failmode === 'open'
        ? 'let staff in for a short time (audited)'
        : 'refuse sign-in until Duo answers again'
    }</td></tr>
<tr><th>Challenge limit</th><td>${escapeHtml(s.challengeLimit)} Duo requests per person per 15 minutes</td></tr>
</table>
</section>
<section class="card">
<h2>Trusted endpoints</h2>
<table>
<tr><th>Policy</th><td id="te-policy"><code>${escapeHtml(te.policy)}</code></td></tr>
<tr><th>Applies to</th><td id="te-activation"><code>${escapeHtml(te.activation)}</code></td></tr>
<tr><th>Test group roles</th><td id="te-roles">${chips(te.testGroup.roles)}</td></tr>
<tr><th>Test group staff</th><td id="te-staff">${chips(te.testGroup.staff)}</td></tr>
</table>
</section>
<section class="card">
<h2>Who is asked right now</h2>
<table id="who-is-asked"><thead><tr><th>Staff</th><th>Roles</th><th>Duo</th><th>Why</th></tr></thead><tbody>${staffRows}</tbody></table>
</section>
<section class="card">
<h2>Devices seen</h2>
${devices}
</section>
<section class="card">
<h2>Duo application</h2>
<table>
<tr><th>Client ID</th><td><code>${escapeHtml(s.duo.clientId)}</code></td></tr>
<tr><th>API hostname</th><td><code id="api-host">${escapeHtml(s.duo.apiHost)}</code></td></tr>
</table>
</section>
</div>`,
  });
}

export interface ErrorView {
  readonly status: number;
  readonly title: string;
  readonly message: string;
  readonly user?: PortalUser | undefined;
  readonly tenantName?: string | undefined;
}

export function errorPage(view: ErrorView): string {
  return layout({
    title: view.title,
    page: `error-${view.status}`,
    user: view.user,
    tenantName: view.tenantName,
    body: `<section class="card">
<h1>${escapeHtml(view.title)}</h1>
<p id="error-message">${escapeHtml(view.message)}</p>
<p><a href="/">Back to the dashboard</a></p>
</section>`,
  });
}
