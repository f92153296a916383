// Where the browser tests find Chromium (CHROMIUM_PATH, the usual places, the PATH), and what `npm test` says
// when there is none: a clear skip notice with how to enable them, or a failure under CI=true.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromiumOrSkipNotice, findChromium, USUAL_PLACES } from './chromium';

const ROOT = resolve(__dirname, '../..');

/** Runs the browser suite in a child mocha, as `npm test` would, with `env` on top of this one's. */
function runBrowserSuite(
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'node_modules/mocha/bin/mocha.js'),
        '--no-config',
        '--node-option',
        'import=tsx',
        '--extension',
        'ts',
        '--reporter',
        'spec',
        'test/browser/portal.test.ts',
      ],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => done({ code, output }));
  });
}

describe('browser tests: finding Chromium', () => {
  describe('findChromium', () => {
    it('honours CHROMIUM_PATH, and reports a wrong one instead of looking elsewhere', () => {
      const everything = () => true;
      assert.deepEqual(
        findChromium({ env: { CHROMIUM_PATH: '/opt/chrome/chrome' }, isExecutable: everything }),
        {
          found: true,
          path: '/opt/chrome/chrome',
        },
      );
      assert.deepEqual(
        findChromium({
          env: { CHROMIUM_PATH: '/nope/chromium' },
          isExecutable: (p) => p !== '/nope/chromium',
        }),
        { found: false, reason: 'CHROMIUM_PATH=/nope/chromium is not an executable file' },
      );
    });

    it('looks in the usual places first (Debian, Ubuntu, Google Chrome, snap, macOS), then on the PATH', () => {
      assert.ok(
        USUAL_PLACES.includes('/usr/bin/chromium') && USUAL_PLACES.includes('/usr/bin/google-chrome'),
      );
      const only = (path: string) => (candidate: string) => candidate === path;
      assert.deepEqual(findChromium({ env: {}, isExecutable: only('/usr/bin/google-chrome-stable') }), {
        found: true,
        path: '/usr/bin/google-chrome-stable',
      });
      assert.deepEqual(
        findChromium({
          env: { PATH: '/home/me/bin:/custom/bin' },
          isExecutable: only('/custom/bin/chromium'),
        }),
        { found: true, path: '/custom/bin/chromium' },
      );
      assert.equal(findChromium({ env: { PATH: '/custom/bin' }, isExecutable: () => false }).found, false);
    });

    it('accepts a real executable file given in CHROMIUM_PATH, and refuses a file that cannot be executed', () => {
      const dir = mkdtempSync(join(tmpdir(), 'chromium-path-'));
      try {
        const file = join(dir, 'my-chrome');
        writeFileSync(file, '#!/bin/sh\n');
        chmodSync(file, 0o644);
        assert.equal(findChromium({ env: { CHROMIUM_PATH: file } }).found, false);
        chmodSync(file, 0o755);
        assert.deepEqual(findChromium({ env: { CHROMIUM_PATH: file } }), { found: true, path: file });
        assert.equal(
          findChromium({ env: { CHROMIUM_PATH: dir } }).found,
          false,
          'a directory is not a browser',
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('without a browser', () => {
    const none = { isExecutable: () => false };

    it('gives a skip notice saying how to enable the tests when CI is not set', () => {
      const result = chromiumOrSkipNotice({ env: {}, ...none });
      assert.ok('notice' in result);
      assert.match(result.notice, /^BROWSER TESTS SKIPPED — no Chromium or Chrome found/);
      assert.match(result.notice, /apt-get install chromium/);
      assert.match(result.notice, /CHROMIUM_PATH=\/path\/to\/chrome npm test/);
    });

    it('fails under CI=true, where CI installs the browser', () => {
      assert.throws(
        () => chromiumOrSkipNotice({ env: { CI: 'true', CHROMIUM_PATH: '/nope' }, ...none }),
        /Browser tests need Chromium under CI=true: CHROMIUM_PATH=\/nope is not an executable file\. To fix: install it/,
      );
    });

    it('`npm test` prints the notice and skips the suite with a bogus CHROMIUM_PATH (CI unset), and fails with CI=true', async function () {
      this.timeout(60_000);
      const skipped = await runBrowserSuite({ CHROMIUM_PATH: '/nonexistent/chromium', CI: undefined });
      assert.equal(skipped.code, 0, skipped.output);
      assert.match(
        skipped.output,
        /!! BROWSER TESTS SKIPPED — CHROMIUM_PATH=\/nonexistent\/chromium is not an executable file\. To run them: install it \(Debian\/Ubuntu: sudo apt-get install chromium\) or point CHROMIUM_PATH at a Chromium or Chrome/,
      );
      assert.match(skipped.output, /0 passing/);
      assert.match(skipped.output, /\d+ pending/);

      const failed = await runBrowserSuite({ CHROMIUM_PATH: '/nonexistent/chromium', CI: 'true' });
      assert.notEqual(failed.code, 0);
      assert.match(failed.output, /Browser tests need Chromium under CI=true/);
    });
  });
});
