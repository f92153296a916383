// Every emulator page that ends a flow says so once and shows the way back to the application (issue 18, point 3).
import assert from 'node:assert/strict';
import { DuoAdapter } from '../../lib/duo/adapter';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import {
  OTHER_APP,
  REDIRECT_URL,
  TEST_APP,
  authorizeClaims,
  authorizePath,
  emulatorRequest,
  getPage,
  openPrompt,
  pushAndAnswer,
} from '../helpers/duo';

const APP_ORIGIN = new URL(REDIRECT_URL).origin;

/** The href of the #back-to-app link, or undefined. */
function backLink(html: string): string | undefined {
  return /<a class="back" id="back-to-app" href="([^"]*)"/.exec(html)?.[1];
}

/** How often `text` appears in the page's body text (the <title> aside). */
function occurrences(html: string, text: RegExp): number {
  const body = html.slice(html.indexOf('<body>'));
  return [...body.replace(/<[^>]*>/g, ' ').matchAll(new RegExp(text.source, 'gi'))].length;
}

describe('emulator dead-end pages', () => {
  let emulator: DuoEmulator;
  let adapter: DuoAdapter;
  before(async () => {
    emulator = await startDuoEmulator({ applications: [TEST_APP, OTHER_APP] });
    adapter = new DuoAdapter({ redirectUrl: REDIRECT_URL, timeoutMs: 5000, ca: emulator.ca });
  });
  after(async () => {
    adapter.close();
    await emulator.close();
  });
  afterEach(() => emulator.setClockOffset(0));

  const start = async (username: string) =>
    openPrompt(
      emulator,
      await adapter.createAuthUrl(
        { clientId: TEST_APP.clientId, clientSecret: TEST_APP.clientSecret, apiHost: emulator.apiHost },
        username,
        'dead-end-state-0123456789abcdefgh',
      ),
    );

  describe('when the browser comes back to a finished prompt (Back after Approve)', () => {
    it('says the login has expired once, and links back to the application', async () => {
      const first = await start('alice');
      await pushAndAnswer(emulator, first, 'approve');
      const page = await getPage(emulator, first.url);
      assert.equal(page.status, 400);
      assert.equal(occurrences(page.html, /This login has expired/), 1);
      assert.equal(occurrences(page.html, /sign in again/), 0, 'no second sentence repeating the first');
      assert.equal(backLink(page.html), `${APP_ORIGIN}/`);
      assert.match(page.html, />Back to Test Portal</);
      assert.equal(page.headers['cache-control'], 'no-store');
    });

    it('links back too when the prompt expired after 10 minutes', async () => {
      const page = await start('alice');
      emulator.setClockOffset(601);
      const late = await getPage(emulator, page.url);
      assert.equal(late.status, 400);
      assert.equal(backLink(late.html), `${APP_ORIGIN}/`);
    });

    it('says where to go, without a link, for a prompt the emulator never knew', async () => {
      const page = await getPage(emulator, '/frame/prompt?sid=never-issued');
      assert.equal(page.status, 400);
      assert.equal(backLink(page.html), undefined);
      assert.match(page.html, /id="where-to-go">Go back to the application you were signing in to/);
    });
  });

  describe('when the authorize request is invalid', () => {
    it('links back to the origin of a validly signed redirect_uri (an expired request)', async () => {
      const claims = authorizeClaims(emulator, OTHER_APP, 'alice', {
        exp: Math.round(Date.now() / 1000) - 120,
        redirect_uri: 'https://other.example.test/duo/callback',
      });
      const res = await emulatorRequest(emulator, 'GET', authorizePath(OTHER_APP, claims));
      assert.equal(res.status, 400);
      assert.match(res.body, /id="error-title">Invalid request</);
      assert.equal(occurrences(res.body, /expired/), 1);
      assert.equal(backLink(res.body), 'https://other.example.test/');
    });

    it('links back to the origin the client last used when the signature cannot be trusted', async () => {
      await start('alice'); // a valid request: the emulator now knows where Test Portal lives
      const res = await emulatorRequest(
        emulator,
        'GET',
        authorizePath(TEST_APP, authorizeClaims(emulator, TEST_APP, 'alice'), { secret: 'x'.repeat(40) }),
      );
      assert.equal(res.status, 400);
      assert.equal(backLink(res.body), `${APP_ORIGIN}/`);
    });

    it('never links to an unsigned redirect_uri of an unknown client', async () => {
      const stranger = { clientId: 'DIUNKNOWNCLIENT00000', clientSecret: 'u'.repeat(40) };
      const claims = authorizeClaims(emulator, stranger, 'alice', {
        redirect_uri: 'https://evil.example/cb',
      });
      const res = await emulatorRequest(emulator, 'GET', authorizePath(stranger, claims));
      assert.equal(res.status, 400);
      assert.equal(backLink(res.body), undefined);
      assert.doesNotMatch(res.body, /evil\.example/);
      assert.match(res.body, /id="where-to-go"/);
    });
  });

  describe('while the prompt is open', () => {
    it('every prompt page links back to the application (cancel)', async () => {
      const page = await start('alice');
      assert.match(page.html, new RegExp(`id="cancel-to-app" href="${APP_ORIGIN.replace(/\./g, '\\.')}/"`));
    });
  });
});
