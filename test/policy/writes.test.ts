// writeTenant() on a single file and a directory (S48): validation first, compare-and-set, atomic writes, the rest of
// the file kept byte for byte, concurrent writers in two processes, and a crash mid-write.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs, { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDuoMfaError, type DuoMfaError } from '../../lib/errors';
import { openTenantSource } from '../../lib/policy/open';
import type { TenantSource } from '../../lib/policy/source';
import type { PolicyChange } from '../../lib/policy/tenant-cache';
import { tenantVersion } from '../../lib/policy/version';
import { CLIENT_ID, SECRET, issuesOf, tempDir, tenantDoc } from './helpers';

const ROOT = join(__dirname, '..', '..');
const acme = (staff: string[] = ['dana']) => tenantDoc({ mfa: { enabled: true, staffIncluded: staff } });
const envTenant = () =>
  tenantDoc({
    mfa: { enabled: false },
    duo: { clientId: CLIENT_ID, clientSecret: { env: 'GLOBEX_SECRET' }, apiHost: 'api-1.duosecurity.com' },
  });

/** A hand-written policy file: $schema first, comments of layout an admin would keep, an { env } reference. */
const HAND_WRITTEN = `{
  "$schema": "./node_modules/express-duo-mfa/schema/duo-mfa.schema.json",
  "defaultTenant": "acme",
  "tenants": {
    "acme": {
      "mfa": { "enabled": true, "staffIncluded": ["dana"] },
      "duo": { "clientId": "${CLIENT_ID}", "clientSecret": "${SECRET}", "apiHost": "api-12345678.duosecurity.com" }
    },
    "globex": {
      "mfa": { "enabled": false },
      "duo": { "clientId": "${CLIENT_ID}", "clientSecret": { "env": "GLOBEX_SECRET" }, "apiHost": "api-1.duosecurity.com" }
    }
  }
}
`;

function rejectsWith(code: string, check?: (error: DuoMfaError) => void) {
  return (error: unknown) => {
    assert.ok(isDuoMfaError(error), String(error));
    assert.equal(error.code, code, error.message);
    check?.(error);
    return true;
  };
}

describe('writeTenant (S48)', function () {
  this.timeout(60_000);
  const tmp = tempDir('duo-mfa-writes-');
  const sources: TenantSource[] = [];
  const env = { GLOBEX_SECRET: SECRET };
  let counter = 0;

  function open(path: string, onChange?: (change: PolicyChange) => void): TenantSource {
    const source = openTenantSource(path, { watch: false, env, onChange });
    sources.push(source);
    return source;
  }
  afterEach(() => {
    for (const source of sources.splice(0)) source.close();
  });
  after(() => tmp.cleanup());

  describe('a single file', () => {
    let file: string;
    beforeEach(() => {
      file = tmp.path(`policy-${++counter}.json`);
      writeFileSync(file, HAND_WRITTEN);
    });

    it('replaces one tenant, keeping every other byte (other tenants, $schema, key order, { env })', async () => {
      const changes: PolicyChange[] = [];
      const source = open(file, (change) => changes.push(change));
      const { version, raw } = await source.readTenant('acme');
      assert.deepEqual(raw, acme());
      const next = acme(['dana', 'bob']);
      const written = await source.writeTenant('acme', next, { expectedVersion: version });
      assert.equal(written, tenantVersion(next));
      const text = readFileSync(file, 'utf8');
      const start = text.indexOf('"acme": ') + '"acme": '.length;
      const end = text.indexOf(',\n    "globex"');
      assert.equal(text.slice(0, start), HAND_WRITTEN.slice(0, start));
      assert.equal(text.slice(end), HAND_WRITTEN.slice(HAND_WRITTEN.indexOf(',\n    "globex"')));
      assert.equal(text.slice(start, end), JSON.stringify(next, null, 2).replace(/\n/g, '\n    '));
      // In force at once (no watcher here), and reported.
      const entry = source.peek('acme');
      assert.ok(entry?.state === 'ready' && entry.tenant.mfa.staffIncluded.has('bob'));
      assert.equal(entry.tenant.version, written);
      assert.deepEqual(changes, [{ source: file, tenants: [{ tenant: 'acme', version: written }] }]);
      assert.equal((await source.readTenant('acme')).version, written);
    });

    it('adds a new tenant at the end of "tenants" with expectedVersion null', async () => {
      const source = open(file);
      const written = await source.writeTenant('initech', acme(['x']), { expectedVersion: null });
      const doc = JSON.parse(readFileSync(file, 'utf8')) as { tenants: Record<string, unknown> };
      assert.deepEqual(Object.keys(doc.tenants), ['acme', 'globex', 'initech']);
      assert.deepEqual(doc.tenants.initech, acme(['x']));
      assert.ok(readFileSync(file, 'utf8').includes('\n    "initech": {\n      "mfa": {'));
      assert.deepEqual(source.tenantIds(), ['acme', 'globex', 'initech']);
      assert.equal((await source.readTenant('initech')).version, written);
    });

    it('writes compact JSON into a file written on one line', async () => {
      writeFileSync(file, JSON.stringify({ tenants: { acme: acme() } }));
      const source = open(file);
      await source.writeTenant('globex', envTenant(), { expectedVersion: null });
      assert.equal(
        readFileSync(file, 'utf8'),
        JSON.stringify({ tenants: { acme: acme(), globex: envTenant() } }),
      );
    });

    it('refuses a stale version and a tenant that already exists (ERR_SETTINGS_CONFLICT), writing nothing', async () => {
      const source = open(file);
      await assert.rejects(
        source.writeTenant('acme', acme(['x']), { expectedVersion: 'stale' }),
        rejectsWith('ERR_SETTINGS_CONFLICT', (error) => {
          assert.equal(error.status, 409);
          assert.equal(error.details.currentVersion, tenantVersion(acme()));
        }),
      );
      await assert.rejects(
        source.writeTenant('acme', acme(['x']), { expectedVersion: null }),
        rejectsWith('ERR_SETTINGS_CONFLICT'),
      );
      await assert.rejects(
        source.writeTenant('nope', acme(['x']), { expectedVersion: 'abc' }),
        rejectsWith('ERR_SETTINGS_CONFLICT', (error) => assert.equal(error.details.currentVersion, null)),
      );
      assert.equal(readFileSync(file, 'utf8'), HAND_WRITTEN);
    });

    it('refuses an invalid definition with every problem at its path in the tenant, the file byte for byte unchanged', async () => {
      const source = open(file);
      const { version } = await source.readTenant('acme');
      await assert.rejects(
        source.writeTenant('acme', tenantDoc({ failmode: 'opne', challengeLimit: 0 }), {
          expectedVersion: version,
        }),
        rejectsWith('ERR_POLICY_INVALID', (error) => {
          assert.deepEqual(
            issuesOf(error).map((issue) => issue.path),
            ['failmode', 'challengeLimit'],
          );
          assert.equal(error.details.tenant, 'acme');
        }),
      );
      assert.equal(readFileSync(file, 'utf8'), HAND_WRITTEN);
    });

    it('refuses a secret the process cannot read (an unset variable), writing nothing', async () => {
      const source = open(file);
      const raw = tenantDoc({
        duo: {
          clientId: CLIENT_ID,
          clientSecret: { env: 'NOT_SET_ANYWHERE' },
          apiHost: 'api-1.duosecurity.com',
        },
      });
      await assert.rejects(
        source.writeTenant('acme', raw, { expectedVersion: tenantVersion(acme()) }),
        rejectsWith('ERR_POLICY_INVALID', (error) =>
          assert.deepEqual(issuesOf(error), [
            { path: 'duo.clientSecret', message: 'environment variable NOT_SET_ANYWHERE is not set' },
          ]),
        ),
      );
      assert.equal(readFileSync(file, 'utf8'), HAND_WRITTEN);
    });

    it('leaves the old file when the write fails before the rename (injected), and no temporary file', async () => {
      const source = open(file);
      const { version } = await source.readTenant('acme');
      const original = fs.promises.rename;
      fs.promises.rename = () =>
        Promise.reject(Object.assign(new Error('injected: disk full'), { code: 'ENOSPC' }));
      try {
        await assert.rejects(
          source.writeTenant('acme', acme(['x']), { expectedVersion: version }),
          /injected/,
        );
      } finally {
        fs.promises.rename = original;
      }
      assert.equal(readFileSync(file, 'utf8'), HAND_WRITTEN);
      assert.deepEqual(
        readdirSync(tmp.dir).filter((name) => name.endsWith('.tmp') || name.endsWith('.lock')),
        [],
      );
    });

    it('two processes writing with the same version: exactly one wins, the other gets a conflict', async () => {
      const { version } = await open(file).readTenant('acme');
      const results = await raceInTwoProcesses(file, 'acme', version);
      assert.deepEqual(results.map((result) => result.ok).sort(), [false, true]);
      assert.equal(results.find((result) => !result.ok)!.code, 'ERR_SETTINGS_CONFLICT');
      const winner = results.find((result) => result.ok)!;
      const stored = JSON.parse(readFileSync(file, 'utf8')) as { tenants: { acme: unknown } };
      assert.equal(tenantVersion(stored.tenants.acme), winner.version);
    });

    it('a writer killed at any moment leaves the old or the new file, never a mix or a truncated one', async () => {
      // Large enough (~2.5 MB) that a write takes a while; the writer alternates between two versions of acme.
      const tenants: Record<string, unknown> = {};
      for (let t = 0; t < 100; t++) {
        tenants[`t${t}`] = tenantDoc({
          mfa: {
            enabled: true,
            staffIncluded: Array.from({ length: 1000 }, (_, i) => `u${i}.t${t}@example.com`),
          },
        });
      }
      const a = acme(['a']);
      const b = acme(['b']);
      writeFileSync(file, JSON.stringify({ tenants: { acme: a, ...tenants } }, null, 2));
      const expected = new Set(
        [a, b].map((acmeVersion) => JSON.stringify({ tenants: { acme: acmeVersion, ...tenants } })),
      );
      for (let round = 0; round < 4; round++) {
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            join(__dirname, 'helpers', 'write-child.ts'),
            JSON.stringify({ policy: file, id: 'acme', raw: a, loop: [b, a] }),
          ],
          { cwd: ROOT },
        );
        let writes = 0;
        let exited = false;
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (writes += chunk.toString().split('wrote').length - 1));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.once('exit', () => (exited = true));
        // Until the writer has written a few times; bounded, and a writer that stops early fails the test.
        const deadline = Date.now() + 20_000;
        while (writes < 2 + round && !exited && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 1));
        assert.ok(
          writes >= 2 + round,
          `round ${round}: the writer wrote ${writes} times (${exited ? 'it exited' : 'still running'}): ${stderr}`,
        );
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
        child.kill('SIGKILL');
        if (!exited) await new Promise((resolve) => child.once('exit', resolve));
        const text = readFileSync(file, 'utf8');
        assert.ok(
          expected.has(JSON.stringify(JSON.parse(text))),
          `round ${round}: neither the old nor the new file`,
        );
        // The lock of the killed writer is taken over by the next one (its process is gone).
      }
      const source = open(file);
      const { version } = await source.readTenant('acme');
      await source.writeTenant('acme', acme(['after']), { expectedVersion: version });
    });
  });

  describe('a directory', () => {
    let dir: string;
    beforeEach(() => {
      dir = tmp.path(`policy-${++counter}.d`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'acme.json'), JSON.stringify(acme(), null, 2));
      writeFileSync(join(dir, 'globex.json'), JSON.stringify(envTenant()));
    });

    it('rewrites only the tenant’s own file, as 2-space JSON, in force at once', async () => {
      const changes: PolicyChange[] = [];
      const source = open(dir, (change) => changes.push(change));
      const globexBefore = readFileSync(join(dir, 'globex.json'), 'utf8');
      const { version } = await source.readTenant('acme');
      const written = await source.writeTenant('acme', acme(['erin']), { expectedVersion: version });
      assert.equal(
        readFileSync(join(dir, 'acme.json'), 'utf8'),
        `${JSON.stringify(acme(['erin']), null, 2)}\n`,
      );
      assert.equal(readFileSync(join(dir, 'globex.json'), 'utf8'), globexBefore);
      const entry = source.peek('acme');
      assert.ok(entry?.state === 'ready' && entry.tenant.version === written);
      assert.deepEqual(changes, [{ source: dir, tenants: [{ tenant: 'acme', version: written }] }]);
      assert.deepEqual(readdirSync(dir).sort(), ['acme.json', 'globex.json']); // no temporary or lock file left
    });

    it('creates a tenant file with expectedVersion null', async () => {
      const source = open(dir);
      await source.writeTenant('initech', acme(), { expectedVersion: null });
      assert.ok(existsSync(join(dir, 'initech.json')));
      assert.deepEqual(source.tenantIds(), ['acme', 'globex', 'initech']);
      await assert.rejects(
        source.writeTenant('initech', acme(), { expectedVersion: null }),
        rejectsWith('ERR_SETTINGS_CONFLICT'),
      );
    });

    it('refuses a tenant id that cannot be a file name, an invalid definition and a stale version', async () => {
      const source = open(dir);
      for (const id of ['../evil', 'a/b', '.hidden', '_defaults', 'acme corp']) {
        await assert.rejects(
          source.writeTenant(id, acme(), { expectedVersion: null }),
          rejectsWith('ERR_POLICY_INVALID'),
          id,
        );
      }
      await assert.rejects(
        source.writeTenant('acme', tenantDoc({ mfa: { enabled: 1 } }), {
          expectedVersion: tenantVersion(acme()),
        }),
        rejectsWith('ERR_POLICY_INVALID', (error) =>
          assert.deepEqual(issuesOf(error), [
            { path: 'mfa.enabled', message: 'must be true or false (got 1)' },
          ]),
        ),
      );
      await assert.rejects(
        source.writeTenant('acme', acme(['x']), { expectedVersion: 'stale' }),
        rejectsWith('ERR_SETTINGS_CONFLICT'),
      );
      assert.deepEqual(readdirSync(dir).sort(), ['acme.json', 'globex.json']);
      assert.equal(readFileSync(join(dir, 'acme.json'), 'utf8'), JSON.stringify(acme(), null, 2));
    });

    it('two processes writing with the same version: exactly one wins, the other gets a conflict', async () => {
      const { version } = await open(dir).readTenant('acme');
      const results = await raceInTwoProcesses(dir, 'acme', version);
      assert.deepEqual(results.map((result) => result.ok).sort(), [false, true]);
      assert.equal(results.find((result) => !result.ok)!.code, 'ERR_SETTINGS_CONFLICT');
    });

    it('can replace a tenant whose file is not valid JSON (its version is that of its bytes)', async () => {
      writeFileSync(join(dir, 'acme.json'), '{ broken');
      const source = open(dir);
      const stored = await source.readTenant('acme');
      assert.deepEqual(stored.raw, {});
      assert.match(stored.version!, /^[0-9a-f]{12}$/);
      await source.writeTenant('acme', acme(), { expectedVersion: stored.version });
      assert.deepEqual(JSON.parse(readFileSync(join(dir, 'acme.json'), 'utf8')), acme());
    });
  });

  it('a parsed object is read-only: ERR_SETTINGS_READ_ONLY', async () => {
    const source = openTenantSource({ tenants: { acme: acme() } });
    sources.push(source);
    assert.equal(source.writable, false);
    assert.deepEqual(await source.readTenant('acme'), { version: tenantVersion(acme()), raw: acme() });
    await assert.rejects(
      source.writeTenant('acme', acme(['x']), { expectedVersion: tenantVersion(acme()) }),
      rejectsWith('ERR_SETTINGS_READ_ONLY', (error) => assert.equal(error.status, 405)),
    );
  });

  /** Two writer processes, released together, writing `id` with the same expected version. */
  async function raceInTwoProcesses(
    policy: string,
    id: string,
    expectedVersion: string | null,
  ): Promise<{ ok: boolean; code?: string; version?: string }[]> {
    const go = tmp.path(`go-${++counter}`);
    const writers = ['one', 'two'].map(
      (name) =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            [
              '--import',
              'tsx',
              join(__dirname, 'helpers', 'write-child.ts'),
              JSON.stringify({ policy, id, raw: acme([name]), expectedVersion, go }),
            ],
            { cwd: ROOT, env: { ...process.env, ...env } },
          );
          let out = '';
          let err = '';
          child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
          child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
          child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`writer: ${err}`))));
        }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1500)); // both started and waiting for the signal
    writeFileSync(go, '');
    const results = await Promise.all(writers);
    rmSync(go, { force: true });
    return results.map((out) => JSON.parse(out) as { ok: boolean; code?: string; version?: string });
  }
});
