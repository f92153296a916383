// The middleware end to end with the emulator and the memory stores: who sees Duo, who does not, and how each
// outcome ends.

import assert from 'node:assert/strict';
import { startDuoEmulator } from '../../lib/emulator/index';
import {
  ALL_APPS,
  createTestApp,
  eventsOf,
  GLOBEX_APP,
  policyFile,
  testPolicy,
  type TestApp,
} from '../helpers/app';
import { agentFor, beginMfa, completeMfa, duoAnswers, login } from '../helpers/flow';

type Emulator = Awaited<ReturnType<typeof startDuoEmulator>>;

describe('duoMfa middleware flows (memory store)', () => {
  let emulator: Emulator;
  let t: TestApp;

  before(async () => {
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
  });
  after(async () => {
    await emulator.close();
  });
  beforeEach(() => {
    emulator.setFault(null);
    t = createTestApp({ emulator });
  });
  afterEach(() => t.close());

  describe('when a required user signs in', () => {
    it('sends the page navigation to Duo and lands back on the page first requested', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'Alice', tenant: 'acme', roles: ['admin'] });
      const callback = await completeMfa(agent, emulator, '/private?tab=2');
      assert.equal(callback.status, 303);
      assert.equal(callback.headers.location, '/private?tab=2');
      const page = await agent.get('/private?tab=2').set('Accept', 'text/html').expect(200);
      assert.match(page.text, /private page for Alice/);
      const [succeeded] = eventsOf(t.events, 'mfa.succeeded');
      assert.equal(succeeded?.username, 'alice');
      assert.equal(succeeded?.tenant, 'acme');
      assert.equal(succeeded?.factor, 'duo_push');
      assert.equal(eventsOf(t.events, 'mfa.started').length, 1);
    });

    it('exposes the verification on req.duoMfa and in the session', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'dana', tenant: 'acme' });
      await completeMfa(agent, emulator);
      const who = await agent.get('/whoami').expect(200);
      assert.equal(who.body.duoMfa.verified, true);
      assert.equal(who.body.duoMfa.required, true);
      assert.equal(who.body.duoMfa.reason.code, 'staff_included');
      assert.equal(who.body.duoMfa.via, 'duo');
      assert.equal(who.body.session.duoMfa.verified.username, 'dana');
      assert.equal(who.body.session.duoMfa.verified.tenant, 'acme');
      assert.equal(who.body.session.duoMfa.verified.via, 'duo');
      assert.deepEqual(who.body.session.cart, ['host-data-kept']);
    });

    it('answers API requests while MFA is pending with 401 mfa_required and where to start', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      const res = await agent.get('/api/data').set('Accept', 'application/json').expect(401);
      assert.deepEqual(res.body, { error: 'mfa_required', location: '/duo/start?returnTo=%2Fapi%2Fdata' });
      const post = await agent.post('/api/data').set('Accept', 'text/html').expect(401);
      assert.deepEqual(post.body, { error: 'mfa_required', location: '/duo/start' });
      assert.equal(emulator.calls.authorize, emulator.calls.authorize); // no navigation → no Duo
    });

    it('starts Duo from the start route the 401 names and returns to returnTo', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      const authUrl = await beginMfa(agent, '/duo/start?returnTo=%2Fapi%2Fdata');
      const done = await agent.get(await duoAnswers(emulator, authUrl)).expect(303);
      assert.equal(done.headers.location, '/api/data');
      const data = await agent.get('/api/data').expect(200);
      assert.equal(data.body.secret, 'the data');
    });
  });

  describe('when the policy exempts the user', () => {
    const exempt = [
      {
        name: 'an excluded staff member',
        user: { username: 'kiosk-1', tenant: 'acme', roles: ['admin'] },
        code: 'staff_excluded',
      },
      {
        name: 'a user of a tenant with MFA off',
        user: { username: 'bob', tenant: 'initech', roles: ['admin'] },
        code: 'mfa_disabled',
      },
      {
        name: 'a user whose role is not included',
        user: { username: 'carol', tenant: 'acme', roles: ['support'] },
        code: 'not_included',
      },
      {
        name: 'a user with an unexpired temporary bypass',
        user: { username: 'Frank', tenant: 'acme', roles: ['admin'] },
        code: 'temporary_bypass',
      },
    ];
    for (const { name, user, code } of exempt) {
      it(`never sends ${name} to Duo (${code})`, async () => {
        const before = { ...emulator.calls };
        const agent = agentFor(t.app);
        await login(agent, user);
        const page = await agent.get('/private').set('Accept', 'text/html').expect(200);
        assert.match(page.text, /private page/);
        await agent.get('/api/data').expect(200);
        const who = await agent.get('/whoami').expect(200);
        assert.equal(who.body.duoMfa.required, false);
        assert.equal(who.body.duoMfa.reason.code, code);
        assert.deepEqual(emulator.calls, before, 'Duo was contacted');
        const bypassed = eventsOf(t.events, 'mfa.bypassed');
        assert.equal(bypassed.length, 1, 'one mfa.bypassed event, not one per request');
        assert.equal(bypassed[0]?.reason, code);
      });
    }

    it('reports each exempt user and reason once per 10 minutes, each on its own', async () => {
      t.close();
      let clock = Date.now();
      // globex turned off too: the same name and reason in two tenants are two people.
      const policy = testPolicy(emulator.apiHost, {
        globex: { mfa: { enabled: false }, duo: { ...GLOBEX_APP, apiHost: emulator.apiHost } },
      });
      t = createTestApp({ emulator, policy, options: { now: () => clock } });
      const visit = async (user: { username: string; tenant: string; roles: string[] }) => {
        const agent = agentFor(t.app);
        await login(agent, user);
        await agent.get('/api/data').expect(200);
        await agent.get('/api/data').expect(200);
      };
      const reported = () =>
        eventsOf(t.events, 'mfa.bypassed').map((e) => `${e.tenant}/${e.username}/${e.reason}`);
      await visit({ username: 'carol', tenant: 'acme', roles: ['support'] });
      await visit({ username: 'bob', tenant: 'initech', roles: ['admin'] });
      await visit({ username: 'carol', tenant: 'acme', roles: ['support'] });
      assert.deepEqual(reported(), ['acme/carol/not_included', 'initech/bob/mfa_disabled']);
      // The same name and reason in another tenant is another person; the same person for another reason is news.
      await visit({ username: 'bob', tenant: 'globex', roles: ['admin'] });
      await visit({ username: 'Frank', tenant: 'acme', roles: ['support'] });
      await visit({ username: 'frank', tenant: 'acme', roles: ['support'] });
      assert.deepEqual(reported().slice(2), ['globex/bob/mfa_disabled', 'acme/frank/temporary_bypass']);
      clock += 10 * 60_000 - 1;
      await visit({ username: 'carol', tenant: 'acme', roles: ['support'] });
      assert.equal(reported().length, 4, 'reported again within 10 minutes');
      clock += 1;
      await visit({ username: 'carol', tenant: 'acme', roles: ['support'] });
      assert.deepEqual(reported().slice(4), ['acme/carol/not_included']);
      // Once frank's bypass has run out he is exempt for another reason: reported for it at once.
      clock = Date.parse('2999-01-01T00:00:00Z');
      await visit({ username: 'frank', tenant: 'acme', roles: ['support'] });
      await visit({ username: 'frank', tenant: 'acme', roles: ['support'] });
      assert.deepEqual(reported().slice(5), ['acme/frank/not_included']);
    });

    it('passes requests from visitors who have not signed in yet', async () => {
      const res = await agentFor(t.app).get('/').expect(200);
      assert.match(res.text, /not_signed_in/);
    });
  });

  describe('S7 when the tenant is unknown', () => {
    it('S7 refuses a user whose tenant is not in the policy with 403, never "not required"', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'eve', tenant: 'umbrella' });
      const page = await agent.get('/private').set('Accept', 'text/html').expect(403);
      assert.match(page.text, /ERR_DUO_UNKNOWN_TENANT/);
      const api = await agent.get('/api/data').set('Accept', 'application/json').expect(403);
      assert.equal(api.body.code, 'ERR_DUO_UNKNOWN_TENANT');
      assert.equal(eventsOf(t.events, 'mfa.denied')[0]?.reason, 'unknown_tenant');
    });

    it('S7 refuses a user without tenant when the policy has no defaultTenant', async () => {
      t.close();
      const policy = testPolicy(emulator.apiHost);
      delete policy.defaultTenant;
      t = createTestApp({ emulator, policy });
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      await agent.get('/private').set('Accept', 'text/html').expect(403);
    });
  });

  describe('when Duo denies', () => {
    it('S22 S47 shows the denied page, leaves the user unverified and signs them out', async () => {
      emulator.setUser('mallory', { result: 'deny', reason: 'user_marked_fraud' });
      const agent = agentFor(t.app);
      await login(agent, { username: 'mallory', roles: ['admin'] });
      const res = await completeMfa(agent, emulator);
      assert.equal(res.status, 403);
      assert.match(res.text, /ERR_DUO_DENIED/);
      assert.match(res.text, /reported as fraudulent/);
      // S47: a fraud report has its own reason, and it ends the sign-in: the host's user is gone.
      const [denied] = eventsOf(t.events, 'mfa.denied');
      assert.equal(denied?.reason, 'fraud');
      assert.equal(denied?.duoReason, 'user_marked_fraud');
      assert.match(res.text, /You have been signed out/);
      const next = await agent.get('/private').set('Accept', 'text/html').expect(401);
      assert.deepEqual(next.body, { error: 'login_required' });
      await agent.get('/api/data').expect(401);
    });

    it('S22 denies a validly signed token whose auth_result is deny (fault)', async () => {
      emulator.setFault({ token: 'deny' });
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      const res = await completeMfa(agent, emulator);
      assert.equal(res.status, 403);
      await agent.get('/api/data').expect(401);
    });
  });

  describe('when Duo is unavailable before the redirect', () => {
    it('S25 failmode closed answers a 503 page, an event, and no access', async () => {
      emulator.setFault({ health: 'down' });
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', tenant: 'acme', roles: ['admin'] });
      const res = await agent.get('/private').set('Accept', 'text/html').expect(503);
      assert.match(res.text, /ERR_DUO_UNAVAILABLE/);
      const failed = eventsOf(t.events, 'mfa.failed')[0];
      assert.equal(failed?.reason, 'duo_unavailable');
      assert.equal(failed?.failmode, 'closed');
      await agent.get('/api/data').expect(401);
    });

    it('S26 failmode open lets the user in, marked via "failopen" for a short time, with an event', async () => {
      emulator.setFault({ health: 'error' });
      const agent = agentFor(t.app);
      await login(agent, { username: 'gina', tenant: 'globex' });
      const page = await agent.get('/private').set('Accept', 'text/html').expect(200);
      assert.match(page.text, /private page/);
      const who = await agent.get('/whoami').expect(200);
      assert.equal(who.body.session.duoMfa.verified.via, 'failopen');
      assert.equal(who.body.duoMfa.via, 'failopen');
      assert.equal(eventsOf(t.events, 'mfa.failopen').length, 1);
    });

    it('S28 Duo that accepts and never answers ends the login within duoTimeoutMs + 1 s, failmode applied', async () => {
      emulator.setFault({ health: 'hang' });
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      const started = Date.now();
      const res = await agent.get('/private').set('Accept', 'text/html');
      const elapsed = Date.now() - started;
      assert.equal(res.status, 503);
      assert.match(res.text, /ERR_DUO_TIMEOUT/);
      assert.ok(elapsed < 1500 + 1000, `took ${elapsed} ms`);
    });
  });

  describe('S6 when the policy changes', () => {
    it('S6 steps up a user at the next request once the policy requires them', async () => {
      const policy = testPolicy(emulator.apiHost);
      policy.tenants.acme.mfa.rolesIncluded = ['admin'];
      t.close();
      const written = policyFile(policy);
      try {
        t = createTestApp({ emulator, policy: written.file });
        const agent = agentFor(t.app);
        await login(agent, { username: 'carol', roles: ['finance'] });
        await agent.get('/private').set('Accept', 'text/html').expect(200);
        policy.tenants.acme.mfa.rolesIncluded = ['admin', 'finance'];
        written.write(policy);
        const reloaded = await waitFor(() => eventsOf(t.events, 'policy.reloaded').length > 0, 5000);
        assert.ok(reloaded, 'policy.reloaded was not emitted');
        await agent.get('/private').set('Accept', 'text/html').expect(303);
      } finally {
        t.close();
        written.remove();
      }
    });
  });

  describe('when the policy file’s worker thread cannot run', () => {
    it('logs the main-thread fallback through the app’s logger (not stderr) and still applies the change', async () => {
      // Over 4 MB, so reloads go to the worker: 250 more tenants of 1,000 staff each.
      const policy = testPolicy(emulator.apiHost);
      policy.tenants.acme.mfa.rolesIncluded = ['admin'];
      for (let n = 0; n < 250; n++) {
        const staffIncluded = Array.from({ length: 1000 }, (_, i) => `user${i}.t${n}@example.com`);
        policy.tenants[`pad${n}`] = {
          mfa: { enabled: true, staffIncluded },
          duo: { ...GLOBEX_APP, apiHost: emulator.apiHost },
        };
      }
      t.close();
      const size = Buffer.byteLength(JSON.stringify(policy));
      assert.ok(size > 4 * 1024 * 1024, `only ${size} bytes`);
      const written = policyFile(policy);
      const processWarnings: Error[] = [];
      const onWarning = (warning: Error) => processWarnings.push(warning);
      process.on('warning', onWarning);
      try {
        t = createTestApp({
          emulator,
          policy: written.file,
          options: {
            startPolicyWorker: () => {
              throw new Error('worker threads are turned off here');
            },
          },
        });
        const agent = agentFor(t.app);
        await login(agent, { username: 'carol', roles: ['finance'] });
        await agent.get('/private').set('Accept', 'text/html').expect(200);
        policy.tenants.acme.mfa.rolesIncluded = ['admin', 'finance'];
        written.write(policy);
        assert.ok(await waitFor(() => eventsOf(t.events, 'policy.reloaded').length > 0, 15_000), 'no reload');
        await agent.get('/private').set('Accept', 'text/html').expect(303);
        const logged = t.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
        const fallback = logged.filter((line) => line.code === 'DUO_MFA_POLICY_WORKER');
        assert.equal(fallback.length, 1, 'one warning in the app log');
        assert.equal(fallback[0]!.level, 40); // pino's warn
        assert.match(
          String(fallback[0]!.msg),
          /worker thread cannot run \(worker threads are turned off here\)/,
        );
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(processWarnings, []);
      } finally {
        process.off('warning', onWarning);
        t.close();
        written.remove();
      }
    });
  });

  describe('S5 when a verified user switches tenant', () => {
    it('S5 a verification in one tenant means nothing in another', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', tenant: 'acme', roles: ['admin'] });
      await completeMfa(agent, emulator);
      await agent.get('/api/data').expect(200);
      await login(agent, { username: 'alice', tenant: 'globex', roles: ['admin'] });
      await agent.get('/api/data').expect(401);
      await agent.get('/private').set('Accept', 'text/html').expect(303);
    });
  });

  describe('requireRecentMfa (step-up)', () => {
    it('passes a fresh verification and steps up an old one', async () => {
      let now = Date.now();
      t.close();
      t = createTestApp({ emulator, options: { now: () => now } });
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      await completeMfa(agent, emulator);
      await agent.get('/admin/payout').set('Accept', 'text/html').expect(200);
      now += 6 * 60_000;
      await agent.get('/api/data').expect(200); // still within maxAge (12h)
      const res = await agent.post('/admin/payout').set('Accept', 'application/json').expect(401);
      assert.deepEqual(res.body, { error: 'mfa_required', location: '/duo/start?stepUp=1' });
      const authUrl = await beginMfa(agent, '/admin/payout');
      const done = await agent.get(await duoAnswers(emulator, authUrl)).expect(303);
      assert.equal(done.headers.location, '/admin/payout');
      await agent.get('/admin/payout').set('Accept', 'text/html').expect(200);
    });

    it('mfa.requireRecent(maxAge) is bound to its instance: it works where no request state exists', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      const authUrl = await beginMfa(agent, '/public/bound-payout');
      const done = await agent.get(await duoAnswers(emulator, authUrl)).expect(303);
      assert.equal(done.headers.location, '/public/bound-payout');
      const page = await agent.get('/public/bound-payout').set('Accept', 'text/html').expect(200);
      assert.equal(page.text, 'bound payout');
      const api = await agentFor(t.app).get('/public/bound-payout').expect(401);
      assert.deepEqual(api.body, { error: 'login_required' });
    });

    it('needs a live factor: a remembered-device verification is sent through Duo again; freshFactor: false accepts it', async () => {
      emulator.setUser('rick', { factor: 'remembered_device', reason: 'remembered_device' });
      const agent = agentFor(t.app);
      await login(agent, { username: 'rick', roles: ['admin'] });
      await completeMfa(agent, emulator);
      assert.equal(eventsOf(t.events, 'mfa.succeeded').at(-1)?.freshFactor, false);
      await agent.get('/private').set('Accept', 'text/html').expect(200);
      await agent.get('/admin/report').set('Accept', 'text/html').expect(200);
      // Duo lets the step-up through without asking again: refused, not a loop.
      const stepUp = await beginMfa(agent, '/admin/payout');
      const refused = await agent.get(await duoAnswers(emulator, stepUp)).set('Accept', 'text/html');
      assert.equal(refused.status, 403);
      assert.match(refused.text, /ERR_DUO_FRESH_FACTOR_REQUIRED/);
      assert.equal(eventsOf(t.events, 'mfa.denied').at(-1)?.reason, 'fresh_factor_required');
      // With a live factor (a push approved) the step-up passes.
      emulator.setUser('rick', {});
      const again = await beginMfa(agent, '/admin/payout?live');
      const done = await agent.get(await duoAnswers(emulator, again)).expect(303);
      assert.equal(done.headers.location, '/admin/payout?live');
      assert.equal(eventsOf(t.events, 'mfa.succeeded').at(-1)?.freshFactor, true);
      await agent.get('/admin/payout').set('Accept', 'text/html').expect(200);
    });

    it('steps up users the policy exempts', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'bob', tenant: 'initech' });
      await agent.get('/private').set('Accept', 'text/html').expect(200);
      await beginMfa(agent, '/admin/payout');
    });
  });
});

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

describe('duoMfa helpers and pages', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
  });
  after(async () => {
    await emulator.close();
  });

  it('lists the tenants and their settings without secrets', () => {
    const t = createTestApp({ emulator });
    try {
      assert.deepEqual(t.mfa.tenants(), ['acme', 'globex', 'initech']);
      const acme = t.mfa.tenantSettings('acme')!;
      assert.deepEqual(acme.mfa.rolesIncluded, ['admin', 'finance']);
      assert.equal(acme.duo.clientId, ALL_APPS[0]!.clientId);
      assert.ok(!JSON.stringify(acme).includes(ALL_APPS[0]!.clientSecret), 'no secret in the settings');
      assert.equal(t.mfa.tenantSettings('nope'), undefined);
    } finally {
      t.close();
    }
  });

  it('offers a sign-out button on error pages when signOutPath is set, so a denied user can leave', async () => {
    emulator.setUser('dora', { result: 'deny', reason: 'user_marked_fraud' });
    const t = createTestApp({ emulator, options: { signOutPath: '/logout' } });
    try {
      const agent = agentFor(t.app);
      await login(agent, { username: 'dora', roles: ['admin'] });
      const res = await completeMfa(agent, emulator);
      assert.equal(res.status, 403);
      assert.match(
        res.text,
        /<form method="post" action="\/logout"><button type="submit">Sign out<\/button><\/form>/,
      );
      assert.match(res.text, /<a href="\/">Back to sign-in<\/a>/);
      assert.match(res.headers['content-security-policy']!, /form-action 'self'/);
    } finally {
      t.close();
    }
  });

  it('never shows Duo’s "unknown" placeholders as device details', async () => {
    const t = createTestApp({ emulator });
    try {
      const agent = agentFor(t.app);
      await login(agent, { username: 'walt', roles: ['admin'] });
      await completeMfa(agent, emulator);
      const state = (await agent.get('/api/data').expect(200)).body.state;
      assert.ok(
        !/unknown unknown|\bunknown$/.test(`${state.device.os ?? ''} ${state.device.browser ?? ''}`.trim()),
      );
    } finally {
      t.close();
    }
  });
});
