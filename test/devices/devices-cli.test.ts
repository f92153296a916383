// `duo-mfa devices` as a process, reading what the middleware recorded: from a real Redis and from the memory
// store's device log file.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

    it('exits 1 for a tenant without records, listing the tenants Redis has records for', async () => {
      const res = await runCli(['devices', '--tenant', 'acmee', '--redis', REDIS_URL, '--prefix', prefix]);
      assert.equal(res.code, 1);
      assert.equal(
        res.stderr,
        "duo-mfa devices: no records for tenant 'acmee' (tenants with records: acme)\n",
      );
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

    it('refuses a call without a store (usage, exit 2)', async () => {
      const usage = await runCli(['devices', '--tenant', 'acme']);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /give either --redis URL .* or --file FILE/);
    });

    it('exits 1 for a tenant without records, naming the tenants that have some (a typo)', async () => {
      const file = join(dir, 'devices.ndjson');
      const typo = await runCli(['devices', '--tenant', 'acmee', '--file', file]);
      assert.equal(typo.code, 1);
      assert.equal(typo.stdout, '');
      assert.equal(
        typo.stderr,
        "duo-mfa devices: no records for tenant 'acmee' (tenants with records: acme)\n",
      );
      const searched = await runCli(['devices', '--tenant', 'acmee', '--file', file, '--search', 'EP']);
      assert.equal(searched.code, 1);
      assert.match(searched.stderr, /no records for tenant 'acmee' \(tenants with records: acme\)/);
    });
  });

  describe('with records saying what vouched (a device log written by hand)', () => {
    let dir: string;
    let file: string;
    const at = Date.parse('2027-06-30T00:00:00Z');
    const base = { policy: 'monitor', policyActive: true, outcome: 'allowed', factor: 'duo_push' } as const;
    const records = [
      {
        ...base,
        at: at - 86_400_000,
        tenant: 'acme',
        username: 'erin',
        trusted: 'not trusted',
        reason: 'user_approved',
        epkey: 'EPLAPTOPACME0000042',
        hostname: 'LAPTOP-ACME-042',
        os: 'Windows',
        osVersion: '11',
      },
      {
        ...base,
        at,
        tenant: 'acme',
        username: 'erin',
        trusted: 'trusted',
        vouchedBy: 'ivanti',
        reason: 'user_approved',
        epkey: 'EPLAPTOPACME0000042',
        hostname: 'LAPTOP-ACME-042',
        os: 'Windows',
        osVersion: '11',
      },
      {
        ...base,
        at,
        tenant: 'acme',
        username: 'oscar',
        trusted: 'not trusted',
        reason: 'user_approved',
        epkey: 'EPUNMANAGED00000007',
        os: 'Mac OS X',
      },
      {
        ...base,
        at,
        tenant: 'acme',
        username: 'ivy\u001b[2J',
        trusted: 'trusted',
        vouchedBy: 'duo\u001b[31m',
        reason: 'user_approved',
        epkey: 'EPODDVALUE000000001',
        os: 'iOS',
      },
      {
        ...base,
        at,
        tenant: 'globex',
        username: 'gus',
        trusted: 'trusted',
        vouchedBy: 'duo_desktop',
        reason: 'user_approved',
        epkey: 'EPGLOBEX00000000001',
        os: 'Linux',
      },
    ];

    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'duo-mfa-devices-vouch-'));
      file = join(dir, 'devices.ndjson');
      writeFileSync(file, records.map((record) => JSON.stringify(record)).join('\n') + '\n');
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('--search finds a synced identifier and says whether and how it was trusted, exit 0', async () => {
      const res = await runCli(['devices', '--tenant', 'acme', '--file', file, '--search', 'laptop-acme']);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(
        res.stdout,
        'Seen: 1 device(s) matching "laptop-acme" in tenant acme.\n' +
          'EPLAPTOPACME0000042 (LAPTOP-ACME-042, Windows 11) was last seen 30 Jun 2027, 00:00 UTC by erin: ' +
          'trusted, vouched for by Ivanti Neurons for MDM. 2 sign-ins: 2 allowed, 0 denied, 0 blocked.\n',
      );
    });

    it('--search says "not trusted" for a device nothing vouched for, and exits 1 when nothing matches', async () => {
      const res = await runCli(['devices', '--tenant', 'acme', '--file', file, '--search', 'EPUNMANAGED']);
      assert.equal(res.code, 0);
      assert.match(
        res.stdout,
        /EPUNMANAGED00000007 \(Mac OS X\) was last seen .*: not trusted \(nothing vouched for it\)\./,
      );
      const none = await runCli(['devices', '--tenant', 'acme', '--file', file, '--search', 'EPNEVERSEEN']);
      assert.equal(none.code, 1);
      assert.equal(none.stdout, 'Not seen: no device matching "EPNEVERSEEN" in tenant acme.\n');
    });

    it('lists what vouched in the TRUST column, with dates people read; JSON keeps ISO dates and the code', async () => {
      const text = await runCli(['devices', '--tenant', 'acme', '--file', file]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(
        text.stdout,
        /EPLAPTOPACME0000042\s+Windows 11\s+-\s+trusted \(Ivanti Neurons for MDM\)\s+30 Jun 2027, 00:00 UTC\s+erin\s+2\/0\/0/,
      );
      assert.match(
        text.stdout,
        /EPODDVALUE000000001\s+iOS\s+-\s+trusted\s+30 Jun 2027/,
        'an odd code is not shown',
      );
      assert.ok(!text.stdout.includes('\u001b'), 'no escape character reaches the terminal');
      assert.match(text.stdout, /ivy\?\[2J/);
      const asJson = JSON.parse(
        (await runCli(['devices', '--tenant', 'acme', '--file', file, '--json'])).stdout,
      );
      const laptop = asJson.devices.find((d: any) => d.id === 'EPLAPTOPACME0000042');
      assert.equal(laptop.vouchedBy, 'ivanti');
      assert.equal(laptop.lastSeen, '2027-06-30T00:00:00.000Z');
      assert.equal(laptop.firstSeen, '2027-06-29T00:00:00.000Z');
    });
  });
});
