// The interactive prompt: enrollment, "Send me a Push", the emulated phone's Approve / Deny, the device check,
// and the code each path ends with (exchanged through the real adapter).
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { DuoAdapter } from '../../lib/duo/adapter';
import { isDuoMfaError } from '../../lib/errors';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import { activationPattern, activationSvg } from '../../lib/emulator/pages';
import {
  REDIRECT_URL,
  TEST_APP,
  clickAndFollow,
  parseForms,
  tokenForm,
  emulatorRequest,
  clickButton,
  enroll,
  getPage,
  openPrompt,
  pushAndAnswer,
  type PromptPage,
} from '../helpers/duo';

const EMPTY_ICON = '<link rel="icon" href="data:,">';

describe('emulator interactive prompt', () => {
  let emulator: DuoEmulator;
  let adapter: DuoAdapter;
  const credentials = () => ({
    clientId: TEST_APP.clientId,
    clientSecret: TEST_APP.clientSecret,
    apiHost: emulator.apiHost,
  });

  before(async () => {
    emulator = await startDuoEmulator({ applications: [TEST_APP] });
    adapter = new DuoAdapter({ redirectUrl: REDIRECT_URL, timeoutMs: 5000, ca: emulator.ca });
  });
  after(async () => {
    adapter.close();
    await emulator.close();
  });

  const state = 'interactive-state-0123456789abcdef';
  const start = async (username: string) =>
    openPrompt(emulator, await adapter.createAuthUrl(credentials(), username, state));
  /** The id_token's claims for a code, exchanged by hand (the adapter hides denied tokens behind an error). */
  const idToken = async (code: string) => {
    const res = await emulatorRequest(emulator, 'POST', '/oauth/v1/token', {
      form: tokenForm(emulator, TEST_APP, code),
    });
    assert.equal(res.status, 200, res.body);
    return decodeJwt(res.json.id_token) as Record<string, any>;
  };
  const codeFrom = (location: URL) => {
    assert.equal(location.origin + location.pathname, REDIRECT_URL);
    assert.equal(location.searchParams.get('state'), state);
    const code = location.searchParams.get('duo_code');
    assert.ok(code, `no duo_code in ${location.href}`);
    return code;
  };
  const assertSafePage = (page: PromptPage) => {
    assert.equal(page.status, 200);
    assert.equal(page.headers['cache-control'], 'no-store');
    const csp = String(page.headers['content-security-policy']);
    const nonce = /style-src 'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce, `no style nonce in ${csp}`);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /form-action 'self' https:\/\/app\.example\.test(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.ok(page.html.includes(`<style nonce="${nonce}">`));
    // The one link: an empty inline icon, so a browser asks the emulator for no /favicon.ico (a 404 otherwise).
    assert.ok(page.html.includes(EMPTY_ICON), 'the page names an inline icon');
    assert.match(csp, /img-src [^;]*data:/, 'the CSP lets the inline icon load');
    assert.doesNotMatch(page.html.replace(EMPTY_ICON, ''), /<script|<link|<img|src=/i);
  };

  describe('when an enrolled user approves the push', () => {
    it('shows "Send me a Push", then the push, then redirects with a code the adapter accepts', async () => {
      const page = await start('alice');
      assertSafePage(page);
      assert.match(page.html, /id="send-push"/);
      const pushed = await clickAndFollow(emulator, page, 'send-push');
      assertSafePage(pushed.page!);
      assert.match(pushed.page!.html, /Pushed a login request to your device…/);
      assert.match(pushed.page!.html, /id="approve"/);
      assert.match(pushed.page!.html, /id="deny"/);
      const done = await clickAndFollow(emulator, pushed.page!, 'approve');
      const result = await adapter.exchange(credentials(), codeFrom(done.done!), 'alice');
      assert.equal(result.result, 'allow');
      assert.equal(result.reason, 'user_approved');
      assert.equal(result.factor, 'duo_push');
    });
  });

  describe('when the user presses Deny or Report fraud on the emulated phone (S47)', () => {
    it('offers Approve, Deny and Report fraud as separate buttons', async () => {
      const pushed = await clickAndFollow(emulator, await start('bob'), 'send-push');
      const buttons = parseForms(pushed.page!.html).flatMap((form) => Object.keys(form.buttons));
      assert.deepEqual(buttons, ['approve', 'deny', 'report-fraud']);
    });

    it('Deny redirects with a code whose token is a plain deny (user_mistake): ERR_DUO_DENIED', async () => {
      const location = await pushAndAnswer(emulator, await start('bob'), 'deny');
      await assert.rejects(adapter.exchange(credentials(), codeFrom(location), 'bob'), (error) => {
        assert.ok(isDuoMfaError(error, 'ERR_DUO_DENIED'));
        assert.equal(error.details.reason, 'user_mistake');
        assert.equal(error.details.status, 'deny');
        return true;
      });
    });

    it('Report fraud redirects with a code whose token says fraud (user_marked_fraud): ERR_DUO_DENIED', async () => {
      const location = await pushAndAnswer(emulator, await start('bob'), 'report-fraud');
      await assert.rejects(adapter.exchange(credentials(), codeFrom(location), 'bob'), (error) => {
        assert.ok(isDuoMfaError(error, 'ERR_DUO_DENIED'));
        assert.equal(error.details.reason, 'user_marked_fraud');
        assert.equal(error.details.status, 'deny');
        return true;
      });
    });

    it('gives the two distinct auth_context results Duo logs: denied and fraud', async () => {
      const results: Array<[string, string]> = [];
      for (const answer of ['deny', 'report-fraud'] as const) {
        const location = await pushAndAnswer(emulator, await start('bob'), answer);
        const claims = await idToken(codeFrom(location));
        results.push([claims.auth_context.result, claims.auth_context.reason]);
        assert.equal(claims.auth_context.factor, 'duo_push');
      }
      assert.deepEqual(results, [
        ['denied', 'user_mistake'],
        ['fraud', 'user_marked_fraud'],
      ]);
    });
  });

  describe('when the user is scripted to deny or error and approves anyway', () => {
    it('denies with denied_by_policy, or the scripted reason', async () => {
      emulator.setUser('carol', { result: 'deny' });
      let location = await pushAndAnswer(emulator, await start('carol'), 'approve');
      await assert.rejects(
        adapter.exchange(credentials(), codeFrom(location), 'carol'),
        (error) => isDuoMfaError(error, 'ERR_DUO_DENIED') && error.details.reason === 'denied_by_policy',
      );
      emulator.setUser('carol', { result: 'deny', reason: 'location_restricted' });
      location = await pushAndAnswer(emulator, await start('carol'), 'approve');
      await assert.rejects(
        adapter.exchange(credentials(), codeFrom(location), 'carol'),
        (error) => isDuoMfaError(error, 'ERR_DUO_DENIED') && error.details.reason === 'location_restricted',
      );
    });

    it('sends Duo’s error redirect for result "error"', async () => {
      emulator.setUser('erin', { result: 'error' });
      const location = await pushAndAnswer(emulator, await start('erin'), 'approve');
      assert.equal(location.searchParams.get('error'), 'access_denied');
      assert.equal(location.searchParams.get('state'), state);
      assert.equal(location.searchParams.get('duo_code'), null);
    });
  });

  describe('when the user is not enrolled', () => {
    it('walks through enrollment (welcome, mobile phone, number, type, install, QR) before the push', async () => {
      emulator.setUser('newbie', { enrolled: false });
      let page = await start('newbie');
      assertSafePage(page);
      assert.match(page.html, /<h1>Protect your account<\/h1>/);
      const steps: Array<[string, RegExp, Record<string, string>?]> = [
        ['enroll-start', /Select an option/],
        ['enroll-mobile', /Enter your phone number/],
        ['enroll-phone-continue', /What type of phone is \+1 734 555 0142\?/, { phone: '+1 734 555 0142' }],
        ['enroll-platform-continue', /Install Duo Mobile/, { platform: 'Android' }],
        ['enroll-installed', /Scan this QR code/],
      ];
      for (const [button, next, extra] of steps) {
        const result = await clickAndFollow(emulator, page, button, extra);
        page = result.page!;
        assertSafePage(page);
        assert.match(page.html, next, `after #${button}`);
      }
      assert.match(page.html, /<svg[^>]*id="activation-qr"/);
      assert.match(page.html, /Emulator stand-in/);
      const code = /id="activation-code">([A-Z0-9-]+)</.exec(page.html)?.[1];
      assert.match(String(code), /^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$/);
      page = (await clickAndFollow(emulator, page, 'enroll-activate-continue')).page!;
      assert.match(page.html, /You're all set/);
      assert.match(page.html, /id="send-push"/);

      const location = await pushAndAnswer(emulator, page, 'approve');
      const result = await adapter.exchange(credentials(), codeFrom(location), 'newbie');
      assert.equal(result.authDevice?.name, '+1 734 555 0142');

      const again = await start('newbie');
      assert.match(again.html, /id="send-push"/, 'an enrolled user is not enrolled twice');
    });

    it('records the phone enrolled as the device Duo pushes to (auth_device)', async () => {
      emulator.setUser('frank', { enrolled: false });
      const page = await enroll(emulator, await start('frank'), {
        phone: '+44 20 7946 0018',
        platform: 'Android',
      });
      const location = await pushAndAnswer(emulator, page, 'approve');
      const result = await adapter.exchange(credentials(), codeFrom(location), 'frank');
      assert.equal(result.authDevice?.name, '+44 20 7946 0018');
    });

    it('keeps the user on the phone page with a notice for an invalid number', async () => {
      emulator.setUser('typo', { enrolled: false });
      let page = await start('typo');
      page = (await clickAndFollow(emulator, page, 'enroll-start')).page!;
      page = (await clickAndFollow(emulator, page, 'enroll-mobile')).page!;
      page = (await clickAndFollow(emulator, page, 'enroll-phone-continue', { phone: 'call me maybe' }))
        .page!;
      assert.match(page.html, /id="notice"/);
      assert.match(page.html, /id="phone-number"/);
    });

    it('cannot skip enrollment by posting a later step’s action', async () => {
      emulator.setUser('skipper', { enrolled: false });
      const page = await start('skipper');
      const res = await clickButton(
        emulator,
        { ...page, html: page.html.replace('value="enroll-start"', 'value="approve"') },
        'enroll-start',
      );
      assert.equal(res.status, 303);
      assert.match(String(res.headers.location), /^\/frame\/prompt\?sid=/);
      const same = await getPage(emulator, String(res.headers.location));
      assert.match(same.html, /Protect your account/);
    });

    it('treats a username never set as enrolled', async () => {
      const page = await start('never-set-user');
      assert.match(page.html, /id="send-push"/);
    });

    it('draws the same stand-in pattern for the same activation code, another for another code', () => {
      assert.equal(activationSvg('ABCD-EFGH'), activationSvg('ABCD-EFGH'));
      assert.notEqual(activationSvg('ABCD-EFGH'), activationSvg('ABCD-EFGI'));
      const pattern = activationPattern('ABCD-EFGH');
      assert.equal(pattern.length, 29);
      assert.deepEqual(pattern[0]!.slice(0, 8), [true, true, true, true, true, true, true, false]);
    });
  });

  describe('when the user has a device', () => {
    it('shows the device check (platform and trust) after Approve, then redirects', async () => {
      emulator.setUser('dana', { device: { platform: 'iOS', trusted: 'not trusted' } });
      let page = (await clickAndFollow(emulator, await start('dana'), 'send-push')).page!;
      page = (await clickAndFollow(emulator, page, 'approve')).page!;
      assertSafePage(page);
      assert.match(page.html, /Checking your device with Duo Mobile…/);
      assert.match(page.html, /id="device-platform">iOS</);
      assert.match(page.html, /id="device-trust"[^>]*>not trusted</);
      const done = await clickAndFollow(emulator, page, 'device-continue');
      const result = await adapter.exchange(credentials(), codeFrom(done.done!), 'dana');
      assert.equal(result.device.trusted, 'not trusted');
      assert.equal(result.device.os, 'iOS');
    });
  });

  describe('when the username contains HTML', () => {
    it('escapes it on every page', async () => {
      const username = '<script>alert(1)</script>';
      emulator.setUser(username, { enrolled: false });
      const pages = [await start(username)];
      for (const button of ['enroll-start', 'enroll-mobile']) {
        pages.push((await clickAndFollow(emulator, pages.at(-1)!, button)).page!);
      }
      emulator.setUser(username, { device: { platform: 'Android', trusted: 'trusted' } });
      pages.push(await start(username));
      pages.push((await clickAndFollow(emulator, pages.at(-1)!, 'send-push')).page!);
      pages.push((await clickAndFollow(emulator, pages.at(-1)!, 'approve')).page!);
      for (const page of pages) assert.ok(!page.html.includes('<script'), page.html);
      assert.ok(pages[0]!.html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
      assert.ok(pages.at(-1)!.html.includes('Checking your device'));
    });
  });

  describe('when the prompt is unknown or finished', () => {
    it('shows an error page (400) for an unknown id', async () => {
      const page = await getPage(emulator, '/frame/prompt?sid=nope');
      assert.equal(page.status, 400);
      assert.match(page.html, /This login has expired/);
    });

    it('shows an error page for a prompt already completed (back button)', async () => {
      const first = await start('alice');
      await pushAndAnswer(emulator, first, 'approve');
      assert.equal((await getPage(emulator, first.url)).status, 400);
    });

    it('forgets a prompt after 10 minutes', async () => {
      const page = await start('alice');
      emulator.setClockOffset(601);
      try {
        assert.equal((await getPage(emulator, page.url)).status, 400);
      } finally {
        emulator.setClockOffset(0);
      }
    });
  });
});
