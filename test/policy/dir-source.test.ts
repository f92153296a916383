// A policy directory: one <tenantId>.json per tenant, _defaults.json, watched; add/change/delete/invalid files (S49).

import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DirectoryTenantSource, tenantFileId } from '../../lib/policy/dir-source';
import { openTenantSource } from '../../lib/policy/open';
import type { TenantSource } from '../../lib/policy/source';
import type { TenantSourceOptions } from '../../lib/policy/tenant-cache';
import { tenantVersion } from '../../lib/policy/version';
import {
  issuesOf,
  policyError,
  tempDir,
  tenantDoc,
  waitFor,
  acmeTenant as acme,
  globexTenant as globex,
  readyEntry as ready,
  sourceRecorder,
} from './helpers';

const recorder = () => sourceRecorder({ debounceMs: 20, pollIntervalMs: 0 });

describe('DirectoryTenantSource (one file per tenant)', () => {
  const tmp = tempDir('duo-mfa-dir-source-');
  const sources: TenantSource[] = [];
  let counter = 0;
  let dir: string;

  const put = (name: string, value: unknown) =>
    writeFileSync(join(dir, name), JSON.stringify(value, null, 2));
  function open(options: TenantSourceOptions = {}): DirectoryTenantSource {
    const source = new DirectoryTenantSource(dir, { watch: false, ...options });
    sources.push(source);
    return source;
  }

  beforeEach(() => {
    dir = tmp.path(`policy-${++counter}.d`);
    mkdirSync(dir);
    put('acme.json', acme());
    put('globex.json', globex());
    put('_defaults.json', { $schema: '../schema.json', defaultTenant: 'acme' });
  });
  afterEach(() => {
    for (const source of sources.splice(0)) source.close();
  });
  after(() => tmp.cleanup());

  describe('file names', () => {
    const cases: [string, ReturnType<typeof tenantFileId>][] = [
      ['acme.json', { id: 'acme' }],
      ['Acme.EU-1@x+y.json', { id: 'Acme.EU-1@x+y' }],
      ['_defaults.json', { kind: 'defaults' }],
      ['.acme.json.swp', { kind: 'ignored' }],
      ['.acme.json', { kind: 'ignored' }],
      ['acme.json~', { kind: 'ignored' }],
      ['README.md', { kind: 'ignored' }],
      ['acme corp.json', { kind: 'invalid' }],
      ['_other.json', { kind: 'invalid' }],
      ['-x.json', { kind: 'invalid' }],
      [`${'a'.repeat(201)}.json`, { kind: 'invalid' }],
    ];
    for (const [name, expected] of cases) {
      it(`reads ${JSON.stringify(name)} as ${JSON.stringify(expected)}`, () => {
        assert.deepEqual(tenantFileId(name), expected);
      });
    }
  });

  describe('at start-up', () => {
    it('lists the tenant files and reads _defaults.json, compiling nothing', async () => {
      writeFileSync(join(dir, '.acme.json.swp'), 'garbage');
      writeFileSync(join(dir, 'notes.txt'), 'garbage');
      const source = openTenantSource(dir, { watch: false });
      sources.push(source);
      assert.ok(source instanceof DirectoryTenantSource);
      assert.deepEqual(source.tenantIds(), ['acme', 'globex']);
      assert.equal(source.defaultTenant(), 'acme');
      assert.equal(source.peek('acme'), undefined);
      const entry = ready(await source.load('acme'));
      assert.equal(entry.tenant.version, tenantVersion(acme()));
      assert.equal(source.peek('acme'), entry);
      assert.deepEqual(source.peek('initech'), { state: 'missing' });
    });

    it('throws for a missing directory', () => {
      const error = policyError(() => openTenantSource(join(dir, 'nope.d')));
      assert.equal(issuesOf(error)[0]!.message, 'no such file or directory');
      const direct = policyError(() => new DirectoryTenantSource(join(dir, 'nope.d'), {}));
      assert.equal(issuesOf(direct)[0]!.message, 'the directory does not exist');
    });

    it('throws for an invalid _defaults.json, naming the file and every path', () => {
      put('_defaults.json', { defaultTenant: 'acm', tenants: {}, extra: true });
      const error = policyError(() => open());
      assert.deepEqual(issuesOf(error), [
        {
          path: 'tenants',
          message: 'tenants are not written here: each tenant is its own <id>.json file in the directory',
          file: '_defaults.json',
        },
        {
          path: 'extra',
          message: 'unknown key — allowed here: $schema, defaultTenant',
          file: '_defaults.json',
        },
      ]);
      put('_defaults.json', { defaultTenant: 'acm' });
      assert.deepEqual(issuesOf(policyError(() => open())), [
        {
          path: 'defaultTenant',
          message: 'must name a tenant file (<id>.json) in the directory (got "acm") — did you mean "acme"?',
          file: '_defaults.json',
        },
      ]);
      writeFileSync(join(dir, '_defaults.json'), '{ "defaultTenant": ');
      const broken = policyError(() => open());
      assert.match(issuesOf(broken)[0]!.message, /^not valid JSON at line 1/);
      assert.match(broken.message, /_defaults\.json/);
    });

    it('works without _defaults.json and with no tenant at all', () => {
      rmSync(join(dir, '_defaults.json'));
      rmSync(join(dir, 'acme.json'));
      rmSync(join(dir, 'globex.json'));
      const source = open();
      assert.deepEqual(source.tenantIds(), []);
      assert.equal(source.defaultTenant(), undefined);
    });

    it('S49 starts with an invalid tenant file: that tenant is refused (503) and reported, the others work', async () => {
      writeFileSync(join(dir, 'globex.json'), '{ "mfa": ');
      put('initech.json', tenantDoc({ failmode: 'opne' }));
      const { invalids, options } = recorder();
      const source = open(options);
      assert.equal(ready(await source.load('acme')).tenant.id, 'acme');
      const globexEntry = await source.load('globex');
      assert.ok(globexEntry.state === 'unavailable');
      assert.equal(globexEntry.error.code, 'ERR_POLICY_UNAVAILABLE');
      const initechEntry = await source.load('initech');
      assert.ok(initechEntry.state === 'unavailable');
      assert.deepEqual(
        invalids.map((error) => [error.details.tenant, error.details.file, issuesOf(error)]),
        [
          [
            'globex',
            'globex.json',
            [
              {
                path: '$',
                message:
                  'not valid JSON at line 1, column 10: the file ends where a value was expected (cut short?)',
                file: 'globex.json',
              },
            ],
          ],
          [
            'initech',
            'initech.json',
            [
              {
                path: 'failmode',
                message: 'must be "closed" or "open" (got "opne") — did you mean "open"?',
                file: 'initech.json',
              },
            ],
          ],
        ],
      );
      assert.equal(
        invalids[1]!.message,
        `Invalid MFA policy ${dir}/initech.json (1 problem):\n  failmode: must be "closed" or "open" (got "opne") — did you mean "open"?`,
      );
      assert.deepEqual(source.tenantIds(), ['acme', 'globex', 'initech']);
    });

    it('reports a .json file whose name is not a valid tenant id, and ignores it', () => {
      put('acme corp.json', acme());
      const { invalids, options } = recorder();
      const source = open(options);
      assert.deepEqual(source.tenantIds(), ['acme', 'globex']);
      assert.equal(invalids.length, 1);
      assert.equal(invalids[0]!.details.file, 'acme corp.json');
      assert.match(issuesOf(invalids[0]!)[0]!.message, /^the file name is not a valid tenant id/);
    });
  });

  describe('changes (rescan)', () => {
    it('S6 reloads only the changed tenant file', async () => {
      const { changes, options } = recorder();
      const source = open(options);
      const before = ready(await source.load('acme'));
      const other = ready(await source.load('globex'));
      put('acme.json', acme(['erin']));
      await source.rescan();
      assert.deepEqual([...ready(source.peek('acme')).tenant.mfa.staffIncluded], ['erin']);
      assert.notEqual(ready(source.peek('acme')).tenant, before.tenant);
      assert.equal(source.peek('globex'), other);
      assert.deepEqual(changes, [
        { source: dir, tenants: [{ tenant: 'acme', version: tenantVersion(acme(['erin'])) }] },
      ]);
    });

    it('adds a tenant for a new file and removes one for a deleted file (its users then refused as unknown)', async () => {
      const { changes, options } = recorder();
      const source = open(options);
      await source.load('globex');
      put('initech.json', globex());
      rmSync(join(dir, 'globex.json'));
      await source.rescan();
      assert.deepEqual(source.tenantIds(), ['acme', 'initech']);
      assert.deepEqual(source.peek('globex'), { state: 'missing' });
      assert.equal(ready(await source.load('initech')).tenant.mfa.enabled, false);
      assert.deepEqual(changes[0]!.tenants, [
        { tenant: 'globex', version: null },
        { tenant: 'initech', version: tenantVersion(globex()) },
      ]);
    });

    it('S49 keeps the last good version of a tenant whose file turns invalid; a fix is applied', async () => {
      const { changes, invalids, options } = recorder();
      const source = open(options);
      const good = ready(await source.load('acme'));
      writeFileSync(join(dir, 'acme.json'), '');
      await source.rescan();
      const kept = ready(source.peek('acme'));
      assert.equal(kept.tenant, good.tenant);
      assert.equal(issuesOf(kept.invalid!)[0]!.message, 'the file is empty');
      assert.equal(invalids.length, 1);
      put('acme.json', acme(['fixed']));
      await source.rescan();
      assert.deepEqual([...ready(source.peek('acme')).tenant.mfa.staffIncluded], ['fixed']);
      assert.equal(ready(source.peek('acme')).invalid, undefined);
      assert.equal(changes.length, 1);
    });

    it('applies a new _defaults.json, and keeps the last good one when it turns invalid', async () => {
      const { changes, invalids, options } = recorder();
      const source = open(options);
      put('_defaults.json', { defaultTenant: 'globex' });
      await source.rescan();
      assert.equal(source.defaultTenant(), 'globex');
      assert.deepEqual(changes, [{ source: dir, tenants: [], defaultTenant: 'globex' }]);
      put('_defaults.json', { defaultTenant: 'nope' });
      await source.rescan();
      assert.equal(source.defaultTenant(), 'globex');
      assert.equal(invalids[0]!.details.file, '_defaults.json');
      rmSync(join(dir, '_defaults.json'));
      await source.rescan();
      assert.equal(source.defaultTenant(), undefined);
    });
  });

  describe('watching', () => {
    it('applies a changed, a new and a deleted file once the watcher fires', async () => {
      const { changes, options } = recorder();
      const source = open({ ...options, watch: true });
      await source.load('acme');
      put('acme.json', acme(['watched']));
      await waitFor(() => changes.length > 0, 'onChange after the edit');
      assert.deepEqual([...ready(source.peek('acme')).tenant.mfa.staffIncluded], ['watched']);
      put('initech.json', globex());
      await waitFor(() => source.tenantIds().includes('initech'), 'the new tenant');
      rmSync(join(dir, 'globex.json'));
      await waitFor(() => !source.tenantIds().includes('globex'), 'the deleted tenant');
      assert.deepEqual(source.peek('globex'), { state: 'missing' });
    });

    it('ignores editor swap files and temporary files', async () => {
      const { changes, invalids, options } = recorder();
      open({ ...options, watch: true });
      writeFileSync(join(dir, '.acme.json.swp'), 'garbage');
      writeFileSync(join(dir, 'acme.json~'), 'garbage');
      put('globex.json', acme(['after']));
      await waitFor(() => changes.length > 0, 'onChange for globex');
      assert.deepEqual(
        changes[0]!.tenants.map((change) => change.tenant),
        ['globex'],
      );
      assert.deepEqual(invalids, []);
    });

    it('applies a Kubernetes-style ConfigMap update (files are symlinks through a swapped "..data")', async () => {
      const k8s = tmp.path(`configmap-${counter}`);
      mkdirSync(join(k8s, '..v1'), { recursive: true });
      writeFileSync(join(k8s, '..v1', 'acme.json'), JSON.stringify(acme(['v1'])));
      symlinkSync('..v1', join(k8s, '..data'));
      symlinkSync(join('..data', 'acme.json'), join(k8s, 'acme.json'));
      const { changes, options } = recorder();
      const source = new DirectoryTenantSource(k8s, { ...options, watch: true });
      sources.push(source);
      await source.load('acme');
      mkdirSync(join(k8s, '..v2'));
      writeFileSync(join(k8s, '..v2', 'acme.json'), JSON.stringify(acme(['v2'])));
      symlinkSync('..v2', join(k8s, '..data_tmp'));
      renameSync(join(k8s, '..data_tmp'), join(k8s, '..data'));
      await waitFor(() => changes.length > 0, 'onChange after the symlink swap');
      assert.deepEqual([...ready(source.peek('acme')).tenant.mfa.staffIncluded], ['v2']);
    });

    it('falls back to polling where change events are unavailable', async () => {
      const { changes, options } = recorder();
      const source = open({ ...options, watch: true, pollIntervalMs: 20 });
      await source.load('acme');
      // Stop listening to events: only the poll can see the changes now.
      (source as unknown as { watcher: { watcher?: { close(): void } } }).watcher.watcher?.close();
      put('initech.json', globex()); // a new file changes the directory
      await waitFor(() => source.tenantIds().includes('initech'), 'the new tenant through polling');
      put('acme.json', acme(['polled', 'x'.repeat(30)])); // an in-place edit: found by the files' stats
      await waitFor(
        () => changes.some((change) => change.tenants.some((tenant) => tenant.tenant === 'acme')),
        'the edit through polling',
      );
      assert.deepEqual([...ready(source.peek('acme')).tenant.mfa.staffIncluded], ['polled', 'x'.repeat(30)]);
    });
  });

  describe('readTenant', () => {
    it('returns the file’s content and version, or null for a tenant without a file', async () => {
      const source = open();
      const read = await source.readTenant('acme');
      assert.deepEqual(read, { version: tenantVersion(acme()), raw: acme() });
      assert.deepEqual(await source.readTenant('initech'), { version: null, raw: undefined });
      assert.deepEqual(await source.readTenant('../etc/passwd'), { version: null, raw: undefined });
    });
  });
});
