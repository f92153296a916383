// Browser-test plumbing: the system's Chromium through playwright-core (never a downloaded browser; see
// chromium.ts for where it is looked for), the example portal served on port 0 against an emulator on port 0, and
// screenshots into test-artifacts/screenshots/.

import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import tls from 'node:tls';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createApp, type PortalApp } from '../../example-app/app';
import type { AuditEvent } from '../../lib/index';
import { generateSecretsKey } from '../../lib/policy/index';
import type { DuoEmulator } from '../../lib/emulator/index';
import { capturingLogger, PASSWORD } from '../example-app/helpers';
import { chromiumOrSkipNotice } from './chromium';

export { exampleAdminApplications, exampleApplications, examplePolicy } from '../example-app/helpers';

export const SCREENSHOT_DIR = resolve(__dirname, '../../test-artifacts/screenshots');

let screenshotsCleared = false;

/**
 * Empties test-artifacts/screenshots/ once per test run (the first browser test file to start does it), so the
 * directory holds this run's pictures only, none left from renamed tests.
 */
export function clearScreenshotsOnce(): void {
  if (screenshotsCleared) return;
  screenshotsCleared = true;
  rmSync(SCREENSHOT_DIR, { recursive: true, force: true });
}

/**
 * The Chromium to launch, or undefined after printing the skip notice (the caller skips). Under CI=true a missing
 * browser throws instead: CI installs it.
 */
export function chromiumOrSkip(): string | undefined {
  const browser = chromiumOrSkipNotice();
  if ('path' in browser) return browser.path;
  console.warn(`\n    !! ${browser.notice}\n`);
  return undefined;
}

/**
 * base64(SHA-256(SubjectPublicKeyInfo)) of the certificate the emulator serves (it sends its leaf only), for
 * Chromium's --ignore-certificate-errors-spki-list: certificate errors are ignored for that key alone.
 */
export function emulatorSpkiHash(emulator: Pick<DuoEmulator, 'url' | 'ca'>): Promise<string> {
  const url = new URL(emulator.url);
  return new Promise((resolveHash, reject) => {
    const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca: emulator.ca }, () => {
      const certificate = socket.getPeerX509Certificate();
      socket.end();
      if (!certificate) return reject(new Error('the emulator sent no certificate'));
      const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
      resolveHash(createHash('sha256').update(spki).digest('base64'));
    });
    socket.once('error', reject);
  });
}

/** Launches the system Chromium headless, trusting the emulator's key only. */
export function launchChromium(executablePath: string, spkiHash: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-dev-shm-usage',
      `--ignore-certificate-errors-spki-list=${spkiHash}`,
    ],
    timeout: 30_000,
  });
}

export interface RunningPortal {
  readonly baseUrl: string;
  readonly app: PortalApp;
  readonly events: AuditEvent[];
  /** Everything the portal and the middleware logged (shown when a test fails). */
  readonly logs: string[];
  close(): Promise<void>;
}

/**
 * Serves the example portal on 127.0.0.1, port 0. `host` is the name the browser uses (baseUrl): `localhost`
 * makes the emulator (127.0.0.1) a different site, which is what SameSite=Strict is about.
 */
export async function startPortal(options: {
  emulator: Pick<DuoEmulator, 'ca'>;
  policy: string | object;
  sameSite?: 'lax' | 'strict';
  host?: '127.0.0.1' | 'localhost';
  /** Encrypts the secrets saved on MFA Settings. Default: a fresh key. */
  secretsKey?: string;
  /** How recent an admin's Duo approval must be on MFA Settings (the portal's own defaults otherwise). */
  recentDuo?: { page?: number | string; changes?: number | string };
}): Promise<RunningPortal> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://${options.host ?? '127.0.0.1'}:${port}`;
  const events: AuditEvent[] = [];
  const { logger, logs } = capturingLogger();
  const app = createApp({
    policy: options.policy,
    baseUrl,
    duoTls: { ca: options.emulator.ca },
    sameSite: options.sameSite ?? 'lax',
    sessionSecret: 'browser-test-session-secret',
    secretsKey: options.secretsKey ?? generateSecretsKey(),
    logger,
    onEvent: (event) => events.push(event),
    ...(options.recentDuo ? { recentDuo: options.recentDuo } : {}),
  });
  server.on('request', app);
  return {
    baseUrl,
    app,
    events,
    logs,
    close: () =>
      new Promise<void>((done) => {
        app.close();
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** The desktop viewport every context starts with, and the phone width the layout must also serve. */
export const DESKTOP = { width: 1280, height: 720 } as const;
export const PHONE = { width: 390, height: 844 } as const;

/** A full-page screenshot: test-artifacts/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/**
 * A portal page at both widths: <name>-1280.png and <name>-390.png (the page re-laid out at 390 px, then set back
 * to the desktop width).
 */
export async function screenshotWidths(page: Page, name: string): Promise<void> {
  const before = page.viewportSize() ?? DESKTOP;
  await page.setViewportSize(DESKTOP);
  await screenshot(page, `${name}-1280`);
  await page.setViewportSize(PHONE);
  await screenshot(page, `${name}-390`);
  await page.setViewportSize(before);
}

/** Fills the portal's login form and submits it (the page must be on /login). */
export async function fillSignIn(
  page: Page,
  who: { tenant?: string; username: string; password?: string },
): Promise<void> {
  await page.waitForSelector('body[data-page="login"]');
  await page.selectOption('#tenant', who.tenant ?? 'acme');
  await page.fill('#username', who.username);
  await page.fill('#password', who.password ?? PASSWORD);
}

/** Clicks a button and waits for the element the next page must show. */
export async function clickThrough(page: Page, buttonSelector: string, nextSelector: string): Promise<void> {
  await page.click(buttonSelector);
  await page.waitForSelector(nextSelector, { timeout: 15_000 });
}
