// POST /oauth/v1/health_check: Duo's answer to a valid client assertion, and its FAIL body for every bad one.
import assert from 'node:assert/strict';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import { OTHER_APP, TEST_APP, clientAssertion, emulatorRequest, healthForm } from '../helpers/duo';

const PATH = '/oauth/v1/health_check';

describe('emulator health check', () => {
  let emulator: DuoEmulator;
  before(async () => {
    emulator = await startDuoEmulator({ applications: [TEST_APP, OTHER_APP] });
  });
  after(() => emulator.close());
  afterEach(() => {
    emulator.setClockOffset(0);
    emulator.setFault(null);
  });

  const post = (form: Record<string, string>) => emulatorRequest(emulator, 'POST', PATH, { form });

  function assertFail(
    res: Awaited<ReturnType<typeof post>>,
    detail = 'The provided client_assertion was invalid.',
  ) {
    assert.equal(res.status, 200);
    assert.equal(res.json.stat, 'FAIL');
    assert.equal(res.json.code, 40002);
    assert.equal(res.json.message, 'invalid_client');
    assert.equal(res.json.message_detail, detail);
    assert.equal(typeof res.json.timestamp, 'number');
  }

  describe('when the client assertion is valid', () => {
    it('answers stat OK with the emulator’s time in seconds', async () => {
      const res = await post(healthForm(emulator, TEST_APP));
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.deepEqual(Object.keys(res.json), ['stat', 'response']);
      assert.equal(res.json.stat, 'OK');
      assert.ok(Math.abs(res.json.response.timestamp - Date.now() / 1000) < 2);
    });

    it('reports its shifted clock after setClockOffset', async () => {
      emulator.setClockOffset(-45);
      const res = await post(healthForm(emulator, TEST_APP));
      assert.equal(res.json.stat, 'OK');
      assert.ok(Math.abs(res.json.response.timestamp - (Date.now() / 1000 - 45)) < 2);
    });

    it('accepts an assertion that expired less than the 60 s leeway ago', async () => {
      const now = Math.round(Date.now() / 1000);
      const res = await post(healthForm(emulator, TEST_APP, { claims: { iat: now - 330, exp: now - 30 } }));
      assert.equal(res.json.stat, 'OK');
    });

    it('accepts the audience spelled with another name of this host (localhost)', async () => {
      const port = emulator.apiHost.split(':').at(-1);
      const res = await post({
        client_id: TEST_APP.clientId,
        client_assertion: clientAssertion(TEST_APP, `https://localhost:${port}${PATH}`),
      });
      assert.equal(res.json.stat, 'OK');
    });
  });

  describe('when the client assertion is invalid', () => {
    const cases: Array<[string, () => Record<string, string>]> = [
      ['signed with alg none', () => healthForm(emulator, TEST_APP, { alg: 'none' })],
      ['signed with HS256', () => healthForm(emulator, TEST_APP, { alg: 'HS256' })],
      [
        'signed with another secret',
        () => healthForm(emulator, TEST_APP, { secret: OTHER_APP.clientSecret }),
      ],
      [
        'for the token endpoint (wrong aud)',
        () =>
          healthForm(emulator, TEST_APP, { claims: { aud: `https://${emulator.apiHost}/oauth/v1/token` } }),
      ],
      [
        'for the base URL (wrong aud)',
        () => healthForm(emulator, TEST_APP, { claims: { aud: `https://${emulator.apiHost}` } }),
      ],
      [
        'for another Duo host (wrong aud)',
        () =>
          healthForm(emulator, TEST_APP, { claims: { aud: `https://api-1234abcd.duosecurity.com${PATH}` } }),
      ],
      ['expired beyond the leeway', () => healthForm(emulator, TEST_APP, { skewSeconds: -400 })],
      ['without exp', () => healthForm(emulator, TEST_APP, { omit: ['exp'] })],
      ['with a non-numeric exp', () => healthForm(emulator, TEST_APP, { claims: { exp: 'tomorrow' } })],
      [
        'issued more than 60 s in the future',
        () => healthForm(emulator, TEST_APP, { claims: { iat: Math.round(Date.now() / 1000) + 120 } }),
      ],
      ['without jti', () => healthForm(emulator, TEST_APP, { omit: ['jti'] })],
      [
        'with a sub other than the client',
        () => healthForm(emulator, TEST_APP, { claims: { sub: OTHER_APP.clientId } }),
      ],
      ['missing', () => ({ client_id: TEST_APP.clientId })],
      ['not a JWT', () => ({ client_id: TEST_APP.clientId, client_assertion: 'not-a-jwt' })],
    ];
    for (const [name, form] of cases) {
      it(`answers stat FAIL invalid_client for an assertion ${name}`, async () => {
        assertFail(await post(form()));
      });
    }

    it('answers stat FAIL when the emulator’s clock makes a fresh assertion expired', async () => {
      emulator.setClockOffset(400);
      assertFail(await post(healthForm(emulator, TEST_APP)));
    });

    it('answers stat FAIL with Duo’s message when iss is not the client_id sent', async () => {
      const res = await post(healthForm(emulator, TEST_APP, { claims: { iss: OTHER_APP.clientId } }));
      assertFail(res, 'The `iss` claim must match the supplied client_id');
    });

    it('answers stat FAIL for a replayed jti, after accepting it once', async () => {
      const form = healthForm(emulator, TEST_APP);
      assert.equal((await post(form)).json.stat, 'OK');
      assertFail(await post(form));
    });
  });

  describe('when the client is unknown', () => {
    it('answers stat FAIL naming the client_id', async () => {
      const stranger = { clientId: 'DIUNKNOWNCLIENT00000', clientSecret: 'u'.repeat(40) };
      assertFail(await post(healthForm(emulator, stranger)), 'The provided client_id is invalid.');
    });
  });

  describe('when called with another method', () => {
    it('answers 405 with Allow: POST', async () => {
      const res = await emulatorRequest(emulator, 'GET', PATH);
      assert.equal(res.status, 405);
      assert.equal(res.headers.allow, 'POST');
    });
  });
});
