// The MFA Settings page's script, served as /assets/mfa-settings.mjs (a module: the portal's CSP allows no inline
// script). It edits the form (chips, bypasses, the slider), saves only what changed as a JSON merge patch through
// express-duo-mfa's settings API (If-Match: the version the page showed), shows what was saved, a stale page
// (409) and every problem next to its field (422); runs "Test configuration"; fills the staff list's Duo accounts
// and runs Send reactivation / Issue bypass code; and reloads the page when the settings change elsewhere.
// Every text from the server or the admin is written with textContent, never as HTML.

const root = document.getElementById('mfa-settings');
if (root) init(root);

/** "30 Jun 2027, 00:00 UTC", as the server writes times for people. */
function formatUtc(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n) => String(n).padStart(2, '0');
  return `${date.getUTCDate()} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()}, ${two(date.getUTCHours())}:${two(
    date.getUTCMinutes(),
  )} UTC`;
}

/** A datetime-local value, which the page labels UTC ("2027-01-15T08:00"), as ISO 8601 with its zone. */
function utcIso(value) {
  return `${value.length === 16 ? `${value}:00` : value}Z`;
}

/** An element with attributes and children (strings become text nodes: nothing is parsed as HTML). */
function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === false || value === undefined || value === null) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return element;
}

/**
 * The portal asks for a recent Duo approval before a change (401 mfa_required): a link through Duo (a step-up)
 * back to this page, or undefined for any other answer.
 */
function duoConfirmation(response, body) {
  if (response.status !== 401 || !body || body.error !== 'mfa_required' || typeof body.location !== 'string')
    return undefined;
  const start = new URL(body.location, window.location.href);
  if (start.origin !== window.location.origin) return undefined;
  start.searchParams.set('returnTo', window.location.pathname);
  start.searchParams.set('stepUp', '1');
  return h(
    'span',
    { class: 'confirm-with-duo' },
    'For your security this needs a recent Duo approval. ',
    h('a', { href: start.href }, 'Confirm with Duo'),
    ', then make the change again.',
  );
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function init(root) {
  const api = root.dataset.api;
  const editable = root.dataset.editable === 'true';
  const version = root.dataset.version;
  const seenRevision = root.dataset.revision;
  const flashKey = `mfa-settings-saved:${api}`;
  const form = document.getElementById('settings-form');
  const status = document.getElementById('settings-status');
  const saveButton = document.getElementById('save-settings');
  const discardButton = document.getElementById('discard-changes');
  const unsavedNote = document.getElementById('unsaved-note');
  const savebar = document.getElementById('savebar');
  const changedElsewhere = document.getElementById('changed-elsewhere');
  const fields = [...form.querySelectorAll('[data-field]')];

  let busy = false; // a save or a staff action is on its way
  let leaving = false; // the page is reloading
  let held = 0; // one-time results on screen (codes, links): never reload by ourselves then

  // ---- reading the form -------------------------------------------------------------------------------------

  function read(field) {
    switch (field.dataset.kind) {
      case 'switch':
        return field.checked;
      case 'chips':
        return [...field.querySelectorAll('.chip')].map((chip) => chip.dataset.value);
      case 'radio': {
        const checked = field.querySelector('input:checked');
        return checked ? checked.value : '';
      }
      case 'bypass':
        return [...field.querySelectorAll('tbody tr')].map((row) => ({
          username: row.dataset.username,
          until: row.dataset.until,
          reason: row.dataset.reason,
        }));
      default:
        return field.value.trim();
    }
  }

  /** The value as the policy stores it: dates with their zone, numbers as numbers, "" / cleared as removed. */
  function stored(field, value) {
    switch (field.dataset.kind) {
      case 'datetime':
        return value === '' ? null : utcIso(value);
      case 'number':
        return value === '' ? null : /^\d+$/.test(value) ? Number(value) : value;
      default:
        return value;
    }
  }

  /** The value in words, for "Saved: …". Secrets are never repeated. */
  function words(field, value) {
    switch (field.dataset.kind) {
      case 'switch':
        return value ? 'On' : 'Off';
      case 'chips':
        return value.length > 0 ? value.join(', ') : 'none';
      case 'radio': {
        const label = field.querySelector('input:checked + span strong');
        return label ? label.textContent : value;
      }
      case 'datetime':
        return value === '' ? 'none' : formatUtc(utcIso(value));
      case 'number':
        return value === '' ? 'default' : value;
      case 'bypass':
        return value.length > 0 ? value.map((b) => b.username).join(', ') : 'none';
      case 'secret':
        return 'replaced';
      default:
        return value === '' ? 'none' : value;
    }
  }

  const initial = new Map(fields.map((field) => [field, read(field)]));

  /** The fields the admin changed: a secret counts only when something was typed in it. */
  function changes() {
    const changed = [];
    for (const field of fields) {
      const value = read(field);
      if (field.dataset.kind === 'secret' ? value === '' : same(value, initial.get(field))) continue;
      changed.push({ field, path: field.dataset.field, label: field.dataset.label, value });
    }
    return changed;
  }

  /** A JSON merge patch (RFC 7396) with only what changed; lists are sent whole. */
  function patchOf(changed) {
    const patch = {};
    const set = (path, value) => {
      const keys = path.split('.');
      let at = patch;
      for (const key of keys.slice(0, -1)) at = at[key] = at[key] || {};
      at[keys[keys.length - 1]] = value;
    };
    // Both Admin API identifiers emptied: the application is removed (its secret with it).
    const cleared = ['duo.adminApi.integrationKey', 'duo.adminApi.apiHost'].every((path) =>
      changed.some((c) => c.path === path && c.value === ''),
    );
    for (const c of changed) {
      if (cleared && c.path.startsWith('duo.adminApi.')) continue;
      set(c.path, stored(c.field, c.value));
    }
    if (cleared) set('duo.adminApi', null);
    return patch;
  }

  function refreshDirty() {
    const dirty = changes().length > 0;
    unsavedNote.hidden = !dirty;
    discardButton.disabled = !dirty;
    savebar.classList.toggle('dirty', dirty); // the Save button follows the admin down the page
    return dirty;
  }
  form.addEventListener('input', refreshDirty);
  form.addEventListener('change', refreshDirty);

  // ---- the controls -------------------------------------------------------------------------------------------

  const slider = document.getElementById('mfa-enabled');
  slider.addEventListener('change', () => {
    document.getElementById('mfa-enabled-state').textContent = slider.checked ? 'On' : 'Off';
  });

  document.getElementById('enforce-from-clear').addEventListener('click', () => {
    document.getElementById('enforce-from').value = '';
    refreshDirty();
  });

  /** Adds what is typed in a chip editor (commas separate values; one already there is not added twice). */
  function addChips(editor) {
    const input = editor.querySelector('.chip-input');
    const list = editor.querySelector('.chip-list');
    const present = new Set(read(editor).map((value) => value.toLowerCase()));
    for (const value of input.value.split(',').map((part) => part.trim())) {
      if (value === '' || present.has(value.toLowerCase())) continue;
      present.add(value.toLowerCase());
      list.append(
        h(
          'li',
          { class: 'chip', 'data-value': value },
          h('span', { class: 'chip-text' }, value),
          h('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove ${value}` }, '×'),
        ),
      );
    }
    input.value = '';
    editor.querySelector('.chip-none').hidden = list.children.length > 0;
    refreshDirty();
  }
  const editors = [...form.querySelectorAll('.chips-editor')];
  for (const editor of editors) {
    const input = editor.querySelector('.chip-input');
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ',') {
        event.preventDefault();
        addChips(editor);
      }
    });
    editor.querySelector('.chip-adder button').addEventListener('click', () => addChips(editor));
    editor.addEventListener('click', (event) => {
      const remove = event.target.closest('.chip-remove');
      if (!remove) return;
      remove.closest('.chip').remove();
      editor.querySelector('.chip-none').hidden = editor.querySelector('.chip-list').children.length > 0;
      refreshDirty();
      input.focus();
    });
  }

  const bypassList = document.getElementById('bypass-list');
  const bypassBody = bypassList.querySelector('tbody');
  const noBypass = document.getElementById('temporary-bypass-none');
  const now = Number(root.dataset.now) || Date.now();
  bypassList.addEventListener('click', (event) => {
    const remove = event.target.closest('.bypass-remove');
    if (!remove) return;
    remove.closest('tr').remove();
    noBypass.hidden = bypassBody.children.length > 0;
    refreshDirty();
  });
  const bypassAdd = document.getElementById('bypass-add');
  bypassAdd.addEventListener('click', () => {
    const username = document.getElementById('bypass-username');
    const until = document.getElementById('bypass-until');
    const reason = document.getElementById('bypass-reason');
    // Who and until when make the row; a missing reason is the settings API's to report, next to the row.
    if (username.value.trim() === '' || until.value === '') {
      (username.value.trim() === '' ? username : until).focus();
      showFieldProblem('mfa.temporaryBypass', ['Fill in who and until when, then Add bypass.']);
      return;
    }
    const iso = utcIso(until.value);
    const active = Date.parse(iso) > now;
    const name = username.value.trim();
    bypassBody.append(
      h(
        'tr',
        {
          class: active ? 'active added' : 'expired added',
          'data-username': name,
          'data-until': iso,
          'data-reason': reason.value.trim(),
        },
        h('td', { 'data-label': 'Staff' }, name),
        h('td', { 'data-label': 'Until' }, formatUtc(iso)),
        h('td', { 'data-label': 'Reason' }, reason.value.trim()),
        h('td', { 'data-label': 'Status' }, active ? 'active (not saved yet)' : 'expired (no effect)'),
        h(
          'td',
          { 'data-label': '' },
          h(
            'button',
            {
              type: 'button',
              class: 'small secondary bypass-remove',
              'aria-label': `Remove the bypass of ${name}`,
            },
            'Remove',
          ),
        ),
      ),
    );
    username.value = '';
    until.value = '';
    reason.value = '';
    noBypass.hidden = true;
    clearFieldProblem('mfa.temporaryBypass');
    refreshDirty();
  });

  discardButton.addEventListener('click', () => {
    leaving = true;
    window.location.reload();
  });

  // ---- messages ---------------------------------------------------------------------------------------------------

  function showStatus(kind, ...content) {
    status.replaceChildren(...content);
    status.className = kind;
    status.hidden = false;
    status.scrollIntoView({ block: 'nearest' });
  }

  function showFieldProblem(path, messages) {
    for (const slot of form.querySelectorAll('[data-error-for]')) {
      if (slot.dataset.errorFor !== path) continue;
      slot.replaceChildren(...messages.map((message) => h('span', {}, message)));
      slot.hidden = false;
      slot.closest('.field')?.classList.add('invalid');
    }
  }

  function clearFieldProblem(path) {
    for (const slot of form.querySelectorAll('[data-error-for]')) {
      if (path !== undefined && slot.dataset.errorFor !== path) continue;
      slot.replaceChildren();
      slot.hidden = true;
      slot.closest('.field')?.classList.remove('invalid');
    }
  }

  /** The field a problem belongs to: the longest field path the problem's path starts with. */
  function fieldFor(path) {
    let best;
    for (const field of fields) {
      const at = field.dataset.field;
      if (path === at || path.startsWith(`${at}.`) || path.startsWith(`${at}[`)) {
        if (!best || at.length > best.dataset.field.length) best = field;
      }
    }
    return best;
  }

  /** "mfa.temporaryBypass[1].reason" → "Entry 2 (nora), reason"; "mfa.staffExcluded[1]" → '" "'. */
  function where(field, path) {
    const rest = path.slice(field.dataset.field.length);
    const item = /^\[(\d+)\](?:\.(.+))?$/.exec(rest);
    if (!item) return rest.replace(/^\./, '');
    const value = read(field)[Number(item[1])];
    if (field.dataset.kind === 'bypass')
      return `Entry ${Number(item[1]) + 1}${value && value.username ? ` (${value.username})` : ''}${item[2] ? `, ${item[2]}` : ''}`;
    return value === undefined ? `Entry ${Number(item[1]) + 1}` : `“${value}”`;
  }

  function showProblems(issues) {
    const byField = new Map();
    const summary = [];
    for (const issue of issues) {
      const path = typeof issue.path === 'string' ? issue.path : '';
      const message = typeof issue.message === 'string' ? issue.message : 'not valid';
      const field = fieldFor(path);
      if (!field) {
        summary.push(h('li', {}, path && path !== '$' ? `${path}: ${message}` : message));
        continue;
      }
      const detail = where(field, path);
      const text = detail ? `${detail}: ${message}` : message;
      if (!byField.has(field.dataset.field)) byField.set(field.dataset.field, []);
      byField.get(field.dataset.field).push(text);
      summary.push(h('li', {}, h('strong', {}, field.dataset.label), `: ${text}`));
    }
    for (const [path, messages] of byField) showFieldProblem(path, messages);
    showStatus(
      'error',
      h(
        'p',
        {},
        h('strong', {}, 'Nothing was saved'),
        `: ${issues.length === 1 ? 'one setting needs' : `${issues.length} settings need`} fixing (each is marked below).`,
      ),
      h('ul', { id: 'settings-problems' }, summary),
    );
  }

  let conflicted = false; // the status says the settings changed elsewhere: the notice below would repeat it

  function showConflict() {
    conflicted = true;
    changedElsewhere.hidden = true;
    const reload = h(
      'button',
      { type: 'button', class: 'small', id: 'reload-settings' },
      'Reload the settings',
    );
    reload.addEventListener('click', () => {
      leaving = true;
      window.location.reload();
    });
    showStatus(
      'error',
      h(
        'p',
        { id: 'settings-conflict' },
        h('strong', {}, 'Someone else changed these settings first'),
        ' — another admin saved, or the file was edited, after you opened this page. Nothing was saved. ',
      ),
      h(
        'p',
        {},
        reload,
        ' ',
        h('span', { class: 'muted' }, 'to see their version, then make your change again.'),
      ),
    );
  }

  // A save reloads the page (the staff list and the version follow the new settings); it says what it saved.
  try {
    const saved = JSON.parse(sessionStorage.getItem(flashKey) || 'null');
    sessionStorage.removeItem(flashKey);
    if (Array.isArray(saved) && saved.length > 0) {
      showStatus(
        'ok',
        h(
          'p',
          {},
          h('strong', {}, 'Saved.'),
          ' The next sign-in of each person follows these settings. Changed:',
        ),
        h(
          'ul',
          { id: 'saved-changes' },
          saved.map((change) =>
            h('li', {}, h('strong', {}, String(change.label)), `: ${String(change.words)}`),
          ),
        ),
      );
    }
  } catch {
    // storage disabled: the page still shows the saved settings
  }

  // ---- saving -------------------------------------------------------------------------------------------------------

  async function save() {
    if (busy || !editable) return;
    for (const editor of editors)
      if (editor.querySelector('.chip-input').value.trim() !== '') addChips(editor);
    clearFieldProblem();
    const changed = changes();
    if (changed.length === 0) {
      showStatus('notice', 'Nothing to save: no setting was changed.');
      return;
    }
    busy = true;
    saveButton.disabled = true;
    saveButton.textContent = 'Saving…';
    try {
      const response = await fetch(api, {
        method: 'PATCH',
        credentials: 'same-origin',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'If-Match': `"${version}"`,
        },
        body: JSON.stringify(patchOf(changed)),
      });
      const body = await response.json().catch(() => null);
      if (response.ok) {
        sessionStorage.setItem(
          flashKey,
          JSON.stringify(changed.map((c) => ({ label: c.label, words: words(c.field, c.value) }))),
        );
        leaving = true;
        window.location.reload();
        return;
      }
      const confirm = duoConfirmation(response, body);
      if (confirm) showStatus('notice', h('strong', {}, 'Nothing was saved yet'), '. ', confirm);
      else if (response.status === 409) showConflict();
      else if (response.status === 422 && body && Array.isArray(body.issues) && body.issues.length > 0)
        showProblems(body.issues);
      else if (response.status === 401)
        showStatus('error', 'You are signed out: sign in again (nothing was saved).');
      else
        showStatus(
          'error',
          h('strong', {}, 'Nothing was saved'),
          `: ${body && body.message ? body.message : `the portal answered ${response.status}`}.`,
          body && body.code ? h('span', { class: 'code' }, ` (${body.code})`) : '',
        );
    } catch {
      showStatus('error', 'The portal did not answer: nothing was saved. Try again in a moment.');
    } finally {
      if (!leaving) {
        busy = false;
        saveButton.disabled = false;
        saveButton.textContent = 'Save changes';
      }
    }
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void save();
  });

  // ---- Test configuration ----------------------------------------------------------------------------------------

  /** What failed, in the words a tenant admin needs (the code is shown beside it for support). */
  const TEST_WORDS = {
    ERR_DUO_CREDENTIALS:
      'Duo refused the Client ID and Client secret. Check both, and that they belong to this API hostname.',
    ERR_DUO_UNAVAILABLE: 'Duo could not be reached at this API hostname.',
    ERR_DUO_HOST_NOT_FOUND:
      'There is no Duo API hostname by this name: copy it again from the Duo Admin Panel.',
    ERR_DUO_TLS: 'The server at this API hostname is not Duo (its certificate is not trusted).',
  };

  function skewWords(skewMs) {
    if (typeof skewMs !== 'number') return undefined;
    const seconds = (Math.abs(skewMs) / 1000).toFixed(1);
    if (Math.abs(skewMs) < 50) return 'Clock skew: none (this server and Duo agree).';
    return `Clock skew: ${seconds} s — this server's clock is ${seconds} s ${skewMs > 0 ? 'ahead of' : 'behind'} Duo's.`;
  }

  const testButton = document.getElementById('test-configuration');
  const testResult = document.getElementById('test-result');
  testButton.addEventListener('click', async () => {
    const value = (id) => document.getElementById(id).value.trim();
    const duo = { clientId: value('duo-client-id'), apiHost: value('duo-api-host') };
    if (value('duo-client-secret') !== '') duo.clientSecret = value('duo-client-secret');
    testButton.disabled = true;
    testResult.hidden = false;
    testResult.className = 'notice';
    testResult.replaceChildren('Asking Duo…');
    try {
      const response = await fetch(`${api}/test`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ duo }),
      });
      const body = (await response.json().catch(() => null)) || {};
      const skew = skewWords(body.skewMs);
      if (response.ok && body.ok === true) {
        testResult.className = 'ok';
        testResult.replaceChildren(
          h('p', { id: 'test-outcome' }, h('strong', {}, 'Duo answered: this configuration works.')),
          skew ? h('p', { id: 'test-skew' }, skew) : '',
        );
      } else if (duoConfirmation(response, body)) {
        testResult.className = 'notice';
        testResult.replaceChildren(duoConfirmation(response, body));
      } else {
        const known = TEST_WORDS[body.code];
        testResult.className = 'error';
        testResult.replaceChildren(
          h(
            'p',
            { id: 'test-outcome' },
            h('strong', {}, 'Test failed: '),
            known || body.message || `HTTP ${response.status}`,
          ),
          known && body.code !== 'ERR_DUO_CREDENTIALS' && body.message
            ? h('p', { class: 'muted' }, body.message)
            : '',
          skew ? h('p', { id: 'test-skew' }, skew) : '',
          body.code ? h('p', { class: 'code' }, 'Code: ', h('code', { id: 'test-code' }, body.code)) : '',
        );
      }
    } catch {
      testResult.className = 'error';
      testResult.replaceChildren('The portal did not answer: try again in a moment.');
    } finally {
      testButton.disabled = false;
    }
  });

  // ---- the staff list: Duo accounts and recovery ----------------------------------------------------------------

  const staffTable = document.getElementById('staff-list');
  const staffError = document.getElementById('staff-error');
  const rows = () => [...staffTable.querySelectorAll('tbody tr[data-username]')];

  async function loadStaff() {
    let body;
    try {
      const response = await fetch('/admin/mfa-settings/staff', {
        credentials: 'same-origin',
        headers: { Accept: 'application/json' },
      });
      body = await response.json().catch(() => null);
      if (!response.ok || !body)
        throw new Error(body && body.message ? body.message : `HTTP ${response.status}`);
    } catch (error) {
      staffError.replaceChildren(`Duo accounts could not be read: ${error.message}`);
      staffError.hidden = false;
      for (const row of rows())
        row.querySelector('.duo-account').replaceChildren(h('span', { class: 'none' }, 'unknown'));
      return;
    }
    if (body.problem) {
      staffError.replaceChildren(
        h('strong', {}, body.problem.title),
        `. ${body.problem.advice} `,
        h('span', { class: 'code' }, `(${body.problem.code})`),
      );
      staffError.hidden = false;
      for (const row of rows())
        row.querySelector('.duo-account').replaceChildren(h('span', { class: 'none' }, '—'));
      return;
    }
    staffError.hidden = true;
    const views = new Map((body.staff || []).map((view) => [view.username, view]));
    for (const row of rows()) {
      const view = views.get(row.dataset.username);
      const cell = row.querySelector('.duo-account');
      if (!view) continue;
      cell.replaceChildren(
        h('span', { class: `account account-${view.state}` }, view.label),
        h('br', {}),
        h('span', { class: 'muted' }, view.error ? `${view.error.title}. ${view.error.advice}` : view.detail),
      );
      const inDuo = view.state === 'enrolled' || view.state === 'not-enrolled';
      for (const button of row.querySelectorAll('.recovery button')) button.disabled = !inDuo;
    }
  }

  function resultDone(box) {
    const done = h('button', { type: 'button', class: 'small secondary staff-result-done' }, 'Done');
    done.addEventListener('click', () => {
      box.replaceChildren();
      box.hidden = true;
      held -= 1;
    });
    return done;
  }

  staffTable.addEventListener('click', async (event) => {
    const button = event.target.closest('button.reactivate, button.bypass');
    if (!button || busy) return;
    const row = button.closest('tr');
    const name = row.dataset.name;
    const reactivate = button.classList.contains('reactivate');
    if (
      reactivate &&
      !window.confirm(
        `Send a Duo Mobile reactivation to ${name}?\n\nTheir current Duo Mobile activation stops working now. Duo texts them a new activation link (or you get the link to pass on).`,
      )
    )
      return;
    const box = row.querySelector('.staff-result');
    if (!box.hidden && box.children.length > 0) held -= 1;
    busy = true;
    button.disabled = true;
    box.hidden = false;
    box.className = 'staff-result notice';
    box.replaceChildren(reactivate ? 'Asking Duo to reactivate…' : 'Asking Duo for a code…');
    try {
      const response = await fetch(
        `/admin/mfa-settings/staff/${encodeURIComponent(row.dataset.username)}/${reactivate ? 'reactivate' : 'bypass-code'}`,
        {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: '{}',
        },
      );
      const body = (await response.json().catch(() => null)) || {};
      const confirm = duoConfirmation(response, body);
      if (confirm) {
        box.className = 'staff-result notice';
        box.replaceChildren(confirm);
        return;
      }
      if (!response.ok) {
        box.className = 'staff-result error';
        box.replaceChildren(
          h('strong', {}, body.title || 'Duo refused'),
          `. ${body.advice || body.message || `HTTP ${response.status}`}`,
          body.code ? h('span', { class: 'code' }, ` (${body.code})`) : '',
        );
        return;
      }
      held += 1;
      box.className = 'staff-result ok';
      if (reactivate && body.sentBySms) {
        box.replaceChildren(
          h(
            'p',
            { class: 'reactivation-sent' },
            `Duo texted ${name} a new Duo Mobile activation link, valid until ${body.expires}. `,
            'Their old activation no longer works: at their next sign-in they set up Duo Mobile again.',
          ),
          resultDone(box),
        );
      } else if (reactivate) {
        const link = typeof body.activationUrl === 'string' ? body.activationUrl : '';
        box.replaceChildren(
          h(
            'p',
            {},
            `Duo could not text ${name}: pass this activation link on to them yourself (valid until ${body.expires}). `,
            h('strong', {}, 'It is shown only now.'),
          ),
          h(
            'p',
            {},
            /^https:\/\//.test(link)
              ? h(
                  'a',
                  { class: 'activation-link', href: link, target: '_blank', rel: 'noopener noreferrer' },
                  link,
                )
              : h('code', { class: 'activation-link' }, link),
          ),
          resultDone(box),
        );
      } else {
        const code = Array.isArray(body.codes) ? String(body.codes[0]) : '';
        box.replaceChildren(
          h('p', {}, `Bypass code for ${name}: `, h('code', { class: 'bypass-code' }, code)),
          h(
            'p',
            {},
            `It works once, until ${body.expires}. `,
            h('strong', {}, 'It is shown only now:'),
            ' give it to them in person or by phone. Any earlier code of theirs no longer works.',
          ),
          resultDone(box),
        );
      }
      void loadStaff();
    } catch {
      box.className = 'staff-result error';
      box.replaceChildren('The portal did not answer: try again in a moment.');
    } finally {
      busy = false;
      button.disabled = false;
    }
  });

  void loadStaff();

  // ---- changes made elsewhere -------------------------------------------------------------------------------------

  document.getElementById('reload-changed').addEventListener('click', () => {
    leaving = true;
    window.location.reload();
  });

  // Every 2 s: did the settings in force, or the state of the file on disk, change? Reload to show it — unless the
  // admin is editing, waiting for an answer or reading a code shown once: then say so and let them reload.
  const timer = setInterval(() => {
    if (leaving) return;
    fetch('/admin/mfa-settings/revision', {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
    })
      .then((response) => {
        if (!response.ok) throw new Error(`status ${response.status}`);
        return response.json();
      })
      .then((body) => {
        if (!body || !body.revision || body.revision === seenRevision || leaving) return;
        if (busy || held > 0 || refreshDirty()) {
          changedElsewhere.hidden = conflicted;
          return;
        }
        leaving = true;
        window.location.reload();
      })
      .catch(() => {
        clearInterval(timer); // signed out or MFA needed again: stop polling, the next navigation handles it
      });
  }, 2000);
}
