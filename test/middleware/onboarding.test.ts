// Staff onboarding and recovery (issue 16): the enrollment grace period (mfa.enforceFrom) at the gate, and the
// Admin API actions — status, reactivation, bypass codes — through the emulator, audited without secrets (S50).

import assert from 'node:assert/strict';
import { startDuoEmulator } from '../../lib/emulator/index';
import { isDuoMfaError } from '../../lib/index';
import { ALL_APPS, createTestApp, eventsOf, testPolicy, type TestApp } from '../helpers/app';
import { agentFor, beginMfa, completeMfa, login, type Agent } from '../helpers/flow';

type Emulator = Awaited<ReturnType<typeof startDuoEmulator>>;

const ADMIN_APP = {
  integrationKey: 'DIADMINADMINADMIN001',
  secretKey: 'admin-api-secret-admin-api-secret-000001',
};
const DAY = 86_400_000;

describe('staff onboarding and recovery (issue 16)', () => {
  let emulator: Emulator;

  before(async () => {
    emulator = await startDuoEmulator({
      applications: ALL_APPS,
      adminApplications: [ADMIN_APP],
      mode: 'auto',
    });
  });
  after(async () => {
    await emulator.close();
  });

  describe('the grace period (mfa.enforceFrom)', () => {
    let now: number;
    let t: TestApp;
    const enforceFrom = Date.UTC(2031, 0, 15, 8);

    beforeEach(() => {
      now = enforceFrom - 10 * DAY;
      const policy = testPolicy(emulator.apiHost);
      policy.tenants.acme.mfa.enforceFrom = new Date(enforceFrom).toISOString();
      t = createTestApp({ emulator, policy, options: { now: () => now } });
    });
    afterEach(() => t.close());

    async function gracePage(agent: Agent, path = '/private') {
      const page = await agent.get(path).set('Accept', 'text/html');
      assert.equal(page.status, 200, page.text.slice(0, 200));
      assert.match(page.text, /<h1>Set up two-factor sign-in<\/h1>/);
      assert.match(page.text, /requires Duo two-factor sign-in from 15 Jan 2031, 08:00 UTC/);
      const token = /name="token" value="([^"]+)"/.exec(page.text)?.[1];
      assert.ok(token);
      return token;
    }

    it('offers Set up Duo now / Remind me later; later lets this session through, and only this one', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'dana' });
      const token = await gracePage(agent, '/private?x=1');
      assert.equal(eventsOf(t.events, 'mfa.started').length, 0, 'nothing started before the person chooses');
      const later = await agent.post('/duo/start').type('form').send({ token, choice: 'later' }).expect(303);
      assert.equal(later.headers.location, '/private?x=1');
      await agent.get('/private').set('Accept', 'text/html').expect(200);
      const state = await agent.get('/whoami').expect(200);
      assert.equal(state.body.duoMfa.reason.code, 'grace_period');
      assert.equal(state.body.duoMfa.verified, false);
      const [deferred] = eventsOf(t.events, 'mfa.deferred');
      assert.equal(deferred?.reason, 'grace_period');
      assert.equal(deferred?.username, 'dana');
      // Another session of the same person is asked again.
      const other = agentFor(t.app);
      await login(other, { username: 'dana' });
      await gracePage(other);
    });

    it('Set up Duo now goes to Duo as usual, and a step-up never defers', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      const token = await gracePage(agent);
      const now_ = await agent.post('/duo/start').type('form').send({ token, choice: 'now' }).expect(303);
      assert.equal(new URL(now_.headers.location!).pathname, '/oauth/v1/authorize');
      // Someone who chose "later" still goes through Duo for a sensitive action.
      const other = agentFor(t.app);
      await login(other, { username: 'alice', roles: ['admin'] });
      const again = await gracePage(other);
      await other.post('/duo/start').type('form').send({ token: again, choice: 'later' }).expect(303);
      const stepUp = await other.get('/admin/payout').set('Accept', 'text/html');
      assert.equal(stepUp.status, 303, 'a step-up goes to Duo, whatever the grace period');
      assert.equal(new URL(stepUp.headers.location!).pathname, '/oauth/v1/authorize');
    });

    it('from enforceFrom on, Duo is required as usual — even after "later"', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'dana' });
      const token = await gracePage(agent);
      await agent.post('/duo/start').type('form').send({ token, choice: 'later' }).expect(303);
      now = enforceFrom;
      await beginMfa(agent, '/private');
      assert.equal(t.mfa.explain({ username: 'dana', tenant: 'acme' }).gracePeriodUntil, undefined);
    });

    it('explain and tenantSettings show the date', () => {
      const decision = t.mfa.explain({ username: 'dana', tenant: 'acme' });
      assert.equal(decision.gracePeriodUntil, enforceFrom);
      assert.equal(t.mfa.tenantSettings('acme')?.mfa.enforceFrom, new Date(enforceFrom).toISOString());
    });
  });

  describe('Admin API actions (S50)', () => {
    let t: TestApp;

    beforeEach(() => {
      const policy = testPolicy(emulator.apiHost);
      policy.tenants.acme.duo.adminApi = { ...ADMIN_APP, apiHost: emulator.apiHost };
      t = createTestApp({ emulator, policy });
      emulator.setUser('dana', {});
    });
    afterEach(() => t.close());

    it('reports a staff member’s status, and someone not in Duo', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'dana' });
      await completeMfa(agent, emulator); // dana signs in once: she is enrolled in Duo
      const status = await t.mfa.staffStatus('acme', 'DANA', { actor: 'alice@acme' });
      assert.equal(status.found, true);
      assert.equal(status.enrolled, true);
      assert.equal(status.status, 'active');
      assert.ok(status.phones.length >= 1);
      const nobody = await t.mfa.staffStatus('acme', 'nobody-here');
      assert.equal(nobody.found, false);
      assert.equal(eventsOf(t.events, 'staff.status')[0]?.actor, 'alice@acme');
    });

    it('reactivates and issues bypass codes, audited with the actor, never logging links or codes', async () => {
      const agent = agentFor(t.app);
      await login(agent, { username: 'dana' });
      await completeMfa(agent, emulator);
      const reactivation = await t.mfa.reactivateStaff('acme', 'dana', { actor: 'alice@acme' });
      assert.ok(reactivation.sentBySms || reactivation.activationUrl);
      const codes = await t.mfa.issueBypassCodes('acme', 'dana', { actor: 'alice@acme', count: 2 });
      assert.equal(codes.codes.length, 2);
      assert.equal(eventsOf(t.events, 'staff.reactivated')[0]?.actor, 'alice@acme');
      const issued = eventsOf(t.events, 'staff.bypass_issued')[0];
      assert.equal(issued?.actor, 'alice@acme');
      assert.equal(issued?.count, 2);
      const everything = JSON.stringify(t.events) + t.logs.join('\n');
      for (const code of codes.codes) assert.ok(!everything.includes(code), 'a bypass code leaked');
      if (reactivation.activationUrl) assert.ok(!everything.includes(reactivation.activationUrl));
      assert.ok(!everything.includes(ADMIN_APP.secretKey));
      await assert.rejects(t.mfa.reactivateStaff('acme', 'dana', { actor: '' }), TypeError);
    });

    it('refuses a tenant without an Admin API application, and reports Duo refusing the key', async () => {
      await assert.rejects(t.mfa.staffStatus('globex', 'gina'), (error: unknown) =>
        isDuoMfaError(error, 'ERR_ADMIN_API_NOT_CONFIGURED'),
      );
      t.close();
      const policy = testPolicy(emulator.apiHost);
      policy.tenants.acme.duo.adminApi = {
        ...ADMIN_APP,
        secretKey: 'wrong-secret-wrong-secret-wrong-secret-1',
        apiHost: emulator.apiHost,
      };
      t = createTestApp({ emulator, policy });
      await assert.rejects(t.mfa.staffStatus('acme', 'dana'), (error: unknown) =>
        isDuoMfaError(error, 'ERR_ADMIN_API_CREDENTIALS'),
      );
    });
  });
});
