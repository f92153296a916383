// A whole login through the middleware and the emulator, with the reliability Browser (no keep-alive, own jar).

import assert from 'node:assert/strict';
import type { AuditEvent } from '../../../lib/index';
import { followAuthorize } from '../../helpers/duo';
import type { Browser, HttpResult } from './http';

/** Marks the test app's routes answer with private data: seeing one means the gate let the request through. */
export const PRIVATE_MARKERS = [
  'the data',
  'private page for',
  'secret-bytes',
  'payout page',
  '"paid"',
  'written',
];

/** True when a response carries data only a verified (or exempt) user may see. */
export function leaksPrivateData(res: HttpResult): boolean {
  return res.status < 300 && PRIVATE_MARKERS.some((marker) => res.text.includes(marker));
}

/** A page navigation that must be sent to Duo: returns the authorize URL. */
export async function startMfa(browser: Browser, path = '/private'): Promise<URL> {
  const res = await browser.navigate(path);
  assert.equal(
    res.status,
    303,
    `expected a redirect to Duo for ${path}, got ${res.status}: ${res.text.slice(0, 300)}`,
  );
  const target = String(res.headers.location);
  assert.ok(
    URL.canParse(target) && new URL(target).pathname === '/oauth/v1/authorize',
    `expected a redirect to Duo for ${path}, got a 303 to ${target}`,
  );
  const location = new URL(target);
  return location;
}

/** Duo (the emulator in auto mode) answers the authorize URL: the callback path+query on our app. */
export async function duoCallback(emulator: { ca: string }, authUrl: URL): Promise<string> {
  const callback = await followAuthorize(emulator, authUrl.toString());
  return callback.pathname + callback.search;
}

/** Password login, Duo, callback: returns the callback's response (303 on success). */
export async function fullLogin(
  browser: Browser,
  emulator: { ca: string },
  user: { username: string; tenant?: string; roles?: string[] },
  path = '/private',
): Promise<HttpResult> {
  const login = await browser.login(user);
  assert.equal(login.status, 204, `login answered ${login.status}: ${login.text.slice(0, 200)}`);
  const authUrl = await startMfa(browser, path);
  return browser.navigate(await duoCallback(emulator, authUrl));
}

export function eventsOf(events: readonly AuditEvent[], type: string): AuditEvent[] {
  return events.filter((event) => event.type === type);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 20 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** p50 / p95 / max of a list of durations, rounded to ms. */
export function percentiles(values: readonly number[]): { n: number; p50: number; p95: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { n: sorted.length, p50: at(0.5), p95: at(0.95), max: Math.round(sorted[sorted.length - 1] ?? 0) };
}
