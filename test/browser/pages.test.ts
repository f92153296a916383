// The middleware's own pages in a real browser (the system's Chromium), S32 and S42: the buttons that POST to the
// start route, which answers 303 to Duo, must get the browser to Duo. Browsers hold that redirect to the page's
// CSP form-action, which supertest never checks. Screenshots at 1280 and 390 px go to test-artifacts/screenshots/.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import { ALL_APPS, createTestApp, testPolicy, type TestApp } from '../helpers/app';
import {
  chromiumOrSkip,
  clearScreenshotsOnce,
  emulatorSpkiHash,
  launchChromium,
  screenshotWidths,
} from './helpers';

/** Listens on 127.0.0.1:0 and answers with `handler`; resolves to the base URL under `host`. */
async function serve(handler: http.RequestListener, host = '127.0.0.1') {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://${host}:${(server.address() as AddressInfo).port}`;
  return { base, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe("the middleware's own pages in Chromium", function () {
  this.timeout(30_000);
  let emulator: DuoEmulator;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  const closers: Array<() => Promise<void> | void> = [];

  before(async function () {
    this.timeout(60_000);
    const executable = chromiumOrSkip();
    if (!executable) this.skip();
    clearScreenshotsOnce();
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'interactive' });
    browser = await launchChromium(executable, await emulatorSpkiHash(emulator));
  });
  afterEach(async () => {
    await context?.close();
    context = undefined;
    for (const close of closers.splice(0).reverse()) await close();
  });
  after(async () => {
    await browser?.close();
    await emulator?.close();
  });

  /** The test app on its own port (baseUrl to match), a signed-in browser page, and its console. */
  async function signedIn(user: { username: string; roles: string }, policy = testPolicy(emulator.apiHost)) {
    // The app needs its own origin as baseUrl, known once the server listens.
    const holder: { app?: TestApp } = {};
    const served = await serve((req, res) => holder.app!.app(req, res));
    const app = (holder.app = createTestApp({ emulator, policy, options: { baseUrl: served.base } }));
    closers.push(served.close, () => app.close());
    context = await browser!.newContext();
    const page = await context.newPage();
    const blocked: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|violates/i.test(message.text())) blocked.push(message.text());
    });
    const login = await context.request.post(`${served.base}/login`, { form: user });
    assert.equal(login.status(), 204);
    return { t: app, base: served.base, page, blocked };
  }

  /** Clicks `selector` and waits until the browser is on the emulator's Duo prompt. */
  async function clickToDuo(page: Page, selector: string, blocked: string[]): Promise<void> {
    await Promise.all([
      page.waitForURL((url) => url.origin === emulator.url, { timeout: 10_000 }),
      page.click(selector),
    ]).catch((error: unknown) => {
      throw new Error(
        `the browser did not reach Duo (${page.url()}); CSP: ${blocked.join(' | ') || 'none'}`,
        {
          cause: error,
        },
      );
    });
    assert.deepEqual(blocked, []);
  }

  it('grace period: "Set up Duo now" takes the browser to Duo', async () => {
    const policy = testPolicy(emulator.apiHost);
    policy.tenants.acme!.mfa.enforceFrom = '2999-01-01T00:00:00Z';
    const { t, base, page, blocked } = await signedIn({ username: 'dana', roles: '' }, policy);
    await page.goto(`${base}/private`);
    await page.waitForSelector('#duo-setup-now');
    assert.match((await page.textContent('h1')) ?? '', /Set up two-factor sign-in/);
    await screenshotWidths(page, '55-middleware-grace-offer');
    await clickToDuo(page, '#duo-setup-now', blocked);
    assert.equal(t.events.filter((e) => e.type === 'mfa.started').length, 1);
  });

  it('S42 a link from another site: "Continue to Duo" takes the browser to Duo', async () => {
    const { t, base, page, blocked } = await signedIn({ username: 'alice', roles: 'admin' });
    // localhost is another site than 127.0.0.1: the browser marks the navigation cross-site.
    const other = await serve((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><a id="go" href="${base}/private">Open the portal</a>`);
    }, 'localhost');
    closers.push(other.close);
    await page.goto(other.base);
    await Promise.all([page.waitForSelector('#duo-continue'), page.click('#go')]);
    assert.match((await page.textContent('h1')) ?? '', /Continue to Duo/);
    assert.equal(
      t.events.filter((e) => e.type === 'mfa.started').length,
      0,
      'nothing started before the click',
    );
    await screenshotWidths(page, '56-middleware-continue-to-duo');
    await clickToDuo(page, '#duo-continue', blocked);
    assert.equal(t.events.filter((e) => e.type === 'mfa.started').length, 1);
  });
});
