// The Redis policy source: key layout (one hash tag), notifications across instances and processes, the revision
// check that heals lost notifications, Redis down then back, compare-and-set writes (S48, S49).

import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { DuoMfaError } from '../../lib/errors';
import { openTenantSource } from '../../lib/policy/open';
import {
  importPolicy,
  exportPolicy,
  isRedisPolicy,
  redisPolicy,
  redisPolicyKeys,
  type RedisPolicyOptions,
} from '../../lib/policy/redis';
import type { TenantSource } from '../../lib/policy/source';
import type { TenantSourceOptions } from '../../lib/policy/tenant-cache';
import { tenantVersion } from '../../lib/policy/version';
import { connectRedis, deleteKeys, redisOrSkip, REDIS_URL, uniquePrefix } from '../helpers/redis';
import {
  resilientRedis,
  redisServerOrSkip,
  waitReady,
  type RedisServer,
} from '../reliability/helpers/redis-server';
import {
  issuesOf,
  tenantDoc,
  waitFor,
  acmeTenant as acme,
  globexTenant as globex,
  readyEntry as ready,
  sourceRecorder,
} from './helpers';

const ROOT = join(__dirname, '..', '..');

const recorder = () => sourceRecorder();

/** Redis Cluster's key slot (CRC16/XMODEM of the hash tag, mod 16384), to check that keys share one slot. */
function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  const tag = open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(tag)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

describe('Redis policy source', function () {
  this.timeout(30_000);
  let redis: Redis;
  let prefix: string;
  const sources: TenantSource[] = [];
  const prefixes: string[] = [];

  before(async function () {
    redis = await redisOrSkip(this);
  });
  beforeEach(async () => {
    prefix = uniquePrefix(`policy-${process.pid}`).slice(0, -1);
    prefixes.push(prefix);
    await importPolicy(
      redis,
      prefix,
      { defaultTenant: 'acme' },
      new Map<string, unknown>([
        ['acme', acme()],
        ['globex', globex()],
      ]),
    );
  });
  afterEach(() => {
    for (const source of sources.splice(0)) source.close();
  });
  after(async () => {
    for (const used of prefixes) await deleteKeys(redis, `{${used}}*`);
    await redis?.quit();
  });

  async function open(options: TenantSourceOptions = {}, policy: RedisPolicyOptions = {}, client = redis) {
    const source = openTenantSource(redisPolicy(client, { prefix, checkIntervalMs: 0, ...policy }), options);
    sources.push(source);
    await source.ready();
    return source;
  }

  /** A writer whose notification never arrived: key, index and revision changed, nothing published. */
  async function changeUnannounced(id: string, tenant: Record<string, unknown>): Promise<void> {
    const keys = redisPolicyKeys(prefix);
    await redis.set(keys.tenant(id), JSON.stringify(tenant));
    await redis.hset(keys.index, id, tenantVersion(tenant));
    await redis.incr(keys.revision);
  }

  describe('key layout', () => {
    it('puts every key of the policy under the hash tag {prefix}: one Cluster slot for every command', () => {
      const keys = redisPolicyKeys('myapp:policy');
      assert.equal(keys.tenant('acme'), '{myapp:policy}:tenant:acme');
      assert.equal(keys.index, '{myapp:policy}:index');
      assert.equal(keys.defaults, '{myapp:policy}:defaults');
      assert.equal(keys.revision, '{myapp:policy}:revision');
      assert.equal(keys.channel, '{myapp:policy}:changed');
      const slots = new Set(
        [
          keys.tenant('acme'),
          keys.tenant('a{b}c'),
          keys.tenant('x'.repeat(300)),
          keys.index,
          keys.defaults,
          keys.revision,
        ].map(keySlot),
      );
      assert.equal(slots.size, 1);
      assert.equal(keySlot('{user1000}.following'), keySlot('{user1000}.followers')); // the algorithm, checked
      assert.equal(keySlot('123456789'), 12739); // Redis Cluster specification's CRC16 example, mod 16384
    });

    it('refuses a prefix that would break the hash tag', () => {
      assert.throws(() => redisPolicy(redis, { prefix: 'a{b' }), /without "\{" or "\}"/);
      assert.throws(() => redisPolicy(redis, { prefix: '' }), /non-empty/);
      assert.throws(() => redisPolicy({} as never), /needs an ioredis client/);
      assert.equal(isRedisPolicy(redisPolicy(redis)), true);
      assert.equal(isRedisPolicy({ tenants: {} }), false);
    });
  });

  describe('reading', () => {
    it('knows the tenants and the default tenant at ready(), and compiles a tenant when first needed', async () => {
      const source = await open();
      assert.deepEqual(source.tenantIds(), ['acme', 'globex']);
      assert.equal(source.defaultTenant(), 'acme');
      assert.equal(source.description, `redis:{${prefix}}`);
      assert.equal(source.peek('acme'), undefined);
      const entry = ready(await source.load('acme'));
      assert.equal(entry.tenant.version, tenantVersion(acme()));
      assert.deepEqual(source.peek('initech'), { state: 'missing' });
    });

    it('S49 refuses (503) only a tenant whose stored value is invalid or not JSON, and names it', async () => {
      const keys = redisPolicyKeys(prefix);
      await redis.set(keys.tenant('globex'), JSON.stringify(tenantDoc({ failmode: 'x' })));
      await importPolicy(
        redis,
        prefix,
        {},
        new Map<string, unknown>([
          ['acme', acme()],
          ['globex', globex()],
          ['initech', globex()],
        ]),
      );
      await redis.set(keys.tenant('globex'), JSON.stringify(tenantDoc({ failmode: 'x' })));
      await redis.set(keys.tenant('initech'), '{"mfa": ');
      const { invalids, options } = recorder();
      const source = await open(options);
      ready(await source.load('acme'));
      const bad = await source.load('globex');
      assert.ok(bad.state === 'unavailable' && bad.error.code === 'ERR_POLICY_UNAVAILABLE');
      const broken = await source.load('initech');
      assert.ok(broken.state === 'unavailable');
      assert.deepEqual(
        invalids.map((error) => [error.details.tenant, issuesOf(error)[0]!.path]),
        [
          ['globex', 'tenants.globex.failmode'],
          ['initech', 'tenants.initech'],
        ],
      );
      assert.match(issuesOf(invalids[1]!)[0]!.message, /^the stored value is not valid JSON/);
    });
  });

  describe('changes', () => {
    it('a write on instance A is in force on instance B within 1 s (notification)', async () => {
      const a = await open();
      const { changes, options } = recorder();
      const b = await open(options);
      ready(await b.load('acme'));
      const { version } = await a.readTenant('acme');
      const started = Date.now();
      const written = await a.writeTenant('acme', acme(['bob']), { expectedVersion: version });
      assert.deepEqual([...ready(a.peek('acme')).tenant.mfa.staffIncluded], ['bob']); // A at once
      await waitFor(
        () => b.peek('acme')?.state === 'ready' && ready(b.peek('acme')).tenant.version === written,
        'B',
        1000,
      );
      assert.ok(Date.now() - started < 1000);
      assert.deepEqual(changes, [{ source: b.description, tenants: [{ tenant: 'acme', version: written }] }]);
    });

    it('two instances in two processes: a change through A is decided on B within 1 s', async () => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(__dirname, 'helpers', 'redis-watch-child.ts'),
          JSON.stringify({ url: REDIS_URL, prefix, tenant: 'acme', user: { username: 'bob' } }),
        ],
        { cwd: ROOT },
      );
      try {
        const lines = collectLines(child);
        await waitFor(() => lines.includes('ready'), 'instance B to start', 15_000);
        await waitFor(() => lines.length > 1, 'instance B’s first decision');
        assert.equal(JSON.parse(lines[1]!).required, false); // bob is not in staffIncluded yet
        const a = await open();
        const { version } = await a.readTenant('acme');
        const started = Date.now();
        const written = await a.writeTenant('acme', acme(['dana', 'bob']), { expectedVersion: version });
        await waitFor(() => lines.length > 2, 'instance B to see the change', 1000);
        const seen = JSON.parse(lines[2]!) as { version: string; required: boolean; at: number };
        assert.equal(seen.version, written);
        assert.equal(seen.required, true);
        assert.ok(seen.at - started < 1000, `B decided with the change after ${seen.at - started} ms`);
      } finally {
        child.stdin.end();
        child.kill();
      }
    });

    it('heals a lost notification with the periodic revision check', async () => {
      const { changes, options } = recorder();
      const source = await open(options, { checkIntervalMs: 50 });
      ready(await source.load('acme'));
      await changeUnannounced('acme', acme(['healed']));
      await waitFor(() => changes.length > 0, 'the revision check');
      assert.deepEqual([...ready(source.peek('acme')).tenant.mfa.staffIncluded], ['healed']);
    });

    it('heals a change missed just before its own write: the write lands a revision further on', async () => {
      // No periodic check here (checkIntervalMs 0): only the write itself can notice the gap.
      const source = await open();
      ready(await source.load('acme'));
      ready(await source.load('globex'));
      // Another writer's change whose notification has not arrived (late or lost)…
      await changeUnannounced('acme', acme(['healed']));
      // …then a write of another tenant through this source: its revision is two steps on.
      const { version } = await source.readTenant('globex');
      await source.writeTenant('globex', { ...globex(), challengeLimit: 7 }, { expectedVersion: version });
      assert.equal(ready(source.peek('globex')).tenant.challengeLimit, 7);
      assert.deepEqual([...ready(source.peek('acme')).tenant.mfa.staffIncluded], ['healed']);
    });

    it('two instances writing different tenants at once: each has the other’s change within 1 s, every time', async () => {
      const other = await connectRedis();
      try {
        const a = await open();
        const b = await open({}, {}, other);
        for (const source of [a, b]) {
          ready(await source.load('acme'));
          ready(await source.load('globex'));
        }
        for (let round = 0; round < 10; round++) {
          const [acmeVersion, globexVersion] = await Promise.all([
            a.readTenant('acme').then((stored) => stored.version),
            b.readTenant('globex').then((stored) => stored.version),
          ]);
          const [onA, onB] = await Promise.all([
            a.writeTenant('acme', acme([`staff-${round}`]), { expectedVersion: acmeVersion }),
            b.writeTenant(
              'globex',
              { ...globex(), challengeLimit: round + 1 },
              { expectedVersion: globexVersion },
            ),
          ]);
          await waitFor(
            () =>
              ready(b.peek('acme')).tenant.version === onA && ready(a.peek('globex')).tenant.version === onB,
            `round ${round}: both changes on both instances`,
            1000,
          );
        }
      } finally {
        for (const source of sources.splice(0)) source.close(); // before the client they use goes
        await other.quit();
      }
    });

    it('adds and removes tenants, and notifies every instance once after an import', async () => {
      const { changes, options } = recorder();
      const source = await open(options);
      ready(await source.load('globex'));
      await importPolicy(
        redis,
        prefix,
        { defaultTenant: 'initech' },
        new Map<string, unknown>([
          ['acme', acme()],
          ['initech', globex()],
        ]),
      );
      await waitFor(() => source.defaultTenant() === 'initech', 'the import notification');
      assert.deepEqual(source.tenantIds(), ['acme', 'initech']);
      assert.equal(source.defaultTenant(), 'initech');
      assert.deepEqual(source.peek('globex'), { state: 'missing' });
      assert.deepEqual(changes, [
        {
          source: source.description,
          tenants: [
            { tenant: 'globex', version: null },
            { tenant: 'initech', version: tenantVersion(globex()) },
          ],
          defaultTenant: 'initech',
        },
      ]);
    });

    it('S49 keeps the last good version when a tenant’s value turns invalid', async () => {
      const { invalids, options } = recorder();
      const a = await open(options);
      const good = ready(await a.load('acme'));
      const keys = redisPolicyKeys(prefix);
      await redis.eval(
        `redis.call('SET', KEYS[1], ARGV[1]); redis.call('HSET', KEYS[2], 'acme', 'broken'); local r = redis.call('INCR', KEYS[3]); redis.call('PUBLISH', KEYS[4], '{"revision":' .. r .. ',"tenant":"acme"}')`,
        4,
        keys.tenant('acme'),
        keys.index,
        keys.revision,
        keys.channel,
        '{"mfa": {"enabled": "yes"}}',
      );
      await waitFor(() => invalids.length > 0, 'policy.invalid');
      const kept = ready(a.peek('acme'));
      assert.equal(kept.tenant, good.tenant);
      assert.equal(invalids[0]!.details.tenant, 'acme');
      assert.deepEqual(
        issuesOf(invalids[0]!).map((issue) => issue.path),
        ['tenants.acme.mfa.enabled', 'tenants.acme.duo'],
      );
    });
  });

  describe('writes (S48)', () => {
    it('creates a tenant with expectedVersion null, and refuses to create one that exists', async () => {
      const source = await open();
      const version = await source.writeTenant('initech', globex(), { expectedVersion: null });
      assert.equal(version, tenantVersion(globex()));
      assert.deepEqual(source.tenantIds(), ['acme', 'globex', 'initech']);
      await assert.rejects(
        source.writeTenant('initech', globex(), { expectedVersion: null }),
        (error: DuoMfaError) =>
          error.code === 'ERR_SETTINGS_CONFLICT' && error.details.currentVersion === version,
      );
    });

    it('refuses a stale version (ERR_SETTINGS_CONFLICT) and an invalid definition (paths in the tenant), writing nothing', async () => {
      const source = await open();
      const keys = redisPolicyKeys(prefix);
      const revision = await redis.get(keys.revision);
      await assert.rejects(source.writeTenant('acme', acme(['x']), { expectedVersion: 'stale' }), {
        code: 'ERR_SETTINGS_CONFLICT',
      });
      await assert.rejects(
        source.writeTenant('acme', tenantDoc({ mfa: { enabled: 'yes' } }), {
          expectedVersion: tenantVersion(acme()),
        }),
        (error: DuoMfaError) => {
          assert.equal(error.code, 'ERR_POLICY_INVALID');
          assert.deepEqual(issuesOf(error), [
            { path: 'mfa.enabled', message: 'must be true or false (got "yes")' },
          ]);
          assert.equal(error.details.tenant, 'acme');
          return true;
        },
      );
      assert.equal(await redis.get(keys.revision), revision);
      assert.equal(await redis.get(keys.tenant('acme')), JSON.stringify(acme()));
    });

    it('two processes writing with the same version: exactly one wins, the other gets a conflict', async () => {
      const go = join(tmpdir(), `duo-mfa-go-${process.pid}-${Date.now()}`);
      const { version } = await (await open()).readTenant('acme');
      const writers = ['one', 'two'].map((name) =>
        runChild('write-child.ts', {
          policy: { redis: REDIS_URL, prefix },
          id: 'acme',
          raw: acme([name]),
          expectedVersion: version,
          go,
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 1500)); // both started and waiting
      writeFileSync(go, '');
      const results = (await Promise.all(writers)).map(
        (out) => JSON.parse(out) as { ok: boolean; code?: string },
      );
      rmSync(go, { force: true });
      assert.deepEqual(results.map((result) => result.ok).sort(), [false, true]);
      assert.equal(results.find((result) => !result.ok)!.code, 'ERR_SETTINGS_CONFLICT');
    });

    it('a write made before the first read of the tenant list is listed and in force once ready(), and stays', async () => {
      const { changes, options } = recorder();
      const source = openTenantSource(redisPolicy(redis, { prefix, checkIntervalMs: 0 }), options);
      sources.push(source);
      // Not awaited: the source subscribes (its own connection) before it reads the tenant list, so this write is
      // applied while the list is still unknown (the case where one tenant's news must not pass for the list).
      const writing = source.writeTenant('initech', globex(), { expectedVersion: null });
      await source.ready();
      const version = await writing;
      assert.equal(version, tenantVersion(globex()));
      assert.deepEqual(source.tenantIds(), ['acme', 'globex', 'initech']);
      assert.equal(source.defaultTenant(), 'acme');
      assert.equal(ready(source.peek('initech') ?? (await source.load('initech'))).tenant.version, version);
      // Its own notification, then a full comparison of the index, change nothing and remove nothing.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await (source as unknown as { sync(): Promise<void> }).sync();
      assert.deepEqual(source.tenantIds(), ['acme', 'globex', 'initech']);
      assert.equal(ready(source.peek('initech')).tenant.version, version);
      assert.deepEqual(
        changes.flatMap((change) => change.tenants).filter((tenant) => tenant.version === null),
        [],
        'no tenant reported removed',
      );
    });

    it('readTenant returns the value as stored, with its version', async () => {
      const source = await open();
      assert.deepEqual(await source.readTenant('acme'), { version: tenantVersion(acme()), raw: acme() });
      assert.deepEqual(await source.readTenant('nope'), { version: null, raw: undefined });
    });

    it('export returns what import wrote', async () => {
      const { head, tenants } = await exportPolicy(redis, prefix);
      assert.deepEqual(head, { defaultTenant: 'acme' });
      assert.deepEqual(
        [...tenants],
        [
          ['acme', acme()],
          ['globex', globex()],
        ],
      );
    });
  });

  it('close() disconnects its own subscriber and leaves the caller’s client alone', async () => {
    const client = await connectRedis();
    try {
      const source = openTenantSource(redisPolicy(client, { prefix, checkIntervalMs: 10 }));
      await source.ready();
      source.close();
      source.close();
      assert.equal(await client.ping(), 'PONG');
      assert.equal(client.status, 'ready');
    } finally {
      await client.quit();
    }
  });

  describe('when Redis goes down and comes back', function () {
    this.timeout(60_000);
    let server: RedisServer;
    let client: Redis;

    before(async function () {
      server = await redisServerOrSkip(this);
      client = await resilientRedis(server.port);
    });
    after(async () => {
      client?.disconnect();
      await server?.stop();
    });

    it('keeps compiled tenants, refuses (503) tenants never loaded, and recovers by itself', async () => {
      await importPolicy(
        client,
        prefix,
        {},
        new Map<string, unknown>([
          ['acme', acme()],
          ['globex', globex()],
        ]),
      );
      const { invalids, options } = recorder();
      const source = openTenantSource(
        redisPolicy(client, { prefix, checkIntervalMs: 50, timeoutMs: 300 }),
        options,
      );
      sources.push(source);
      await source.ready();
      const good = ready(await source.load('acme'));

      server.freeze(); // connections stay open, nothing answers
      const refused = await source.load('globex');
      assert.ok(refused.state === 'unavailable' && refused.error.code === 'ERR_POLICY_UNAVAILABLE');
      assert.equal(source.peek('acme'), good);
      await waitFor(
        () => invalids.some((error) => error.code === 'ERR_POLICY_UNAVAILABLE'),
        'the outage report',
      );

      server.thaw();
      await waitFor(() => source.peek('globex') === undefined, 'the outage slot to expire', 5000);
      assert.equal(ready(await source.load('globex')).tenant.mfa.enabled, false);

      await server.stop(); // a restart without persistence: the keys are gone
      await server.start();
      await waitReady(client);
      await waitFor(
        () => invalids.filter((error) => /keys are gone/.test(error.message)).length > 0,
        'the report',
        10_000,
      );
      assert.equal(source.peek('acme'), good); // still in force
      await importPolicy(
        client,
        prefix,
        {},
        new Map<string, unknown>([
          ['acme', acme(['after'])],
          ['globex', globex()],
        ]),
      );
      await waitFor(
        () => ready(source.peek('acme')).tenant.mfa.staffIncluded.has('after'),
        'the re-imported policy (notification after resubscribing, or the revision check)',
        10_000,
      );
    });

    it('starts while Redis is down: tenants are refused until it answers, then work', async () => {
      await server.stop();
      const { invalids, options } = recorder();
      const source = openTenantSource(
        redisPolicy(client, { prefix, checkIntervalMs: 50, timeoutMs: 300 }),
        options,
      );
      sources.push(source);
      await source.ready();
      assert.deepEqual(source.tenantIds(), []);
      const refused = await source.load('acme');
      assert.equal(refused.state, 'unavailable');
      assert.equal(invalids.length, 1); // the outage, reported once
      assert.equal(invalids[0]!.code, 'ERR_POLICY_UNAVAILABLE');
      await server.start();
      await waitReady(client);
      await importPolicy(client, prefix, {}, new Map<string, unknown>([['acme', acme()]]));
      await waitFor(() => source.tenantIds().includes('acme'), 'the tenant list', 10_000);
      await waitFor(() => source.peek('acme') === undefined, 'the outage slot to expire', 5000);
      assert.equal(ready(await source.load('acme')).tenant.id, 'acme');
    });
  });
});

function collectLines(child: ChildProcessWithoutNullStreams): string[] {
  const lines: string[] = [];
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  return lines;
}

/** Runs a helper child to completion and resolves to its standard output. */
function runChild(file: string, args: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(__dirname, 'helpers', file), JSON.stringify(args)],
      {
        cwd: ROOT,
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${file} exited ${code}: ${err}`)),
    );
  });
}
