// DuoAdminApi (staff status, Duo Mobile reactivation, bypass codes) against a fake Admin API that verifies every
// request's signature with duo_api's own code. The emulator's Admin API endpoints will replace the fake.
import assert from 'node:assert/strict';
import type { LookupFunction } from 'node:net';
import { DuoAdminApi, type AdminApiCredentials } from '../../lib/duo/admin';
import { generateCertificates } from '../../lib/emulator/certificates';
import { isDuoMfaError, type DuoMfaError, type DuoMfaErrorCode } from '../../lib/errors';
import { startConnectProxy } from '../helpers/connect-proxy';
import { fakePhone, startFakeAdminApi, type FakeAdminApi, type FakeUser } from './helpers/fake-admin-api';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const duoSig = require('@duosecurity/duo_api/lib/duo_sig');

const ADMIN_APP = {
  integrationKey: 'DIADMINAPPLICATION01',
  secretKey: 'admin-secret-0123456789abcdefghijklmnopq',
};
const READ_ONLY_APP = {
  integrationKey: 'DIREADONLYADMINAPP02',
  secretKey: 'read-only-secret-0123456789abcdefghijklm',
  write: false,
};
const TIMEOUT_MS = 400;
const NOW = Date.parse('2026-06-01T12:00:00Z');

const users: FakeUser[] = [
  {
    user_id: 'DUDANA00000000000001',
    username: 'dana',
    status: 'active',
    is_enrolled: true,
    last_login: Date.parse('2026-05-30T08:00:00Z') / 1000,
    phones: [fakePhone({ phone_id: 'DPDANA00000000000001', last_seen: '2026-05-30T07:59:58' })],
  },
  {
    // A phone without a number (Duo Mobile only): Duo cannot text it.
    user_id: 'DUERIN00000000000002',
    username: 'erin',
    status: 'locked out',
    is_enrolled: true,
    last_login: null,
    phones: [
      fakePhone({
        phone_id: 'DPERINLANDLINE000001',
        type: 'Landline',
        platform: 'Unknown',
        capabilities: ['phone'],
      }),
      fakePhone({
        phone_id: 'DPERIN00000000000002',
        number: '',
        platform: 'Apple iOS',
        model: 'iPhone 15',
        capabilities: ['auto', 'push', 'mobile_otp'],
        last_seen: '',
      }),
    ],
  },
  {
    user_id: 'DUFRANK0000000000003',
    username: 'frank',
    status: 'bypass',
    is_enrolled: false,
    last_login: null,
    phones: [],
  },
  {
    user_id: 'DUGRACE0000000000004',
    username: 'grace',
    status: 'pending deletion',
    is_enrolled: true,
    last_login: null,
    phones: [fakePhone({ phone_id: 'DPGRACE0000000000004', refusesSms: true })],
  },
];

describe('DuoAdminApi', () => {
  let fake: FakeAdminApi;
  const clients: DuoAdminApi[] = [];
  const errors: DuoMfaError[] = [];
  const client = (options: ConstructorParameters<typeof DuoAdminApi>[0] = {}) => {
    const made = new DuoAdminApi({ ca: fake.ca, timeoutMs: TIMEOUT_MS, now: () => NOW, ...options });
    clients.push(made);
    return made;
  };
  const credentials = (
    app: { integrationKey: string; secretKey: string } = ADMIN_APP,
  ): AdminApiCredentials => ({
    integrationKey: app.integrationKey,
    secretKey: app.secretKey,
    apiHost: fake.apiHost,
  });
  const rejectsWith = async (promise: Promise<unknown>, code: DuoMfaErrorCode): Promise<DuoMfaError> => {
    let caught: DuoMfaError | undefined;
    await assert.rejects(promise, (error) => {
      assert.ok(isDuoMfaError(error), `not a DuoMfaError: ${String(error)}`);
      assert.equal(error.code, code, error.message);
      caught = error;
      errors.push(error);
      return true;
    });
    return caught!;
  };

  beforeEach(async () => {
    fake = await startFakeAdminApi({ applications: [ADMIN_APP, READ_ONLY_APP], users, now: () => NOW });
  });
  afterEach(async () => {
    for (const made of clients.splice(0)) made.close();
    await fake.close();
  });
  after(() => {
    // S50: no error message or detail ever carries an activation link or a code.
    assert.ok(errors.length > 0, 'no error captured: the check below would prove nothing');
    for (const error of errors) {
      const text = `${error.message}\n${JSON.stringify(error.details)}`;
      assert.doesNotMatch(text, /https:\/\/m-|\b\d{9}\b/, text);
    }
  });

  describe('signing', () => {
    it('reuses duo_api’s signature function, which still produces Duo’s documented v2 signature', () => {
      // The known-answer vector from duo_api's own tests (signature version 2, HMAC-SHA512).
      assert.equal(
        duoSig.sign(
          'test_ikey',
          'test_skey',
          'POST',
          'test.duosecurity.com',
          '/test/v1',
          { realname: 'First Last', username: 'root' },
          'Tue, 21 Aug 2012 17:29:18 -0000',
        ),
        'Basic dGVzdF9pa2V5OjA0MmEzMGM2ODJiZDgzNmZjNWJhNDY3ODkxYTk1NmVhYTEwMDkxY2EwZjczYTdmYjM5NmFlZmQ1NmEzNTI5ZTU2OTMyZGVhNDI3YTY3MjEzYWY2NjRiYTY4NDE2ODlmZjIzMzZiN2EzNzM3NjZlYTVhYjdhYjlmZTI2MzgyMjZi',
      );
    });
  });

  describe('staffStatus', () => {
    it('returns status, enrollment, phones and last login for a user Duo knows', async () => {
      const status = await client().staffStatus(credentials(), 'Dana');
      assert.deepEqual(status, {
        username: 'dana',
        found: true,
        status: 'active',
        enrolled: true,
        phones: [
          {
            platform: 'Google Android',
            model: 'Pixel 8',
            activated: true,
            lastSeen: '2026-05-30T07:59:58.000Z',
          },
        ],
        lastLogin: '2026-05-30T08:00:00.000Z',
      });
      assert.deepEqual(fake.calls, [
        { method: 'GET', path: '/admin/v1/users', params: { username: 'Dana' }, outcome: 'ok' },
      ]);
    });

    it('reports locked out, bypass and pending deletion (as disabled), and phones without a last contact', async () => {
      const erin = await client().staffStatus(credentials(), 'erin');
      assert.equal(erin.status, 'locked out');
      assert.equal(erin.lastLogin, undefined);
      assert.deepEqual(erin.phones, [
        { platform: 'Unknown', model: 'Pixel 8', activated: true, lastSeen: '2026-05-04T09:12:30.000Z' },
        { platform: 'Apple iOS', model: 'iPhone 15', activated: true },
      ]);
      assert.equal((await client().staffStatus(credentials(), 'frank')).status, 'bypass');
      assert.equal((await client().staffStatus(credentials(), 'grace')).status, 'disabled');
    });

    it('says found: false for a name Duo does not know', async () => {
      assert.deepEqual(await client().staffStatus(credentials(), 'nobody'), {
        username: 'nobody',
        found: false,
        enrolled: false,
        phones: [],
      });
    });
  });

  describe('reactivate', () => {
    it('has Duo text the activation to a phone that takes SMS: sentBySms, no link returned', async () => {
      const result = await client().reactivate(credentials(), 'dana');
      assert.deepEqual(result, { sentBySms: true, expiresAt: '2026-06-02T12:00:00.000Z' });
      assert.deepEqual(fake.calls.at(-1), {
        method: 'POST',
        path: '/admin/v1/phones/DPDANA00000000000001/send_sms_activation',
        params: { install: '1', valid_secs: '86400' },
        outcome: 'ok',
      });
      assert.equal(fake.sms.length, 1);
      assert.equal(fake.users.get('DUDANA00000000000001')?.phones[0]?.activated, false);
    });

    it('returns the activation link for a phone Duo cannot text (and skips the landline)', async () => {
      const result = await client().reactivate(credentials(), 'erin', { validSecs: 3600 });
      assert.match(
        String(result.activationUrl),
        /^https:\/\/m-fake\.duosecurity\.test\/iphone\/[0-9a-f]{20}$/,
      );
      assert.equal(result.sentBySms, false);
      assert.equal(result.expiresAt, '2026-06-01T13:00:00.000Z');
      assert.deepEqual(fake.calls.at(-1), {
        method: 'POST',
        path: '/admin/v1/phones/DPERIN00000000000002/activation_url',
        params: { valid_secs: '3600' },
        outcome: 'ok',
      });
      assert.equal(fake.sms.length, 0);
    });

    it('falls back to the link when Duo refuses to text the phone', async () => {
      const result = await client().reactivate(credentials(), 'grace');
      assert.equal(result.sentBySms, false);
      assert.match(String(result.activationUrl), /^https:\/\/m-fake\./);
      assert.deepEqual(
        fake.calls.map((call) => `${call.path.split('/').at(-1)} ${call.outcome}`),
        ['users ok', 'send_sms_activation 40002', 'activation_url ok'],
      );
    });

    it('is ERR_ADMIN_API_NO_PHONE for a user without a smartphone, ERR_ADMIN_API_USER_NOT_FOUND for a stranger', async () => {
      const none = await rejectsWith(client().reactivate(credentials(), 'frank'), 'ERR_ADMIN_API_NO_PHONE');
      assert.match(none.message, /^frank has no smartphone in Duo to reactivate/);
      const stranger = await rejectsWith(
        client().reactivate(credentials(), 'nobody'),
        'ERR_ADMIN_API_USER_NOT_FOUND',
      );
      assert.equal(stranger.message, 'nobody is not a user in Duo');
    });

    it('refuses a validSecs outside 60 s … 7 days before calling Duo', async () => {
      await assert.rejects(
        client().reactivate(credentials(), 'dana', { validSecs: 10 }),
        /^TypeError: validSecs must be a whole number from 60 to 604800 \(got 10\)$/,
      );
      assert.equal(fake.calls.length, 0);
    });
  });

  describe('issueBypassCodes', () => {
    it('issues single-use codes valid for validSecs', async () => {
      const result = await client().issueBypassCodes(credentials(), 'dana', { count: 2, validSecs: 600 });
      assert.equal(result.codes.length, 2);
      for (const code of result.codes) assert.match(code, /^\d{9}$/);
      assert.equal(result.expiresAt, '2026-06-01T12:10:00.000Z');
      assert.deepEqual(fake.calls.at(-1), {
        method: 'POST',
        path: '/admin/v1/users/DUDANA00000000000001/bypass_codes',
        params: { count: '2', reuse_count: '1', valid_secs: '600' },
        outcome: 'ok',
      });
    });

    it('defaults to one code valid for an hour', async () => {
      const result = await client().issueBypassCodes(credentials(), 'frank');
      assert.equal(result.codes.length, 1);
      assert.equal(result.expiresAt, '2026-06-01T13:00:00.000Z');
    });

    it('refuses counts outside 1 … 10 and unknown users', async () => {
      for (const count of [0, 11, 1.5, Number.NaN]) {
        await assert.rejects(
          client().issueBypassCodes(credentials(), 'dana', { count }),
          /^TypeError: count must be a whole number from 1 to 10/,
        );
      }
      await rejectsWith(client().issueBypassCodes(credentials(), 'nobody'), 'ERR_ADMIN_API_USER_NOT_FOUND');
    });
  });

  describe('when Duo refuses the request', () => {
    it('a wrong secret key (bad signature) is ERR_ADMIN_API_CREDENTIALS naming the signature and duo.adminApi', async () => {
      const error = await rejectsWith(
        client().staffStatus({ ...credentials(), secretKey: 'x'.repeat(40) }, 'dana'),
        'ERR_ADMIN_API_CREDENTIALS',
      );
      assert.equal(
        error.message,
        'Duo refused the Admin API credentials for the staff status request (40103 Invalid signature in request ' +
          "credentials): check integrationKey, secretKey and apiHost of the tenant's duo.adminApi",
      );
      assert.deepEqual(error.details, { apiHost: fake.apiHost, httpStatus: 401, duoCode: 40103 });
      assert.equal(fake.calls.at(-1)?.outcome, '40103');
    });

    it('an unknown integration key is ERR_ADMIN_API_CREDENTIALS (40102)', async () => {
      const error = await rejectsWith(
        client().staffStatus({ ...credentials(), integrationKey: 'DINOSUCHINTEGRATION0' }, 'dana'),
        'ERR_ADMIN_API_CREDENTIALS',
      );
      assert.equal(error.details.duoCode, 40102);
    });

    it('a Date header 10 minutes off is ERR_ADMIN_API_CREDENTIALS that also names the clock', async () => {
      const error = await rejectsWith(
        client({ now: () => NOW + 600_000 }).staffStatus(credentials(), 'dana'),
        'ERR_ADMIN_API_CREDENTIALS',
      );
      assert.match(
        error.message,
        /\(40105 Request date is too far from the current time\).*also check this server's clock \(NTP\)$/,
      );
    });

    it('a missing permission is ERR_ADMIN_API_PERMISSION naming the permission to grant', async () => {
      assert.equal((await client().staffStatus(credentials(READ_ONLY_APP), 'dana')).found, true);
      const error = await rejectsWith(
        client().issueBypassCodes(credentials(READ_ONLY_APP), 'dana'),
        'ERR_ADMIN_API_PERMISSION',
      );
      assert.match(
        error.message,
        /^The Duo Admin API application may not make the bypass codes request \(40301 Access forbidden\): give it "Grant write resource"/,
      );
    });

    it('429 is ERR_ADMIN_API_RATE_LIMITED with Retry-After, and no retry within the call', async () => {
      fake.setFault('rate-limited');
      const error = await rejectsWith(
        client().staffStatus(credentials(), 'dana'),
        'ERR_ADMIN_API_RATE_LIMITED',
      );
      assert.equal(error.details.retryAfterSecs, 17);
      assert.equal(fake.calls.length, 1);
    });

    it('5xx (an HTML 503 or a FAIL 500) is ERR_ADMIN_API_UNAVAILABLE', async () => {
      fake.setFault('down');
      await rejectsWith(client().staffStatus(credentials(), 'dana'), 'ERR_ADMIN_API_UNAVAILABLE');
      fake.setFault('error');
      const error = await rejectsWith(
        client().staffStatus(credentials(), 'dana'),
        'ERR_ADMIN_API_UNAVAILABLE',
      );
      assert.equal(error.details.duoCode, 50000);
    });
  });

  describe('when Duo cannot be reached', () => {
    it('a hang is ERR_ADMIN_API_UNAVAILABLE within timeoutMs', async () => {
      fake.setFault('hang');
      const started = Date.now();
      const error = await rejectsWith(
        client().staffStatus(credentials(), 'dana'),
        'ERR_ADMIN_API_UNAVAILABLE',
      );
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= TIMEOUT_MS - 20 && elapsed < TIMEOUT_MS + 500, `gave up after ${elapsed} ms`);
      assert.equal(
        error.message,
        `The Duo Admin API did not answer the staff status request within ${TIMEOUT_MS} ms`,
      );
    });

    it('a refused connection is ERR_ADMIN_API_UNAVAILABLE', async () => {
      const apiHost = fake.apiHost;
      await fake.close();
      const error = await rejectsWith(
        client().staffStatus({ ...credentials(), apiHost }, 'dana'),
        'ERR_ADMIN_API_UNAVAILABLE',
      );
      assert.match(error.message, /could not be reached for the staff status request \(connect ECONNREFUSED/);
    });

    it('an untrusted certificate is ERR_DUO_TLS; a host name that does not exist is ERR_DUO_HOST_NOT_FOUND', async () => {
      await rejectsWith(
        client({ ca: (await generateCertificates()).caCert }).staffStatus(credentials(), 'dana'),
        'ERR_DUO_TLS',
      );
      const notFound: LookupFunction = (hostname: string, _options: unknown, callback: unknown) => {
        const done = (typeof _options === 'function' ? _options : callback) as (error: Error) => void;
        process.nextTick(() =>
          done(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })),
        );
      };
      const error = await rejectsWith(
        client({ lookup: notFound }).staffStatus(
          { ...credentials(), apiHost: 'api-nope.duosecurity.com' },
          'dana',
        ),
        'ERR_DUO_HOST_NOT_FOUND',
      );
      assert.match(error.message, /^The Duo Admin API host name api-nope\.duosecurity\.com does not exist/);
    });
  });

  describe('through the outbound proxy (duoProxy)', () => {
    it('a proxy hanging on CONNECT is ERR_ADMIN_API_UNAVAILABLE within timeoutMs, leaving no socket to it', async () => {
      const proxy = await startConnectProxy();
      try {
        proxy.setMode('hang');
        const started = Date.now();
        await rejectsWith(
          client({ proxy: proxy.url }).staffStatus(credentials(), 'dana'),
          'ERR_ADMIN_API_UNAVAILABLE',
        );
        assert.ok(Date.now() - started < TIMEOUT_MS + 500);
        for (let i = 0; i < 50 && proxy.openConnections() > 0; i++)
          await new Promise((r) => setTimeout(r, 20));
        assert.equal(proxy.openConnections(), 0, 'the abandoned CONNECT still holds a socket to the proxy');
      } finally {
        await proxy.close();
      }
    });

    it('tunnels every Admin API request through it', async () => {
      const proxy = await startConnectProxy({ credentials: { username: 'svc', password: 'proxy-pass-1' } });
      try {
        const admin = client({ proxy: proxy.url });
        assert.equal((await admin.staffStatus(credentials(), 'dana')).found, true);
        assert.equal((await admin.issueBypassCodes(credentials(), 'dana')).codes.length, 1);
        assert.ok(proxy.log.length >= 1);
        for (const entry of proxy.log)
          assert.deepEqual(entry, { target: fake.apiHost, authorization: true, status: 200 });
        assert.deepEqual(
          fake.calls.map((call) => call.outcome),
          ['ok', 'ok', 'ok'],
        );
        proxy.setMode('forbid');
        admin.close();
        const error = await rejectsWith(
          admin.staffStatus(credentials(), 'dana'),
          'ERR_ADMIN_API_UNAVAILABLE',
        );
        assert.equal(error.details.proxyStatus, 403);
        assert.ok(!error.message.includes('proxy-pass-1'));
      } finally {
        await proxy.close();
      }
    });
  });
});
