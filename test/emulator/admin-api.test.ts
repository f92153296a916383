// The Duo Admin API calls staff onboarding uses, through the real @duosecurity/duo_api client: users shared with
// the prompt, Duo's signature check, reactivation that sends the next login through enrollment again, and
// bypass codes that the prompt accepts once each.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { DuoAdapter } from '../../lib/duo/adapter';
import { isDuoMfaError } from '../../lib/errors';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import {
  ADMIN_APP,
  REDIRECT_URL,
  TEST_APP,
  adminApiCall,
  clickAndFollow,
  emulatorRequest,
  enroll,
  issueCode,
  openPrompt,
  pushAndAnswer,
  type PromptPage,
} from '../helpers/duo';

const duoSig = createRequire(__filename)('@duosecurity/duo_api/lib/duo_sig') as {
  sign(
    ikey: string,
    skey: string,
    method: string,
    host: string,
    path: string,
    params: object,
    date: string,
  ): string;
};

const SIGNATURE_FAIL = { code: 40103, message: 'Invalid signature in request credentials', stat: 'FAIL' };

describe('emulator Admin API', () => {
  let emulator: DuoEmulator;
  let adapter: DuoAdapter;
  const credentials = () => ({
    clientId: TEST_APP.clientId,
    clientSecret: TEST_APP.clientSecret,
    apiHost: emulator.apiHost,
  });

  before(async () => {
    emulator = await startDuoEmulator({ applications: [TEST_APP], adminApplications: [ADMIN_APP] });
    adapter = new DuoAdapter({ redirectUrl: REDIRECT_URL, timeoutMs: 5000, ca: emulator.ca });
  });
  after(async () => {
    adapter.close();
    await emulator.close();
  });
  afterEach(() => {
    emulator.setMode('interactive');
    emulator.setClockOffset(0);
  });

  const call = (method: 'GET' | 'POST' | 'DELETE', path: string, params: Record<string, string> = {}) =>
    adminApiCall(emulator, method, path, params);
  const lookup = async (username: string) => {
    const body = await call('GET', '/admin/v1/users', { username });
    assert.equal(body.stat, 'OK', JSON.stringify(body));
    return body.response[0] as Record<string, any> | undefined;
  };
  const state = 'admin-api-state-0123456789abcdefghij';
  const start = async (username: string) =>
    openPrompt(emulator, await adapter.createAuthUrl(credentials(), username, state));
  const codeFrom = (location: URL) => {
    assert.equal(location.searchParams.get('state'), state);
    return location.searchParams.get('duo_code')!;
  };

  describe('GET /admin/v1/users?username=', () => {
    it('answers Duo’s user object with the phone, status, enrollment and last login', async () => {
      emulator.setUser('alice', {});
      const user = await lookup('alice');
      assert.ok(user);
      assert.match(user.user_id, /^DU[A-Z0-9]{18}$/);
      assert.equal(user.username, 'alice');
      assert.equal(user.status, 'active');
      assert.equal(user.is_enrolled, true);
      assert.equal(user.last_login, null);
      assert.equal(typeof user.created, 'number');
      for (const key of [
        'email',
        'realname',
        'groups',
        'tokens',
        'webauthncredentials',
        'u2ftokens',
        'aliases',
      ]) {
        assert.ok(key in user, `user.${key}`);
      }
      assert.equal(user.phones.length, 1);
      const [phone] = user.phones;
      assert.match(phone.phone_id, /^DP[A-Z0-9]{18}$/);
      assert.equal(phone.number, '+17345550100');
      assert.equal(phone.platform, 'Apple iOS');
      assert.equal(phone.model, 'Apple iPhone 15');
      assert.equal(phone.type, 'Mobile');
      assert.equal(phone.activated, true);
      assert.match(phone.last_seen, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
      assert.deepEqual(phone.capabilities, ['auto', 'push', 'sms', 'phone', 'mobile_otp']);

      emulator.setMode('auto');
      const before = Math.floor(Date.now() / 1000);
      await issueCode(emulator, TEST_APP, 'alice');
      const after = await lookup('alice');
      assert.ok(
        after!.last_login >= before && after!.last_login <= before + 2,
        `last_login ${after!.last_login}`,
      );
    });

    it('answers an empty list for a username Duo does not know', async () => {
      assert.deepEqual(await call('GET', '/admin/v1/users', { username: 'nobody-here' }), {
        stat: 'OK',
        response: [],
      });
    });

    it('reports bypass, disabled and locked-out statuses, and an unenrolled user without phones', async () => {
      for (const status of ['bypass', 'disabled', 'locked out'] as const) {
        emulator.setUser('status-user', { status });
        const user = await lookup('status-user');
        assert.equal(user!.status, status);
        assert.equal(user!.lockout_reason, status === 'locked out' ? 'Failed Attempts' : null);
      }
      emulator.setUser('newbie', { enrolled: false });
      const newbie = await lookup('newbie');
      assert.equal(newbie!.is_enrolled, false);
      assert.deepEqual(newbie!.phones, []);
    });

    it('shows the phone enrolled in the prompt (Android, its number)', async () => {
      emulator.setUser('enrollee', { enrolled: false });
      await pushAndAnswer(
        emulator,
        await enroll(emulator, await start('enrollee'), { phone: '+44 20 7946 0018', platform: 'Android' }),
        'approve',
      );
      const user = await lookup('enrollee');
      assert.equal(user!.is_enrolled, true);
      assert.equal(user!.phones[0].number, '+442079460018');
      assert.equal(user!.phones[0].platform, 'Google Android');
      assert.ok(user!.last_login > 0);
    });
  });

  describe('GET /admin/v1/users/{user_id} and /phones', () => {
    it('answers the user and their phones, and Duo’s 404 for an unknown id', async () => {
      emulator.setUser('bob', {});
      const user = await lookup('bob');
      const byId = await call('GET', `/admin/v1/users/${user!.user_id}`);
      assert.deepEqual(byId, { stat: 'OK', response: user });
      const phones = await call('GET', `/admin/v1/users/${user!.user_id}/phones`);
      assert.deepEqual(phones, { stat: 'OK', response: user!.phones });
      assert.deepEqual(await call('GET', '/admin/v1/users/DU000000000000000000'), {
        stat: 'FAIL',
        code: 40401,
        message: 'Resource not found',
      });
      assert.deepEqual(await call('GET', '/admin/v1/no/such/thing'), {
        stat: 'FAIL',
        code: 40401,
        message: 'Resource not found',
      });
    });
  });

  describe('reactivating Duo Mobile', () => {
    it('activation_url: the old activation stops, the next login enrolls again, the link activates once', async () => {
      emulator.setUser('carol', {});
      const phoneId = (await lookup('carol'))!.phones[0].phone_id;
      const body = await call('POST', `/admin/v1/phones/${phoneId}/activation_url`, {
        valid_secs: '3600',
        install: '1',
      });
      assert.equal(body.stat, 'OK', JSON.stringify(body));
      assert.deepEqual(Object.keys(body.response).sort(), [
        'activation_barcode',
        'activation_url',
        'installation_url',
        'valid_secs',
      ]);
      assert.equal(body.response.valid_secs, 3600);
      assert.match(
        body.response.activation_url,
        new RegExp(`^https://${emulator.apiHost.replace(/\./g, '\\.')}/activate/[A-Z0-9]{20}$`),
      );
      assert.match(body.response.activation_barcode, /\/frame\/qr\?value=duo%3A%2F%2F/);

      const after = await lookup('carol');
      assert.equal(after!.is_enrolled, false);
      assert.equal(after!.phones[0].activated, false);
      const page = await start('carol');
      assert.match(page.html, /id="enroll-start"/, 'the next login goes through enrollment again');

      const opened = await emulatorRequest(emulator, 'GET', new URL(body.response.activation_url).pathname);
      assert.equal(opened.status, 200);
      assert.match(opened.body, /Duo Mobile is activated/);
      assert.equal((await lookup('carol'))!.phones[0].activated, true);
      assert.match((await start('carol')).html, /id="send-push"/);
      const again = await emulatorRequest(emulator, 'GET', new URL(body.response.activation_url).pathname);
      assert.equal(again.status, 400);
      assert.match(again.body, /This activation link has expired/);

      const qr = await emulatorRequest(
        emulator,
        'GET',
        new URL(body.response.activation_barcode).pathname + new URL(body.response.activation_barcode).search,
      );
      assert.equal(qr.headers['content-type'], 'image/svg+xml');
    });

    it('send_sms_activation: texts the activation (and installation) link to the phone', async () => {
      emulator.setUser('dave', {});
      const phoneId = (await lookup('dave'))!.phones[0].phone_id;
      const sent = emulator.sms.length;
      const body = await call('POST', `/admin/v1/phones/${phoneId}/send_sms_activation`, { install: '1' });
      assert.equal(body.stat, 'OK', JSON.stringify(body));
      assert.equal(body.response.valid_secs, 86400);
      assert.match(
        body.response.activation_msg,
        /^To activate the Duo Mobile app, click this link: https:\/\/.+\/activate\/[A-Z0-9]{20}$/,
      );
      assert.match(
        body.response.installation_msg,
        /^Welcome to Duo! To install the Duo Mobile app, click this link: https:\/\//,
      );
      const messages = emulator.sms.slice(sent);
      assert.deepEqual(
        messages.map((m) => [m.to, m.body]),
        [
          ['+17345550100', body.response.installation_msg],
          ['+17345550100', body.response.activation_msg],
        ],
      );
      assert.equal((await lookup('dave'))!.is_enrolled, false);

      const custom = await call('POST', `/admin/v1/phones/${phoneId}/send_sms_activation`, {
        activation_msg: 'Hi <acturl> bye',
      });
      assert.match(custom.response.activation_msg, /^Hi https:\/\/\S+ bye$/);
      assert.equal(custom.response.installation_msg, undefined);
      assert.deepEqual(
        await call('POST', `/admin/v1/phones/${phoneId}/send_sms_activation`, { activation_msg: 'no link' }),
        {
          stat: 'FAIL',
          code: 40002,
          message: 'Invalid request parameters',
          message_detail: 'activation_msg',
        },
      );
    });

    it('a newer activation replaces an older link, and an expired link is refused', async () => {
      emulator.setUser('erin', {});
      const phoneId = (await lookup('erin'))!.phones[0].phone_id;
      const first = await call('POST', `/admin/v1/phones/${phoneId}/activation_url`);
      const second = await call('POST', `/admin/v1/phones/${phoneId}/activation_url`, { valid_secs: '60' });
      assert.equal(
        (await emulatorRequest(emulator, 'GET', new URL(first.response.activation_url).pathname)).status,
        400,
      );
      emulator.setClockOffset(61);
      assert.equal(
        (await emulatorRequest(emulator, 'GET', new URL(second.response.activation_url).pathname)).status,
        400,
      );
    });

    it('DELETE /admin/v1/users/{user_id}/phones/{phone_id} leaves the user unenrolled', async () => {
      emulator.setUser('frank', {});
      const user = await lookup('frank');
      const body = await call(
        'DELETE',
        `/admin/v1/users/${user!.user_id}/phones/${user!.phones[0].phone_id}`,
      );
      assert.deepEqual(body, { stat: 'OK', response: '' });
      const after = await lookup('frank');
      assert.equal(after!.is_enrolled, false);
      assert.deepEqual(after!.phones, []);
    });

    it('refuses out-of-range parameters with Duo’s 400', async () => {
      emulator.setUser('gina', {});
      const phoneId = (await lookup('gina'))!.phones[0].phone_id;
      for (const [params, detail] of [
        [{ valid_secs: '0' }, 'valid_secs'],
        [{ valid_secs: 'soon' }, 'valid_secs'],
        [{ install: 'yes' }, 'install'],
      ] as const) {
        const body = await call('POST', `/admin/v1/phones/${phoneId}/activation_url`, params);
        assert.deepEqual(body, {
          stat: 'FAIL',
          code: 40002,
          message: 'Invalid request parameters',
          message_detail: detail,
        });
      }
      assert.equal((await call('POST', '/admin/v1/phones/DP000000000000000000/activation_url')).code, 40401);
    });
  });

  describe('POST /admin/v1/users/{user_id}/bypass_codes', () => {
    const passcodePage = async (username: string): Promise<PromptPage> => {
      const page = await start(username);
      const next = await clickAndFollow(emulator, page, 'use-passcode');
      assert.match(next.page!.html, /id="passcode"/);
      return next.page!;
    };

    it('answers the codes; the prompt accepts each once, with factor bypass_code and reason valid_passcode', async () => {
      emulator.setUser('hank', {});
      const user = await lookup('hank');
      const body = await call('POST', `/admin/v1/users/${user!.user_id}/bypass_codes`, {
        count: '2',
        reuse_count: '1',
        valid_secs: '3600',
      });
      assert.equal(body.stat, 'OK', JSON.stringify(body));
      assert.equal(body.response.length, 2);
      for (const code of body.response) assert.match(code, /^\d{9}$/);

      const done = await clickAndFollow(emulator, await passcodePage('hank'), 'passcode-submit', {
        passcode: body.response[0],
      });
      const result = await adapter.exchange(credentials(), codeFrom(done.done!), 'hank');
      assert.equal(result.result, 'allow');
      assert.equal(result.factor, 'bypass_code');
      assert.equal(result.reason, 'valid_passcode');

      const reused = await clickAndFollow(emulator, await passcodePage('hank'), 'passcode-submit', {
        passcode: body.response[0],
      });
      assert.ok(reused.page, 'a used code leaves the user on the passcode page');
      assert.match(reused.page.html, /id="notice">Incorrect passcode/);
      const second = await clickAndFollow(emulator, reused.page, 'passcode-submit', {
        passcode: body.response[1],
      });
      assert.ok(second.done, 'the other code still works');
    });

    it('honours reuse_count and valid_secs, and preserve_existing', async () => {
      emulator.setUser('ivan', {});
      const id = (await lookup('ivan'))!.user_id;
      const [twice] = (
        await call('POST', `/admin/v1/users/${id}/bypass_codes`, { codes: '123456789', reuse_count: '2' })
      ).response;
      assert.equal(twice, '123456789');
      for (let use = 0; use < 2; use++) {
        assert.ok(
          (await clickAndFollow(emulator, await passcodePage('ivan'), 'passcode-submit', { passcode: twice }))
            .done,
        );
      }
      assert.ok(
        (await clickAndFollow(emulator, await passcodePage('ivan'), 'passcode-submit', { passcode: twice }))
          .page,
      );

      const [short] = (
        await call('POST', `/admin/v1/users/${id}/bypass_codes`, { count: '1', valid_secs: '60' })
      ).response;
      emulator.setClockOffset(61);
      assert.ok(
        (await clickAndFollow(emulator, await passcodePage('ivan'), 'passcode-submit', { passcode: short }))
          .page,
      );
      emulator.setClockOffset(0);

      const [kept] = (await call('POST', `/admin/v1/users/${id}/bypass_codes`, { count: '1' })).response;
      await call('POST', `/admin/v1/users/${id}/bypass_codes`, { count: '1', preserve_existing: 'true' });
      assert.ok(
        (await clickAndFollow(emulator, await passcodePage('ivan'), 'passcode-submit', { passcode: kept }))
          .done,
      );
      const [replaced] = (await call('POST', `/admin/v1/users/${id}/bypass_codes`, { count: '1' })).response;
      await call('POST', `/admin/v1/users/${id}/bypass_codes`, { count: '1' });
      assert.ok(
        (
          await clickAndFollow(emulator, await passcodePage('ivan'), 'passcode-submit', {
            passcode: replaced,
          })
        ).page,
      );
    });

    it('denies the login with invalid_passcode after five wrong codes', async () => {
      emulator.setUser('jane', {});
      let page = await passcodePage('jane');
      let last: Awaited<ReturnType<typeof clickAndFollow>> | undefined;
      for (let attempt = 0; attempt < 5; attempt++) {
        last = await clickAndFollow(emulator, page, 'passcode-submit', { passcode: '000000000' });
        if (last.page) page = last.page;
      }
      assert.ok(last?.done, 'the fifth wrong code ends the login');
      await assert.rejects(
        adapter.exchange(credentials(), codeFrom(last.done), 'jane'),
        (error) => isDuoMfaError(error, 'ERR_DUO_DENIED') && error.details.reason === 'invalid_passcode',
      );
    });

    it('refuses bad parameters with Duo’s 400 naming them', async () => {
      emulator.setUser('kim', {});
      const id = (await lookup('kim'))!.user_id;
      const cases: Array<[Record<string, string>, string]> = [
        [{ count: '11' }, 'count must be from 1 to 10'],
        [{ count: '0' }, 'count must be from 1 to 10'],
        [{ count: '1', codes: '123456789' }, 'count and codes cannot both be given'],
        [{ codes: '12ab' }, 'codes'],
        [{ reuse_count: '-1' }, 'reuse_count'],
        [{ valid_secs: 'x' }, 'valid_secs'],
        [{ preserve_existing: 'maybe' }, 'preserve_existing'],
      ];
      for (const [params, detail] of cases) {
        assert.deepEqual(
          await call('POST', `/admin/v1/users/${id}/bypass_codes`, params),
          {
            stat: 'FAIL',
            code: 40002,
            message: 'Invalid request parameters',
            message_detail: detail,
          },
          JSON.stringify(params),
        );
      }
    });
  });

  describe('the request signature', () => {
    it('accepts signature version 5 (JSON body) from the same client', async () => {
      emulator.setUser('v5', {});
      const id = (await lookup('v5'))!.user_id;
      const body = await adminApiCall(
        emulator,
        'POST',
        `/admin/v1/users/${id}/bypass_codes`,
        { count: '3' },
        { signatureVersion: 5 },
      );
      assert.equal(body.stat, 'OK', JSON.stringify(body));
      assert.equal(body.response.length, 3);
      const get = await adminApiCall(
        emulator,
        'GET',
        '/admin/v1/users',
        { username: 'v5' },
        { signatureVersion: 5 },
      );
      assert.equal(get.response[0].user_id, id);
    });

    it('refuses a request signed with the wrong secret key: 401 with Duo’s body', async () => {
      const raw = await signedRequest(
        'GET',
        '/admin/v1/users',
        { username: 'alice' },
        { secretKey: 'w'.repeat(40) },
      );
      assert.equal(raw.status, 401);
      assert.deepEqual(raw.json, SIGNATURE_FAIL);
      const body = await adminApiCall(
        emulator,
        'GET',
        '/admin/v1/users',
        { username: 'alice' },
        {
          app: { integrationKey: ADMIN_APP.integrationKey, secretKey: 'w'.repeat(40) },
        },
      );
      assert.deepEqual(body, SIGNATURE_FAIL);
    });

    it('refuses an unknown integration key (40102) and a request without credentials (40101)', async () => {
      const unknown = await signedRequest(
        'GET',
        '/admin/v1/users',
        {},
        { integrationKey: 'DIUNKNOWNADMINAPP000' },
      );
      assert.deepEqual(
        [unknown.status, unknown.json],
        [401, { code: 40102, message: 'Invalid integration key in request credentials', stat: 'FAIL' }],
      );
      const none = await emulatorRequest(emulator, 'GET', '/admin/v1/users');
      assert.deepEqual(
        [none.status, none.json],
        [401, { code: 40101, message: 'Missing request credentials', stat: 'FAIL' }],
      );
    });

    it('refuses a stale Date (the emulator’s clock 10 minutes ahead) and a missing Date', async () => {
      emulator.setClockOffset(600);
      const stale = await adminApiCall(emulator, 'GET', '/admin/v1/users', { username: 'alice' });
      assert.deepEqual(stale, {
        code: 40105,
        message: 'Request date is too far from the current time',
        message_detail: "The Date header must be within 300 seconds of Duo's clock",
        stat: 'FAIL',
      });
      emulator.setClockOffset(-600);
      assert.equal(
        (await adminApiCall(emulator, 'GET', '/admin/v1/users', { username: 'alice' })).code,
        40105,
      );
      emulator.setClockOffset(240);
      assert.equal(
        (await adminApiCall(emulator, 'GET', '/admin/v1/users', { username: 'alice' })).stat,
        'OK',
      );
      emulator.setClockOffset(0);
      const noDate = await signedRequest('GET', '/admin/v1/users', {}, { omitDate: true });
      assert.deepEqual([noDate.status, noDate.json.code, noDate.json.message_detail], [401, 40104, 'Date']);
    });

    it('refuses a request altered after signing: another parameter, path or method', async () => {
      const tampered = await signedRequest(
        'POST',
        '/admin/v1/users/DU000000000000000000/bypass_codes',
        { count: '1' },
        { sendParams: { count: '10' } },
      );
      assert.deepEqual([tampered.status, tampered.json], [401, SIGNATURE_FAIL]);
      const path = await signedRequest(
        'GET',
        '/admin/v1/users',
        {},
        { sendPath: '/admin/v1/users/DU000000000000000000' },
      );
      assert.deepEqual([path.status, path.json], [401, SIGNATURE_FAIL]);
      const valid = await signedRequest('GET', '/admin/v1/users', { username: 'nobody' });
      assert.deepEqual([valid.status, valid.json], [200, { stat: 'OK', response: [] }]);
    });

    it('prefers X-Duo-Date when present, as Duo’s newer clients send it', async () => {
      const res = await signedRequest('GET', '/admin/v1/users', { username: 'nobody' }, { xDuoDate: true });
      assert.deepEqual([res.status, res.json], [200, { stat: 'OK', response: [] }]);
    });

    it('refuses everything when the emulator has no Admin API applications', async () => {
      const bare = await startDuoEmulator({ applications: [TEST_APP] });
      try {
        assert.equal((await adminApiCall(bare, 'GET', '/admin/v1/users', { username: 'alice' })).code, 40102);
      } finally {
        await bare.close();
      }
    });

    it('never logs codes, activation links or secrets; logs ids as route patterns', async () => {
      emulator.setUser('logged', {});
      const user = await lookup('logged');
      const codes = (await call('POST', `/admin/v1/users/${user!.user_id}/bypass_codes`, { count: '2' }))
        .response as string[];
      const link = (await call('POST', `/admin/v1/phones/${user!.phones[0].phone_id}/activation_url`))
        .response.activation_url as string;
      const text = JSON.stringify(emulator.log);
      for (const secret of [...codes, link, new URL(link).pathname, ADMIN_APP.secretKey]) {
        assert.ok(!text.includes(secret), `the log contains ${secret}`);
      }
      assert.ok(
        emulator.log.some(
          (entry) =>
            entry.endpoint === 'admin' && entry.outcome === 'POST /admin/v1/users/:user_id/bypass_codes',
        ),
      );
    });
  });

  /** A request signed like duo_api does it (version 2), then optionally altered before it is sent. */
  async function signedRequest(
    method: 'GET' | 'POST',
    path: string,
    params: Record<string, string>,
    options: {
      secretKey?: string;
      integrationKey?: string;
      sendParams?: Record<string, string>;
      sendPath?: string;
      omitDate?: boolean;
      xDuoDate?: boolean;
    } = {},
  ) {
    const date = new Date().toUTCString();
    const authorization = duoSig.sign(
      options.integrationKey ?? ADMIN_APP.integrationKey,
      options.secretKey ?? ADMIN_APP.secretKey,
      method,
      emulator.apiHost,
      path,
      params,
      date,
    );
    const sent = new URLSearchParams(options.sendParams ?? params).toString();
    const target = options.sendPath ?? path;
    const headers: Record<string, string> = { authorization };
    if (!options.omitDate) headers[options.xDuoDate ? 'x-duo-date' : 'date'] = date;
    if (options.xDuoDate) headers.date = 'Thu, 01 Jan 1970 00:00:00 GMT';
    return method === 'GET'
      ? emulatorRequest(emulator, 'GET', sent ? `${target}?${sent}` : target, { headers })
      : emulatorRequest(emulator, 'POST', target, {
          body: sent,
          headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        });
  }
});
