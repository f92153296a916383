// What the emulator reports: request counters per endpoint, and a log that never carries secrets.
import assert from 'node:assert/strict';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import {
  TEST_APP,
  authorizeClaims,
  authorizePath,
  emulatorRequest,
  followAuthorize,
  healthForm,
  tokenForm,
} from '../helpers/duo';

describe('emulator calls and log', () => {
  let emulator: DuoEmulator;
  beforeEach(async () => {
    emulator = await startDuoEmulator({ applications: [TEST_APP], mode: 'auto' });
  });
  afterEach(() => emulator.close());

  describe('calls', () => {
    it('counts every request per endpoint, valid or not, and nothing else', async () => {
      assert.deepEqual({ ...emulator.calls }, { health: 0, authorize: 0, token: 0 });
      await emulatorRequest(emulator, 'POST', '/oauth/v1/health_check', {
        form: healthForm(emulator, TEST_APP),
      });
      await emulatorRequest(emulator, 'POST', '/oauth/v1/health_check', { form: { client_id: 'x' } });
      await emulatorRequest(emulator, 'GET', '/oauth/v1/health_check');
      await emulatorRequest(emulator, 'GET', '/oauth/v1/authorize?garbage=1');
      await emulatorRequest(emulator, 'POST', '/oauth/v1/token', { form: {} });
      await emulatorRequest(emulator, 'GET', '/not-an-endpoint');
      await emulatorRequest(emulator, 'GET', '/frame/prompt?sid=x');
      assert.deepEqual({ ...emulator.calls }, { health: 3, authorize: 1, token: 1 });
    });

    it('is a live view callers cannot write', () => {
      const calls = emulator.calls;
      assert.throws(() => {
        (calls as { health: number }).health = 99;
      }, TypeError);
      assert.equal(calls.health, 0);
    });

    it('counts a request that hangs', async () => {
      emulator.setFault({ health: 'hang' });
      await assert.rejects(
        emulatorRequest(emulator, 'POST', '/oauth/v1/health_check', {
          form: healthForm(emulator, TEST_APP),
          timeoutMs: 100,
        }),
      );
      assert.equal(emulator.calls.health, 1);
    });
  });

  describe('log', () => {
    it('records endpoint, client, username, redirect_uri and outcome of each request', async () => {
      const claims = authorizeClaims(emulator, TEST_APP, 'alice');
      const location = await followAuthorize(
        emulator,
        new URL(authorizePath(TEST_APP, claims), emulator.url),
      );
      await emulatorRequest(emulator, 'POST', '/oauth/v1/token', {
        form: tokenForm(emulator, TEST_APP, location.searchParams.get('duo_code')!),
      });
      const entries = emulator.log.map(({ at, ...rest }) => {
        assert.ok(Math.abs(at - Date.now()) < 5000);
        return rest;
      });
      assert.deepEqual(entries, [
        {
          endpoint: 'authorize',
          clientId: TEST_APP.clientId,
          username: 'alice',
          redirectUri: 'https://app.example.test/duo/callback',
          outcome: 'redirect:allow',
        },
        {
          endpoint: 'token',
          clientId: TEST_APP.clientId,
          username: 'alice',
          redirectUri: 'https://app.example.test/duo/callback',
          outcome: 'ok:allow',
        },
      ]);
    });

    it('never contains the client secret, assertions, codes, states or tokens', async () => {
      const secrets: string[] = [TEST_APP.clientSecret];
      const health = healthForm(emulator, TEST_APP);
      secrets.push(health.client_assertion!);
      await emulatorRequest(emulator, 'POST', '/oauth/v1/health_check', { form: health });
      const claims = authorizeClaims(emulator, TEST_APP, 'alice');
      const path = authorizePath(TEST_APP, claims);
      secrets.push(String(claims.state), new URL(path, emulator.url).searchParams.get('request')!);
      const location = await followAuthorize(emulator, new URL(path, emulator.url));
      const code = location.searchParams.get('duo_code')!;
      const form = tokenForm(emulator, TEST_APP, code);
      secrets.push(code, form.client_assertion!);
      const res = await emulatorRequest(emulator, 'POST', '/oauth/v1/token', { form });
      secrets.push(res.json.id_token, res.json.access_token);
      // Failures too: a replayed code and a bad assertion.
      await emulatorRequest(emulator, 'POST', '/oauth/v1/token', {
        form: tokenForm(emulator, TEST_APP, code),
      });
      await emulatorRequest(emulator, 'POST', '/oauth/v1/token', { form: { ...form, code: 'x' } });
      const text = JSON.stringify(emulator.log);
      assert.ok(emulator.log.length >= 5);
      for (const secret of secrets)
        assert.ok(!text.includes(secret), `the log contains ${secret.slice(0, 12)}…`);
    });

    it('is a frozen snapshot', async () => {
      await emulatorRequest(emulator, 'GET', '/oauth/v1/authorize');
      const log = emulator.log;
      assert.ok(Object.isFrozen(log));
      assert.ok(Object.isFrozen(log[0]));
      await emulatorRequest(emulator, 'GET', '/oauth/v1/authorize');
      assert.equal(log.length, 1);
      assert.equal(emulator.log.length, 2);
    });
  });
});
