// The example staff portal in a real browser (Debian's Chromium through playwright-core) against the offline Duo
// emulator in interactive mode: enrollment, push approval, exemptions, deny, device trust, SameSite=Strict,
// logout and the back button, and the MFA Settings page following the policy file. Screenshots of every page
// go to test-artifacts/screenshots/.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { scriptDemoUsers } from '../../example-app/demo';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import {
  chromiumMissing,
  clickThrough,
  emulatorSpkiHash,
  exampleApplications,
  examplePolicy,
  fillSignIn,
  launchChromium,
  screenshot,
  startPortal,
  type RunningPortal,
} from './helpers';

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
  const newPage = async (): Promise<Page> => {
    context = await browser!.newContext();
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

  before(async function () {
    this.timeout(60_000);
    const missing = chromiumMissing();
    if (missing) {
      console.warn(`    (skipped: ${missing})`);
      this.skip();
    }
    emulator = await startDuoEmulator({ applications: exampleApplications(), mode: 'interactive' });
    scriptDemoUsers(emulator);
    browser = await launchChromium(await emulatorSpkiHash(emulator));
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
    await screenshot(page, '01-login-page');

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
    await screenshot(page, '10-portal-my-verification');
    const succeeded = lax().events.filter((e) => e.type === 'mfa.succeeded' && e.username === 'grace');
    assert.equal(succeeded.length, 1);
  });

  it('returning staff approves a push, reaches the dashboard and opens Admin Tools → MFA Settings', async () => {
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
    await screenshot(page, '12-portal-dashboard');

    await clickThrough(page, 'a[href="/admin/mfa-settings"]', 'body[data-page="mfa-settings"]');
    assert.equal(await page.textContent('#mfa-enabled'), 'On');
    assert.equal(await page.textContent('#roles-included'), 'adminfinance');
    assert.equal(await page.textContent('#staff-included'), 'dana');
    assert.equal(await page.textContent('#staff-excluded'), 'kiosk-1');
    assert.match((await page.textContent('#temporary-bypass')) ?? '', /frank.*active/s);
    assert.match((await page.textContent('#failmode')) ?? '', /closed/);
    assert.equal(await page.textContent('#te-policy'), 'monitor');
    assert.equal(await page.textContent('#te-activation'), 'test-group');
    assert.equal(await page.textContent('#api-host'), duo().apiHost);
    assert.match((await page.textContent('#who-is-asked')) ?? '', /kiosk-1.*not asked/s);
    await screenshot(page, '13-portal-admin-mfa-settings');
  });

  it('staff in the trusted-endpoints test group with an untrusted device is let in under "monitor", and the page shows the device trust', async () => {
    const page = await newPage();
    await page.goto(`${lax().baseUrl}/account/verification`);
    await fillSignIn(page, { username: 'erin' });
    await clickThrough(page, '#sign-in', '#send-push');
    await clickThrough(page, '#send-push', '#approve');
    await clickThrough(page, '#approve', '#device-continue');
    assert.equal(await page.textContent('#device-trust'), 'not trusted');
    await screenshot(page, '14-duo-device-check-not-trusted');
    await clickThrough(page, '#device-continue', 'body[data-page="verification"]');
    assert.equal(await page.textContent('#device-trust'), 'not trusted');
    await screenshot(page, '15-portal-my-verification-untrusted-device');
    assert.ok(lax().events.some((e) => e.type === 'device.untrusted' && e.username === 'erin'));
  });

  it('excluded staff go straight in without Duo (as do the MFA-off tenant and a temporary bypass)', async () => {
    const exempt = [
      { tenant: 'acme', username: 'kiosk-1', shot: '16-portal-excluded-kiosk', reason: /staffExcluded/ },
      { tenant: 'globex', username: 'gina', shot: '17-portal-mfa-off-tenant', reason: /off/ },
      { tenant: 'acme', username: 'frank', shot: '18-portal-temporary-bypass', reason: /bypass/ },
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
        await clickThrough(page, 'a[href="/admin/mfa-settings"]', 'body[data-page="mfa-settings"]');
        assert.equal(await page.textContent('#mfa-enabled'), 'Off');
        await screenshot(page, '19-portal-admin-mfa-settings-mfa-off');
      }
      await context!.close();
      context = undefined;
    }
  });

  it('Deny in Duo shows the clear denied page and grants no access', async () => {
    const page = await newPage();
    await page.goto(lax().baseUrl);
    await fillSignIn(page, { username: 'dana' });
    await clickThrough(page, '#sign-in', '#send-push');
    await clickThrough(page, '#send-push', '#deny');
    const callback = callbackResponse(page, lax().baseUrl);
    await page.click('#deny');
    assert.equal((await callback).status(), 403);
    await page.waitForSelector('text=Duo denied this sign-in');
    const text = (await page.textContent('body')) ?? '';
    assert.match(text, /ERR_DUO_DENIED/);
    assert.doesNotMatch(text, /Confidential/);
    await screenshot(page, '20-portal-duo-denied');

    await page.goto(lax().baseUrl);
    await page.waitForSelector('#send-push');
    assert.equal(origin(page), duo().url, 'the dashboard still asks for Duo');

    // The denied page also lets the person sign out instead of going back to Duo.
    await page.goBack();
    await page.goto(`${lax().baseUrl}/duo/callback?state=${'A'.repeat(43)}&duo_code=x&duo_mfa_bounce=1`);
    await page.waitForSelector('text=Sign out');
    await Promise.all([page.waitForURL(/\/login/), page.click('text=Sign out')]);
    await page.goto(lax().baseUrl);
    assert.match(page.url(), /\/login/, 'signed out: the portal asks for the password again');
  });

  it('an untrusted device under trusted-endpoints "block" gets the device-not-trusted page', async () => {
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
    assert.match((await page.textContent('body')) ?? '', /ERR_DUO_DEVICE_UNTRUSTED/);
    await screenshot(page, '21-portal-device-untrusted-blocked');
    const dashboard = await page.goto(blocking.baseUrl);
    assert.notEqual(new URL(dashboard!.url()).origin, blocking.baseUrl, 'no access after the block');
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
    await screenshot(page, '22-portal-dashboard-samesite-strict');
  });

  it('after logout, the back button shows nothing private', async () => {
    const page = await newPage();
    await page.goto(lax().baseUrl);
    await fillSignIn(page, { username: 'alice' });
    await clickThrough(page, '#sign-in', '#send-push');
    await clickThrough(page, '#send-push', '#approve');
    await clickThrough(page, '#approve', '#private-data');
    await clickThrough(page, '#logout', '#login-notice');
    assert.equal(path(page), '/login');
    await screenshot(page, '23-portal-logged-out');

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
    await screenshot(page, '24-portal-back-after-logout');
  });

  it('the MFA Settings page updates by itself when the policy file changes, and shows a refused edit', async () => {
    tempDir = mkdtempSync(join(tmpdir(), 'portal-policy-'));
    const file = join(tempDir, 'duo-mfa.json');
    const policy = examplePolicy(duo().apiHost);
    writeFileSync(file, JSON.stringify(policy, null, 2));
    const watched = await extraPortal({ policy: file });
    const page = await newPage();
    await page.goto(`${watched.baseUrl}/admin/mfa-settings`);
    await fillSignIn(page, { tenant: 'globex', username: 'gina' });
    await clickThrough(page, '#sign-in', 'body[data-page="mfa-settings"]');
    assert.match((await page.textContent('#failmode')) ?? '', /closed/);

    policy.tenants.globex.failmode = 'open';
    policy.tenants.globex.mfa.staffExcluded = ['front-desk'];
    writeFileSync(file, JSON.stringify(policy, null, 2));
    await page.waitForSelector('#failmode:has-text("open")', { timeout: 15_000 }); // the page reloaded itself
    assert.equal(await page.textContent('#staff-excluded'), 'front-desk');
    await screenshot(page, '25-portal-admin-mfa-settings-after-edit');

    writeFileSync(file, '{ "tenants": { "globex": ');
    await page.waitForSelector('#policy-refused', { timeout: 15_000 });
    assert.match((await page.textContent('#failmode')) ?? '', /open/, 'the last good policy stays in force');
    await screenshot(page, '26-portal-admin-mfa-settings-refused-edit');
  });
});
