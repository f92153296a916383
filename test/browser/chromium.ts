// Finding a Chromium or Chrome for the browser tests (never a downloaded one): CHROMIUM_PATH when set, else the
// usual install locations and the PATH. Missing: a loud skip notice locally, a failure under CI=true.

import { existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where Debian/Ubuntu packages, Google's packages, snaps and the macOS apps put the browser. */
export const USUAL_PLACES: readonly string[] = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/lib/chromium/chromium',
  '/snap/bin/chromium',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/opt/google/chrome/chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

/** Command names looked up on the PATH after the usual places. */
const COMMANDS = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];

/** How to get the browser tests running, for the skip notice and the CI failure. */
export const HOW_TO_ENABLE =
  'install it (Debian/Ubuntu: sudo apt-get install chromium) or point CHROMIUM_PATH at a Chromium or Chrome ' +
  '(CHROMIUM_PATH=/path/to/chrome npm test)';

/** Either the browser to launch, or why there is none. */
export type ChromiumLookup =
  { readonly found: true; readonly path: string } | { readonly found: false; readonly reason: string };

export interface LookupSeams {
  readonly env?: NodeJS.ProcessEnv;
  /** Whether a file exists and can be executed. Default: the real file system. */
  readonly isExecutable?: (path: string) => boolean;
}

/**
 * Finds the browser: `CHROMIUM_PATH` when set (and only it: a wrong value is reported, not silently replaced),
 * else the first of USUAL_PLACES, else a Chromium/Chrome command on the PATH.
 *
 * @example
 * ```ts
 * findChromium(); // { found: true, path: '/usr/bin/chromium' }
 * findChromium({ env: { CHROMIUM_PATH: '/nope' } }); // { found: false, reason: 'CHROMIUM_PATH=/nope: no such file' }
 * ```
 */
export function findChromium(seams: LookupSeams = {}): ChromiumLookup {
  const env = seams.env ?? process.env;
  const isExecutable = seams.isExecutable ?? executable;
  const chosen = env.CHROMIUM_PATH;
  if (chosen !== undefined && chosen !== '') {
    return isExecutable(chosen)
      ? { found: true, path: chosen }
      : { found: false, reason: `CHROMIUM_PATH=${chosen} is not an executable file` };
  }
  for (const path of USUAL_PLACES) if (isExecutable(path)) return { found: true, path };
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const command of COMMANDS) {
      const path = join(dir, command);
      if (isExecutable(path)) return { found: true, path };
    }
  }
  return {
    found: false,
    reason: `no Chromium or Chrome found (looked in ${USUAL_PLACES[0]} and the usual places, then the PATH)`,
  };
}

/**
 * The browser to launch, or the notice to print when there is none. Under `CI=true` a missing browser throws:
 * CI installs it, so its absence is a broken set-up, never a reason to skip.
 *
 * @example
 * ```ts
 * const browser = chromiumOrSkipNotice();
 * if ('notice' in browser) { console.warn(browser.notice); this.skip(); }
 * ```
 */
export function chromiumOrSkipNotice(seams: LookupSeams = {}): { path: string } | { notice: string } {
  const env = seams.env ?? process.env;
  const lookup = findChromium(seams);
  if (lookup.found) return { path: lookup.path };
  if (env.CI === 'true') {
    throw new Error(`Browser tests need Chromium under CI=true: ${lookup.reason}. To fix: ${HOW_TO_ENABLE}.`);
  }
  return {
    notice: `BROWSER TESTS SKIPPED — ${lookup.reason}. To run them: ${HOW_TO_ENABLE}.`,
  };
}

function executable(path: string): boolean {
  try {
    if (!existsSync(path) || !statSync(path).isFile()) return false;
    return process.platform === 'win32' || (statSync(path).mode & 0o111) !== 0;
  } catch {
    return false;
  }
}
