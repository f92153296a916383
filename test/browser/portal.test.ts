// The example staff portal in a real browser (the system's Chromium through playwright-core) against the offline
// Duo emulator in interactive mode: enrollment, push approval, exemptions, Deny and Report fraud (S47), Trusted
// Endpoints per access device, two tabs, Back after Approve, SameSite=Strict, logout and the back button, the MFA
// Settings page following the policy file, the favicon, and the 390-px layout. Screenshots of every page go to
// test-artifacts/screenshots/ (portal pages at 1280 and 390 px).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { scriptDemoUsers } from '../../example-app/demo';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import {
  chromiumOrSkip,
  clickThrough,
  emulatorSpkiHash,
  exampleAdminApplications,
  exampleApplications,
  examplePolicy,
  fillSignIn,
  launchChromium,
  PHONE,
  clearScreenshotsOnce,
  screenshot,
  screenshotWidths,
  startPortal,
  type RunningPortal,
} from './helpers';

/** Runs a script in the page and returns its JSON-able result. */
function inPage<T>(page: Page, script: string): Promise<T> {
  return page.evaluate<T>(script);
}

/** The values of a chip editor on MFA Settings, in order. */
function chipsOf(page: Page, id: string): Promise<string[]> {
  return page.locator(`#${id} .chip-text`).allTextContents();
}

describe('example staff portal in Chromium (browser end to end)', function () {
  this.timeout(30_000);

  let emulator: DuoEmulator | undefined;
  let browser: Browser | undefined;
  let portal: RunningPortal | undefined;
  const portals: RunningPortal[] = [];
  let context: BrowserContext | undefined;
  let tempDir: string | undefined;

  const duo = () => emulator!;
  const lax = () => portal!;
  const newPage = async (options: { viewport?: { width: number; height: number } } = {}): Promise<Page> => {
    context = await browser!.newContext(options);
    return context.newPage();
  };
  const extraPortal = async (options: Omit<Parameters<typeof startPortal>[0], 'emulator'>) => {
    const started = await startPortal({ emulator: duo(), ...options });
    portals.push(started);
    return started;
  };
  const path = (page: Page) => new URL(page.url()).pathname;
  const origin = (page: Page) => new URL(page.url()).origin;
  /** Waits for the portal's answer to Duo's redirect back (/duo/callback). */
  const callbackResponse = (page: Page, base: string) =>
    page.waitForResponse((res: Response) => res.url().startsWith(`${base}/duo/callback`), {
      timeout: 15_000,
    });
  /** Password, Send me a Push, Approve: the page ends on the portal page `landing` names. */
  const signInWithPush = async (page: Page, base: string, username: string, landing: string) => {
    await page.goto(base);
    await fillSignIn(page, { username });
    await clickThrough(page, '#sign-in', '#send-push');
    await clickThrough(page, '#send-push', '#approve');
    await clickThrough(page, '#approve', landing);
  };

  before(async function () {
    this.timeout(60_000);
    const executable = chromiumOrSkip();
    if (!executable) this.skip();
    clearScreenshotsOnce(); // only this run's pictures, none left from renames
    emulator = await startDuoEmulator({
      applications: exampleApplications(),
      adminApplications: exampleAdminApplications(),
      mode: 'interactive',
    });
    scriptDemoUsers(emulator);
    browser = await launchChromium(executable, await emulatorSpkiHash(emulator));
    portal = await startPortal({ emulator, policy: examplePolicy(emulator.apiHost) });
    portals.push(portal);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const p of portals)
        console.error(`--- portal ${p.baseUrl} log ---\n${p.logs.slice(-30).join('\n')}`);
    }
    await context?.close();
    context = undefined;
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    for (const p of portals) await p.close();
    await emulator?.close();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  });

  it('first-time staff enrolls in Duo, approves a push and lands on the page first requested', async () => {
    const page = await newPage();
    await page.goto(`${lax().baseUrl}/account/verification`);
    assert.equal(path(page), '/login', 'a signed-out visitor is sent to the login page');
    await fillSignIn(page, { username: 'grace' });
    await screenshotWidths(page, '01-login-page');

    await clickThrough(page, '#sign-in', '#enroll-start');
    assert.equal(origin(page), duo().url, 'after the password, Duo (the emulator) takes over');
    await screenshot(page, '02-duo-enroll-welcome');
    await clickThrough(page, '#enroll-start', '#enroll-mobile');
    await screenshot(page, '03-duo-enroll-method');
    await clickThrough(page, '#enroll-mobile', '#phone-number');
    await page.fill('#phone-number', '+1 734-555-0142');
    await screenshot(page, '04-duo-enroll-phone');
    await clickThrough(page, '#enroll-phone-continue', '#platform-ios');
    await page.check('#platform-ios');
    await screenshot(page, '05-duo-enroll-platform');
    await clickThrough(page, '#enroll-platform-continue', '#enroll-installed');
    await screenshot(page, '06-duo-enroll-install');
    await clickThrough(page, '#enroll-installed', '#activation-qr');
    await screenshot(page, '07-duo-enroll-activate');
    await clickThrough(page, '#enroll-activate-continue', '#send-push');
    assert.match((await page.textContent('#enrolled')) ?? '', /all set/);
    await screenshot(page, '08-duo-enrolled-send-push');
    await clickThrough(page, '#send-push', '#approve');
    await screenshot(page, '09-duo-push-approve');

    await clickThrough(page, '#approve', 'body[data-page="verification"]');
    assert.equal(page.url(), `${lax().baseUrl}/account/verification`, 'lands on the page first requested');
    assert.equal(await page.textContent('#factor'), 'duo_push');
    assert.equal(await page.textContent('#verification-result'), 'Verified with Duo');
    assert.match(
      (await page.textContent('#verified-at')) ?? '',
      /^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC$/,
    );
    await screenshotWidths(page, '10-portal-my-verification');
    const succeeded = lax().events.filter((e) => e.type === 'mfa.succeeded' && e.username === 'grace');
    assert.equal(succeeded.length, 1);
  });

  it('returning staff approves a push, reaches the dashboard and opens Admin Tools → MFA Settings from the menu', async () => {
    const page = await newPage();
    await page.goto(lax().baseUrl);
    await fillSignIn(page, { username: 'alice' });
    await clickThrough(page, '#sign-in', '#send-push');
    assert.equal(await page.$('#enroll-start'), null, 'an enrolled user is not enrolled again');
    await screenshot(page, '11-duo-returning-send-push');
    await clickThrough(page, '#send-push', '#approve');
    await clickThrough(page, '#approve', 'body[data-page="dashboard"]');
    assert.equal(page.url(), `${lax().baseUrl}/`);
    assert.match((await page.textContent('#mfa-summary')) ?? '', /verified with Duo .*duo_push/);
    assert.ok(await page.$('#private-data'));
    await screenshotWidths(page, '12-portal-dashboard');

    await clickThrough(page, '#nav-admin', 'body[data-page="admin-tools"]');
    assert.equal(await page.getAttribute('#nav-admin', 'aria-current'), 'page');
    await screenshotWidths(page, '13-portal-admin-tools');
    await clickThrough(page, '#tool-mfa-settings', 'body[data-page="mfa-settings"]');
    assert.equal(await page.isChecked('#mfa-enabled'), true);
    assert.deepEqual(await chipsOf(page, 'roles-included'), ['admin', 'finance']);
    assert.deepEqual(await chipsOf(page, 'staff-included'), ['dana']);
    assert.deepEqual(await chipsOf(page, 'staff-excluded'), ['kiosk-1']);
    assert.match((await page.textContent('#temporary-bypass')) ?? '', /frank.*active/s);
    assert.equal(await page.isChecked('#failmode-closed'), true);
    assert.equal(await page.isChecked('#te-policy-monitor'), true);
    assert.equal(await page.isChecked('#te-activation-test-group'), true);
    assert.equal(await page.inputValue('#duo-api-host'), duo().apiHost);
    assert.match((await page.textContent('#staff-list')) ?? '', /kiosk-1.*not asked/s);
    // This portal was given its policy as an object: the form is shown, and cannot be saved.
    assert.equal(await page.isDisabled('#mfa-enabled'), true);
    assert.match((await page.textContent('#settings-source')) ?? '', /^Read-only/);
    await screenshotWidths(page, '14-portal-admin-mfa-settings');
    await clickThrough(page, '#crumb-admin', 'body[data-page="admin-tools"]');
  });

  it('Trusted Endpoints as Duo documents it: erin on an unmanaged laptop is not trusted (let in under "monitor"), ivan on an Ivanti-managed laptop and mia on her phone are', async () => {
    const cases = [
      { username: 'erin', platform: 'Windows', managedBy: 'nothing (unmanaged)', trust: 'not trusted' },
      { username: 'ivan', platform: 'Windows', managedBy: 'Ivanti Neurons for MDM', trust: 'trusted' },
      { username: 'mia', platform: 'iOS', managedBy: 'Duo Mobile', trust: 'trusted' },
    ];
    for (const want of cases) {
      const page = await newPage();
      await page.goto(`${lax().baseUrl}/account/verification`);
      await fillSignIn(page, { username: want.username });
      await clickThrough(page, '#sign-in', '#send-push');
      await clickThrough(page, '#send-push', '#approve');
      // The extra step for the trusted-endpoints test group: "Checking your device…".
      await clickThrough(page, '#approve', '#device-continue');
      assert.match((await page.textContent('h1')) ?? '', /^Checking your device/);
      assert.equal(await page.textContent('#device-platform'), want.platform, want.username);
      assert.equal(await page.textContent('#device-managed-by'), want.managedBy, want.username);
      assert.equal(await page.textContent('#device-trust'), want.trust, want.username);
      await screenshot(page, `15-duo-device-check-${want.username}`);
      await clickThrough(page, '#device-continue', 'body[data-page="verification"]');
      assert.equal(await page.textContent('#device-trust'), want.trust, want.username);
      await screenshotWidths(page, `16-portal-my-verification-${want.username}`);
      await context!.close();
      context = undefined;
    }
    assert.ok(lax().events.some((e) => e.type === 'device.untrusted' && e.username === 'erin'));
    assert.ok(
      !lax().events.some((e) => e.type === 'device.untrusted' && ['ivan', 'mia'].includes(e.username!)),
    );
  });

  it('excluded staff go straight in without Duo (as do the MFA-off tenant and a temporary bypass)', async () => {
    const exempt = [
      { tenant: 'acme', username: 'kiosk-1', shot: '17-portal-excluded-kiosk', reason: /staffExcluded/ },
      { tenant: 'globex', username: 'gina', shot: '18-portal-mfa-off-tenant', reason: /off/ },
      {
        tenant: 'acme',
        username: 'frank',
        shot: '19-portal-temporary-bypass',
        reason: /bypass until \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC/,
      },
    ];
    for (const who of exempt) {
      const authorizeBefore = duo().calls.authorize;
      const page = await newPage();
      await page.goto(lax().baseUrl);
      await fillSignIn(page, who);
      await clickThrough(page, '#sign-in', 'body[data-page="dashboard"]');
      assert.equal(duo().calls.authorize, authorizeBefore, `${who.username} was sent to Duo`);
      assert.match((await page.textContent('#mfa-summary')) ?? '', /Duo not required/);
      assert.match((await page.textContent('#mfa-summary')) ?? '', who.reason);
      await screenshot(page, who.shot);
      if (who.username === 'gina') {
        await clickThrough(page, '#nav-admin', 'body[data-page="admin-tools"]');
        await clickThrough(page, '#tool-mfa-settings', 'body[data-page="mfa-settings"]');
        assert.equal(await page.isChecked('#mfa-enabled'), false);
        await screenshotWidths(page, '20-portal-admin-mfa-settings-mfa-off');
      }
      await context!.close();
      context = undefined;
    }
  });

  it('S47 dana presses Deny → the denied page in the portal layout → any portal page → the sign-in page', async () => {
    const page = await newPage();
    await page.goto(lax().baseUrl);
    await fillSignIn(page, { username: 'dana' });
    await clickThrough(page, '#sign-in', '#send-push');
    await clickThrough(page, '#send-push', '#deny');
    const callback = callbackResponse(page, lax().baseUrl);
    await page.click('#deny');
    assert.equal((await callback).status(), 403);
    await page.waitForSelector('body[data-page="error-403"]');
    assert.equal(await page.textContent('#error-title'), 'Duo denied this sign-in');
    const text = (await page.textContent('body')) ?? '';
    assert.match(text, /You denied the sign-in request on your phone\./);
    assert.match(text, /You have been signed out: sign in again to try once more\./);
    assert.equal(await page.textContent('#error-code'), 'ERR_DUO_DENIED');
    assert.doesNotMatch(text, /Confidential/);
    assert.ok(await page.$('link[href="/assets/portal.css"]'), 'the portal layout');
    assert.equal(await page.$('#signed-in-as'), null, 'no one is signed in any more');
    await screenshotWidths(page, '21-portal-duo-denied');

    const authorizeBefore = duo().calls.authorize;
    await page.goto(`${lax().baseUrl}/account/verification`);
    await page.waitForSelector('body[data-page="login"]');
    assert.equal(path(page), '/login', 'the password again, not Duo');
    assert.equal(duo().calls.authorize, authorizeBefore, 'no new Duo prompt without the password');

    // The denied page's own next step leads there too.
    await page.goBack();
    await clickThrough(page, '#error-sign-in', 'body[data-page="login"]');
  });

  it('S47 Report fraud ends the sign-in too, with words saying it was reported', async () => {
    const page = await newPage();
    await page.goto(lax().baseUrl);
    await fillSignIn(page, { username: 'dana' });
    await clickThrough(page, '#sign-in', '#send-push');
    await clickThrough(page, '#send-push', '#report-fraud');
    await clickThrough(page, '#report-fraud', 'body[data-page="error-403"]');
    assert.match((await page.textContent('#error-message')) ?? '', /reported as fraudulent from your phone/);
    await screenshotWidths(page, '22-portal-duo-fraud-reported');
    await page.goto(lax().baseUrl);
    await page.waitForSelector('body[data-page="login"]');
    assert.ok(
      lax().events.some((e) => e.type === 'mfa.denied' && e.username === 'dana' && e.reason === 'fraud'),
    );
  });

  it('an untrusted device under trusted-endpoints "block" gets the device-not-trusted page in the portal layout', async () => {
    const blocking = await extraPortal({
      policy: examplePolicy(duo().apiHost, (policy) => {
        policy.tenants.acme.trustedEndpoints.policy = 'block';
      }),
    });
    const page = await newPage();
    await page.goto(blocking.baseUrl);
    await fillSignIn(page, { username: 'erin' });
    await clickThrough(page, '#sign-in', '#send-push');
    await clickThrough(page, '#send-push', '#approve');
    await clickThrough(page, '#approve', '#device-continue');
    const callback = callbackResponse(page, blocking.baseUrl);
    await page.click('#device-continue');
    assert.equal((await callback).status(), 403);
    await page.waitForSelector('text=This device is not trusted by your organization');
    assert.equal(await page.textContent('#error-code'), 'ERR_DUO_DEVICE_UNTRUSTED');
    assert.ok(await page.$('#error-sign-out'), 'she can sign out instead of looping through Duo');
    await screenshotWidths(page, '23-portal-device-untrusted-blocked');
    const dashboard = await page.goto(blocking.baseUrl);
    assert.notEqual(new URL(dashboard!.url()).origin, blocking.baseUrl, 'no access after the block');

    // ivan's Ivanti-managed laptop passes the same policy.
    await context!.close();
    const ivan = await newPage();
    await signInWithPush(ivan, blocking.baseUrl, 'ivan', '#device-continue');
    await clickThrough(ivan, '#device-continue', 'body[data-page="dashboard"]');
  });

  it('two tabs signing in at once both land signed in (the second approval is not an error)', async () => {
    const page = await newPage();
    const tabA = page;
    const tabB = await context!.newPage();
    const callbacks: number[] = [];
    for (const tab of [tabA, tabB]) {
      tab.on('response', (res) => {
        if (res.url().startsWith(`${lax().baseUrl}/duo/callback`)) callbacks.push(res.status());
      });
    }
    await tabA.goto(lax().baseUrl);
    await fillSignIn(tabA, { username: 'alice' });
    await clickThrough(tabA, '#sign-in', '#send-push');
    await tabB.goto(lax().baseUrl); // signed in with the password in tab A: tab B goes to Duo as well
    await tabB.waitForSelector('#send-push');

    await clickThrough(tabA, '#send-push', '#approve');
    await clickThrough(tabA, '#approve', 'body[data-page="dashboard"]');
    await clickThrough(tabB, '#send-push', '#approve');
    await clickThrough(tabB, '#approve', 'body[data-page="dashboard"]');
    assert.equal(tabB.url(), `${lax().baseUrl}/`);
    assert.ok(await tabB.$('#private-data'));
    assert.deepEqual(callbacks, [303, 303], 'both callbacks land');
    await screenshot(tabB, '24-portal-second-tab-signed-in');
  });

  it("Back after Approve shows the emulator's expired page once, with one link back to the portal", async () => {
    const page = await newPage();
    await signInWithPush(page, lax().baseUrl, 'alice', 'body[data-page="dashboard"]');
    await page.goBack();
    await page.waitForSelector('#error-title');
    assert.equal(origin(page), duo().url);
    assert.equal(await page.textContent('#error-title'), 'This login has expired');
    const body = (await page.textContent('body')) ?? '';
    assert.equal(body.split('expired').length - 1, 2, 'said once in the title and once in the message');
    assert.equal(await page.locator('#back-to-app').count(), 1, 'one link back');
    assert.equal(await page.getAttribute('#back-to-app', 'href'), `${lax().baseUrl}/`);
    await screenshot(page, '25-duo-back-after-approve');
    await clickThrough(page, '#back-to-app', 'body[data-page="dashboard"]');
  });

  it('a session cookie at SameSite=Strict still completes the sign-in (the callback bounces once)', async () => {
    const strict = await extraPortal({
      policy: examplePolicy(duo().apiHost),
      sameSite: 'strict',
      host: 'localhost', // another site than the emulator's 127.0.0.1: Duo's redirect back is cross-site
    });
    const page = await newPage();
    const callbacks: number[] = [];
    page.on('response', (res) => {
      if (res.url().startsWith(`${strict.baseUrl}/duo/callback`)) callbacks.push(res.status());
    });
    await page.goto(strict.baseUrl);
    await fillSignIn(page, { username: 'alice' });
    await clickThrough(page, '#sign-in', '#send-push');
    const cookies = await context!.cookies(strict.baseUrl);
    assert.equal(cookies.find((c) => c.name === 'portal.sid')?.sameSite, 'Strict');
    await clickThrough(page, '#send-push', '#approve');
    await clickThrough(page, '#approve', 'body[data-page="dashboard"]');
    assert.equal(page.url(), `${strict.baseUrl}/`);
    assert.deepEqual(callbacks, [200, 303], 'the cookie-less cross-site callback bounced, then completed');
    await screenshot(page, '26-portal-dashboard-samesite-strict');
  });

  it('after logout, the back button shows nothing private', async () => {
    const page = await newPage();
    await signInWithPush(page, lax().baseUrl, 'alice', '#private-data');
    await clickThrough(page, '#logout', '#login-notice');
    assert.equal(path(page), '/login');
    await screenshotWidths(page, '27-portal-logged-out');

    const requested: string[] = [];
    page.on('request', (req) => requested.push(req.url()));
    await page.goBack();
    await page.waitForSelector('body[data-page="login"]');
    assert.equal(await page.$('#private-data'), null);
    assert.doesNotMatch((await page.content()) ?? '', /Confidential|Welcome, Alice/);
    assert.ok(
      requested.includes(`${lax().baseUrl}/`),
      'the private page was asked again, not shown from cache',
    );
    await screenshot(page, '28-portal-back-after-logout');
  });

  it('shows no console error on portal pages before and after sign-in, and their favicon answers 200', async () => {
    const page = await newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => problems.push(error.message));
    // Headless Chromium draws no tab, so it never asks for the icon itself: ask for what each page links, with the
    // page's cookies, as a browser with a tab strip would.
    const favicon = async () => {
      const href = new URL((await page.getAttribute('link[rel="icon"]', 'href'))!, page.url());
      assert.equal(href.href, `${lax().baseUrl}/favicon.ico`);
      const res = await page.request.get(href.href, { maxRedirects: 0 });
      return `${res.status()} ${res.headers()['content-type']}`;
    };
    await page.goto(`${lax().baseUrl}/login`);
    assert.equal(await favicon(), '200 image/x-icon', 'signed out');
    await fillSignIn(page, { username: 'kiosk-1' });
    await clickThrough(page, '#sign-in', 'body[data-page="dashboard"]');
    assert.equal(await favicon(), '200 image/x-icon', 'signed in');
    await clickThrough(page, '#nav-verification', 'body[data-page="verification"]');
    await page.goto(`${lax().baseUrl}/no-such-page`);
    await page.waitForSelector('body[data-page="error-404"]');
    assert.equal(await favicon(), '200 image/x-icon', 'on an error page');
    await screenshotWidths(page, '29-portal-page-not-found');
    assert.deepEqual(
      problems.filter((p) => !p.includes('/no-such-page')),
      [],
      'console errors on portal pages',
    );
  });

  it('is usable at 390 px: a two-row header whose menu stays on one line, no sideways scrolling, tables as stacked cards', async () => {
    const page = await newPage({ viewport: PHONE });
    await page.goto(lax().baseUrl);
    await fillSignIn(page, { tenant: 'globex', username: 'gina' });
    await clickThrough(page, '#sign-in', 'body[data-page="dashboard"]');
    // Measured in the page (a script string: these tests compile without the DOM's types).
    const layout = () =>
      inPage<{
        scrollWidth: number;
        header: number;
        navTops: number[];
        navRight: number;
        logoutTop: number;
        brandTop: number;
      }>(
        page,
        `(() => {
          const box = (selector) => document.querySelector(selector).getBoundingClientRect();
          const links = [...document.querySelectorAll('header nav a')].map((a) => a.getBoundingClientRect());
          return {
            scrollWidth: document.documentElement.scrollWidth,
            header: box('header.top').height,
            navTops: links.map((r) => Math.round(r.top)),
            navRight: Math.max(...links.map((r) => r.right)),
            logoutTop: Math.round(box('#logout').top),
            brandTop: Math.round(box('.brand').top),
          };
        })()`,
      );
    const dashboard = await layout();
    assert.ok(dashboard.scrollWidth <= PHONE.width, `page is ${dashboard.scrollWidth} px wide`);
    assert.equal(new Set(dashboard.navTops).size, 1, 'the menu links share one line');
    assert.ok(dashboard.navRight <= PHONE.width, 'the menu fits the screen');
    assert.ok(dashboard.header < 120, `the header is ${dashboard.header} px tall`);
    assert.ok(Math.abs(dashboard.logoutTop - dashboard.brandTop) < 12, 'Log out sits on the first row');
    const queues = await inPage<{ thead: string; cellWidth: number; label: string }>(
      page,
      `(() => {
        const cell = document.querySelector('#queues tbody td');
        return {
          thead: getComputedStyle(document.querySelector('#queues thead')).display,
          cellWidth: cell.getBoundingClientRect().width,
          label: getComputedStyle(cell, '::before').content,
        };
      })()`,
    );
    assert.equal(queues.thead, 'none', 'no column headers: each row is a card');
    assert.ok(queues.cellWidth > 300, `a value gets the card's width (${queues.cellWidth} px)`);
    assert.equal(queues.label, '"Queue"', 'each value is labelled');

    await page.goto(`${lax().baseUrl}/admin/mfa-settings`);
    await page.waitForSelector('body[data-page="mfa-settings"]');
    const settings = await layout();
    assert.ok(settings.scrollWidth <= PHONE.width, `MFA Settings is ${settings.scrollWidth} px wide`);
    const firstRow = await inPage<Array<{ width: number; height: number }>>(
      page,
      `[...document.querySelectorAll('#staff-list tbody tr:first-child td')].map((td) => {
        const box = td.getBoundingClientRect();
        return { width: Math.round(box.width), height: Math.round(box.height) };
      })`,
    );
    assert.equal(firstRow.length, 5);
    assert.ok(
      firstRow.every((cell) => cell.width > 300),
      `Staff values are not squeezed into columns (${firstRow.map((c) => c.width).join(', ')} px)`,
    );
    assert.ok(
      firstRow[0]!.height < 40,
      `"Gina Admin (gina)" stays on one line (${firstRow[0]!.height} px): the label does not split the value`,
    );
    await screenshot(page, '30-portal-admin-mfa-settings-phone');
  });

  it('MFA Settings follows the policy file, and its "not valid" banner goes away once the file is valid again — even restored to exactly the content in force', async () => {
    tempDir = mkdtempSync(join(tmpdir(), 'portal-policy-'));
    const file = join(tempDir, 'duo-mfa.json');
    const policy = examplePolicy(duo().apiHost);
    writeFileSync(file, JSON.stringify(policy, null, 2));
    const watched = await extraPortal({ policy: file });
    const page = await newPage();
    await page.goto(`${watched.baseUrl}/admin/mfa-settings`);
    await fillSignIn(page, { tenant: 'globex', username: 'gina' });
    await clickThrough(page, '#sign-in', 'body[data-page="mfa-settings"]');
    assert.equal(await page.isChecked('#failmode-closed'), true);

    policy.tenants.globex.failmode = 'open';
    policy.tenants.globex.mfa.staffExcluded = ['front-desk'];
    writeFileSync(file, JSON.stringify(policy, null, 2));
    await page.waitForSelector('#failmode-open:checked', { timeout: 15_000 }); // the page reloaded itself
    assert.deepEqual(await chipsOf(page, 'staff-excluded'), ['front-desk']);
    await screenshot(page, '31-portal-admin-mfa-settings-after-edit');

    const inForce = readFileSync(file, 'utf8');
    writeFileSync(file, '{ broken');
    await page.waitForSelector('#policy-refused', { timeout: 15_000 });
    assert.match(
      (await page.textContent('#policy-problems')) ?? '',
      /^line 1, column 3: expected a property name in double quotes but found "b" \(not valid JSON\)$/,
    );
    assert.equal(await page.isChecked('#failmode-open'), true, 'the last good policy stays in force');
    assert.equal(await page.isDisabled('#mfa-enabled'), true, 'not editable until the file is fixed');
    await screenshotWidths(page, '32-portal-admin-mfa-settings-file-invalid');

    writeFileSync(file, inForce); // exactly the content in force: nothing for the middleware to reload
    await page.waitForSelector('#policy-refused', { state: 'detached', timeout: 15_000 });
    assert.equal(await page.isChecked('#failmode-open'), true);
    assert.equal(await page.isDisabled('#mfa-enabled'), false, 'editable again');

    rmSync(file);
    await page.waitForSelector('#policy-refused', { timeout: 15_000 });
    assert.equal(await page.textContent('#policy-problems'), 'the file does not exist');
    await screenshot(page, '33-portal-admin-mfa-settings-file-missing');
    writeFileSync(file, inForce);
    await page.waitForSelector('#policy-refused', { state: 'detached', timeout: 15_000 });
  });
});
