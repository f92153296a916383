// POST /oauth/v1/token: single-use codes bound to client and redirect_uri, client assertions, tolerant
// bodies, and an id_token carrying every field Duo's does.
import assert from 'node:assert/strict';
import { jwtVerify, decodeProtectedHeader } from 'jose';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import {
  CLIENT_ASSERTION_TYPE,
  OTHER_APP,
  TEST_APP,
  authorizeClaims,
  authorizePath,
  clientAssertion,
  emulatorRequest,
  followAuthorize,
  issueCode,
  tokenForm,
} from '../helpers/duo';

const PATH = '/oauth/v1/token';
const INVALID_GRANT = {
  error: 'invalid_grant',
  error_description:
    'The provided authorization grant or refresh token is invalid, expired, revoked, does not match the redirection URI.',
};
const INVALID_CLIENT = {
  error: 'invalid_client',
  error_description: 'The provided client_assertion was invalid.',
};

describe('emulator token endpoint', () => {
  let emulator: DuoEmulator;
  before(async () => {
    emulator = await startDuoEmulator({ applications: [TEST_APP, OTHER_APP], mode: 'auto' });
  });
  after(() => emulator.close());
  afterEach(() => {
    emulator.setClockOffset(0);
    emulator.setFault(null);
  });

  const post = (form: Record<string, string>) => emulatorRequest(emulator, 'POST', PATH, { form });
  const verify = async (idToken: string, app = TEST_APP) =>
    (
      await jwtVerify(idToken, new TextEncoder().encode(app.clientSecret), {
        algorithms: ['HS512'],
        issuer: `https://${emulator.apiHost}${PATH}`,
        audience: app.clientId,
      })
    ).payload as Record<string, any>;

  describe('when the code and assertion are valid', () => {
    it('answers the four keys the Duo client requires, uncached', async () => {
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      const res = await post(tokenForm(emulator, TEST_APP, code));
      assert.equal(res.status, 200);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.deepEqual(Object.keys(res.json).sort(), [
        'access_token',
        'expires_in',
        'id_token',
        'token_type',
      ]);
      assert.equal(res.json.expires_in, 3600);
      assert.equal(res.json.token_type, 'Bearer');
    });

    it('signs an id_token with HS512 and the client secret, carrying every field of Duo’s', async () => {
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      const res = await post(tokenForm(emulator, TEST_APP, code));
      assert.deepEqual(decodeProtectedHeader(res.json.id_token), { alg: 'HS512', typ: 'JWT' });
      const claims = await verify(res.json.id_token);
      const now = Date.now() / 1000;
      assert.ok(Math.abs(claims.iat - now) < 2);
      assert.equal(claims.exp, claims.iat + 300);
      assert.ok(Math.abs(claims.auth_time - now) < 2);
      assert.match(claims.sub, /^DU[A-Z0-9]{18}$/);
      assert.equal(claims.preferred_username, 'alice');
      assert.equal(claims.nonce, undefined);
      assert.deepEqual(claims.auth_result, {
        result: 'allow',
        status: 'allow',
        status_msg: 'Login Successful',
      });
      const context = claims.auth_context;
      assert.deepEqual(Object.keys(context).sort(), [
        'access_device',
        'alias',
        'application',
        'auth_device',
        'email',
        'event_type',
        'factor',
        'isotimestamp',
        'ood_software',
        'reason',
        'result',
        'timestamp',
        'txid',
        'user',
      ]);
      assert.match(context.txid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(context.timestamp, claims.auth_time);
      assert.equal(context.isotimestamp, new Date(claims.auth_time * 1000).toISOString());
      assert.equal(context.event_type, 'authentication');
      assert.equal(context.result, 'success');
      assert.equal(context.reason, 'user_approved');
      assert.equal(context.factor, 'duo_push');
      assert.deepEqual(context.user, { name: 'alice', key: claims.sub, groups: [] });
      assert.deepEqual(context.application, { name: 'Test Portal', key: TEST_APP.clientId });
      assert.deepEqual(Object.keys(context.auth_device).sort(), ['ip', 'location', 'name']);
      assert.deepEqual(Object.keys(context.auth_device.location).sort(), ['city', 'country', 'state']);
      assert.deepEqual(Object.keys(context.access_device).sort(), [
        'browser',
        'browser_version',
        'epkey',
        'hostname',
        'ip',
        'is_encryption_enabled',
        'is_firewall_enabled',
        'is_password_set',
        'location',
        'os',
        'os_version',
        'security_agents',
      ]);
      assert.equal(context.access_device.ip, '127.0.0.1');
      assert.equal(context.access_device.epkey, null);
      assert.equal(context.access_device.is_encryption_enabled, 'unknown');
      assert.equal(context.trusted_endpoint_status, undefined);
    });

    it('reports the device’s trust, platform and a stable epkey when the user has a device', async () => {
      emulator.setUser('dana', { device: { platform: 'Android', trusted: 'not trusted' } });
      const epkeys: string[] = [];
      for (let i = 0; i < 2; i++) {
        const { code } = await issueCode(emulator, TEST_APP, 'dana');
        const context = (await verify((await post(tokenForm(emulator, TEST_APP, code))).json.id_token))
          .auth_context;
        assert.equal(context.trusted_endpoint_status, 'not trusted');
        assert.equal(context.access_device.os, 'Android');
        assert.equal(context.access_device.is_encryption_enabled, false);
        assert.match(context.access_device.epkey, /^EP[A-Z0-9]{18}$/);
        epkeys.push(context.access_device.epkey);
      }
      assert.equal(epkeys[0], epkeys[1]);
      emulator.setUser('dana', { device: { platform: 'iOS', trusted: 'trusted' } });
      const { code } = await issueCode(emulator, TEST_APP, 'dana');
      const context = (await verify((await post(tokenForm(emulator, TEST_APP, code))).json.id_token))
        .auth_context;
      assert.equal(context.trusted_endpoint_status, 'trusted');
      assert.equal(context.access_device.os, 'iOS');
      assert.notEqual(context.access_device.epkey, epkeys[0]);
    });

    it('says deny (validly signed) for a user scripted to deny, with the default or given reason', async () => {
      emulator.setUser('mallory', { result: 'deny' });
      let { code } = await issueCode(emulator, TEST_APP, 'mallory');
      let claims = await verify((await post(tokenForm(emulator, TEST_APP, code))).json.id_token);
      assert.deepEqual(claims.auth_result, { result: 'deny', status: 'deny', status_msg: 'Login denied' });
      assert.equal(claims.auth_context.result, 'denied');
      assert.equal(claims.auth_context.reason, 'user_marked_fraud');

      emulator.setUser('mallory', {
        result: 'deny',
        reason: 'endpoint_is_not_trusted',
        factor: 'WebAuthn Chrome Touch ID',
      });
      ({ code } = await issueCode(emulator, TEST_APP, 'mallory'));
      claims = await verify((await post(tokenForm(emulator, TEST_APP, code))).json.id_token);
      assert.equal(claims.auth_context.reason, 'endpoint_is_not_trusted');
      assert.equal(claims.auth_context.factor, 'WebAuthn Chrome Touch ID');
    });

    it('echoes the nonce of the authorize request', async () => {
      const signed = authorizeClaims(emulator, TEST_APP, 'alice', { nonce: 'n-0123456789' });
      const location = await followAuthorize(
        emulator,
        new URL(authorizePath(TEST_APP, signed), emulator.url),
      );
      const res = await post(tokenForm(emulator, TEST_APP, location.searchParams.get('duo_code')!));
      assert.equal((await verify(res.json.id_token)).nonce, 'n-0123456789');
    });

    it('dates the id_token by the emulator’s clock', async () => {
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      emulator.setClockOffset(30);
      const res = await post(tokenForm(emulator, TEST_APP, code));
      const claims = await verify(res.json.id_token);
      assert.ok(Math.abs(claims.iat - (Date.now() / 1000 + 30)) < 2);
    });
  });

  describe('when the body comes in another shape', () => {
    it('accepts the parameters as a query string with no body (Python client)', async () => {
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      const query = new URLSearchParams(tokenForm(emulator, TEST_APP, code));
      const res = await emulatorRequest(emulator, 'POST', `${PATH}?${query.toString()}`);
      assert.equal(res.status, 200, res.body);
    });

    it('accepts multipart/form-data (PHP client)', async () => {
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      const boundary = '----duo-emulator-test-boundary';
      const body =
        Object.entries(tokenForm(emulator, TEST_APP, code))
          .map(
            ([name, value]) =>
              `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
          )
          .join('') + `--${boundary}--\r\n`;
      const res = await emulatorRequest(emulator, 'POST', PATH, {
        body,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      });
      assert.equal(res.status, 200, res.body);
    });

    it('accepts a request without client_id, identified by the assertion (Java client)', async () => {
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      const form = tokenForm(emulator, TEST_APP, code);
      delete form.client_id;
      assert.equal((await post(form)).status, 200);
    });

    it('accepts assertion time claims sent as strings (C# client)', async () => {
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      const now = Math.round(Date.now() / 1000);
      const form = tokenForm(emulator, TEST_APP, code, {
        assertion: { claims: { iat: String(now), exp: String(now + 300) } },
      });
      assert.equal((await post(form)).status, 200);
    });
  });

  describe('when the code is not acceptable', () => {
    it('refuses an unknown code with invalid_grant', async () => {
      const res = await post(tokenForm(emulator, TEST_APP, 'no-such-code'));
      assert.equal(res.status, 400);
      assert.deepEqual(res.json, INVALID_GRANT);
    });

    it('refuses a code used once already, even though the first use succeeded', async () => {
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      assert.equal((await post(tokenForm(emulator, TEST_APP, code))).status, 200);
      const again = await post(tokenForm(emulator, TEST_APP, code));
      assert.equal(again.status, 400);
      assert.deepEqual(again.json, INVALID_GRANT);
    });

    it('refuses a code 60 s or more after it was issued', async () => {
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      emulator.setClockOffset(61);
      const res = await post(tokenForm(emulator, TEST_APP, code));
      assert.deepEqual([res.status, res.json], [400, INVALID_GRANT]);
    });

    it('accepts a code 50 s after it was issued', async () => {
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      emulator.setClockOffset(50);
      assert.equal((await post(tokenForm(emulator, TEST_APP, code))).status, 200);
    });

    it('refuses a code presented with another redirect_uri, and burns it', async () => {
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      const wrong = await post(
        tokenForm(emulator, TEST_APP, code, { redirectUri: 'https://evil.example/duo/callback' }),
      );
      assert.deepEqual([wrong.status, wrong.json], [400, INVALID_GRANT]);
      const right = await post(tokenForm(emulator, TEST_APP, code));
      assert.deepEqual([right.status, right.json], [400, INVALID_GRANT]);
    });

    it('refuses a code presented without redirect_uri', async () => {
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      const form = tokenForm(emulator, TEST_APP, code);
      delete form.redirect_uri;
      assert.deepEqual((await post(form)).json, INVALID_GRANT);
    });

    it('refuses a code issued to another client (mix-up)', async () => {
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      const res = await post(tokenForm(emulator, OTHER_APP, code));
      assert.deepEqual([res.status, res.json], [400, INVALID_GRANT]);
    });

    it('refuses a missing code and a repeated code with invalid_request', async () => {
      const form = tokenForm(emulator, TEST_APP, 'x');
      delete form.code;
      const missing = await post(form);
      assert.deepEqual([missing.status, missing.json.error], [400, 'invalid_request']);
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      const body = `${new URLSearchParams(tokenForm(emulator, TEST_APP, code)).toString()}&code=other`;
      const repeated = await emulatorRequest(emulator, 'POST', PATH, {
        body,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.deepEqual([repeated.status, repeated.json.error], [400, 'invalid_request']);
    });

    it('refuses a grant_type other than authorization_code', async () => {
      const res = await post({ ...tokenForm(emulator, TEST_APP, 'x'), grant_type: 'refresh_token' });
      assert.deepEqual([res.status, res.json.error], [400, 'unsupported_grant_type']);
    });
  });

  describe('when the client assertion is not acceptable', () => {
    const audience = () => `https://${emulator.apiHost}${PATH}`;
    const cases: Array<[string, (code: string) => Record<string, string>]> = [
      [
        'signed with another secret',
        (code) => tokenForm(emulator, TEST_APP, code, { assertion: { secret: OTHER_APP.clientSecret } }),
      ],
      ['signed with alg none', (code) => tokenForm(emulator, TEST_APP, code, { assertion: { alg: 'none' } })],
      ['signed with HS256', (code) => tokenForm(emulator, TEST_APP, code, { assertion: { alg: 'HS256' } })],
      [
        'for the health check (wrong aud)',
        (code) =>
          tokenForm(emulator, TEST_APP, code, {
            assertion: { claims: { aud: `https://${emulator.apiHost}/oauth/v1/health_check` } },
          }),
      ],
      [
        'expired beyond the leeway',
        (code) => tokenForm(emulator, TEST_APP, code, { assertion: { skewSeconds: -400 } }),
      ],
      ['without jti', (code) => tokenForm(emulator, TEST_APP, code, { assertion: { omit: ['jti'] } })],
      [
        'with a client_assertion_type other than jwt-bearer',
        (code) => ({ ...tokenForm(emulator, TEST_APP, code), client_assertion_type: 'password' }),
      ],
    ];
    for (const [name, form] of cases) {
      it(`refuses an assertion ${name} with invalid_client`, async () => {
        const { code } = await issueCode(emulator, TEST_APP, 'alice');
        const res = await post(form(code));
        assert.equal(res.status, 400);
        assert.equal(res.json.error, 'invalid_client');
        if (!name.includes('client_assertion_type')) assert.deepEqual(res.json, INVALID_CLIENT);
      });
    }

    it('refuses an assertion whose iss is not the client_id sent, with Duo’s message', async () => {
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      const form = {
        ...tokenForm(emulator, TEST_APP, code),
        client_assertion: clientAssertion(TEST_APP, audience(), { claims: { iss: OTHER_APP.clientId } }),
      };
      const res = await post(form);
      assert.deepEqual(res.json, {
        error: 'invalid_client',
        error_description: 'The `iss` claim must match the supplied client_id',
      });
    });

    it('refuses a replayed assertion (same jti) and keeps the code usable', async () => {
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      const first = tokenForm(emulator, TEST_APP, 'no-such-code');
      await post(first);
      const replay = await post({ ...first, code });
      assert.deepEqual([replay.status, replay.json], [400, INVALID_CLIENT]);
      assert.equal((await post(tokenForm(emulator, TEST_APP, code))).status, 200);
    });

    it('refuses a fresh assertion once the emulator’s clock is 400 s ahead', async () => {
      const { code } = await issueCode(emulator, TEST_APP, 'alice');
      emulator.setClockOffset(400);
      assert.deepEqual((await post(tokenForm(emulator, TEST_APP, code))).json, INVALID_CLIENT);
    });

    it('refuses an unknown client', async () => {
      const stranger = { clientId: 'DIUNKNOWNCLIENT00000', clientSecret: 'u'.repeat(40) };
      const res = await post({
        ...tokenForm(emulator, stranger, 'x'),
        client_assertion_type: CLIENT_ASSERTION_TYPE,
      });
      assert.deepEqual([res.status, res.json.error], [400, 'invalid_client']);
    });
  });

  describe('when called with another method', () => {
    it('answers 405 with Allow: POST', async () => {
      const res = await emulatorRequest(emulator, 'GET', PATH);
      assert.deepEqual([res.status, res.headers.allow], [405, 'POST']);
    });
  });
});
