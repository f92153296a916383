// S4 through an ignored prefix: a path holding a dot segment, or an encoded dot, slash or backslash, is gated like
// any other — what serves it (express.static here) may decode and normalise it into a path outside the prefix.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import session from 'express-session';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import { createDuoMfa, type DuoMfaMiddleware } from '../../lib/middleware/index';
import { ALL_APPS, BASE_URL, testPolicy } from '../helpers/app';
import { Browser, listen, type Listening } from '../reliability/helpers/http';

const SECRET = 'CONFIDENTIAL-Q3';

describe('ignore: paths that could leave their prefix (S4)', () => {
  let emulator: DuoEmulator;
  let root: string;
  let mfa: DuoMfaMiddleware;
  let server: Listening;

  before(async () => {
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
    root = mkdtempSync(join(tmpdir(), 'duo-mfa-ignore-'));
    mkdirSync(join(root, 'assets'));
    mkdirSync(join(root, 'reports'));
    writeFileSync(join(root, 'assets', 'app.css'), 'body{}');
    writeFileSync(join(root, 'reports', 'q3.pdf'), SECRET);
    const app = express();
    app.use(session({ secret: 'test', resave: false, saveUninitialized: false }));
    app.use(express.json());
    app.post('/login', (req, res) => {
      (req.session as unknown as Record<string, unknown>).user = req.body as unknown;
      res.status(204).end();
    });
    mfa = createDuoMfa({
      policy: testPolicy(emulator.apiHost),
      baseUrl: BASE_URL,
      duoTls: { ca: emulator.ca },
      ignore: ['/login', '/assets', /^\/static\//],
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    app.use(mfa);
    // Public assets under /assets and /static; everything else (the reports) is meant to be behind Duo.
    app.use(express.static(root));
    app.use('/static', express.static(join(root, 'assets')));
    server = await listen(app);
  });
  after(async () => {
    mfa?.close();
    await server?.close();
    await emulator?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('S4 a gated file is never served through ../ or an encoded dot or slash under an ignored prefix, before Duo', async () => {
    const browser = new Browser(server.url);
    assert.equal((await browser.login({ username: 'alice', roles: ['admin'] })).status, 204);
    // The prefixes still work, and the file itself is gated.
    assert.equal((await browser.api('GET', '/assets/app.css')).text, 'body{}');
    assert.equal((await browser.api('GET', '/static/app.css')).text, 'body{}');
    assert.equal((await browser.api('GET', '/reports/q3.pdf')).status, 401);
    for (const path of [
      '/assets/../reports/q3.pdf',
      '/assets/..%2Freports/q3.pdf',
      '/assets/%2e%2e/reports/q3.pdf',
      '/assets/%2E%2E%2Freports%2Fq3.pdf',
      '/assets/./../reports/q3.pdf',
      '/static/../reports/q3.pdf',
      '/static/../../reports/q3.pdf',
      '/static/..%2f..%2freports/q3.pdf',
    ]) {
      const res = await browser.api('GET', path);
      assert.notEqual(res.text, SECRET, `${path} served the gated file`);
      assert.equal(res.status, 401, `${path}: ${res.status} ${res.text.slice(0, 100)}`);
    }
  });

  it('a path with a dot segment under an ignored prefix is still served to someone not signed in (no lock-out)', async () => {
    const anonymous = new Browser(server.url);
    // The gate passes visitors who are not signed in; the static server decides what they get.
    assert.equal((await anonymous.api('GET', '/assets/./app.css')).text, 'body{}');
  });
});
