// duo-mfa import SOURCE --redis URL / export --redis URL [--out FILE|DIR]: validated first, round trips, layouts.

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { redisPolicyKeys } from '../../lib/policy/redis';
import { tenantVersion } from '../../lib/policy/version';
import { deleteKeys, redisOrSkip, REDIS_URL, uniquePrefix } from '../helpers/redis';
import { CLIENT_ID, tempDir, tenantDoc } from '../policy/helpers';
import { hasStackTrace, runCli, writeJson } from './helpers';

const envTenant = () =>
  tenantDoc({
    mfa: { enabled: true, rolesIncluded: ['admin'] },
    duo: {
      clientId: CLIENT_ID,
      clientSecret: { env: 'ACME_SECRET_NOT_SET_HERE' },
      apiHost: 'api-1.duosecurity.com',
    },
  });
const policy = () => ({
  $schema: './schema.json',
  defaultTenant: 'acme',
  tenants: { acme: envTenant(), globex: tenantDoc({ mfa: { enabled: false } }) },
});

describe('duo-mfa import / export', function () {
  this.timeout(60_000);
  const tmp = tempDir('duo-mfa-import-');
  let redis: Redis;
  const prefixes: string[] = [];
  let prefix: string;

  before(async function () {
    redis = await redisOrSkip(this);
  });
  beforeEach(() => {
    prefix = uniquePrefix(`cli-${process.pid}`).slice(0, -1);
    prefixes.push(prefix);
  });
  after(async () => {
    for (const used of prefixes) await deleteKeys(redis, `{${used}}*`);
    await redis?.quit();
    tmp.cleanup();
  });

  it('imports a valid file (env secrets are the instances’ business) and exports it back unchanged', async () => {
    const file = writeJson(tmp.path('policy.json'), policy());
    const imported = await runCli(['import', file, '--redis', REDIS_URL, '--prefix', prefix]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal(
      imported.stdout,
      `Imported 2 tenants from ${file} into ${REDIS_URL} (prefix ${prefix}): 2 added, 0 changed, 0 removed, 0 unchanged.\n`,
    );
    const keys = redisPolicyKeys(prefix);
    assert.deepEqual(await redis.hgetall(keys.index), {
      acme: tenantVersion(envTenant()),
      globex: tenantVersion(tenantDoc({ mfa: { enabled: false } })),
    });
    assert.equal(await redis.get(keys.tenant('acme')), JSON.stringify(envTenant())); // as written, no defaults added
    const exported = await runCli(['export', '--redis', REDIS_URL, '--prefix', prefix]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.deepEqual(JSON.parse(exported.stdout), policy());

    const again = await runCli(['import', file, '--redis', REDIS_URL, '--prefix', prefix, '--json']);
    assert.deepEqual(JSON.parse(again.stdout), {
      ok: true,
      errors: [],
      added: [],
      changed: [],
      removed: [],
      unchanged: 2,
    });
  });

  it('imports a directory and exports it as a directory and as a file', async () => {
    const dir = tmp.path('source.d');
    mkdirSync(dir);
    writeFileSync(join(dir, '_defaults.json'), JSON.stringify({ defaultTenant: 'acme' }));
    writeFileSync(join(dir, 'acme.json'), JSON.stringify(envTenant()));
    writeFileSync(join(dir, 'globex.json'), JSON.stringify(tenantDoc({ mfa: { enabled: false } })));
    const imported = await runCli(['import', dir, '--redis', REDIS_URL, '--prefix', prefix]);
    assert.equal(imported.code, 0, imported.stderr);

    const out = tmp.path('exported.d');
    const asDir = await runCli(['export', '--redis', REDIS_URL, '--prefix', prefix, '--out', out]);
    assert.equal(asDir.code, 0, asDir.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['_defaults.json', 'acme.json', 'globex.json']);
    assert.equal(readFileSync(join(out, 'acme.json'), 'utf8'), `${JSON.stringify(envTenant(), null, 2)}\n`);
    assert.deepEqual(JSON.parse(readFileSync(join(out, '_defaults.json'), 'utf8')), {
      defaultTenant: 'acme',
    });
    const check = await runCli(['check', out], { ACME_SECRET_NOT_SET_HERE: 'x'.repeat(40) });
    assert.equal(check.code, 0, check.stderr);

    const refused = await runCli(['export', '--redis', REDIS_URL, '--prefix', prefix, '--out', out]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /already holds \.json files: export to a new or empty directory/);

    const asFile = tmp.path('exported.json');
    const fileResult = await runCli(['export', '--redis', REDIS_URL, '--prefix', prefix, '--out', asFile]);
    assert.equal(fileResult.code, 0, fileResult.stderr);
    assert.deepEqual(JSON.parse(readFileSync(asFile, 'utf8')), {
      defaultTenant: 'acme',
      tenants: { acme: envTenant(), globex: tenantDoc({ mfa: { enabled: false } }) },
    });
  });

  it('an invalid source writes nothing and lists every issue', async () => {
    const good = writeJson(tmp.path('good.json'), policy());
    await runCli(['import', good, '--redis', REDIS_URL, '--prefix', prefix]);
    const keys = redisPolicyKeys(prefix);
    const before = {
      revision: await redis.get(keys.revision),
      index: await redis.hgetall(keys.index),
      acme: await redis.get(keys.tenant('acme')),
    };
    const bad = writeJson(tmp.path('bad.json'), {
      defaultTenant: 'acme',
      tenants: {
        acme: tenantDoc({ mfa: { enabled: false, staffIncluded: ['x'] } }), // valid on its own
        globex: tenantDoc({ failmode: 'opne' }),
        initech: tenantDoc({ challengeLimit: 0 }),
      },
    });
    const result = await runCli(['import', bad, '--redis', REDIS_URL, '--prefix', prefix]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.deepEqual(result.stderr.trimEnd().split('\n'), [
      `Invalid MFA policy ${bad} (2 problems):`,
      '  tenants.globex.failmode: must be "closed" or "open" (got "opne") — did you mean "open"?',
      '  tenants.initech.challengeLimit: must be at least 1 (got 0)',
      'Nothing was written to Redis.',
    ]);
    assert.deepEqual(
      {
        revision: await redis.get(keys.revision),
        index: await redis.hgetall(keys.index),
        acme: await redis.get(keys.tenant('acme')),
      },
      before,
    );
    assert.equal(await redis.exists(keys.tenant('initech')), 0);
    const asJson = await runCli(['import', bad, '--redis', REDIS_URL, '--prefix', prefix, '--json']);
    assert.equal(JSON.parse(asJson.stdout).errors.length, 2);
  });

  it('imports a tenant whose id cannot be a file name, and refuses to export it to a directory', async () => {
    const file = writeJson(tmp.path('spaces.json'), { tenants: { 'acme corp': tenantDoc() } });
    assert.equal((await runCli(['import', file, '--redis', REDIS_URL, '--prefix', prefix])).code, 0);
    const result = await runCli([
      'export',
      '--redis',
      REDIS_URL,
      '--prefix',
      prefix,
      '--out',
      tmp.path('spaces.d'),
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /these tenant ids cannot be file names in a policy directory: "acme corp"/);
  });

  it('says what is wrong without a stack trace: no --redis, nothing to export, Redis unreachable', async () => {
    const missing = await runCli(['export']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--redis URL is required/);
    const empty = await runCli(['export', '--redis', REDIS_URL, '--prefix', prefix]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /no policy under the prefix/);
    const file = writeJson(tmp.path('down.json'), policy());
    const down = await runCli(['import', file, '--redis', 'redis://127.0.0.1:1']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /Redis at redis:\/\/127\.0\.0\.1:1 cannot be reached/);
    for (const output of [missing.stderr, empty.stderr, down.stderr]) assert.ok(!hasStackTrace(output));
  });

  it('never prints the password of a --redis URL, and calls a malformed node list a usage error', async () => {
    const file = writeJson(tmp.path('secret.json'), policy());
    const down = await runCli(['import', file, '--redis', 'redis://user:s3cretPass@127.0.0.1:1']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1:1 cannot be reached/);
    const empty = await runCli([
      'export',
      '--redis',
      REDIS_URL.replace('//', '//:s3cretPass@'),
      '--prefix',
      prefix,
    ]);
    const imported = await runCli([
      'import',
      file,
      '--redis',
      REDIS_URL.replace('//', '//:s3cretPass@'),
      '--prefix',
      prefix,
    ]);
    const cluster = await runCli(['import', file, '--redis', 'redis://:s3cretPass@a:1,not a url']);
    assert.equal(cluster.code, 2, cluster.stderr);
    assert.match(cluster.stderr, /is not a redis:\/\/ URL/);
    for (const run of [down, empty, imported, cluster]) {
      assert.ok(!`${run.stdout}${run.stderr}`.includes('s3cretPass'), `${run.stdout}${run.stderr}`);
      assert.ok(!hasStackTrace(run.stderr));
    }
  });
});
