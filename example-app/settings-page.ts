// The MFA Settings page: the tenant's settings as an editable form (saved through express-duo-mfa's settings API
// by the page's own script, public/mfa-settings.mjs), the staff with their Duo accounts and recovery buttons, and
// the devices seen. Every value is escaped here; the script only reads and writes form fields.

import { managerName, type DeviceSummary } from 'express-duo-mfa';
import {
  chips,
  escapeHtml,
  formatTime,
  humanDates,
  layout,
  list,
  trustBadge,
  type PortalUser,
} from './pages';

/** A problem of the policy file on disk, as the MFA Settings page lists it. */
export interface FileProblem {
  /** A JSON path such as `tenants.acme.failmode`, or undefined for the whole file. */
  readonly where: string | undefined;
  /** Plain words: "line 3, column 5: expected a property name", "the file does not exist". */
  readonly message: string;
}

/** One staff member of the tenant, with whether the policy asks them for Duo now. */
export interface StaffRow {
  readonly username: string;
  readonly name: string;
  readonly roles: readonly string[];
  readonly required: boolean;
  /** The policy's reason, in its own words. */
  readonly detail: string;
  /** Epoch ms: asked, but in the enrollment grace period until then. */
  readonly graceUntil: number | undefined;
}

export interface SettingsView {
  readonly user: PortalUser;
  readonly tenantName: string;
  /** The tenant as stored (`mfa.settings(tenant)`): the policy format, every secret `{ "set": true }`. */
  readonly settings: Record<string, unknown>;
  /** The version to send back with a change (If-Match). */
  readonly version: string;
  /** Where the page's script sends changes: the settings API for this tenant. */
  readonly api: string;
  /** False when the policy cannot be written now: the form is shown disabled, saying why (`readOnlyReason`). */
  readonly editable: boolean;
  readonly readOnlyReason?: string | undefined;
  /** Changes when the policy in force or the file on disk changes: the page's script reloads on a new value. */
  readonly revision: string;
  /** Where the policy was loaded from (file name), when it is a file. */
  readonly source: string | undefined;
  readonly loadedAt: number | undefined;
  /** The policy file on disk is not valid now (the previous policy stays in force): since when, and why. */
  readonly fileInvalid: { readonly since: number; readonly problems: readonly FileProblem[] } | undefined;
  readonly staff: readonly StaffRow[];
  readonly devices: readonly DeviceSummary[];
  readonly now: number;
}

/** How a secret is kept, as the page says it (never the secret itself). */
type SecretState =
  { readonly kind: 'set' } | { readonly kind: 'env'; readonly name: string } | { readonly kind: 'none' };

/** The form's values, read from the stored tenant with the policy's defaults for what it leaves out. */
interface FormValues {
  readonly enabled: boolean;
  readonly rolesIncluded: readonly string[];
  readonly staffIncluded: readonly string[];
  readonly staffExcluded: readonly string[];
  readonly temporaryBypass: ReadonlyArray<{ username: string; until: string; reason: string }>;
  readonly enforceFrom: string | undefined;
  readonly failmode: string;
  readonly challengeLimit: string;
  readonly tePolicy: string;
  readonly teActivation: string;
  readonly teRoles: readonly string[];
  readonly teStaff: readonly string[];
  readonly clientId: string;
  readonly apiHost: string;
  readonly clientSecret: SecretState;
  readonly adminIntegrationKey: string;
  readonly adminApiHost: string;
  readonly adminSecretKey: SecretState;
}

function objectAt(value: unknown, key: string): Record<string, unknown> {
  const inner =
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return typeof inner === 'object' && inner !== null && !Array.isArray(inner)
    ? (inner as Record<string, unknown>)
    : {};
}

function stringsAt(object: Record<string, unknown>, key: string): string[] {
  const value = object[key];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function textAt(object: Record<string, unknown>, key: string, fallback = ''): string {
  const value = object[key];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : fallback;
}

function secretState(value: unknown): SecretState {
  if (typeof value === 'object' && value !== null) {
    const env = (value as { env?: unknown }).env;
    if (typeof env === 'string') return { kind: 'env', name: env };
    return { kind: 'set' };
  }
  return value === undefined || value === null ? { kind: 'none' } : { kind: 'set' };
}

function formValues(settings: Record<string, unknown>): FormValues {
  const mfa = objectAt(settings, 'mfa');
  const duo = objectAt(settings, 'duo');
  const adminApi = objectAt(duo, 'adminApi');
  const te = objectAt(settings, 'trustedEndpoints');
  const testGroup = objectAt(te, 'testGroup');
  const bypass = Array.isArray(mfa.temporaryBypass) ? (mfa.temporaryBypass as unknown[]) : [];
  return {
    enabled: mfa.enabled === true,
    rolesIncluded: stringsAt(mfa, 'rolesIncluded'),
    staffIncluded: stringsAt(mfa, 'staffIncluded'),
    staffExcluded: stringsAt(mfa, 'staffExcluded'),
    temporaryBypass: bypass.map((entry) => {
      const b = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : {};
      return { username: textAt(b, 'username'), until: textAt(b, 'until'), reason: textAt(b, 'reason') };
    }),
    enforceFrom: typeof mfa.enforceFrom === 'string' ? mfa.enforceFrom : undefined,
    failmode: textAt(settings, 'failmode', 'closed'),
    challengeLimit: textAt(settings, 'challengeLimit', '5'),
    tePolicy: textAt(te, 'policy', 'off'),
    teActivation: textAt(te, 'activation', 'disabled'),
    teRoles: stringsAt(testGroup, 'roles'),
    teStaff: stringsAt(testGroup, 'staff'),
    clientId: textAt(duo, 'clientId'),
    apiHost: textAt(duo, 'apiHost'),
    clientSecret: secretState(duo.clientSecret),
    adminIntegrationKey: textAt(adminApi, 'integrationKey'),
    adminApiHost: textAt(adminApi, 'apiHost'),
    adminSecretKey: secretState(adminApi.secretKey),
  };
}

/**
 * An ISO time as a `datetime-local` input value in UTC ("2027-01-15T08:00"), which the page labels as UTC.
 *
 * @example
 * ```ts
 * utcInputValue('2026-12-01T08:00:00+01:00'); // '2026-12-01T07:00'
 * ```
 */
export function utcInputValue(iso: string | undefined): string {
  if (iso === undefined) return '';
  const time = Date.parse(iso);
  return Number.isNaN(time) ? '' : new Date(time).toISOString().slice(0, 16);
}

/** A field's label, its control, a hint and the slot where the settings API's problems with it appear. */
function field(options: {
  readonly path: string;
  readonly label: string;
  readonly labelFor?: string;
  readonly control: string;
  readonly hint?: string;
}): string {
  const label = options.labelFor
    ? `<label class="field-label" for="${options.labelFor}">${escapeHtml(options.label)}</label>`
    : `<span class="field-label">${escapeHtml(options.label)}</span>`;
  return `<div class="field" data-field-box="${escapeHtml(options.path)}">
${label}
<div class="field-control">${options.control}
${options.hint ? `<p class="hint">${options.hint}</p>` : ''}
<p class="field-error" data-error-for="${escapeHtml(options.path)}" role="alert" hidden></p>
</div>
</div>`;
}

/** A chip editor: the values as removable chips, and an input to add one (Enter, or the Add button). */
function chipEditor(options: {
  readonly id: string;
  readonly path: string;
  readonly label: string;
  readonly values: readonly string[];
  readonly placeholder: string;
  readonly suggestions: string;
}): string {
  const chipList = options.values
    .map(
      (value) =>
        `<li class="chip" data-value="${escapeHtml(value)}"><span class="chip-text">${escapeHtml(value)}</span>` +
        `<button type="button" class="chip-remove" aria-label="Remove ${escapeHtml(value)}">×</button></li>`,
    )
    .join('');
  return field({
    path: options.path,
    label: options.label,
    labelFor: `${options.id}-input`,
    control: `<div class="chips-editor" id="${options.id}" data-field="${escapeHtml(options.path)}" data-kind="chips" data-label="${escapeHtml(options.label)}">
<ul class="chip-list" aria-label="${escapeHtml(options.label)}">${chipList}</ul>
<span class="chip-none"${options.values.length > 0 ? ' hidden' : ''}>none</span>
<span class="chip-adder"><input type="text" id="${options.id}-input" class="chip-input" list="${options.suggestions}" placeholder="${escapeHtml(options.placeholder)}" autocomplete="off" maxlength="200"><button type="button" class="small" id="${options.id}-add">Add</button></span>
</div>`,
  });
}

/** Radio buttons for one setting, each option with Duo's words for it. */
function radios(options: {
  readonly name: string;
  readonly path: string;
  readonly label: string;
  readonly value: string;
  readonly choices: ReadonlyArray<{ readonly value: string; readonly label: string; readonly hint: string }>;
}): string {
  const inputs = options.choices
    .map(
      (choice) =>
        `<label class="choice"><input type="radio" name="${options.name}" id="${options.name}-${choice.value}" value="${escapeHtml(choice.value)}"${
          choice.value === options.value ? ' checked' : ''
        }><span><strong>${escapeHtml(choice.label)}</strong> <span class="muted">${escapeHtml(choice.hint)}</span></span></label>`,
    )
    .join('\n');
  return field({
    path: options.path,
    label: options.label,
    control: `<div class="choices" role="radiogroup" aria-label="${escapeHtml(options.label)}" data-field="${escapeHtml(options.path)}" data-kind="radio" data-label="${escapeHtml(options.label)}">${inputs}</div>`,
  });
}

function textInput(options: {
  readonly id: string;
  readonly path: string;
  readonly label: string;
  readonly value: string;
  readonly hint?: string;
  readonly placeholder?: string;
}): string {
  return field({
    path: options.path,
    label: options.label,
    labelFor: options.id,
    hint: options.hint,
    control: `<input type="text" id="${options.id}" value="${escapeHtml(options.value)}" data-field="${escapeHtml(options.path)}" data-kind="text" data-label="${escapeHtml(options.label)}" autocomplete="off" spellcheck="false" maxlength="300"${
      options.placeholder ? ` placeholder="${escapeHtml(options.placeholder)}"` : ''
    }>`,
  });
}

/** A write-only secret: the field is always empty; what is saved is said beside it ("set"), never shown. */
function secretInput(options: {
  readonly id: string;
  readonly path: string;
  readonly label: string;
  readonly state: SecretState;
}): string {
  const state =
    options.state.kind === 'set'
      ? '<span class="secret-state set">set</span> — leave empty to keep it'
      : options.state.kind === 'env'
        ? `<span class="secret-state set">set</span> — read from the server's environment (<code>${escapeHtml(options.state.name)}</code>); leave empty to keep it`
        : '<span class="secret-state">not set</span>';
  return field({
    path: options.path,
    label: options.label,
    labelFor: options.id,
    hint: `${state}. Paste a new one to replace it: it is stored encrypted and never shown again.`,
    control: `<input type="password" id="${options.id}" value="" data-field="${escapeHtml(options.path)}" data-kind="secret" data-label="${escapeHtml(options.label)}" autocomplete="new-password" spellcheck="false" maxlength="200" placeholder="${
      options.state.kind === 'none' ? '40 characters' : 'set (write-only)'
    }">`,
  });
}

function bypassRows(
  entries: ReadonlyArray<{ username: string; until: string; reason: string }>,
  now: number,
): string {
  return entries
    .map((b) => {
      const until = Date.parse(b.until);
      const active = until > now;
      return `<tr class="${active ? 'active' : 'expired'}" data-username="${escapeHtml(b.username)}" data-until="${escapeHtml(b.until)}" data-reason="${escapeHtml(b.reason)}">
<td data-label="Staff">${escapeHtml(b.username)}</td>
<td data-label="Until">${escapeHtml(formatTime(b.until))}</td>
<td data-label="Reason">${escapeHtml(b.reason)}</td>
<td data-label="Status">${active ? 'active' : 'expired (no effect)'}</td>
<td data-label=""><button type="button" class="small secondary bypass-remove" aria-label="Remove the bypass of ${escapeHtml(b.username)}">Remove</button></td>
</tr>`;
    })
    .join('\n');
}

/** What the policy decides for one person, in a short phrase and its reason. */
function signInCell(row: StaffRow): string {
  const phrase = !row.required
    ? '<span class="no">not asked</span>'
    : row.graceUntil !== undefined
      ? `<span class="grace">grace period</span> <span class="muted">(asked, may choose “Remind me later” until ${escapeHtml(formatTime(row.graceUntil))})</span>`
      : '<span class="yes">asked</span>';
  return `${phrase}<br><span class="muted">${escapeHtml(humanDates(row.detail))}</span>`;
}

function staffTable(rows: readonly StaffRow[]): string {
  const headers = ['Staff', 'Roles', 'Duo at sign-in', 'Duo account', 'Recovery'];
  const head = headers.map((h) => `<th scope="col">${h}</th>`).join('');
  const body = rows
    .map(
      (m) => `<tr data-username="${escapeHtml(m.username)}" data-name="${escapeHtml(m.name)}">
<td data-label="Staff">${escapeHtml(m.name)} (<code>${escapeHtml(m.username)}</code>)</td>
<td data-label="Roles">${chips(m.roles)}</td>
<td data-label="Duo at sign-in" class="sign-in">${signInCell(m)}</td>
<td data-label="Duo account" class="duo-account" aria-live="polite"><span class="none">checking…</span></td>
<td data-label="Recovery" class="recovery"><span class="recovery-buttons"><button type="button" class="small secondary reactivate" disabled>Send reactivation</button><button type="button" class="small secondary bypass" disabled>Issue bypass code</button></span><div class="staff-result" role="status" hidden></div></td>
</tr>`,
    )
    .join('\n');
  return `<table class="list" id="staff-list"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function fileInvalidBanner(view: SettingsView): string {
  if (!view.fileInvalid) return '';
  return `<div class="error" id="policy-refused" role="alert"><strong>The policy file ${
    view.source ? `<code>${escapeHtml(view.source)}</code> ` : ''
  }is not valid, so it was not loaded</strong> (since ${escapeHtml(
    formatTime(view.fileInvalid.since),
  )}). The settings below are still in force. Fix the file and save it: this page updates by itself.
<ul id="policy-problems">${view.fileInvalid.problems
    .slice(0, 20)
    .map((p) => `<li>${p.where ? `<code>${escapeHtml(p.where)}</code>: ` : ''}${escapeHtml(p.message)}</li>`)
    .join('')}</ul></div>`;
}

function devicesCard(view: SettingsView): string {
  const devices =
    view.devices.length === 0
      ? '<p class="none" id="devices-none">No device seen yet: devices appear after a Duo sign-in.</p>'
      : list(
          'devices',
          ['Device', 'Trust', 'Last seen', 'Staff'],
          view.devices
            .slice(0, 50)
            .map((d) => [
              escapeHtml([d.hostname, d.os, d.browser].filter(Boolean).join(' · ') || d.id),
              `${trustBadge(d.trusted)}${
                d.vouchedBy
                  ? `<br><span class="muted">vouched for by ${escapeHtml(managerName(d.vouchedBy))}</span>`
                  : ''
              }`,
              escapeHtml(formatTime(d.lastSeen)),
              escapeHtml(d.users.join(', ')),
            ]),
        );
  return `<section class="card">
<h2>Devices seen</h2>
${devices}
</section>`;
}

/**
 * The MFA Settings page of one tenant, for its admins.
 *
 * @example
 * ```ts
 * const { version, settings } = await mfa.settings('acme');
 * res.send(settingsPage({ user, tenantName: 'Acme Corp', settings, version, api: '/admin/mfa/api/acme', editable: true, … }));
 * ```
 */
export function settingsPage(view: SettingsView): string {
  const v = formValues(view.settings);
  const staffNames = view.staff.map((m) => `<option value="${escapeHtml(m.username)}">`).join('');
  const roleNames = [...new Set(view.staff.flatMap((m) => m.roles))]
    .map((role) => `<option value="${escapeHtml(role)}">`)
    .join('');
  const source = view.source ? `<code>${escapeHtml(view.source)}</code>` : 'the policy';
  const version = `version <code id="policy-version">${escapeHtml(view.version)}</code>${
    view.loadedAt ? `, loaded ${escapeHtml(formatTime(view.loadedAt))}` : ''
  }`;
  const intro = view.editable
    ? `<p class="notice" id="settings-source">Saving writes these settings to ${source}; the next sign-in of each person follows them. Edits of the file itself appear here by themselves (${version}).</p>`
    : `<p class="notice" id="settings-source">Read-only: ${escapeHtml(view.readOnlyReason ?? 'these settings cannot be saved from here')} (${version}).</p>`;
  const bypassTable = `<table class="list" id="temporary-bypass"><thead><tr><th scope="col">Staff</th><th scope="col">Until</th><th scope="col">Reason</th><th scope="col">Status</th><th scope="col"><span class="visually-hidden">Remove</span></th></tr></thead><tbody>${bypassRows(v.temporaryBypass, view.now)}</tbody></table>
<p class="none" id="temporary-bypass-none"${v.temporaryBypass.length > 0 ? ' hidden' : ''}>No temporary bypass.</p>`;
  const admin = v.adminIntegrationKey !== '' || v.adminSecretKey.kind !== 'none';
  return layout({
    title: 'MFA Settings',
    page: 'mfa-settings',
    current: 'admin',
    user: view.user,
    tenantName: view.tenantName,
    script: '/assets/mfa-settings.mjs',
    body: `<p class="crumbs"><a href="/admin" id="crumb-admin">Admin Tools</a> › MFA Settings</p>
<h1>MFA Settings — ${escapeHtml(view.tenantName)}</h1>
<div id="mfa-settings" data-revision="${escapeHtml(view.revision)}" data-version="${escapeHtml(view.version)}" data-api="${escapeHtml(view.api)}" data-editable="${view.editable}" data-now="${view.now}">
${fileInvalidBanner(view)}
${intro}
<noscript><p class="error">This page needs JavaScript to save changes and to reach Duo.</p></noscript>
<div id="settings-status" role="status" aria-live="polite" hidden></div>
<div id="changed-elsewhere" class="notice" role="alert" hidden>These settings changed after you opened this page (another admin saved, or the file was edited). <button type="button" class="small" id="reload-changed">Reload</button> <span class="muted">Your unsaved changes on this page will be lost.</span></div>
<datalist id="staff-names">${staffNames}</datalist>
<datalist id="role-names">${roleNames}</datalist>
<form id="settings-form" novalidate>
<fieldset id="settings-fields"${view.editable ? '' : ' disabled'}>
<section class="card" id="section-mfa">
<h2>Multi-factor authentication</h2>
${field({
  path: 'mfa.enabled',
  label: 'MFA',
  labelFor: 'mfa-enabled',
  control: `<label class="switch"><input type="checkbox" role="switch" id="mfa-enabled" data-field="mfa.enabled" data-kind="switch" data-label="MFA"${
    v.enabled ? ' checked' : ''
  }><span class="slider" aria-hidden="true"></span><span class="switch-state" id="mfa-enabled-state">${v.enabled ? 'On' : 'Off'}</span></label>`,
  hint: 'Off: no one in this organization is asked for Duo.',
})}
${chipEditor({ id: 'roles-included', path: 'mfa.rolesIncluded', label: 'Roles Included', values: v.rolesIncluded, placeholder: 'Add a role', suggestions: 'role-names' })}
${chipEditor({ id: 'staff-included', path: 'mfa.staffIncluded', label: 'Staff Included', values: v.staffIncluded, placeholder: 'Add a username', suggestions: 'staff-names' })}
${chipEditor({ id: 'staff-excluded', path: 'mfa.staffExcluded', label: 'Staff Excluded', values: v.staffExcluded, placeholder: 'Add a username', suggestions: 'staff-names' })}
<p class="muted" id="who-rule">Staff with a role in Roles Included, and the staff in Staff Included, are asked; when both lists are empty, everyone is. Staff Excluded are never asked.</p>
${field({
  path: 'mfa.enforceFrom',
  label: 'Grace period until',
  labelFor: 'enforce-from',
  control: `<span class="inline-inputs"><input type="datetime-local" id="enforce-from" value="${escapeHtml(utcInputValue(v.enforceFrom))}" data-field="mfa.enforceFrom" data-kind="datetime" data-label="Grace period until"> <span class="muted">UTC</span> <button type="button" class="small secondary" id="enforce-from-clear">Clear</button></span>`,
  hint: 'Optional. Before this moment, staff who are asked may choose “Remind me later” instead of setting up Duo; from it on, Duo is required.',
})}
</section>
<section class="card" id="section-bypass">
<h2>Temporary bypasses</h2>
<p class="muted">Someone waiting for a new phone can sign in without Duo until the date; the bypass ends by itself.</p>
<div class="field wide" data-field-box="mfa.temporaryBypass">
<div id="bypass-list" data-field="mfa.temporaryBypass" data-kind="bypass" data-label="Temporary bypasses">${bypassTable}</div>
<p class="field-error" data-error-for="mfa.temporaryBypass" role="alert" hidden></p>
</div>
<div class="bypass-add" id="bypass-add-row">
<label>Staff <input type="text" id="bypass-username" list="staff-names" autocomplete="off" maxlength="200"></label>
<label>Until (UTC) <input type="datetime-local" id="bypass-until"></label>
<label class="wide">Reason <input type="text" id="bypass-reason" maxlength="300" placeholder="e.g. new phone, re-activation pending"></label>
<button type="button" class="small" id="bypass-add">Add bypass</button>
</div>
</section>
<section class="card" id="section-failmode">
<h2>When Duo is unreachable</h2>
${radios({
  name: 'failmode',
  path: 'failmode',
  label: 'Failmode',
  value: v.failmode,
  choices: [
    { value: 'closed', label: 'Closed', hint: 'refuse sign-in until Duo answers again (safest)' },
    { value: 'open', label: 'Open', hint: 'let staff in without Duo for a short time (recorded)' },
  ],
})}
${field({
  path: 'challengeLimit',
  label: 'Challenge limit',
  labelFor: 'challenge-limit',
  control: `<input type="number" id="challenge-limit" class="narrow" value="${escapeHtml(v.challengeLimit)}" data-field="challengeLimit" data-kind="number" data-label="Challenge limit" inputmode="numeric">`,
  hint: 'Duo prompts one person may start per 15 minutes (1–100; 5 by default): protects against push fatigue.',
})}
</section>
<section class="card" id="section-trusted-endpoints">
<h2>Trusted Endpoints</h2>
${radios({
  name: 'te-policy',
  path: 'trustedEndpoints.policy',
  label: 'Trusted Endpoints policy',
  value: v.tePolicy,
  choices: [
    { value: 'off', label: 'Off', hint: 'do not check devices' },
    { value: 'monitor', label: 'Monitor', hint: 'allow all endpoints, record which ones are not trusted' },
    { value: 'block', label: 'Block', hint: 'require endpoints to be trusted' },
  ],
})}
${radios({
  name: 'te-activation',
  path: 'trustedEndpoints.activation',
  label: 'Integration status',
  value: v.teActivation,
  choices: [
    { value: 'disabled', label: 'Disabled', hint: 'applies to no one' },
    { value: 'test-group', label: 'Activated for the test group', hint: 'only the roles and staff below' },
    { value: 'all', label: 'Activated for all', hint: 'everyone who signs in with Duo' },
  ],
})}
${chipEditor({ id: 'te-roles', path: 'trustedEndpoints.testGroup.roles', label: 'Test group roles', values: v.teRoles, placeholder: 'Add a role', suggestions: 'role-names' })}
${chipEditor({ id: 'te-staff', path: 'trustedEndpoints.testGroup.staff', label: 'Test group staff', values: v.teStaff, placeholder: 'Add a username', suggestions: 'staff-names' })}
<p class="muted">Roll out as Duo recommends: Monitor with the test group, then Monitor for all, then Block.</p>
</section>
<section class="card" id="section-duo">
<h2>Duo application</h2>
<p class="muted">The <strong>Web SDK</strong> application you protected in the Duo Admin Panel (Applications → Protect an Application → Web SDK).</p>
${textInput({ id: 'duo-client-id', path: 'duo.clientId', label: 'Client ID', value: v.clientId })}
${secretInput({ id: 'duo-client-secret', path: 'duo.clientSecret', label: 'Client secret', state: v.clientSecret })}
${textInput({ id: 'duo-api-host', path: 'duo.apiHost', label: 'API hostname', value: v.apiHost, placeholder: 'api-XXXXXXXX.duosecurity.com' })}
<div class="test-configuration">
<button type="button" class="small" id="test-configuration">Test configuration</button>
<div id="test-result" role="status" aria-live="polite" hidden></div>
</div>
<h3 id="admin-api-heading">Admin API application <span class="muted">(staff status, reactivation, bypass codes)</span></h3>
<p class="muted" id="admin-api-note">${
      admin
        ? 'Lets the staff list below show each person’s Duo account, send Duo Mobile reactivations and issue bypass codes.'
        : 'Not configured: add one to see each person’s Duo account below and to reset phones from here. In the Duo Admin Panel: Applications → Protect an Application → Admin API, with “Grant read resource” and “Grant write resource”.'
    }</p>
${textInput({ id: 'admin-integration-key', path: 'duo.adminApi.integrationKey', label: 'Integration key', value: v.adminIntegrationKey })}
${secretInput({ id: 'admin-secret-key', path: 'duo.adminApi.secretKey', label: 'Secret key', state: v.adminSecretKey })}
${textInput({ id: 'admin-api-host', path: 'duo.adminApi.apiHost', label: 'API hostname', value: v.adminApiHost, placeholder: 'api-XXXXXXXX.duosecurity.com' })}
</section>
</fieldset>
<div class="savebar" id="savebar">
<button type="submit" class="button" id="save-settings"${view.editable ? '' : ' disabled'}>Save changes</button>
<button type="button" class="button secondary" id="discard-changes" disabled>Discard changes</button>
<span class="muted" id="unsaved-note" hidden>Unsaved changes</span>
</div>
</form>
<section class="card" id="section-staff">
<h2>Staff</h2>
<p class="muted" id="staff-note">Who is asked for Duo at sign-in now, and each person’s Duo account. After a phone change, <strong>Send reactivation</strong> resets Duo Mobile (Duo texts a new activation link); <strong>Issue bypass code</strong> gives a one-time code for today. Links and codes are shown once.</p>
<p class="error" id="staff-error" role="alert" hidden></p>
${staffTable(view.staff)}
</section>
${devicesCard(view)}
</div>`,
  });
}
