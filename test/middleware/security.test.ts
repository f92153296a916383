// SECURITY.md cases the middleware must survive, each test titled with its case id.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type session from 'express-session';
import request from 'supertest';
import { startDuoEmulator } from '../../lib/emulator/index';
import {
  ACME_APP,
  ALL_APPS,
  createTestApp,
  eventsOf,
  GLOBEX_APP,
  INITECH_APP,
  testPolicy,
  type TestApp,
} from '../helpers/app';
import {
  agentFor,
  beginMfa,
  challengesAcrossAWindowEnd,
  completeMfa,
  cookieOf,
  duoAnswers,
  login,
  type Agent,
} from '../helpers/flow';

type Emulator = Awaited<ReturnType<typeof startDuoEmulator>>;

function stateOf(authUrl: URL): string {
  const jwt = authUrl.searchParams.get('request')!;
  const claims = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));
  return claims.state as string;
}

async function pendingLogin(
  agent: Agent,
  emulator: Emulator,
  user = { username: 'alice', roles: ['admin'] },
) {
  await login(agent, user);
  const authUrl = await beginMfa(agent);
  const callback = await duoAnswers(emulator, authUrl);
  return {
    authUrl,
    callback,
    state: stateOf(authUrl),
    code: new URL(callback, 'http://x').searchParams.get('duo_code')!,
  };
}

describe('SECURITY.md cases (middleware)', () => {
  let emulator: Emulator;
  let t: TestApp;
  let now: number;

  before(async () => {
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
  });
  after(async () => {
    await emulator.close();
  });
  beforeEach(() => {
    emulator.setFault(null);
    emulator.setClockOffset(0);
    now = Date.now();
    t = createTestApp({ emulator, options: { now: () => now } });
  });
  afterEach(() => t.close());

  describe('sessions', () => {
    it('S3 a different user logging in over a verified session does not inherit the verification', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      await completeMfa(agent, emulator);
      await agent.get('/api/data').expect(200);
      await login(agent, { username: 'bob', roles: ['admin'] });
      await agent.get('/api/data').expect(401);
      await agent.get('/private').set('Accept', 'text/html').expect(303);
      const stored = await agent.get('/public/session').expect(200);
      assert.equal(stored.body.user.username, 'bob');
      assert.notEqual(stored.body.duoMfa?.verified?.username, 'bob');
    });

    it('S4 while MFA is pending every protected route answers a redirect to MFA or 401, never data', async () => {
      const agent = agentFor(t.app);
      await pendingLogin(agent, emulator);
      const html = await agent.get('/private').set('Accept', 'text/html');
      assert.equal(html.status, 303);
      assert.match(html.headers.location!, /\/oauth\/v1\/authorize\?/);
      const reload = await agent.get('/private').set('Accept', 'text/html'); // back button / reload
      assert.equal(reload.status, 303);
      for (const [method, path, accept] of [
        ['get', '/api/data', 'application/json'],
        ['post', '/api/data', 'application/json'],
        ['post', '/api/data', 'text/html'],
        ['head', '/private', 'text/html'],
        ['get', '/download', '*/*'],
        ['get', '/download', 'application/octet-stream'],
        ['put', '/private', 'text/html'],
        ['delete', '/api/data', 'application/json'],
      ] as const) {
        const res = await (agent as any)[method](path).set('Accept', accept);
        assert.equal(res.status, 401, `${method.toUpperCase()} ${path} (${accept}) answered ${res.status}`);
        assert.ok(
          !String(res.text ?? '').includes('the data') && !String(res.text ?? '').includes('secret-bytes'),
        );
      }
      const upgrade = await agent.get('/api/data').set('Connection', 'Upgrade').set('Upgrade', 'websocket');
      assert.equal(upgrade.status, 401);
    });

    it('S8 logout leaves nothing reusable: neither the pending login nor the verification', async () => {
      const agent = agentFor(t.app);
      const { callback } = await pendingLogin(agent, emulator);
      await agent.post('/logout').expect(204);
      const tokens = emulator.calls.token;
      const bounced = await agent.get(callback).set('Accept', 'text/html').expect(200);
      assert.match(bounced.text, /http-equiv="refresh"/);
      const replay = await agent.get(`${callback}&duo_mfa_bounce=1`).set('Accept', 'text/html').expect(400);
      assert.match(replay.text, /ERR_DUO_NO_PENDING_LOGIN/);
      assert.equal(emulator.calls.token, tokens, 'no token exchange after logout');

      const second = agentFor(t.app);
      await login(second, { username: 'alice', roles: ['admin'] });
      await completeMfa(second, emulator);
      await second.post('/logout').expect(204);
      await login(second, { username: 'alice', roles: ['admin'] });
      await second.get('/api/data').expect(401);
    });

    it('S9 maxAge is enforced from the stored verification time, not by cookie expiry', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      await completeMfa(agent, emulator);
      now += 12 * 3_600_000 - 1000;
      await agent.get('/api/data').expect(200);
      now += 2000;
      await agent.get('/api/data').expect(401);
      await agent.get('/private').set('Accept', 'text/html').expect(303);
    });
  });

  describe('state and callback', () => {
    it('S10 a callback with missing, repeated or oversized state or duo_code answers 400 and never calls Duo', async () => {
      const agent = agentFor(t.app);
      const { state, code } = await pendingLogin(agent, emulator);
      const tokens = emulator.calls.token;
      const big = 'A'.repeat(5000);
      const cases = [
        '/duo/callback',
        `/duo/callback?duo_code=${code}`,
        `/duo/callback?state=${state}`,
        `/duo/callback?state=${state}&state=${state}&duo_code=${code}`,
        `/duo/callback?state=${state}&duo_code=${code}&duo_code=${code}`,
        `/duo/callback?state=${big}&duo_code=${code}`,
        `/duo/callback?state=${state}&duo_code=${big}`,
        `/duo/callback?state=short&duo_code=${code}`,
        `/duo/callback?state=${state}&duo_code=a%20b`,
        `/duo/callback?state=${state}&duo_code=${code}&error=access_denied`,
        `/duo/callback?state[x]=1&duo_code=${code}`,
        `/duo/callback?state=${encodeURIComponent('<script>')}&duo_code=${code}`,
      ];
      for (const path of cases) {
        const res = await agent.get(path).set('Accept', 'text/html');
        assert.equal(res.status, 400, `${path.slice(0, 80)} answered ${res.status}`);
        assert.match(res.text, /ERR_DUO_CALLBACK_INVALID/);
      }
      assert.equal(emulator.calls.token, tokens);
      // The real pending login is untouched by malformed attempts.
      const ok = await agent.get(`/duo/callback?state=${state}&duo_code=${code}`).expect(303);
      assert.equal(ok.headers.location, '/private');
    });

    it('S11 a wrong state answers 400, clears the pending login, and exchanges nothing', async () => {
      const agent = agentFor(t.app);
      const { state, code } = await pendingLogin(agent, emulator);
      const tokens = emulator.calls.token;
      const wrong = 'B'.repeat(state.length);
      const res = await agent
        .get(`/duo/callback?state=${wrong}&duo_code=${code}`)
        .set('Accept', 'text/html')
        .expect(400);
      assert.match(res.text, /ERR_DUO_STATE_MISMATCH/);
      const stored = await agent.get('/public/session').expect(200);
      assert.deepEqual(stored.body.duoMfa.pending, {});
      const late = await agent
        .get(`/duo/callback?state=${state}&duo_code=${code}&duo_mfa_bounce=1`)
        .expect(400);
      assert.match(late.text, /ERR_DUO_NO_PENDING_LOGIN/);
      assert.equal(emulator.calls.token, tokens);
      assert.equal(eventsOf(t.events, 'mfa.failed')[0]?.reason, 'state_mismatch');
    });

    it('S12 a valid state/code pair delivered to a browser that did not start the login is rejected', async () => {
      const victim = agentFor(t.app);
      const { callback } = await pendingLogin(victim, emulator);
      const attacker = agentFor(t.app);
      await login(attacker, { username: 'alice', roles: ['admin'] }); // even the same username
      const tokens = emulator.calls.token;
      const first = await attacker.get(callback).set('Accept', 'text/html').expect(200);
      assert.match(
        first.text,
        /http-equiv="refresh"/,
        'no pending login here: the SameSite bounce, which consumes nothing',
      );
      const bounced = await attacker
        .get(`${callback}&duo_mfa_bounce=1`)
        .set('Accept', 'text/html')
        .expect(400);
      assert.match(bounced.text, /ERR_DUO_NO_PENDING_LOGIN/);
      const anonymous = await request(t.app).get(`${callback}&duo_mfa_bounce=1`).set('Accept', 'text/html');
      assert.equal(anonymous.status, 400);
      assert.equal(emulator.calls.token, tokens);
      await attacker.get('/api/data').expect(401);
    });

    it('S13 replaying a used callback URL exchanges nothing and grants nothing (same browser, after logout, another browser)', async () => {
      const agent = agentFor(t.app);
      const { callback } = await pendingLogin(agent, emulator);
      await agent.get(callback).expect(303);
      const tokens = emulator.calls.token;
      await agent.get(callback).expect(303);
      const other = agentFor(t.app);
      await login(other, { username: 'alice', roles: ['admin'] });
      assert.equal((await other.get(`${callback}&duo_mfa_bounce=1`)).status, 400);
      await other.get('/api/data').expect(401);
      await agent.post('/logout').expect(204);
      assert.equal((await agent.get(`${callback}&duo_mfa_bounce=1`)).status, 400);
      assert.equal(emulator.calls.token, tokens, 'no second exchange');
    });

    it('S15 a callback more than 10 minutes after the start is rejected as expired', async () => {
      const agent = agentFor(t.app);
      const { callback } = await pendingLogin(agent, emulator);
      const tokens = emulator.calls.token;
      now += 10 * 60_000 + 1000;
      const res = await agent.get(callback).set('Accept', 'text/html').expect(400);
      assert.match(res.text, /ERR_DUO_STATE_EXPIRED/);
      assert.equal(emulator.calls.token, tokens);
      assert.equal(eventsOf(t.events, 'mfa.failed')[0]?.reason, 'expired');
    });

    it('S16 two tabs each starting MFA: each state works once, for its own transaction only', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      const tab1 = await beginMfa(agent, '/private?tab=1');
      // More than 4 minutes later: sooner, the second tab would go back to the first tab's prompt (S42).
      now += 5 * 60_000;
      const tab2 = await beginMfa(agent, '/private?tab=2');
      assert.notEqual(stateOf(tab1), stateOf(tab2));
      const cb1 = await duoAnswers(emulator, tab1);
      const cb2 = await duoAnswers(emulator, tab2);
      const tokens = emulator.calls.token;
      assert.equal((await agent.get(cb2).expect(303)).headers.location, '/private?tab=2');
      assert.equal((await agent.get(cb1).expect(303)).headers.location, '/private?tab=1');
      assert.equal(emulator.calls.token - tokens, 2);
      // Crossing them: tab 1's state with tab 2's code is refused.
      const code2 = new URL(cb2, 'http://x').searchParams.get('duo_code');
      const crossed = await agent.get(`/duo/callback?state=${stateOf(tab1)}&duo_code=${code2}`);
      assert.equal(crossed.status, 303, 'a consumed state lands on its own page');
      assert.equal(crossed.headers.location, '/private?tab=1');
      assert.equal(emulator.calls.token - tokens, 2, 'no further exchange');
    });

    it('S17 Duo’s error callback shows a denied page with the description escaped, never reflected raw', async () => {
      emulator.setUser('alice', { result: 'error', reason: '<script>alert("x")</script><img src=x>' });
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      const authUrl = await beginMfa(agent);
      const callback = await duoAnswers(emulator, authUrl);
      assert.match(callback, /error=access_denied/);
      const tokens = emulator.calls.token;
      const res = await agent.get(callback).set('Accept', 'text/html').expect(403);
      assert.ok(!res.text.includes('<script>alert'), 'raw script reflected');
      assert.ok(!res.text.includes('<img src=x>'), 'raw tag reflected');
      assert.match(res.text, /&#60;script&#62;/);
      assert.match(res.text, /ERR_DUO_CALLBACK_ERROR/);
      assert.equal(emulator.calls.token, tokens);
      await agent.get('/api/data').expect(401);
      emulator.setUser('alice', {});
    });

    it('S18 back button or a second click on a consumed callback after success lands on the page, with no second exchange', async () => {
      const agent = agentFor(t.app);
      const { callback } = await pendingLogin(agent, emulator);
      assert.equal((await agent.get(callback).expect(303)).headers.location, '/private');
      const tokens = emulator.calls.token;
      for (let i = 0; i < 2; i++) {
        const again = await agent.get(callback).set('Accept', 'text/html').expect(303);
        assert.equal(again.headers.location, '/private');
      }
      assert.equal(emulator.calls.token, tokens);
    });

    it('S18 where a sign-in landed is kept by the store, not the session; once forgotten, a repeat lands on afterLoginPath', async () => {
      const agent = agentFor(t.app);
      const { callback } = await pendingLogin(agent, emulator);
      await agent.get(callback).expect(303);
      const stored = (await agent.get('/public/session').expect(200)).body as { duoMfa: object };
      assert.deepEqual(
        Object.keys(stored.duoMfa),
        ['verified'],
        'the verified session holds nothing else of ours',
      );
      const tokens = emulator.calls.token;
      now += 10 * 60_000 + 1000; // the store forgets the landing with the pending login's lifetime
      const again = await agent.get(callback).set('Accept', 'text/html').expect(303);
      assert.equal(again.headers.location, '/');
      assert.equal(emulator.calls.token, tokens, 'no second exchange');
    });
  });

  describe('identity and token', () => {
    it('S19 a code issued for mallory cannot complete alice’s pending login', async () => {
      const mallory = agentFor(t.app);
      const m = await pendingLogin(mallory, emulator, { username: 'mallory', roles: ['admin'] });
      const alice = agentFor(t.app);
      const a = await pendingLogin(alice, emulator, { username: 'alice', roles: ['admin'] });
      const res = await alice
        .get(`/duo/callback?state=${a.state}&duo_code=${m.code}`)
        .set('Accept', 'text/html');
      assert.equal(res.status, 401);
      assert.match(res.text, /ERR_DUO_USERNAME_MISMATCH/);
      await alice.get('/api/data').expect(401);
      await mallory.get('/api/data').expect(401);
      assert.equal(eventsOf(t.events, 'mfa.failed').at(-1)?.reason, 'username_mismatch');
    });

    it('S19 a token naming another user (fault) is refused', async () => {
      emulator.setFault({ token: 'wrong-username' });
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      const res = await completeMfa(agent, emulator);
      assert.equal(res.status, 401);
      await agent.get('/api/data').expect(401);
    });

    it('S20 usernames are canonicalised once: " Alice " and "ALICE" are the same Duo user', async () => {
      for (const username of [' Alice ', 'ALICE', 'alice']) {
        const agent = agentFor(t.app);
        await login(agent, { username, roles: ['admin'] });
        const res = await completeMfa(agent, emulator);
        assert.equal(res.status, 303);
        assert.equal(emulator.log.filter((e) => e.endpoint === 'authorize').at(-1)?.username, 'alice');
        await agent.get('/api/data').expect(200);
      }
    });

    it('S20 toDuoUsername maps the user to Duo’s name, sent and compared consistently', async () => {
      t.close();
      t = createTestApp({
        emulator,
        options: { toDuoUsername: (u) => `${u.username.trim().toLowerCase()}@acme.example` },
      });
      const agent = agentFor(t.app);
      await login(agent, { username: ' Dana', roles: [] });
      const res = await completeMfa(agent, emulator);
      assert.equal(res.status, 303);
      assert.equal(
        emulator.log.filter((e) => e.endpoint === 'authorize').at(-1)?.username,
        'dana@acme.example',
      );
      await agent.get('/api/data').expect(200);
    });

    for (const fault of [
      'bad-signature',
      'alg-none',
      'alg-hs256',
      'wrong-issuer',
      'wrong-audience',
      'expired',
      'missing-claims',
      'not-bearer',
      'missing-id-token',
    ] as const) {
      it(`S21 a tampered id_token (${fault}) is denied`, async () => {
        emulator.setFault({ token: fault });
        const agent = agentFor(t.app);
        await login(agent, { username: 'alice', roles: ['admin'] });
        const res = await completeMfa(agent, emulator);
        assert.equal(res.status, 401, res.text.slice(0, 300));
        assert.match(res.text, /ERR_DUO_TOKEN_INVALID/);
        await agent.get('/api/data').expect(401);
        assert.equal(eventsOf(t.events, 'mfa.failed').at(-1)?.reason, 'exchange_failed');
      });
    }

    it('S23 token endpoint errors deny, and failmode open never applies after the redirect', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'gina', tenant: 'globex' }); // globex fails open
      const authUrl = await beginMfa(agent);
      const callback = await duoAnswers(emulator, authUrl);
      const forged = callback.replace(/duo_code=[^&]+/, 'duo_code=not-a-real-code');
      const rejected = await agent.get(forged).set('Accept', 'text/html');
      assert.equal(rejected.status, 401);
      assert.match(rejected.text, /ERR_DUO_CODE_REJECTED/);
      await agent.get('/api/data').expect(401);
      assert.equal(eventsOf(t.events, 'mfa.failopen').length, 0);

      emulator.setFault({ token: 'error' });
      const second = agentFor(t.app);
      await login(second, { username: 'gina', tenant: 'globex' });
      const res = await completeMfa(second, emulator);
      assert.equal(res.status, 503);
      await second.get('/api/data').expect(401);
      emulator.setFault({ token: 'hang' });
      const third = agentFor(t.app);
      await login(third, { username: 'gina', tenant: 'globex' });
      const started = Date.now();
      const hung = await completeMfa(third, emulator);
      assert.equal(hung.status, 503);
      assert.ok(Date.now() - started < 1500 + 1000);
      await third.get('/api/data').expect(401);
      assert.equal(eventsOf(t.events, 'mfa.failopen').length, 0);
    });

    it('S24 each tenant’s code is exchanged with that tenant’s own Duo client (mix-up defence)', async () => {
      const globexBrowser = agentFor(t.app);
      const g = await pendingLogin(globexBrowser, emulator, { username: 'alice', tenant: 'globex' } as any);
      const acmeBrowser = agentFor(t.app);
      const a = await pendingLogin(acmeBrowser, emulator, { username: 'alice', roles: ['admin'] });
      const res = await acmeBrowser
        .get(`/duo/callback?state=${a.state}&duo_code=${g.code}`)
        .set('Accept', 'text/html');
      assert.equal(res.status, 401);
      assert.match(res.text, /ERR_DUO_CODE_REJECTED/);
      const tokenLog = emulator.log.filter((e) => e.endpoint === 'token').at(-1);
      assert.equal(tokenLog?.clientId, ACME_APP.clientId, 'exchanged with acme’s client');
      await acmeBrowser.get('/api/data').expect(401);
      assert.notEqual(GLOBEX_APP.clientId, ACME_APP.clientId);
    });
  });

  describe('Duo unavailable', () => {
    it('S27 inputs a user controls never trigger failmode open', async () => {
      const odd = ['ali\u0001ce', 'x'.repeat(5000), 'a\u0000b', '\u202Egina', 'gina\r\nSet-Cookie: x=1'];
      for (const username of odd) {
        const agent = agentFor(t.app);
        await login(agent, { username, tenant: 'globex' });
        const res = await agent.get('/private').set('Accept', 'text/html');
        assert.ok(
          [303, 400].includes(res.status),
          `${JSON.stringify(username.slice(0, 20))} answered ${res.status}`,
        );
        // API clients get the 401 — or, for a name with invisible format characters (U+202E), the 400 (S46).
        const api = await agent.get('/api/data');
        assert.ok(
          [400, 401].includes(api.status),
          `${JSON.stringify(username.slice(0, 20))} API ${api.status}`,
        );
        assert.ok(!('secret' in api.body));
      }
      assert.equal(eventsOf(t.events, 'mfa.failopen').length, 0);
    });

    it('S26 a health check that Duo answers by refusing the credentials never fails open', async () => {
      t.close();
      const policy = testPolicy(emulator.apiHost);
      policy.tenants.globex.duo.clientSecret = ACME_APP.clientSecret; // an admin's copy-paste mistake
      t = createTestApp({ emulator, policy });
      const agent = agentFor(t.app);
      await login(agent, { username: 'gina', tenant: 'globex' });
      const res = await agent.get('/private').set('Accept', 'text/html').expect(503);
      assert.match(res.text, /ERR_DUO_CREDENTIALS/);
      await agent.get('/api/data').expect(401);
      assert.equal(eventsOf(t.events, 'mfa.failopen').length, 0);
    });

    it('S29 a clock off by more than the leeway fails the exchange closed, naming clock skew', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'gina', tenant: 'globex' }); // even a fail-open tenant
      const authUrl = await beginMfa(agent);
      const callback = await duoAnswers(emulator, authUrl);
      emulator.setClockOffset(600);
      const res = await agent.get(callback).set('Accept', 'text/html');
      assert.equal(res.status, 503);
      assert.match(res.text, /ERR_DUO_CLOCK_SKEW/);
      assert.match(res.text, /clock/);
      await agent.get('/api/data').expect(401);
      assert.equal(eventsOf(t.events, 'mfa.failed').at(-1)?.reason, 'clock_skew');
    });

    it('S29 the health check’s timestamp warns operators and names clock skew before anyone goes to Duo', async () => {
      emulator.setClockOffset(-600);
      const agent = agentFor(t.app);
      await login(agent, { username: 'gina', tenant: 'globex' });
      const res = await agent.get('/private').set('Accept', 'text/html');
      assert.equal(res.status, 503);
      assert.match(res.text, /ERR_DUO_CLOCK_SKEW/);
      assert.equal(eventsOf(t.events, 'mfa.failopen').length, 0, 'a wrong local clock never fails open');
      assert.ok(
        t.logs.some((line) => /clock/.test(line)),
        'a log line names the clock',
      );
    });

    it('S29 a skew under the leeway but over 30 s only logs a warning', async () => {
      emulator.setClockOffset(45);
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      const res = await completeMfa(agent, emulator);
      assert.equal(res.status, 303);
      assert.ok(t.logs.some((line) => /"level":40/.test(line) && /clock differs/.test(line)));
    });
  });

  describe('redirects, cookies, headers, logs', () => {
    for (const evil of [
      '//evil.example/',
      '//evil.example/%2F..',
      '/%5Cevil.example',
      '/%2F%2Fevil.example',
      '/duo/callback?x=1',
    ]) {
      it(`S30 the return path ${evil} becomes the landing page`, async () => {
        const agent = agentFor(t.app);
        await login(agent, { username: 'alice', roles: ['admin'] });
        const res = await agent.get(evil).set('Accept', 'text/html');
        if (res.status !== 303 || !/authorize/.test(res.headers.location ?? '')) return; // refused before MFA: fine
        const done = await agent.get(await duoAnswers(emulator, new URL(res.headers.location!))).expect(303);
        assert.equal(done.headers.location, '/');
      });
    }

    it('S30 returnTo on the start route is checked with the URL parser against baseUrl', async () => {
      for (const evil of [
        'https://evil.example',
        '//evil.example',
        '/\\evil.example',
        'javascript:alert(1)',
        'https://app@evil.example',
        '/a\tb',
        '/a\r\nb',
      ]) {
        const agent = agentFor(t.app);
        await login(agent, { username: `user-${evil.length}-${evil.charCodeAt(3)}`, roles: ['admin'] });
        const authUrl = await beginMfa(agent, `/duo/start?returnTo=${encodeURIComponent(evil)}`);
        const done = await agent.get(await duoAnswers(emulator, authUrl)).expect(303);
        assert.equal(
          done.headers.location,
          '/',
          `${JSON.stringify(evil)} landed on ${done.headers.location}`,
        );
      }
    });

    it('S31 the callback ignores returnTo in its query and the Referer', async () => {
      const agent = agentFor(t.app);
      const { callback } = await pendingLogin(agent, emulator);
      const res = await agent
        .get(`${callback}&returnTo=${encodeURIComponent('https://evil.example/')}`)
        .set('Referer', 'https://evil.example/phish')
        .expect(303);
      assert.equal(res.headers.location, '/private');
    });

    it('S32 every page the middleware renders sends no-store, no-referrer, helmet’s headers and a strict CSP', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'eve', tenant: 'umbrella' });
      const pages = [
        await agent.get('/private').set('Accept', 'text/html'), // 403 unknown tenant
        await request(t.app).get('/duo/callback').set('Accept', 'text/html'), // 400
        await request(t.app)
          .get(`/duo/callback?state=${'A'.repeat(43)}&duo_code=abc`)
          .set('Accept', 'text/html'), // bounce
      ];
      const pending = agentFor(t.app);
      await login(pending, { username: 'alice', roles: ['admin'] });
      pages.push(await pending.get('/private').set('Accept', 'text/html')); // 303 to Duo
      pages.push(await pending.get('/api/data')); // 401 JSON
      for (const res of pages) {
        assert.equal(res.headers['cache-control'], 'no-store', `${res.status}`);
        assert.equal(res.headers['referrer-policy'], 'no-referrer');
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
        const csp = res.headers['content-security-policy']!;
        assert.match(csp, /default-src 'none'/);
        assert.match(csp, /frame-ancestors 'none'/);
        assert.doesNotMatch(csp, /unsafe-inline|https?:/);
        if (/html/.test(res.headers['content-type'] ?? '')) {
          assert.doesNotMatch(
            res.text,
            /<script|src=["']?https?:|href=["']?https?:/,
            'no third-party resources',
          );
        }
      }
    });

    it('S33 with SameSite=Strict the cookie-less callback gets a same-origin bounce that completes the login', async () => {
      t.close();
      t = createTestApp({ emulator, sameSite: 'strict' });
      const agent = agentFor(t.app);
      const { callback } = await pendingLogin(agent, emulator);
      const tokens = emulator.calls.token;
      // The cross-site redirect from Duo arrives without the Strict cookie.
      const crossSite = await request(t.app).get(callback).set('Accept', 'text/html').expect(200);
      assert.equal(crossSite.headers['set-cookie'], undefined, 'no new session cookie on the bounce');
      const refresh = /http-equiv="refresh" content="0;url=([^"]+)"/
        .exec(crossSite.text)?.[1]
        ?.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)));
      assert.ok(refresh?.startsWith('/duo/callback?'), `bounce target ${refresh}`);
      assert.match(refresh!, /duo_mfa_bounce=1/);
      assert.equal(emulator.calls.token, tokens, 'the bounce consumed nothing');
      // Never completed on the state alone: the bounced request without the cookie fails.
      await request(t.app).get(refresh!).expect(400);
      // The same-origin repeat carries the cookie and completes.
      const done = await agent.get(refresh!).expect(303);
      assert.equal(done.headers.location, '/private');
      await agent.get('/api/data').expect(200);
    });

    it('S34 logs and events never contain the client secret, duo_code, state, id_token or session ids', async () => {
      const agent = agentFor(t.app);
      const { callback, state, code } = await pendingLogin(agent, emulator);
      await agent.get(`/duo/callback?state=${'Z'.repeat(43)}&duo_code=${code}`); // a failure path too
      const second = agentFor(t.app);
      const s2 = await pendingLogin(second, emulator);
      await second.get(s2.callback).expect(303);
      emulator.setFault({ token: 'bad-signature' });
      const third = agentFor(t.app);
      const s3 = await pendingLogin(third, emulator);
      await third.get(s3.callback);
      const cookies = [cookieOf(agent), cookieOf(second), cookieOf(third)].map((c) =>
        decodeURIComponent(c).slice(2, decodeURIComponent(c).indexOf('.')),
      );
      const haystack = t.logs.join('\n') + JSON.stringify(t.events);
      const secrets = [
        ...ALL_APPS.map((a) => a.clientSecret),
        state,
        code,
        s2.state,
        s2.code,
        s3.state,
        s3.code,
        ...cookies,
      ];
      for (const secret of secrets) assert.ok(!haystack.includes(secret), `leaked ${secret.slice(0, 6)}…`);
      assert.doesNotMatch(haystack, /eyJ[A-Za-z0-9_-]{10,}\./, 'no JWT in logs');
      assert.ok(callback && t.logs.length > 0);
    });
  });

  describe('stores, instances, configuration', () => {
    it('S35 a disconnected session store (no req.session) fails closed with 503', async () => {
      t.close();
      let store: session.Store | undefined;
      t = createTestApp({ emulator, wrapStore: (s) => (store = s) });
      const agent = agentFor(t.app);
      await login(agent, { username: 'kiosk-1' });
      await agent.get('/private').set('Accept', 'text/html').expect(200);
      store!.emit('disconnect');
      const res = await agent.get('/private').set('Accept', 'text/html').expect(503);
      assert.match(res.text, /ERR_SESSION_MISSING/);
      await agent.get('/api/data').expect(503);
      store!.emit('connect');
      await agent.get('/private').set('Accept', 'text/html').expect(200);
    });

    it('S36 a session save failure during the callback answers an error page, not a redirect into the app', async () => {
      t.close();
      let failSaves = false;
      t = createTestApp({
        emulator,
        wrapStore: (s) => {
          const set = s.set.bind(s);
          s.set = (sid, data, cb) => (failSaves ? cb?.(new Error('store write failed')) : set(sid, data, cb));
          return s;
        },
      });
      const agent = agentFor(t.app);
      const { callback } = await pendingLogin(agent, emulator);
      failSaves = true;
      const res = await agent.get(callback).set('Accept', 'text/html');
      assert.equal(res.status, 503);
      assert.match(res.text, /ERR_SESSION_SAVE_FAILED/);
      assert.equal(res.headers.location, undefined);
      failSaves = false;
      await agent.get('/api/data').expect(401);
    });

    it('S38 a policy file corrupted at runtime keeps the last good policy in force, with policy.invalid', async () => {
      t.close();
      const dir = mkdtempSync(join(tmpdir(), 'duo-mfa-s38-'));
      const file = join(dir, 'policy.json');
      writeFileSync(file, JSON.stringify(testPolicy(emulator.apiHost)));
      try {
        t = createTestApp({ emulator, policy: file });
        const agent = agentFor(t.app);
        await login(agent, { username: 'alice', roles: ['admin'] });
        writeFileSync(file, '{ "tenants": { "acme": ');
        const deadline = Date.now() + 5000;
        while (eventsOf(t.events, 'policy.invalid').length === 0 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        assert.equal(eventsOf(t.events, 'policy.invalid').length, 1);
        await agent.get('/private').set('Accept', 'text/html').expect(303); // still required
        rmSync(file);
        await new Promise((r) => setTimeout(r, 300));
        await agent.get('/api/data').expect(401);
      } finally {
        t.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('S39 duoMfa mounted without a session middleware answers a clear 503, never a pass-through', async () => {
      t.close();
      t = createTestApp({ emulator, noSession: true });
      const res = await request(t.app).get('/private').set('Accept', 'text/html').expect(503);
      assert.match(res.text, /ERR_SESSION_MISSING/);
      assert.ok(t.logs.some((line) => /Mount express-session/.test(line)));
      await request(t.app).get('/public/info').expect(200);
    });

    it('S40 forged X-Forwarded-* and Host headers change neither the redirect_uri nor the tenant', async () => {
      t.app.set('trust proxy', true);
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      const res = await agent
        .get('/private')
        .set('Accept', 'text/html')
        .set('X-Forwarded-Host', 'evil.example')
        .set('X-Forwarded-Proto', 'https')
        .set('Host', 'evil.example')
        .set('X-Tenant', 'globex')
        .expect(303);
      const authUrl = new URL(res.headers.location!);
      assert.equal(authUrl.searchParams.get('redirect_uri'), 'http://127.0.0.1/duo/callback');
      const claims = JSON.parse(
        Buffer.from(authUrl.searchParams.get('request')!.split('.')[1]!, 'base64url').toString(),
      );
      assert.equal(claims.redirect_uri, 'http://127.0.0.1/duo/callback');
      assert.equal(claims.client_id, ACME_APP.clientId);
      assert.notEqual(claims.client_id, INITECH_APP.clientId);
    });

    it('S41 at most challengeLimit Duo challenges per user per 15 minutes, then 429 and an event', async () => {
      t.close();
      const policy = testPolicy(emulator.apiHost);
      policy.tenants.acme.challengeLimit = 3;
      t = createTestApp({ emulator, policy, options: { now: () => now } });
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      // A start more than 4 minutes after the last is a new challenge (sooner, it reuses the prompt under way, S42).
      for (let i = 0; i < 3; i++) {
        await beginMfa(agent, `/private?attempt=${i}`);
        now += 4 * 60_000 + 1;
      }
      const res = await agent.get('/private?attempt=3').set('Accept', 'text/html').expect(429);
      assert.match(res.text, /ERR_DUO_CHALLENGE_LIMIT/);
      assert.equal(res.headers['retry-after'], '900');
      const denied = eventsOf(t.events, 'mfa.denied').at(-1);
      assert.equal(denied?.reason, 'challenge_limit');
      // Another user is not affected; the window resets after 15 minutes.
      const other = agentFor(t.app);
      await login(other, { username: 'dana' });
      await beginMfa(other);
      now += 15 * 60_000 + 1;
      await beginMfa(agent);
    });

    it('S41 the window slides: never more than challengeLimit challenges within any 15 minutes', async () => {
      t.close();
      const policy = testPolicy(emulator.apiHost);
      policy.tenants.acme.challengeLimit = 3;
      t = createTestApp({ emulator, policy, options: { now: () => now } });
      assert.deepEqual(await challengesAcrossAWindowEnd(t.app, (at) => (now = at), now), {
        before: [303, 303, 303],
        after: [303, 429, 429],
        between: [303],
        later: [303, 303, 303, 429],
      });
    });
  });
});
