// The single policy file as a per-tenant source: start-up checks, lazy compile, per-tenant reloads, S49 blast radius.

import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { validatePolicy } from '../../lib/policy/compile';
import { decideTenant } from '../../lib/policy/decide';
import { FileTenantSource } from '../../lib/policy/file-source';
import type { TenantSourceOptions } from '../../lib/policy/tenant-cache';
import { tenantVersion } from '../../lib/policy/version';
import {
  issuesOf,
  policyError,
  SECRET,
  tempDir,
  tenantDoc,
  waitFor,
  acmeTenant as acme,
  globexTenant as globex,
  readyEntry as ready,
  sourceRecorder,
} from './helpers';

type Doc = { defaultTenant?: string; tenants: Record<string, unknown> };

function doc(tenants: Record<string, unknown>, extra: Record<string, unknown> = {}): Doc {
  return { ...extra, tenants };
}

const recorder = () => sourceRecorder({ debounceMs: 20, pollIntervalMs: 0 });

describe('FileTenantSource (single file, per tenant)', () => {
  const tmp = tempDir('duo-mfa-file-source-');
  const sources: FileTenantSource[] = [];
  let counter = 0;
  let file: string;

  const write = (value: unknown) => writeFileSync(file, JSON.stringify(value, null, 2));
  function open(options: TenantSourceOptions = {}): FileTenantSource {
    const source = new FileTenantSource(file, { watch: false, ...options });
    sources.push(source);
    return source;
  }

  beforeEach(() => {
    file = tmp.path(`policy-${++counter}.json`);
    write(doc({ acme: acme(), globex: globex() }, { defaultTenant: 'acme' }));
  });
  afterEach(() => {
    for (const source of sources.splice(0)) source.close();
  });
  after(() => tmp.cleanup());

  describe('at start-up', () => {
    it('knows every tenant and the default tenant, and compiles none until asked', async () => {
      const source = open();
      assert.deepEqual(source.tenantIds(), ['acme', 'globex']);
      assert.equal(source.defaultTenant(), 'acme');
      assert.equal(source.description, file);
      assert.equal(source.writable, true);
      assert.equal(source.peek('acme'), undefined);
      const entry = ready(await source.load('acme'));
      assert.equal(entry.tenant.version, tenantVersion(acme()));
      assert.equal(source.peek('acme'), entry); // one Map lookup from now on
      assert.equal(decideTenant('acme', entry.tenant, { username: 'dana' }, Date.now()).required, true);
    });

    it('shares one load between concurrent callers', async () => {
      const source = open();
      const [a, b] = await Promise.all([source.load('globex'), source.load('globex')]);
      assert.equal(a, b);
    });

    it('S7 answers "missing" for a tenant that is not in the file, without reading anything', async () => {
      const source = open();
      assert.deepEqual(source.peek('initech'), { state: 'missing' });
      assert.deepEqual(await source.load('initech'), { state: 'missing' });
    });

    it('S38 throws one ERR_POLICY_INVALID listing every problem, exactly as validatePolicy does', () => {
      const bad = doc(
        {
          acme: tenantDoc({ failmode: 'opne' }),
          globex: tenantDoc({ challengeLimit: 0, mfa: { enabled: 'x' } }),
        },
        { defaultTenant: 'nope', extra: 1 },
      );
      write(bad);
      const error = policyError(() => open());
      const expected = validatePolicy(bad, { env: {} });
      assert.deepEqual(issuesOf(error), expected.issues);
      assert.deepEqual(
        issuesOf(error).map((issue) => issue.path),
        [
          'extra',
          'defaultTenant',
          'tenants.acme.failmode',
          'tenants.globex.mfa.enabled',
          'tenants.globex.challengeLimit',
        ],
      );
      assert.ok(error.message.startsWith(`Invalid MFA policy ${file} (5 problems):`));
    });

    it('reports a missing file, broken JSON (with line and column) and an env secret that is not set', () => {
      rmSync(file);
      assert.equal(issuesOf(policyError(() => open()))[0]!.message, 'the file does not exist');
      writeFileSync(file, '{\n  "tenants": {\n    "acme": { "mfa": }\n  }\n}');
      assert.match(issuesOf(policyError(() => open()))[0]!.message, /^not valid JSON at line 3, column/);
      write(
        doc({
          acme: tenantDoc({ duo: { ...(tenantDoc().duo as object), clientSecret: { env: 'NOPE_X' } } }),
        }),
      );
      assert.deepEqual(issuesOf(policyError(() => open({ env: {} }))), [
        { path: 'tenants.acme.duo.clientSecret', message: 'environment variable NOPE_X is not set' },
      ]);
    });

    it('reads a file with a byte order mark and duplicate keys as JSON.parse does', async () => {
      writeFileSync(
        file,
        `\ufeff{"tenants":{"acme":${JSON.stringify(globex())},"acme":${JSON.stringify(acme())}}}`,
      );
      const source = open();
      assert.deepEqual(source.tenantIds(), ['acme']);
      assert.equal(ready(await source.load('acme')).tenant.mfa.enabled, true);
    });
  });

  describe('reload()', () => {
    it('recompiles only the tenant that changed, and reports it with its new version', async () => {
      const { changes, options } = recorder();
      const source = open(options);
      const before = ready(await source.load('acme'));
      const other = ready(await source.load('globex'));
      write(doc({ acme: acme(['dana', 'bob']), globex: globex() }, { defaultTenant: 'acme' }));
      assert.equal(await source.reload(), true);
      const after = ready(source.peek('acme'));
      assert.notEqual(after.tenant, before.tenant);
      assert.deepEqual([...after.tenant.mfa.staffIncluded], ['dana', 'bob']);
      assert.equal(source.peek('globex'), other); // untouched: the same compiled object
      assert.deepEqual(changes, [
        { source: file, tenants: [{ tenant: 'acme', version: tenantVersion(acme(['dana', 'bob'])) }] },
      ]);
    });

    it('reports a tenant that was never compiled by its version, and compiles it only when asked', async () => {
      const { changes, options } = recorder();
      const source = open(options);
      write(doc({ acme: acme(), globex: tenantDoc({ mfa: { enabled: true } }) }, { defaultTenant: 'acme' }));
      assert.equal(await source.reload(), true);
      assert.equal(source.peek('globex'), undefined);
      assert.deepEqual(changes[0]!.tenants, [
        { tenant: 'globex', version: tenantVersion(tenantDoc({ mfa: { enabled: true } })) },
      ]);
      assert.equal(ready(await source.load('globex')).tenant.mfa.enabled, true);
    });

    it('ignores formatting-only edits of compiled tenants (no change reported)', async () => {
      const { changes, options } = recorder();
      const source = open(options);
      await source.load('acme');
      await source.load('globex');
      writeFileSync(file, JSON.stringify(doc({ acme: acme(), globex: globex() }, { defaultTenant: 'acme' })));
      assert.equal(await source.reload(), false);
      assert.deepEqual(changes, []);
    });

    it('adds and removes tenants; a removed tenant’s users are refused as unknown', async () => {
      const { changes, options } = recorder();
      const source = open(options);
      await source.load('globex');
      write(doc({ acme: acme(), initech: globex() }, { defaultTenant: 'acme' }));
      assert.equal(await source.reload(), true);
      assert.deepEqual(source.tenantIds(), ['acme', 'initech']);
      assert.deepEqual(source.peek('globex'), { state: 'missing' });
      assert.deepEqual(changes[0]!.tenants, [
        { tenant: 'globex', version: null },
        { tenant: 'initech', version: tenantVersion(globex()) },
      ]);
    });

    it('reports a new default tenant', async () => {
      const { changes, options } = recorder();
      const source = open(options);
      write(doc({ acme: acme(), globex: globex() }, { defaultTenant: 'globex' }));
      await source.reload();
      assert.equal(source.defaultTenant(), 'globex');
      assert.deepEqual(changes, [{ source: file, tenants: [], defaultTenant: 'globex' }]);
    });
  });

  describe('S49 when one tenant turns invalid', () => {
    it('keeps its last good version in force, applies the other tenants’ changes, and reports the paths', async () => {
      const { changes, invalids, options } = recorder();
      const source = open(options);
      const good = ready(await source.load('acme'));
      write(
        doc(
          {
            acme: tenantDoc({ mfa: { enabled: true, rolesInclude: ['x'] } }),
            globex: tenantDoc({ mfa: { enabled: true } }),
          },
          { defaultTenant: 'acme' },
        ),
      );
      await source.reload();
      const kept = ready(source.peek('acme'));
      assert.equal(kept.tenant, good.tenant);
      assert.equal(kept.invalid?.code, 'ERR_POLICY_INVALID');
      assert.equal(ready(await source.load('globex')).tenant.mfa.enabled, true);
      assert.equal(invalids.length, 1);
      assert.equal(invalids[0]!.details.tenant, 'acme');
      assert.equal(invalids[0]!.details.source, file);
      assert.deepEqual(issuesOf(invalids[0]!), [
        { path: 'tenants.acme.mfa.rolesInclude', message: 'unknown key — did you mean "rolesIncluded"?' },
      ]);
      assert.deepEqual(
        changes.flatMap((change) => change.tenants.map((tenant) => tenant.tenant)),
        ['globex'],
      );
      assert.deepEqual(source.tenantIds(), ['acme', 'globex']); // still listed
    });

    it('refuses (503) a tenant that never had a good version, and reports it once', async () => {
      const { invalids, options } = recorder();
      const source = open(options);
      write(doc({ acme: acme(), globex: tenantDoc({ challengeLimit: -1 }) }, { defaultTenant: 'acme' }));
      await source.reload();
      await source.reload();
      const entry = source.peek('globex');
      assert.ok(entry?.state === 'unavailable');
      assert.equal(entry.error.code, 'ERR_POLICY_UNAVAILABLE');
      assert.equal(entry.error.status, 503);
      assert.equal(invalids.length, 1);
      assert.equal(ready(await source.load('acme')).tenant.id, 'acme');
      write(doc({ acme: acme(), globex: globex() }, { defaultTenant: 'acme' })); // fixed
      await source.reload();
      assert.equal(ready(await source.load('globex')).tenant.mfa.enabled, false);
    });

    it('S38 keeps every tenant when the file as a whole breaks, and reports it once per problem', async () => {
      const { invalids, options } = recorder();
      const source = open(options);
      const good = ready(await source.load('acme'));
      writeFileSync(file, '{"tenants": {"acme": ');
      assert.equal(await source.reload(), false);
      assert.equal(await source.reload(), false);
      rmSync(file);
      assert.equal(await source.reload(), false);
      assert.equal(source.peek('acme'), good);
      assert.deepEqual(source.tenantIds(), ['acme', 'globex']);
      assert.deepEqual(
        invalids.map((error) => issuesOf(error)[0]!.message),
        [
          'not valid JSON at line 1, column 22: the file ends where a value was expected (cut short?)',
          'the file does not exist',
        ],
      );
    });
  });

  describe('watching', () => {
    it('S38 a deleted file is looked at once, not again at every stat poll while it stays missing', async () => {
      const { invalids, options } = recorder();
      const source = open({ ...options, watch: true, debounceMs: 5, pollIntervalMs: 20 });
      rmSync(file);
      await waitFor(() => invalids.length > 0, 'the missing file reported');
      const ranThen = source.jobsRan.inline + source.jobsRan.worker + source.jobsRan.fallback;
      await new Promise((resolve) => setTimeout(resolve, 300)); // fifteen poll intervals
      const ranSince = source.jobsRan.inline + source.jobsRan.worker + source.jobsRan.fallback - ranThen;
      assert.ok(ranSince <= 1, `the missing file was read again ${ranSince} times`);
      assert.equal(invalids.length, 1);
    });

    it('S6 applies an edit once the watcher fires', async () => {
      const { changes, options } = recorder();
      const source = open({ ...options, watch: true });
      await source.load('acme');
      write(doc({ acme: acme(['erin']), globex: globex() }, { defaultTenant: 'acme' }));
      await waitFor(() => changes.length > 0, 'onChange after the edit');
      assert.deepEqual([...ready(source.peek('acme')).tenant.mfa.staffIncluded], ['erin']);
    });
  });

  describe('a large file (indexed in a worker thread)', function () {
    this.timeout(60_000);
    it('changes one tenant of 250 (6 MB) without recompiling the others', async () => {
      const tenants: Record<string, unknown> = {};
      const staff = (t: number) => Array.from({ length: 1000 }, (_, i) => `user${i}.t${t}@example.com`);
      for (let t = 0; t < 250; t++)
        tenants[`t${t}`] = tenantDoc({ mfa: { enabled: true, staffIncluded: staff(t) } });
      write(doc(tenants));
      const { changes, options } = recorder();
      const source = open(options);
      const first = ready(await source.load('t1'));
      const last = ready(await source.load('t249'));
      tenants.t249 = tenantDoc({ mfa: { enabled: false } });
      write(doc(tenants));
      assert.equal(await source.reload(), true);
      assert.equal(source.peek('t1'), first);
      assert.notEqual(ready(source.peek('t249')).tenant, last.tenant);
      assert.equal(ready(source.peek('t249')).tenant.mfa.enabled, false);
      assert.deepEqual(
        changes[0]!.tenants.map((change) => change.tenant),
        ['t249'],
      );
      // Tenants are read from disk by offset: one never loaded is read after the change.
      assert.equal(
        ready(await source.load('t100')).tenant.mfa.staffIncluded.has('user5.t100@example.com'),
        true,
      );
    });
  });

  describe('readTenant', () => {
    it('returns the tenant as stored, { env } references kept, with the compiled version', async () => {
      const stored = tenantDoc({ duo: { ...(tenantDoc().duo as object), clientSecret: { env: 'ACME_S' } } });
      write(doc({ acme: stored }));
      const source = open({ env: { ACME_S: SECRET } });
      const read = await source.readTenant('acme');
      assert.deepEqual(read.raw, stored);
      assert.equal(read.version, ready(await source.load('acme')).tenant.version);
      assert.deepEqual(await source.readTenant('nope'), { version: null, raw: undefined });
    });
  });

  it('close() is idempotent and stops reloads', async () => {
    const { changes, options } = recorder();
    const source = open({ ...options, watch: true, pollIntervalMs: 10 });
    source.close();
    source.close();
    write(doc({ acme: acme(['late']) }));
    assert.equal(await source.reload(), false);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(changes, []);
  });
});
