// Trusted Endpoints end to end through the emulator: every policy × activation × membership × device status,
// Duo's own device denies, and what device insight records.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDuoEmulator } from '../../lib/emulator/index';
import { ALL_APPS, createTestApp, eventsOf, testPolicy, type TestApp } from '../helpers/app';
import { agentFor, beginMfa, duoAnswers, login } from '../helpers/flow';

type Emulator = Awaited<ReturnType<typeof startDuoEmulator>>;

const POLICIES = ['off', 'monitor', 'block'] as const;
const ACTIVATIONS = ['disabled', 'test-group', 'all'] as const;
const STATUSES = ['trusted', 'not trusted', 'unknown', 'absent'] as const;

function tenantId(policy: string, activation: string): string {
  return `te-${policy}-${activation}`;
}

/** Nine tenants, one per policy × activation, each asking everyone for Duo; the test group is role "it". */
function matrixPolicy(apiHost: string): Record<string, any> {
  const base = testPolicy(apiHost);
  for (const policy of POLICIES) {
    for (const activation of ACTIVATIONS) {
      base.tenants[tenantId(policy, activation)] = {
        mfa: { enabled: true },
        duo: { ...base.tenants.acme.duo },
        challengeLimit: 100,
        trustedEndpoints: { policy, activation, testGroup: { roles: ['it'], staff: [] } },
      };
    }
  }
  return base;
}

describe('Trusted Endpoints', () => {
  let emulator: Emulator;
  let t: TestApp;

  before(async () => {
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
    t = createTestApp({ emulator, policy: matrixPolicy(emulator.apiHost) });
  });
  after(async () => {
    t.close();
    await emulator.close();
  });

  describe('policy × activation × membership × device status', () => {
    let n = 0;
    for (const policy of POLICIES) {
      for (const activation of ACTIVATIONS) {
        for (const member of [true, false]) {
          for (const status of STATUSES) {
            const inScope = activation === 'all' || (activation === 'test-group' && member);
            const applies = policy !== 'off' && inScope;
            const blocked = applies && policy === 'block' && status !== 'trusted';
            const untrustedEvent = applies && status !== 'trusted';
            const trust = status === 'absent' ? 'unknown' : status;
            const title =
              `${policy} / ${activation} / ${member ? 'in' : 'out of'} the test group / device ${status}: ` +
              (blocked
                ? 'denied with the device page'
                : untrustedEvent
                  ? 'allowed, device.untrusted emitted'
                  : 'allowed');

            it(title, async () => {
              const username = `te-user-${++n}`;
              const tenant = tenantId(policy, activation);
              emulator.setUser(
                username,
                status === 'absent'
                  ? {}
                  : { device: { platform: n % 2 ? 'iOS' : 'Android', trusted: status } },
              );
              const before = t.events.length;
              const agent = agentFor(t.app);
              await login(agent, { username, tenant, roles: member ? ['it'] : ['sales'] });
              const callback = await duoAnswers(emulator, await beginMfa(agent));
              const res = await agent.get(callback).set('Accept', 'text/html');
              const events = t.events.slice(before);

              if (blocked) {
                assert.equal(res.status, 403);
                assert.match(res.text, /This device is not trusted by your organization/);
                assert.match(res.text, /ERR_DUO_DEVICE_UNTRUSTED/);
                assert.match(res.text, /enroll this device|contact your administrator/);
                assert.match(res.text, new RegExp(`“${trust}”`));
                await agent.get('/api/data').expect(401);
                assert.equal(eventsOf(events, 'mfa.denied')[0]?.reason, 'device_untrusted');
                assert.equal(eventsOf(events, 'mfa.succeeded').length, 0);
              } else {
                assert.equal(res.status, 303, res.text.slice(0, 200));
                const data = await agent.get('/api/data').expect(200);
                assert.equal(data.body.state.device.trusted, trust, 'req.duoMfa exposes the device status');
                const succeeded = eventsOf(events, 'mfa.succeeded')[0];
                assert.equal((succeeded?.device as { trusted?: string } | undefined)?.trusted, trust);
              }
              const untrusted = eventsOf(events, 'device.untrusted');
              assert.equal(untrusted.length, untrustedEvent ? 1 : 0, 'device.untrusted events');
              if (untrustedEvent) {
                assert.equal(untrusted[0]?.trusted, trust);
                assert.equal(untrusted[0]?.policy, policy);
              }

              const mine = (await t.mfa.deviceInsight(tenant)).find((d) => d.users.includes(username));
              assert.ok(mine, 'the outcome is recorded for device insight');
              assert.equal(mine.trusted, trust);
              if (status === 'absent') {
                // No endpoint key: Duo's access device is known by OS, browser and IP, shared with other users.
                assert.ok(blocked ? mine.outcomes.blocked >= 1 : mine.outcomes.allowed >= 1);
              } else {
                assert.ok(mine.epkey, 'a device Duo checked has an endpoint key');
                assert.deepEqual(mine.outcomes, {
                  allowed: blocked ? 0 : 1,
                  denied: 0,
                  blocked: blocked ? 1 : 0,
                });
              }
            });
          }
        }
      }
    }
  });

  describe('when Duo’s own Trusted Endpoints policy denies', () => {
    const deviceReasons = [
      ['endpoint_is_not_trusted', /not one your organization trusts/],
      ['endpoint_is_not_in_management_system', /not enrolled in your organization’s device management/],
      ['could_not_determine_if_endpoint_was_trusted', /could not check whether this device is trusted/],
      ['no_duo_certificate_present', /does not have your organization’s Duo device certificate/],
      ['endpoint_failed_google_verification', /failed Google’s endpoint verification/],
      [
        'invalid_management_certificate_collection_state',
        /device management certificate on this device could not be read/,
      ],
    ] as const;
    for (const [reason, words] of deviceReasons) {
      it(`shows the device page for ${reason}, in plain words`, async () => {
        const username = `deny-${reason}`;
        emulator.setUser(username, {
          result: 'deny',
          reason,
          device: { platform: 'iOS', trusted: 'not trusted' },
        });
        const agent = agentFor(t.app);
        await login(agent, { username, tenant: 'acme', roles: ['admin'] });
        const res = await agent
          .get(await duoAnswers(emulator, await beginMfa(agent)))
          .set('Accept', 'text/html');
        assert.equal(res.status, 403);
        assert.match(res.text, /This device is not trusted by your organization/);
        assert.match(res.text, words);
        const [recorded] = (await t.mfa.deviceInsight('acme')).filter((d) => d.users.includes(username));
        assert.equal(recorded?.outcomes.denied, 1);
      });
    }

    const otherReasons = [
      ['user_marked_fraud', /reported as fraudulent/],
      ['no_response', /not answered in time/],
      ['locked_out', /locked after too many failed attempts/],
      ['platform_restricted', /type of device or operating system are not allowed/],
      ['version_restricted', /version is not allowed/],
      ['deny_unenrolled_user', /not enrolled in Duo yet/],
    ] as const;
    for (const [reason, words] of otherReasons) {
      it(`explains the deny reason ${reason} on the denied page`, async () => {
        const username = `deny-${reason}`;
        emulator.setUser(username, { result: 'deny', reason });
        const agent = agentFor(t.app);
        await login(agent, { username, tenant: 'acme', roles: ['admin'] });
        const res = await agent
          .get(await duoAnswers(emulator, await beginMfa(agent)))
          .set('Accept', 'text/html');
        assert.equal(res.status, 403);
        assert.match(res.text, /ERR_DUO_DENIED/);
        assert.match(res.text, words);
      });
    }
  });

  describe('access devices as Duo documents Trusted Endpoints (tenant te-block-all)', () => {
    const cases = [
      ['a laptop with Duo Desktop', { platform: 'Windows', managedBy: 'duo_desktop' }, 'trusted'],
      [
        'an Ivanti-managed laptop with a synced identifier',
        { platform: 'macOS', managedBy: 'ivanti', identifierSynced: true },
        'trusted',
      ],
      ['an Ivanti-managed laptop not synced yet', { platform: 'macOS', managedBy: 'ivanti' }, 'not trusted'],
      [
        'an unmanaged laptop whose user approves on a phone with Duo Mobile',
        { platform: 'Windows' },
        'not trusted',
      ],
      ['the phone’s own browser with Duo Mobile', { platform: 'iOS', managedBy: 'duo_mobile' }, 'trusted'],
    ] as const;
    let n = 0;
    for (const [name, accessDevice, trust] of cases) {
      it(`${name}: ${trust === 'trusted' ? 'let in' : 'blocked'}, recorded as ${trust}`, async () => {
        const username = `ad-user-${++n}`;
        emulator.setUser(username, { accessDevice });
        const agent = agentFor(t.app);
        await login(agent, { username, tenant: 'te-block-all' });
        const res = await agent
          .get(await duoAnswers(emulator, await beginMfa(agent)))
          .set('Accept', 'text/html');
        assert.equal(res.status, trust === 'trusted' ? 303 : 403, res.text.slice(0, 200));
        const mine = (await t.mfa.deviceInsight('te-block-all')).find((d) => d.users.includes(username));
        assert.equal(mine?.trusted, trust);
      });
    }
  });

  describe('a tenant that starts blocking untrusted devices', () => {
    let dir: string;
    let live: TestApp;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'duo-mfa-te-switch-'));
      const policy = matrixPolicy(emulator.apiHost);
      writeFileSync(join(dir, 'duo-mfa.json'), JSON.stringify(policy, null, 2));
      live = createTestApp({ emulator, policy: join(dir, 'duo-mfa.json') });
    });
    afterEach(() => {
      live.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('S43 sends sessions verified on an untrusted device through Duo again (and Duo’s answer is judged), keeps those on trusted devices and those the rule does not cover', async () => {
      const tenant = tenantId('monitor', 'test-group');
      const signedIn = async (username: string, roles: string[], trusted: 'trusted' | 'not trusted') => {
        emulator.setUser(username, { device: { platform: 'Android', trusted } });
        const agent = agentFor(live.app);
        await login(agent, { username, tenant, roles });
        const landed = await agent
          .get(await duoAnswers(emulator, await beginMfa(agent)))
          .set('Accept', 'text/html');
        assert.equal(landed.status, 303, `${username}: ${landed.text.slice(0, 200)}`);
        await agent.get('/private').set('Accept', 'text/html').expect(200);
        return agent;
      };
      const untrusted = await signedIn('switch-untrusted', ['it'], 'not trusted');
      const trusted = await signedIn('switch-trusted', ['it'], 'trusted');
      const outOfScope = await signedIn('switch-sales', ['sales'], 'not trusted');

      const { version } = await live.mfa.settings(tenant);
      await live.mfa.updateSettings(
        tenant,
        { trustedEndpoints: { policy: 'block' } },
        { actor: 'admin@te', version },
      );

      const again = await untrusted.get('/private').set('Accept', 'text/html');
      assert.equal(again.status, 303, 'the untrusted session is sent to Duo again');
      assert.match(String(again.headers.location), /\/oauth\/v1\/authorize/);
      await untrusted.get('/api/data').expect(401);
      const denied = await untrusted
        .get(await duoAnswers(emulator, new URL(String(again.headers.location))))
        .set('Accept', 'text/html');
      assert.equal(denied.status, 403, 'the device is still not trusted: denied');
      await trusted.get('/private').set('Accept', 'text/html').expect(200);
      await outOfScope.get('/private').set('Accept', 'text/html').expect(200);
    });
  });

  describe('device insight', () => {
    it('groups outcomes by device, with its latest trust status, last seen and users, and answers --search', async () => {
      emulator.setUser('ivy', { device: { platform: 'Android', trusted: 'trusted' } });
      emulator.setUser('jack', { device: { platform: 'Android', trusted: 'trusted' } });
      for (const username of ['ivy', 'jack']) {
        const agent = agentFor(t.app);
        await login(agent, { username, tenant: 'te-monitor-all' });
        await agent.get(await duoAnswers(emulator, await beginMfa(agent))).expect(303);
      }
      const devices = await t.mfa.deviceInsight('te-monitor-all');
      const ivys = devices.find((d) => d.users.includes('ivy'));
      assert.ok(ivys?.epkey?.startsWith('EP'), 'Duo’s endpoint key identifies the device');
      assert.equal(ivys?.trusted, 'trusted');
      assert.ok(Date.parse(ivys.lastSeen) > Date.now() - 60_000);
      const found = await t.mfa.deviceInsight('te-monitor-all', {
        search: ivys.epkey!.slice(0, 8).toLowerCase(),
      });
      assert.ok(found.some((d) => d.id === ivys.id));
      assert.deepEqual(await t.mfa.deviceInsight('te-monitor-all', { search: 'EPNOTSEENANYWHERE' }), []);
    });
  });
});
