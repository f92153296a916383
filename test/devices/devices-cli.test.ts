// `duo-mfa devices` as a process, reading what the middleware recorded: from a real Redis and from the memory
// store's device log file.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startDuoEmulator } from '../../lib/emulator/index';
import { ALL_APPS, createTestApp, testPolicy, type TestApp } from '../helpers/app';
import { agentFor, beginMfa, duoAnswers, login } from '../helpers/flow';
import { deleteKeys, REDIS_URL, redisOrSkip, uniquePrefix } from '../helpers/redis';
import { runCli } from '../cli/helpers';

type Emulator = Awaited<ReturnType<typeof startDuoEmulator>>;

function devicePolicy(apiHost: string) {
  const policy = testPolicy(apiHost);
  policy.tenants.acme.trustedEndpoints = {
    policy: 'block',
    activation: 'test-group',
    testGroup: { roles: ['it'], staff: [] },
  };
  return policy;
}

async function signIns(t: TestApp, emulator: Emulator): Promise<void> {
  emulator.setUser('erin', { device: { platform: 'iOS', trusted: 'trusted' } });
  emulator.setUser('oscar', { device: { platform: 'Android', trusted: 'not trusted' } });
  for (const [username, roles] of [
    ['erin', ['it', 'admin']],
    ['oscar', ['it', 'admin']],
  ] as const) {
    const agent = agentFor(t.app);
    await login(agent, { username, roles: [...roles] });
    await agent.get(await duoAnswers(emulator, await beginMfa(agent)));
  }
}

describe('duo-mfa devices (process)', function () {
  this.timeout(60_000);
  let emulator: Emulator;

  before(async () => {
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
  });
  after(async () => {
    await emulator.close();
  });

  describe('with Redis', () => {
    let redis: Redis;
    let prefix: string;
    let t: TestApp;

    before(async function () {
      redis = await redisOrSkip(this);
      prefix = uniquePrefix('devices');
      t = createTestApp({
        emulator,
        redis,
        policy: devicePolicy(emulator.apiHost),
        options: { redisPrefix: prefix },
      });
      await signIns(t, emulator);
    });
    after(async () => {
      t?.close();
      if (redis) {
        await deleteKeys(redis, `${prefix}*`);
        redis.disconnect();
      }
    });

    it('lists each device with its trust status, last seen and users', async () => {
      const res = await runCli(['devices', '--tenant', 'acme', '--redis', REDIS_URL, '--prefix', prefix]);
      assert.equal(res.code, 0, res.stderr);
      assert.match(
        res.stdout,
        /DEVICE\s+OS\s+BROWSER\s+TRUST\s+LAST SEEN\s+USERS\s+ALLOWED\/DENIED\/BLOCKED/,
      );
      assert.match(res.stdout, /EP\w+\s+iOS.*trusted.*erin\s+1\/0\/0/);
      assert.match(res.stdout, /EP\w+\s+Android.*not trusted.*oscar\s+0\/0\/1/);
    });

    it('prints JSON and answers --search: exit 0 when seen, 1 when not', async () => {
      const all = await runCli([
        'devices',
        '--tenant',
        'acme',
        '--redis',
        REDIS_URL,
        '--prefix',
        prefix,
        '--json',
      ]);
      assert.equal(all.code, 0, all.stderr);
      const parsed = JSON.parse(all.stdout);
      assert.equal(parsed.tenant, 'acme');
      const erin = parsed.devices.find((d: any) => d.users.includes('erin'));
      assert.equal(erin.trusted, 'trusted');

      const seen = await runCli([
        'devices',
        '--tenant',
        'acme',
        '--redis',
        REDIS_URL,
        '--prefix',
        prefix,
        '--search',
        erin.epkey,
      ]);
      assert.equal(seen.code, 0);
      assert.match(seen.stdout, /^Seen: 1 device/);
      const unseen = await runCli([
        'devices',
        '--tenant',
        'acme',
        '--redis',
        REDIS_URL,
        '--prefix',
        prefix,
        '--search',
        'EPNEVERSEEN',
      ]);
      assert.equal(unseen.code, 1);
      assert.match(unseen.stdout, /Not seen/);
    });

    it('fails clearly when Redis cannot be reached', async () => {
      const res = await runCli(['devices', '--tenant', 'acme', '--redis', 'redis://127.0.0.1:1']);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /could not read device insight/);
      assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
    });
  });

  describe('with the memory store’s device log file', () => {
    let dir: string;
    let t: TestApp;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'duo-mfa-devices-'));
      t = createTestApp({
        emulator,
        policy: devicePolicy(emulator.apiHost),
        options: { deviceLogFile: join(dir, 'devices.ndjson') },
      });
      await signIns(t, emulator);
    });
    after(() => {
      t?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('lists the same devices from the file the app appends to', async () => {
      const file = join(dir, 'devices.ndjson');
      assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 2);
      const res = await runCli(['devices', '--tenant', 'acme', '--file', file, '--json']);
      assert.equal(res.code, 0, res.stderr);
      const devices = JSON.parse(res.stdout).devices;
      assert.deepEqual(devices.map((d: any) => [d.users[0], d.trusted]).sort(), [
        ['erin', 'trusted'],
        ['oscar', 'not trusted'],
      ]);
      const fromMemory = await t.mfa.deviceInsight('acme');
      assert.deepEqual(fromMemory.map((d) => d.id).sort(), devices.map((d: any) => d.id).sort());
    });

    it('refuses a call without a store, and an unknown tenant lists nothing', async () => {
      const usage = await runCli(['devices', '--tenant', 'acme']);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /give either --redis URL .* or --file FILE/);
      const none = await runCli(['devices', '--tenant', 'nobody', '--file', join(dir, 'devices.ndjson')]);
      assert.equal(none.code, 0);
      assert.match(none.stdout, /No devices recorded for tenant nobody/);
    });
  });
});
