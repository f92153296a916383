// A tenant admin at work in a real browser (the system's Chromium through playwright-core) against the offline Duo
// emulator with Acme's Admin API application: MFA Settings edited and saved (the slider, chips, what changed), Test
// configuration with wrong credentials, an invalid edit and a stale page, another tenant and non-admins refused,
// the grace period for a newly included person, and staff recovery (reactivation → enrollment again; a bypass code
// accepted once). Screenshots of each state at 1280 and 390 px go to test-artifacts/screenshots/.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { scriptDemoUsers } from '../../example-app/demo';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import {
  chromiumOrSkip,
  clearScreenshotsOnce,
  clickThrough,
  emulatorSpkiHash,
  exampleAdminApplications,
  exampleApplications,
  examplePolicy,
  fillSignIn,
  launchChromium,
  PHONE,
  screenshot,
  screenshotWidths,
  startPortal,
  type RunningPortal,
} from './helpers';

/** Runs a script in the page and returns its JSON-able result (a string: these tests compile without the DOM's types). */
function inPage<T>(page: Page, script: string): Promise<T> {
  return page.evaluate<T>(script);
}

/** A datetime-local value (UTC, as the page labels it) `days` from now. */
function utcInput(days: number): string {
  return new Date(Date.now() + days * 86400_000).toISOString().slice(0, 16);
}

describe('MFA Settings in Chromium: a tenant admin edits, tests and recovers (browser end to end)', function () {
  this.timeout(60_000);

  let emulator: DuoEmulator | undefined;
  let browser: Browser | undefined;
  let portal: RunningPortal | undefined;
  let dir: string | undefined;
  let file: string;
  const contexts: BrowserContext[] = [];

  const duo = () => emulator!;
  const base = () => portal!.baseUrl;
  const newPage = async (viewport = { width: 1280, height: 720 }): Promise<Page> => {
    const context = await browser!.newContext({ viewport });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
    return page;
  };

  /** Password, then Duo Push → Approve: ends on the page `landing` names. */
  const signInWithPush = async (page: Page, username: string, path = '/', landing = 'body[data-page]') => {
    await page.goto(`${base()}${path}`);
    await fillSignIn(page, { username });
    await clickThrough(page, '#sign-in', '#send-push');
    await clickThrough(page, '#send-push', '#approve');
    await clickThrough(page, '#approve', landing);
  };
  /** Password only, for someone the policy does not ask: the dashboard, with Duo never contacted. */
  const signInWithoutDuo = async (page: Page, username: string) => {
    const before = duo().calls.authorize;
    await page.goto(base());
    await fillSignIn(page, { username });
    await clickThrough(page, '#sign-in', 'body[data-page="dashboard"]');
    assert.equal(duo().calls.authorize, before, `${username} was sent to Duo`);
  };
  /** alice on MFA Settings, after her Duo Push. */
  const aliceOnSettings = async (viewport?: { width: number; height: number }) => {
    const page = await newPage(viewport);
    await signInWithPush(page, 'alice', '/admin/mfa-settings', 'body[data-page="mfa-settings"]');
    await staffLoaded(page);
    return page;
  };
  /** The staff list has asked Duo for everyone's account. */
  const staffLoaded = (page: Page) =>
    page.waitForSelector('#staff-list tbody tr:first-child .duo-account .account', { timeout: 15_000 });
  /** Save, then the page reloads and says what it saved. */
  const saveAndWait = async (page: Page) => {
    const reloaded = page.waitForEvent('load', { timeout: 15_000 });
    await page.click('#save-settings');
    await reloaded;
    await page.waitForSelector('#saved-changes', { timeout: 15_000 });
    await staffLoaded(page);
  };
  const savedChanges = (page: Page) => page.locator('#saved-changes li').allTextContents();
  const chipsOf = (page: Page, id: string) => page.locator(`#${id} .chip-text`).allTextContents();
  const addChip = async (page: Page, id: string, value: string) => {
    await page.fill(`#${id}-input`, value);
    await page.press(`#${id}-input`, 'Enter');
  };
  const row = (page: Page, username: string) => page.locator(`#staff-list tr[data-username="${username}"]`);
  const inForce = () => JSON.parse(readFileSync(file, 'utf8')).tenants.acme;
  /**
   * MFA Settings at both widths. Scrolled to the end first: a Save bar with unsaved changes sticks to the bottom of
   * the window, and a full-page picture would show it floating over whatever the window last showed.
   */
  const settingsShot = async (page: Page, name: string) => {
    await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)');
    await screenshotWidths(page, name);
  };

  before(async function () {
    this.timeout(60_000);
    const executable = chromiumOrSkip();
    if (!executable) this.skip();
    clearScreenshotsOnce();
    emulator = await startDuoEmulator({
      applications: exampleApplications(),
      adminApplications: exampleAdminApplications(),
      mode: 'interactive',
    });
    scriptDemoUsers(emulator);
    browser = await launchChromium(executable, await emulatorSpkiHash(emulator));
  });

  // Each test: the demo policy in a file of its own, and a portal that writes it.
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portal-settings-browser-'));
    file = join(dir, 'duo-mfa.json');
    writeFileSync(file, `${JSON.stringify(examplePolicy(duo().apiHost), null, 2)}\n`);
    portal = await startPortal({ emulator: duo(), policy: file });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && portal)
      console.error(`--- portal log ---\n${portal.logs.slice(-30).join('\n')}`);
    for (const context of contexts.splice(0)) await context.close();
    await portal?.close();
    portal = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  after(async () => {
    await browser?.close();
    await emulator?.close();
  });

  it('alice turns MFA off (carol and dana sign in without Duo), then on again with dana in Staff Excluded (not asked); saving says what changed', async () => {
    const page = await aliceOnSettings();
    assert.equal(await page.isChecked('#mfa-enabled'), true);
    assert.equal(await page.isDisabled('#mfa-enabled'), false, 'editable: the policy is a file');
    assert.equal(await page.isHidden('#unsaved-note'), true);
    assert.match((await row(page, 'dana').textContent()) ?? '', /asked.*"dana" is in staffIncluded/s);
    await settingsShot(page, '40-settings-admin');

    await page.uncheck('#mfa-enabled');
    assert.equal(await page.textContent('#mfa-enabled-state'), 'Off');
    assert.equal(await page.isVisible('#unsaved-note'), true, 'the page says there are unsaved changes');
    await saveAndWait(page);
    assert.deepEqual(await savedChanges(page), ['MFA: Off']);
    assert.equal(await page.isChecked('#mfa-enabled'), false, 'the reloaded page shows what is in force');
    assert.equal(inForce().mfa.enabled, false, 'written to the file');
    assert.ok(
      portal!.events.some(
        (e) =>
          e.type === 'settings.changed' &&
          e.actor === 'alice@acme' &&
          (e.fields as string[] | undefined)?.includes('mfa.enabled') === true,
      ),
    );
    await settingsShot(page, '41-settings-saved-mfa-off');

    for (const username of ['carol', 'dana']) {
      const other = await newPage();
      await signInWithoutDuo(other, username);
      assert.match((await other.textContent('#mfa-summary')) ?? '', /MFA is turned off/);
    }

    await page.check('#mfa-enabled');
    await addChip(page, 'staff-excluded', 'dana');
    assert.deepEqual(await chipsOf(page, 'staff-excluded'), ['kiosk-1', 'dana']);
    await saveAndWait(page);
    assert.deepEqual(await savedChanges(page), ['MFA: On', 'Staff Excluded: kiosk-1, dana']);
    assert.deepEqual(inForce().mfa.staffExcluded, ['kiosk-1', 'dana']);
    assert.match((await row(page, 'dana').textContent()) ?? '', /not asked.*"dana" is in staffExcluded/s);

    const dana = await newPage();
    await signInWithoutDuo(dana, 'dana');
    assert.match((await dana.textContent('#mfa-summary')) ?? '', /staffExcluded/);

    // Removing a chip is a change too.
    await page.click('#staff-excluded .chip[data-value="dana"] .chip-remove');
    assert.deepEqual(await chipsOf(page, 'staff-excluded'), ['kiosk-1']);
    await saveAndWait(page);
    assert.deepEqual(inForce().mfa.staffExcluded, ['kiosk-1']);
  });

  it('Test configuration: the saved application works (with the clock skew); a pasted wrong secret says what failed', async () => {
    const page = await aliceOnSettings();
    await page.click('#test-configuration');
    await page.waitForSelector('#test-result.ok');
    assert.equal(await page.textContent('#test-outcome'), 'Duo answered: this configuration works.');
    assert.match((await page.textContent('#test-skew')) ?? '', /^Clock skew: /);
    await settingsShot(page, '42-settings-test-configuration-ok');

    await page.fill('#duo-client-secret', 'W'.repeat(40));
    await page.click('#test-configuration');
    await page.waitForSelector('#test-result.error');
    assert.equal(
      await page.textContent('#test-outcome'),
      'Test failed: Duo refused the Client ID and Client secret. Check both, and that they belong to this API hostname.',
    );
    assert.equal(await page.textContent('#test-code'), 'ERR_DUO_CREDENTIALS');
    await settingsShot(page, '43-settings-test-configuration-failed');

    await page.fill('#duo-api-host', '127.0.0.1:1');
    await page.click('#test-configuration');
    await page.waitForSelector('#test-code:has-text("ERR_DUO_UNAVAILABLE")');
    assert.match(
      (await page.textContent('#test-outcome')) ?? '',
      /could not be reached at this API hostname/,
    );
    assert.equal(JSON.stringify(inForce().duo.clientSecret), '"EMULATOR-ONLY-demo-secret-acme-000000001"');
  });

  it('an invalid edit shows every problem next to its field and writes nothing; expired bypasses are greyed, and removed', async () => {
    const page = await aliceOnSettings();
    const before = readFileSync(file, 'utf8');
    await page.fill('#challenge-limit', '500');
    await page.fill('#bypass-username', 'nora');
    await page.fill('#bypass-until', utcInput(2));
    await page.click('#bypass-add'); // no reason: the settings API says what is missing
    assert.match((await page.textContent('#temporary-bypass')) ?? '', /nora.*active \(not saved yet\)/s);
    await page.click('#save-settings');
    await page.waitForSelector('#settings-problems');
    assert.deepEqual(await page.locator('#settings-problems li').allTextContents(), [
      'Temporary bypasses: Entry 2 (nora), reason: must not be empty: say why (it is shown by duo-mfa explain and logged)',
      'Challenge limit: must be at most 100 (got 500)',
    ]);
    assert.equal(
      await page.textContent('[data-error-for="challengeLimit"]'),
      'must be at most 100 (got 500)',
    );
    assert.match(
      (await page.textContent('[data-error-for="mfa.temporaryBypass"]')) ?? '',
      /^Entry 2 \(nora\), reason: must not be empty/,
    );
    assert.equal(await page.locator('.field.invalid').count(), 2, 'each field with a problem is marked');
    assert.equal(readFileSync(file, 'utf8'), before, 'nothing written');
    await settingsShot(page, '44-settings-invalid-edit');

    // Fixed: a reason, a limit in range, and frank's bypass ended yesterday (shown greyed, then removed).
    await page.click('#temporary-bypass tr[data-username="nora"] .bypass-remove');
    await page.fill('#bypass-username', 'nora');
    await page.fill('#bypass-until', utcInput(2));
    await page.fill('#bypass-reason', 'phone in repair');
    await page.click('#bypass-add');
    await page.fill('#challenge-limit', '10');
    await saveAndWait(page);
    assert.deepEqual(await savedChanges(page), ['Temporary bypasses: frank, nora', 'Challenge limit: 10']);
    assert.equal(inForce().challengeLimit, 10);
    assert.match(inForce().mfa.temporaryBypass[1].until, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z$/);

    const policy = JSON.parse(readFileSync(file, 'utf8'));
    policy.tenants.acme.mfa.temporaryBypass[0].until = new Date(Date.now() - 86400_000).toISOString();
    writeFileSync(file, JSON.stringify(policy, null, 2)); // a hand edit: the open page reloads by itself
    await page.waitForSelector('#temporary-bypass tr.expired[data-username="frank"]', { timeout: 15_000 });
    assert.match(
      (await page.textContent('#temporary-bypass tr[data-username="frank"]')) ?? '',
      /expired \(no effect\)/,
    );
    await settingsShot(page, '45-settings-bypass-expired');
    await page.click('#temporary-bypass tr[data-username="frank"] .bypass-remove');
    await staffLoaded(page);
    await saveAndWait(page);
    assert.deepEqual(
      inForce().mfa.temporaryBypass.map((b: { username: string }) => b.username),
      ['nora'],
    );
  });

  it('a stale page (another admin saved first) says so and offers a reload; a page with unsaved edits is not reloaded under the admin', async () => {
    const first = await aliceOnSettings();
    const second = await aliceOnSettings();
    await first.check('#failmode-open'); // edits in the first tab, not saved yet

    await addChip(second, 'staff-included', 'carol');
    await saveAndWait(second);
    assert.deepEqual(inForce().mfa.staffIncluded, ['dana', 'carol']);

    // The first tab learns of it (it polls), and keeps the admin's edits instead of reloading.
    await first.waitForSelector('#changed-elsewhere:visible', { timeout: 15_000 });
    assert.equal(await first.isChecked('#failmode-open'), true);
    await first.click('#save-settings');
    await first.waitForSelector('#settings-conflict');
    assert.match(
      (await first.textContent('#settings-status')) ?? '',
      /Someone else changed these settings first — another admin saved, or the file was edited, after you opened this page\. Nothing was saved\./,
    );
    assert.equal(inForce().failmode, 'closed', 'nothing written');
    await settingsShot(first, '46-settings-stale-page');
    await first.click('#reload-settings');
    await first.waitForSelector('#staff-included .chip[data-value="carol"]');
    assert.equal(await first.isChecked('#failmode-closed'), true, 'the reloaded page shows what is in force');
  });

  it("another tenant's settings are not reachable (403); a non-admin is not offered the page and the API refuses", async () => {
    const alice = await aliceOnSettings();
    const statuses = await inPage<number[]>(
      alice,
      `Promise.all([
        fetch('/admin/mfa/api/globex', { headers: { Accept: 'application/json' } }).then((r) => r.status),
        fetch('/admin/mfa/api/globex', {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/json', 'If-Match': '"x"' },
          body: JSON.stringify({ mfa: { enabled: true } }),
        }).then((r) => r.status),
        fetch('/admin/mfa/api/acme', { headers: { Accept: 'application/json' } }).then((r) => r.status),
      ])`,
    );
    assert.deepEqual(statuses, [403, 403, 200]);

    const carol = await newPage();
    await signInWithoutDuo(carol, 'carol');
    assert.equal(await carol.$('#nav-admin'), null, 'no Admin Tools in her menu');
    assert.equal(await carol.$('#dashboard-mfa-settings'), null);
    await carol.goto(`${base()}/admin/mfa-settings`);
    await carol.waitForSelector('body[data-page="error-403"]');
    assert.equal(await carol.textContent('#error-title'), 'Admin Tools are for administrators');
    await screenshotWidths(carol, '47-settings-refused-non-admin');
    const refused = await inPage<Array<{ status: number; code?: string }>>(
      carol,
      `Promise.all([
        fetch('/admin/mfa/api/acme', { headers: { Accept: 'application/json' } }),
        fetch('/admin/mfa/api/acme', {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/json', 'If-Match': '"x"' },
          body: JSON.stringify({ mfa: { enabled: false } }),
        }),
        fetch('/admin/mfa-settings/staff/grace/bypass-code', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: '{}',
        }),
      ]).then((answers) => Promise.all(answers.map((r) => r.json().then((b) => ({ status: r.status, code: b.code })))))`,
    );
    assert.deepEqual(refused, [
      { status: 403, code: 'ERR_FORBIDDEN' },
      { status: 403, code: 'ERR_FORBIDDEN' },
      { status: 403, code: undefined },
    ]);
    assert.equal(inForce().mfa.enabled, true);
  });

  it('grace period: nora, newly included, chooses "Remind me later" before the date and lands on the dashboard; after the date (set on the page), Duo enrolls her', async () => {
    const alice = await aliceOnSettings();
    assert.match((await row(alice, 'nora').textContent()) ?? '', /not asked/);
    await addChip(alice, 'roles-included', 'sales');
    await alice.fill('#enforce-from', utcInput(7));
    await saveAndWait(alice);
    const changes = await savedChanges(alice);
    assert.equal(changes[0], 'Roles Included: admin, finance, sales');
    assert.match(changes[1]!, /^Grace period until: \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC$/);
    assert.match(inForce().mfa.enforceFrom, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z$/);
    assert.match(
      (await row(alice, 'nora').textContent()) ?? '',
      /grace period.*may choose “Remind me later” until/s,
    );
    await settingsShot(alice, '48-settings-grace-period');

    const nora = await newPage();
    await nora.goto(base());
    await fillSignIn(nora, { username: 'nora' });
    await clickThrough(nora, '#sign-in', '#duo-remind-later');
    assert.match(
      (await nora.textContent('body')) ?? '',
      /requires Duo two-factor sign-in from \d{1,2} [A-Z][a-z]+ \d{4}/,
    );
    await screenshotWidths(nora, '49-grace-period-offer');
    await clickThrough(nora, '#duo-remind-later', 'body[data-page="dashboard"]');
    assert.match(
      (await nora.textContent('#mfa-summary')) ?? '',
      /^Duo set-up postponed: you chose “Remind me later”\. Your organization requires Duo from /,
    );
    assert.ok(portal!.events.some((e) => e.type === 'mfa.deferred' && e.username === 'nora'));
    await screenshotWidths(nora, '50-dashboard-grace-postponed');

    await alice.fill('#enforce-from', utcInput(-1)); // the date has passed
    await saveAndWait(alice);
    assert.match((await row(alice, 'nora').textContent()) ?? '', /asked.*role "sales" is in rolesIncluded/s);

    // Her session's "later" ends with the grace period: the next page sends her to Duo, which enrolls her.
    await nora.goto(base());
    await nora.waitForSelector('#enroll-start', { timeout: 15_000 });
    assert.equal(new URL(nora.url()).origin, duo().url);
    await enroll(nora, '+1 734-555-0177');
    await clickThrough(nora, '#send-push', '#approve');
    await clickThrough(nora, '#approve', 'body[data-page="dashboard"]');
    assert.match((await nora.textContent('#mfa-summary')) ?? '', /verified with Duo/);
  });

  it('recovery: alice sends grace a reactivation (Duo texts it); grace enrolls again at her next sign-in; a bypass code works once in the Duo prompt', async () => {
    // grace enrolls the first time.
    const grace = await newPage();
    await grace.goto(base());
    await fillSignIn(grace, { username: 'grace' });
    await clickThrough(grace, '#sign-in', '#enroll-start');
    await enroll(grace, '+1 734-555-0142');
    await clickThrough(grace, '#send-push', '#approve');
    await clickThrough(grace, '#approve', 'body[data-page="dashboard"]');

    const alice = await aliceOnSettings();
    assert.match((await row(alice, 'grace').locator('.duo-account').textContent()) ?? '', /^enrolled/);
    const texts = duo().sms.length;
    alice.once('dialog', (dialog) => {
      assert.match(dialog.message(), /^Send a Duo Mobile reactivation to Grace Finance\?/);
      void dialog.accept();
    });
    await row(alice, 'grace').locator('button.reactivate').click();
    await row(alice, 'grace').locator('.staff-result.ok').waitFor();
    assert.match(
      (await row(alice, 'grace').locator('.staff-result').textContent()) ?? '',
      /^Duo texted Grace Finance a new Duo Mobile activation link, valid until \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC\. Their old activation no longer works/,
    );
    const sms = duo().sms.slice(texts);
    assert.equal(sms.length, 2, 'the installation and the activation link');
    assert.ok(sms.every((m) => m.to === '+17345550142'));
    await alice.waitForSelector('#staff-list tr[data-username="grace"] .account-not-enrolled');
    await settingsShot(alice, '51-settings-reactivation-sent');
    assert.doesNotMatch(portal!.logs.join('\n'), /\/activate\//, 'the link is never logged');

    // Her next sign-in walks through enrollment again.
    const again = await newPage();
    await again.goto(base());
    await fillSignIn(again, { username: 'grace' });
    await clickThrough(again, '#sign-in', '#enroll-start');
    await enroll(again, '+1 734-555-0142');
    await clickThrough(again, '#send-push', '#approve');
    await clickThrough(again, '#approve', 'body[data-page="dashboard"]');

    // A bypass code, issued on the page, shown once.
    await row(alice, 'grace').locator('button.bypass').click();
    await row(alice, 'grace').locator('.bypass-code').waitFor();
    const code = (await row(alice, 'grace').locator('.bypass-code').textContent()) ?? '';
    assert.match(code, /^\d{9}$/);
    assert.match(
      (await row(alice, 'grace').locator('.staff-result').textContent()) ?? '',
      /It works once, until .* UTC\. It is shown only now:/,
    );
    await settingsShot(alice, '52-settings-bypass-code');
    assert.doesNotMatch(portal!.logs.join('\n'), new RegExp(code), 'the code is never logged');

    const withCode = async () => {
      const page = await newPage();
      await page.goto(base());
      await fillSignIn(page, { username: 'grace' });
      await clickThrough(page, '#sign-in', '#use-passcode');
      await clickThrough(page, '#use-passcode', '#passcode');
      await page.fill('#passcode', code);
      await page.click('#passcode-submit');
      return page;
    };
    const once = await withCode();
    await once.waitForSelector('body[data-page="dashboard"]', { timeout: 15_000 });
    await once.goto(`${base()}/account/verification`);
    assert.equal(await once.textContent('#factor'), 'bypass_code');
    const twice = await withCode();
    await twice.waitForSelector('#notice');
    assert.equal(
      await twice.textContent('#notice'),
      'Incorrect passcode. Enter a valid bypass code from your administrator.',
    );
    assert.equal(new URL(twice.url()).origin, duo().url, 'a second use is refused: still at Duo');
    await screenshot(twice, '53-duo-bypass-code-used-twice');
  });

  it('a change needs a recent Duo approval: an older one says "Confirm with Duo", saves nothing, and the link goes through Duo back to MFA Settings', async () => {
    await portal!.close();
    portal = await startPortal({ emulator: duo(), policy: file, recentDuo: { changes: 1 } });
    const page = await aliceOnSettings();
    const before = readFileSync(file, 'utf8');
    await page.uncheck('#mfa-enabled');
    await page.click('#save-settings');
    await page.waitForSelector('#settings-status .confirm-with-duo a', { timeout: 15_000 });
    assert.match(
      (await page.textContent('#settings-status')) ?? '',
      /Nothing was saved yet.*recent Duo approval/s,
    );
    assert.equal(readFileSync(file, 'utf8'), before, 'nothing written');
    assert.ok(!portal.events.some((e) => e.type === 'settings.changed'));
    await settingsShot(page, '55-settings-confirm-with-duo');

    await row(page, 'grace').locator('button.bypass').click();
    await page.waitForSelector('#staff-list tr[data-username="grace"] .staff-result .confirm-with-duo a', {
      timeout: 15_000,
    });
    assert.ok(!portal.events.some((e) => e.type === 'staff.bypass_issued'), 'no code issued');

    await clickThrough(page, '#settings-status .confirm-with-duo a', '#send-push');
    await clickThrough(page, '#send-push', '#approve');
    await clickThrough(page, '#approve', 'body[data-page="mfa-settings"]');
    assert.equal(new URL(page.url()).pathname, '/admin/mfa-settings');
    assert.ok(portal.events.some((e) => e.type === 'mfa.succeeded' && e.stepUp === true));
  });

  it('at 390 px the settings page fits the screen: no sideways scrolling, fields stacked, staff as cards', async () => {
    const page = await aliceOnSettings(PHONE);
    const layout = await inPage<{ scrollWidth: number; labelAbove: boolean; staffCell: number }>(
      page,
      `(() => {
        const label = document.querySelector('[data-field-box="mfa.rolesIncluded"] .field-label').getBoundingClientRect();
        const editor = document.querySelector('#roles-included').getBoundingClientRect();
        return {
          scrollWidth: document.documentElement.scrollWidth,
          labelAbove: label.bottom <= editor.top + 1,
          staffCell: document.querySelector('#staff-list tbody tr td.recovery').getBoundingClientRect().width,
        };
      })()`,
    );
    assert.ok(layout.scrollWidth <= PHONE.width, `the page is ${layout.scrollWidth} px wide`);
    assert.equal(layout.labelAbove, true, 'labels sit above their fields');
    assert.ok(layout.staffCell > 300, `staff rows are cards (${layout.staffCell} px)`);
    await screenshot(page, '54-settings-phone-390');
  });

  /** Duo's enrollment in the emulated prompt: phone number, iOS, installed, activated; ends on "Send me a Push". */
  async function enroll(page: Page, phone: string): Promise<void> {
    await clickThrough(page, '#enroll-start', '#enroll-mobile');
    await clickThrough(page, '#enroll-mobile', '#phone-number');
    await page.fill('#phone-number', phone);
    await clickThrough(page, '#enroll-phone-continue', '#platform-ios');
    await page.check('#platform-ios');
    await clickThrough(page, '#enroll-platform-continue', '#enroll-installed');
    await clickThrough(page, '#enroll-installed', '#activation-qr');
    await clickThrough(page, '#enroll-activate-continue', '#send-push');
  }
});
