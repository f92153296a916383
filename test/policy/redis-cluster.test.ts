// The Redis policy source on a real three-node Redis Cluster: one slot for every key, notifications across nodes.

import assert from 'node:assert/strict';
import { Cluster } from 'ioredis';
import { openTenantSource } from '../../lib/policy/open';
import { importPolicy, redisPolicy, redisPolicyKeys } from '../../lib/policy/redis';
import type { TenantSource } from '../../lib/policy/source';
import { tenantVersion } from '../../lib/policy/version';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../cli/helpers';
import { tempDir, tenantDoc, waitFor } from './helpers';
import { canStartCluster, RedisCluster } from './helpers/redis-cluster';

const acme = (staff: string[]) => tenantDoc({ mfa: { enabled: true, staffIncluded: staff } });

describe('Redis policy source on a Redis Cluster', function () {
  this.timeout(60_000);
  let cluster: RedisCluster;
  let a: Cluster;
  let b: Cluster;
  const sources: TenantSource[] = [];

  before(async function () {
    if (!canStartCluster()) {
      if (process.env.CI === 'true')
        throw new Error('redis-server is required under CI=true for the Cluster test');
      this.skip();
    }
    cluster = await RedisCluster.start();
    // Two instances, each knowing the cluster through a different node.
    a = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0]! }]);
    b = new Cluster([{ host: '127.0.0.1', port: cluster.ports[2]! }]);
  });
  after(async () => {
    for (const source of sources) source.close();
    a?.disconnect();
    b?.disconnect();
    await cluster?.stop();
  });

  it('imports, reads and writes with every key in one slot, and notifies an instance on another node', async () => {
    const prefix = 'duo-mfa:cluster-test';
    await importPolicy(
      a,
      prefix,
      { defaultTenant: 'acme' },
      new Map<string, unknown>([
        ['acme', acme(['dana'])],
        ['globex', acme([])],
      ]),
    );
    const keys = redisPolicyKeys(prefix);
    const slots = await Promise.all(
      [keys.tenant('acme'), keys.tenant('globex'), keys.index, keys.defaults, keys.revision].map(
        (key) => a.call('CLUSTER', 'KEYSLOT', key) as Promise<number>,
      ),
    );
    assert.equal(new Set(slots).size, 1);

    const onA = openTenantSource(redisPolicy(a, { prefix }));
    const onB = openTenantSource(redisPolicy(b, { prefix, checkIntervalMs: 0 })); // notifications only
    sources.push(onA, onB);
    await Promise.all([onA.ready(), onB.ready()]);
    assert.deepEqual(onB.tenantIds(), ['acme', 'globex']);
    assert.equal(onB.defaultTenant(), 'acme');
    const before = await onB.load('acme');
    assert.equal(before.state, 'ready');

    const { version } = await onA.readTenant('acme');
    const started = Date.now();
    const written = await onA.writeTenant('acme', acme(['bob']), { expectedVersion: version });
    assert.equal(written, tenantVersion(acme(['bob'])));
    await waitFor(
      () => {
        const entry = onB.peek('acme');
        return entry?.state === 'ready' && entry.tenant.version === written;
      },
      'instance B to apply the change',
      1000,
    );
    assert.ok(Date.now() - started < 1000);
    await assert.rejects(onB.writeTenant('acme', acme(['x']), { expectedVersion: version }), {
      code: 'ERR_SETTINGS_CONFLICT',
    });
  });

  it('duo-mfa import and export reach the cluster through a list of nodes', async () => {
    const tmp = tempDir('duo-mfa-cluster-cli-');
    try {
      const file = join(tmp.dir, 'policy.json');
      writeFileSync(file, JSON.stringify({ tenants: { initech: acme(['ian']) } }));
      const nodes = cluster.ports.map((port) => `redis://127.0.0.1:${port}`).join(',');
      const imported = await runCli(['import', file, '--redis', nodes, '--prefix', 'duo-mfa:cluster-cli']);
      assert.equal(imported.code, 0, imported.stderr);
      const exported = await runCli(['export', '--redis', nodes, '--prefix', 'duo-mfa:cluster-cli']);
      assert.equal(exported.code, 0, exported.stderr);
      assert.deepEqual(JSON.parse(exported.stdout), { tenants: { initech: acme(['ian']) } });
    } finally {
      tmp.cleanup();
    }
  });
});
