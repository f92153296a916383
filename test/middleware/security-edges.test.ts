// SECURITY.md cases at their edges: races with logout, one-off store failures, the user or tenant changing while
// Duo runs, odd user shapes, and the protections a first review found untested.

import assert from 'node:assert/strict';
import https from 'node:https';
import request from 'supertest';
import { DuoAdapter } from '../../lib/duo/adapter';
import { startDuoEmulator } from '../../lib/emulator/index';
import { safeReturnPath } from '../../lib/middleware/return-path';
import {
  ACME_APP,
  ALL_APPS,
  createTestApp,
  eventsOf,
  failingOnce,
  policyFile,
  testPolicy,
  type TestApp,
} from '../helpers/app';
import {
  agentFor,
  beginMfa,
  completeMfa,
  continueToken,
  cookieOf,
  duoAnswers,
  login,
  type Agent,
} from '../helpers/flow';

type Emulator = Awaited<ReturnType<typeof startDuoEmulator>>;

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function pending(agent: Agent, emulator: Emulator, user = { username: 'alice', roles: ['admin'] }) {
  await login(agent, user);
  const authUrl = await beginMfa(agent);
  return duoAnswers(emulator, authUrl);
}

describe('SECURITY.md cases at the edges (middleware)', () => {
  let emulator: Emulator;
  const apps: TestApp[] = [];
  let now: number;

  function app(
    options: Parameters<typeof createTestApp>[0] extends infer O ? Partial<O> : never = {},
  ): TestApp {
    const t = createTestApp({ emulator, ...options, options: { now: () => now, ...options.options } });
    apps.push(t);
    return t;
  }

  before(async () => {
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
  });
  after(async () => {
    await emulator.close();
  });
  beforeEach(() => {
    now = Date.now();
    emulator.setFault(null);
  });
  afterEach(() => {
    for (const t of apps.splice(0)) t.close();
  });

  describe('the user or tenant changes while Duo runs', () => {
    it('S3 another user signing in on the same browser between start and callback is refused', async () => {
      const t = app();
      const agent = agentFor(t.app);
      const callback = await pending(agent, emulator);
      const tokens = emulator.calls.token;
      await login(agent, { username: 'bob', roles: ['admin'] });
      const res = await agent.get(callback).set('Accept', 'text/html').expect(400);
      assert.match(res.text, /ERR_DUO_STATE_MISMATCH/);
      assert.equal(emulator.calls.token, tokens, 'no exchange for a changed user');
      assert.equal(eventsOf(t.events, 'mfa.failed').at(-1)?.reason, 'user_changed');
      await agent.get('/api/data').expect(401);
    });

    it('S5 the same user switching tenant between start and callback is refused', async () => {
      const t = app();
      const agent = agentFor(t.app);
      const callback = await pending(agent, emulator);
      await login(agent, { username: 'alice', tenant: 'globex', roles: ['admin'] });
      await agent.get(callback).set('Accept', 'text/html').expect(400);
      assert.equal(eventsOf(t.events, 'mfa.failed').at(-1)?.reason, 'user_changed');
    });

    it('S42 the Continue page’s token is no grace-period “later”, even when a grace period begins before the click', async () => {
      const policy = testPolicy(emulator.apiHost);
      const file = policyFile(policy);
      try {
        const t = app({ policy: file.file });
        const agent = agentFor(t.app);
        await login(agent, { username: 'alice', roles: ['admin'] });
        const token = await continueToken(agent);
        policy.tenants.acme.mfa.enforceFrom = '2999-01-01T00:00:00Z';
        file.write(policy);
        await until(() => eventsOf(t.events, 'policy.reloaded').length > 0);
        const res = await agent
          .post('/duo/start')
          .set({ 'Sec-Fetch-Site': 'same-origin', Origin: 'null' })
          .type('form')
          .send({ token, choice: 'later' });
        assert.equal(res.status, 303);
        assert.equal(new URL(res.headers.location!).pathname, '/oauth/v1/authorize');
        assert.equal(eventsOf(t.events, 'mfa.deferred').length, 0);
      } finally {
        file.remove();
      }
    });

    it('S24 a tenant whose Duo application changed between start and callback is refused without an exchange', async () => {
      const policy = testPolicy(emulator.apiHost);
      const file = policyFile(policy);
      try {
        const t = app({ policy: file.file });
        const agent = agentFor(t.app);
        const callback = await pending(agent, emulator);
        policy.tenants.acme.duo = {
          ...policy.tenants.acme.duo,
          clientId: ALL_APPS[1]!.clientId,
          clientSecret: ALL_APPS[1]!.clientSecret,
        };
        file.write(policy);
        await until(() => eventsOf(t.events, 'policy.reloaded').length > 0);
        const tokens = emulator.calls.token;
        const res = await agent.get(callback).set('Accept', 'text/html').expect(401);
        assert.match(res.text, /ERR_DUO_CODE_REJECTED/);
        assert.equal(emulator.calls.token, tokens, 'never exchanged with another application');
        assert.equal(eventsOf(t.events, 'mfa.failed').at(-1)?.reason, 'tenant_changed');
      } finally {
        file.remove();
      }
    });
  });

  describe('races with logout and one-off store failures', () => {
    it('S8 logging out while the code exchange is in flight is not undone by the callback', async () => {
      const t = app();
      const agent = agentFor(t.app);
      const callback = await pending(agent, emulator);
      const cookie = cookieOf(agent);
      emulator.setFault({ token: 'slow', delayMs: 400 });
      const inFlight = request(t.app)
        .get(callback)
        .set('Cookie', `connect.sid=${cookie}`)
        .set('Accept', 'text/html');
      const done = inFlight.then((res) => res);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await agent.post('/logout').expect(204);
      const res = await done;
      assert.notEqual(res.status, 303, 'no redirect into the app');
      assert.equal(res.headers['set-cookie'], undefined, 'no new session cookie');
      assert.equal((await t.sessionIds()).length, 0, 'the logged-out session stays gone');
      assert.equal(eventsOf(t.events, 'mfa.succeeded').length, 0);
      assert.equal(eventsOf(t.events, 'mfa.failed').at(-1)?.reason, 'session_changed');
      await request(t.app).get('/api/data').set('Cookie', `connect.sid=${cookie}`).expect(401);
    });

    it('S8 logging out while the health check is in flight does not bring the session back', async () => {
      const t = app();
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      const cookie = cookieOf(agent);
      emulator.setFault({ health: 'slow', delayMs: 400 });
      const done = request(t.app)
        .get('/private')
        .set('Cookie', `connect.sid=${cookie}`)
        .set('Accept', 'text/html');
      const result = done.then((res) => res);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await agent.post('/logout').expect(204);
      const res = await result;
      assert.equal(res.status, 303);
      assert.equal(res.headers.location, '/', 'back to the start, not to Duo');
      assert.equal((await t.sessionIds()).length, 0, 'no session resurrected with the user in it');
    });

    it('S36 a one-off session save failure during the callback leaves the user unverified (no half-granted session)', async () => {
      const saves = failingOnce();
      const t = app({ wrapStore: saves.wrapStore });
      const agent = agentFor(t.app);
      const callback = await pending(agent, emulator);
      saves.armed = true;
      const res = await agent.get(callback).set('Accept', 'text/html');
      assert.equal(res.status, 503);
      assert.match(res.text, /ERR_SESSION_SAVE_FAILED/);
      assert.equal(res.headers['set-cookie'], undefined, 'no cookie for a session that was never stored');
      assert.equal(saves.armed, false, 'the store failed exactly once');
      await agent.get('/api/data').expect(401);
      assert.equal(eventsOf(t.events, 'mfa.succeeded').length, 0);
    });

    it('S26 a one-off save failure while failing open grants no pass (and no unaudited one)', async () => {
      const saves = failingOnce();
      const t = app({ wrapStore: saves.wrapStore });
      emulator.setFault({ health: 'down' });
      const agent = agentFor(t.app);
      await login(agent, { username: 'gina', tenant: 'globex' });
      saves.armed = true;
      const res = await agent.get('/private').set('Accept', 'text/html');
      assert.equal(res.status, 503);
      await agent.get('/api/data').expect(401);
      assert.equal(eventsOf(t.events, 'mfa.failopen').length, 0);
    });
  });

  describe('fail-open limits', () => {
    it('S26 a health check Duo answers with HTTP 401 (application disabled) never fails open', async () => {
      const t = app();
      emulator.setFault({ health: 'refused' });
      const agent = agentFor(t.app);
      await login(agent, { username: 'gina', tenant: 'globex' });
      const res = await agent.get('/private').set('Accept', 'text/html').expect(503);
      assert.match(res.text, /ERR_DUO_CREDENTIALS/);
      await agent.get('/api/data').expect(401);
      assert.equal(eventsOf(t.events, 'mfa.failopen').length, 0);
    });

    it('S26 step-up (requireRecentMfa) never fails open', async () => {
      const t = app();
      const agent = agentFor(t.app);
      await login(agent, { username: 'gina', tenant: 'globex' });
      await completeMfa(agent, emulator);
      now += 10 * 60_000;
      emulator.setFault({ health: 'down' });
      const res = await agent.get('/admin/payout').set('Accept', 'text/html').expect(503);
      assert.match(res.text, /ERR_DUO_UNAVAILABLE/);
      assert.equal(eventsOf(t.events, 'mfa.failopen').length, 0);
    });

    it('S26 a fail-open pass lasts failOpenMaxAge, then Duo is asked again', async () => {
      const t = app({ options: { failOpenMaxAge: '5m' } });
      emulator.setFault({ health: 'down' });
      const agent = agentFor(t.app);
      await login(agent, { username: 'gina', tenant: 'globex' });
      await agent.get('/private').set('Accept', 'text/html').expect(200);
      now += 5 * 60_000 - 1000;
      await agent.get('/api/data').expect(200);
      now += 2000;
      await agent.get('/api/data').expect(401);
      emulator.setFault(null);
      await beginMfa(agent);
    });

    it('S26 a fail-open pass ends as soon as the tenant no longer fails open', async () => {
      const policy = testPolicy(emulator.apiHost);
      const file = policyFile(policy);
      try {
        const t = app({ policy: file.file });
        emulator.setFault({ health: 'down' });
        const agent = agentFor(t.app);
        await login(agent, { username: 'gina', tenant: 'globex' });
        await agent.get('/private').set('Accept', 'text/html').expect(200);
        policy.tenants.globex.failmode = 'closed';
        file.write(policy);
        await until(() => eventsOf(t.events, 'policy.reloaded').length > 0);
        await agent.get('/api/data').expect(401);
      } finally {
        file.remove();
      }
    });
  });

  describe('identity', () => {
    it('S20 toDuoUsername receives the canonical username, so case variants are one Duo user', async () => {
      const t = app({ options: { toDuoUsername: (u) => `${u.username}@acme.example` } });
      for (const username of ['ALICE', 'aLiCe', ' alice ']) {
        const agent = agentFor(t.app);
        await login(agent, { username, roles: ['admin'] });
        assert.equal((await completeMfa(agent, emulator)).status, 303);
        assert.equal(
          emulator.log.filter((e) => e.endpoint === 'authorize').at(-1)?.username,
          'alice@acme.example',
        );
      }
    });

    it('S7 roles in the wrong shape are an error, never a silent exemption', async () => {
      const t = app();
      for (const roles of ['admin', { 0: 'admin' }, [{ name: 'admin' }], ['admin', 42]]) {
        const agent = agentFor(t.app);
        await agent.post('/login-json').send({ username: 'rita', roles }).expect(204);
        const res = await agent.get('/api/data');
        // getUser broke its contract: the host's bug, ERR_INTERNAL (its cause names the problem).
        assert.equal(res.status, 500, `roles ${JSON.stringify(roles)} answered ${res.status}`);
        assert.equal(res.body?.code, 'ERR_INTERNAL');
        assert.notEqual(res.body?.secret, 'the data');
      }
      const agent = agentFor(t.app);
      await agent
        .post('/login-json')
        .send({ username: 'rita', roles: ['admin'] })
        .expect(204);
      await agent.get('/api/data').expect(401); // the well-formed user is asked for Duo
    });
  });

  describe('callback and return paths', () => {
    it('S10 the callback answers GET only (HEAD does not complete a login)', async () => {
      const t = app();
      const agent = agentFor(t.app);
      const callback = await pending(agent, emulator);
      const tokens = emulator.calls.token;
      const head = await agent.head(callback);
      assert.equal(head.status, 405);
      assert.equal(head.headers.allow, 'GET');
      assert.equal(emulator.calls.token, tokens);
      await agent.get(callback).expect(303);
    });

    it('S30 dot segments cannot turn a return path into //evil.example', async () => {
      const origin = 'https://portal.example.com';
      for (const evil of [
        '/.//evil.example',
        '/a/..//evil.example',
        '/./%2F/evil.example',
        '/%2e//evil.example',
        '/..//evil.example',
      ]) {
        const safe = safeReturnPath(evil, origin);
        assert.ok(safe === undefined || !safe.startsWith('//'), `${evil} → ${safe}`);
        if (safe !== undefined) assert.equal(new URL(safe, origin).origin, origin);
      }
      const t = app();
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      const authUrl = await beginMfa(agent, '/duo/start?returnTo=%2F.%2F%2Fevil.example');
      const done = await agent.get(await duoAnswers(emulator, authUrl)).expect(303);
      assert.equal(done.headers.location, '/');
    });

    it('S33 the SameSite=Strict bounce sets no cookie even with saveUninitialized: true', async () => {
      const t = app({ sameSite: 'strict', saveUninitialized: true });
      const agent = agentFor(t.app);
      const callback = await pending(agent, emulator);
      const crossSite = await request(t.app).get(callback).set('Accept', 'text/html').expect(200);
      assert.match(crossSite.text, /http-equiv="refresh"/);
      assert.equal(crossSite.headers['set-cookie'], undefined);
      const done = await agent.get(`${callback}&duo_mfa_bounce=1`).expect(303);
      assert.equal(done.headers.location, '/private');
    });
  });

  describe('Duo connections', () => {
    it('S28 timed-out Duo calls are aborted: their sockets close while Duo is still up', async function () {
      this.timeout(20_000);
      const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
      const adapter = new DuoAdapter({
        redirectUrl: 'http://127.0.0.1/duo/callback',
        timeoutMs: 300,
        ca: emulator.ca,
      });
      const credentials = { ...ACME_APP, apiHost: emulator.apiHost };
      try {
        await adapter.healthCheck(credentials); // one keep-alive socket, then idle
        adapter.close();
        await new Promise((resolve) => setTimeout(resolve, 100));
        const baseline = sockets();
        const hanging = new DuoAdapter({
          redirectUrl: 'http://127.0.0.1/duo/callback',
          timeoutMs: 300,
          ca: emulator.ca,
        });
        emulator.setFault({ health: 'hang' });
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, () => hanging.healthCheck(credentials)),
        );
        assert.ok(
          results.every(
            (r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERR_DUO_TIMEOUT',
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.equal(sockets(), baseline, 'every hung request was aborted and its socket closed');
        hanging.close();
      } finally {
        adapter.close();
        emulator.setFault(null);
      }
      assert.ok(https.globalAgent); // the global agent is untouched
    });
  });
});
