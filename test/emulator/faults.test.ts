// Injected failures at the HTTP level: what each health and token fault answers, and that null clears them.
import assert from 'node:assert/strict';
import { decodeProtectedHeader, decodeJwt } from 'jose';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import type { TokenFault } from '../../lib/emulator/types';
import { TEST_APP, emulatorRequest, healthForm, issueCode, tokenForm } from '../helpers/duo';

describe('emulator faults', () => {
  let emulator: DuoEmulator;
  before(async () => {
    emulator = await startDuoEmulator({ applications: [TEST_APP], mode: 'auto' });
  });
  after(() => emulator.close());
  afterEach(() => emulator.setFault(null));

  const health = (timeoutMs?: number) =>
    emulatorRequest(emulator, 'POST', '/oauth/v1/health_check', {
      form: healthForm(emulator, TEST_APP),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  const token = async (timeoutMs?: number) => {
    const { code } = await issueCode(emulator, TEST_APP, 'alice');
    return emulatorRequest(emulator, 'POST', '/oauth/v1/token', {
      form: tokenForm(emulator, TEST_APP, code),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  };

  describe('health faults', () => {
    it('down: answers 503 with a load balancer’s HTML, not Duo’s JSON', async () => {
      emulator.setFault({ health: 'down' });
      const res = await health();
      assert.equal(res.status, 503);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.equal(res.json, undefined);
    });

    it('error: answers 200 with stat FAIL', async () => {
      emulator.setFault({ health: 'error' });
      const res = await health();
      assert.equal(res.status, 200);
      assert.equal(res.json.stat, 'FAIL');
      assert.equal(typeof res.json.message, 'string');
      assert.equal(typeof res.json.message_detail, 'string');
    });

    it('hang: accepts the request and never answers', async () => {
      emulator.setFault({ health: 'hang' });
      await assert.rejects(health(300), /timed out/);
      assert.equal(emulator.log.at(-1)?.outcome, 'fault:hang');
    });

    it('slow: answers normally after delayMs', async () => {
      emulator.setFault({ health: 'slow', delayMs: 150 });
      const started = Date.now();
      const res = await health();
      assert.ok(Date.now() - started >= 140, `answered after ${Date.now() - started} ms`);
      assert.equal(res.json.stat, 'OK');
    });

    it('leaves the token endpoint alone', async () => {
      emulator.setFault({ health: 'down' });
      assert.equal((await token()).status, 200);
    });

    it('is cleared by setFault(null)', async () => {
      emulator.setFault({ health: 'down' });
      emulator.setFault(null);
      assert.equal((await health()).json.stat, 'OK');
    });
  });

  describe('token faults', () => {
    it('error: answers 500', async () => {
      emulator.setFault({ token: 'error' });
      const res = await token();
      assert.equal(res.status, 500);
      assert.equal(res.json.error, 'server_error');
    });

    it('hang: accepts the request and never answers', async () => {
      emulator.setFault({ token: 'hang' });
      await assert.rejects(token(300), /timed out/);
    });

    it('slow: answers normally after delayMs', async () => {
      emulator.setFault({ token: 'slow', delayMs: 150 });
      const started = Date.now();
      const res = await token();
      assert.ok(Date.now() - started >= 140);
      assert.equal(res.status, 200);
    });

    it('health and token faults can be set together', async () => {
      emulator.setFault({ health: 'error', token: 'error' });
      assert.equal((await health()).json.stat, 'FAIL');
      assert.equal((await token()).status, 500);
    });

    const tampered: Array<[TokenFault, (body: any) => void]> = [
      ['bad-signature', (body) => assert.equal(decodeProtectedHeader(body.id_token).alg, 'HS512')],
      [
        'wrong-username',
        (body) => assert.equal(decodeJwt(body.id_token).preferred_username, 'alice.impostor'),
      ],
      ['wrong-audience', (body) => assert.notEqual(decodeJwt(body.id_token).aud, TEST_APP.clientId)],
      [
        'wrong-issuer',
        (body) => assert.notEqual(decodeJwt(body.id_token).iss, `https://${emulator.apiHost}/oauth/v1/token`),
      ],
      ['expired', (body) => assert.ok(decodeJwt(body.id_token).exp! < Date.now() / 1000 - 60)],
      ['deny', (body) => assert.equal((decodeJwt(body.id_token).auth_result as any).result, 'deny')],
      ['alg-none', (body) => assert.equal(decodeProtectedHeader(body.id_token).alg, 'none')],
      ['alg-hs256', (body) => assert.equal(decodeProtectedHeader(body.id_token).alg, 'HS256')],
      [
        'missing-claims',
        (body) => {
          const claims = decodeJwt(body.id_token);
          assert.equal(claims.exp, undefined);
          assert.equal(claims.iat, undefined);
        },
      ],
      ['not-bearer', (body) => assert.notEqual(body.token_type, 'Bearer')],
      ['missing-id-token', (body) => assert.equal('id_token' in body, false)],
    ];
    for (const [fault, check] of tampered) {
      it(`${fault}: answers 200 with the tampered token`, async () => {
        emulator.setFault({ token: fault });
        const res = await token();
        assert.equal(res.status, 200);
        check(res.json);
      });
    }
  });
});
