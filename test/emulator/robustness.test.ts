// Bad input never breaks the emulator: unknown paths, oversized bodies and malformed parameters get 4xx, never 5xx.
import assert from 'node:assert/strict';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import {
  TEST_APP,
  emulatorRequest,
  healthForm,
  signJwt,
  tokenForm,
  type EmulatorRequestOptions,
} from '../helpers/duo';

describe('emulator robustness', () => {
  let emulator: DuoEmulator;
  before(async () => {
    emulator = await startDuoEmulator({ applications: [TEST_APP] });
  });
  after(() => emulator.close());

  describe('when the path is unknown', () => {
    for (const path of [
      '/',
      '/oauth/v1',
      '/oauth/v1/token/extra',
      '/OAUTH/V1/TOKEN',
      '/frame/prompt/x',
      '/oauth//v1/token',
    ]) {
      it(`answers 404 for ${path}`, async () => {
        const res = await emulatorRequest(emulator, 'GET', path);
        assert.equal(res.status, 404);
      });
    }
  });

  describe('when the body is too large', () => {
    for (const path of ['/oauth/v1/health_check', '/oauth/v1/token', '/frame/prompt']) {
      it(`answers 413 for more than 64 KB posted to ${path}`, async () => {
        const res = await emulatorRequest(emulator, 'POST', path, {
          body: `a=${'x'.repeat(64 * 1024)}`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        assert.equal(res.status, 413);
      });
    }

    it('still answers a body of just under 64 KB', async () => {
      const form = { ...healthForm(emulator, TEST_APP), padding: 'x'.repeat(60 * 1024) };
      const res = await emulatorRequest(emulator, 'POST', '/oauth/v1/health_check', { form });
      assert.equal(res.json.stat, 'OK');
    });
  });

  describe('when the input is malformed', () => {
    const badJwt = (payload: string) =>
      `${Buffer.from('{"alg":"HS512"}').toString('base64url')}.${Buffer.from(payload).toString('base64url')}.AAAA`;
    const urlencoded = (body: string): EmulatorRequestOptions => ({
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const cases: Array<[string, string, string, () => EmulatorRequestOptions]> = [
      ['health with no body', 'POST', '/oauth/v1/health_check', () => ({})],
      [
        'health with JSON',
        'POST',
        '/oauth/v1/health_check',
        () => ({ body: '{"client_id":1}', headers: { 'content-type': 'application/json' } }),
      ],
      [
        'health with arrays',
        'POST',
        '/oauth/v1/health_check',
        () => urlencoded(`client_id=a&client_id=b&client_assertion=x`),
      ],
      [
        'health with bad percent-encoding',
        'POST',
        '/oauth/v1/health_check',
        () => urlencoded('client_id=%E0%A4%A&client_assertion=%'),
      ],
      [
        'health with a JWT whose payload is not JSON',
        'POST',
        '/oauth/v1/health_check',
        () => ({ form: { client_id: TEST_APP.clientId, client_assertion: badJwt('{not json') } }),
      ],
      [
        'health with a JWT whose payload is an array',
        'POST',
        '/oauth/v1/health_check',
        () => ({ form: { client_id: TEST_APP.clientId, client_assertion: badJwt('[1,2]') } }),
      ],
      [
        'health with bad base64',
        'POST',
        '/oauth/v1/health_check',
        () => ({ form: { client_id: TEST_APP.clientId, client_assertion: '%%%.***.!!!' } }),
      ],
      [
        'health with a huge unicode client_id',
        'POST',
        '/oauth/v1/health_check',
        () => ({ form: { client_id: '💥'.repeat(5000), client_assertion: 'a.b.c' } }),
      ],
      [
        'health with NUL bytes',
        'POST',
        '/oauth/v1/health_check',
        () => urlencoded('client_id=%00%00&client_assertion=%00'),
      ],
      [
        'health with claims of the wrong types',
        'POST',
        '/oauth/v1/health_check',
        () => ({
          form: {
            client_id: TEST_APP.clientId,
            client_assertion: signJwt(
              { iss: [TEST_APP.clientId], sub: {}, aud: 5, exp: 'x', iat: null, jti: [] },
              TEST_APP.clientSecret,
            ),
          },
        }),
      ],
      ['token with no body', 'POST', '/oauth/v1/token', () => ({})],
      [
        'token with arrays everywhere',
        'POST',
        '/oauth/v1/token',
        () => urlencoded('grant_type=a&grant_type=b&code=1&code=2'),
      ],
      [
        'token with a broken multipart body',
        'POST',
        '/oauth/v1/token',
        () => ({ body: '--x\r\nnonsense', headers: { 'content-type': 'multipart/form-data; boundary=x' } }),
      ],
      [
        'token with multipart and no boundary',
        'POST',
        '/oauth/v1/token',
        () => ({ body: 'abc', headers: { 'content-type': 'multipart/form-data' } }),
      ],
      [
        'token with an unknown content type',
        'POST',
        '/oauth/v1/token',
        () => ({ body: '\u0000\u0001', headers: { 'content-type': 'application/octet-stream' } }),
      ],
      [
        'token with a valid assertion and a huge code',
        'POST',
        '/oauth/v1/token',
        () => ({ form: tokenForm(emulator, TEST_APP, 'c'.repeat(30_000)) }),
      ],
      ['authorize with no query', 'GET', '/oauth/v1/authorize', () => ({})],
      [
        'authorize with a malformed request JWT',
        'GET',
        `/oauth/v1/authorize?client_id=${TEST_APP.clientId}&response_type=code&scope=openid&redirect_uri=x&request=${badJwt('{')}`,
        () => ({}),
      ],
      [
        'authorize with claims of the wrong types',
        'GET',
        `/oauth/v1/authorize?client_id=${TEST_APP.clientId}&response_type=code&scope=openid&redirect_uri=x&request=${signJwt(
          {
            response_type: ['code'],
            scope: 1,
            client_id: {},
            iss: null,
            aud: [[]],
            exp: {},
            redirect_uri: 5,
            state: [],
            duo_uname: {},
          },
          TEST_APP.clientSecret,
        )}`,
        () => ({}),
      ],
      [
        'authorize with bad percent-encoding',
        'GET',
        '/oauth/v1/authorize?client_id=%&request=%ZZ',
        () => ({}),
      ],
      ['prompt post with no sid', 'POST', '/frame/prompt', () => urlencoded('action=approve')],
      [
        'prompt post with arrays',
        'POST',
        '/frame/prompt',
        () => urlencoded('sid=a&sid=b&action=approve&action=deny'),
      ],
      ['prompt get with arrays', 'GET', '/frame/prompt?sid=a&sid=b', () => ({})],
      ['prompt with another method', 'DELETE', '/frame/prompt', () => ({})],
      ['admin without credentials', 'GET', '/admin/v1/users', () => ({})],
      [
        'admin with garbage credentials',
        'GET',
        '/admin/v1/users?username=%00',
        () => ({ headers: { authorization: 'Basic !!!!', date: 'not a date' } }),
      ],
      [
        'admin with credentials that are not ikey:signature',
        'GET',
        '/admin/v1/users',
        () => ({ headers: { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` } }),
      ],
      [
        'admin with broken JSON',
        'POST',
        '/admin/v1/users/DU000000000000000000/bypass_codes',
        () => ({ body: '{"count":', headers: { 'content-type': 'application/json' } }),
      ],
      [
        'admin with a body over 64 KB',
        'POST',
        '/admin/v1/users/DU000000000000000000/bypass_codes',
        () => urlencoded(`count=${'9'.repeat(70 * 1024)}`),
      ],
      ['admin with an unknown path and method', 'PATCH', '/admin/v9/../../etc/passwd', () => ({})],
      ['an unknown activation link', 'GET', '/activate/NOSUCHCODE', () => ({})],
      ['an activation link with odd characters', 'GET', '/activate/%3Cscript%3E', () => ({})],
    ];
    for (const [name, method, path, options] of cases) {
      it(`answers 4xx or a Duo FAIL, never 5xx: ${name}`, async () => {
        const res = await emulatorRequest(emulator, method, path, options());
        assert.ok(res.status < 500, `${res.status}: ${res.body.slice(0, 200)}`);
        if (res.status === 200) assert.equal(res.json?.stat, 'FAIL');
      });
    }
  });
});
