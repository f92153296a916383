// openPolicy(): start-up errors, reload(), hot reload from a real file, last good policy kept, close() releases all.

import assert from 'node:assert/strict';
import fs, { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { DuoMfaError } from '../../lib/errors';
import { decide } from '../../lib/policy/decide';
import { openPolicy, type OpenPolicyOptions } from '../../lib/policy/load';
import type { CompiledPolicy, PolicySource } from '../../lib/policy/types';
import { issuesOf, policyError, tempDir, tenantDoc, waitFor } from './helpers';

/** A policy where only `staffIncluded` varies: enough to tell versions apart. */
function policyText(staff: string[]): string {
  return JSON.stringify(
    { tenants: { acme: tenantDoc({ mfa: { enabled: true, staffIncluded: staff } }) } },
    null,
    2,
  );
}

const staffOf = (policy: CompiledPolicy) => [...policy.tenants.get('acme')!.mfa.staffIncluded];

/** Records the callbacks of one openPolicy() call. */
function recorder() {
  const reloads: CompiledPolicy[] = [];
  const invalids: DuoMfaError[] = [];
  const options: OpenPolicyOptions = {
    onReload: (policy) => reloads.push(policy),
    onInvalid: (error) => invalids.push(error),
  };
  return { reloads, invalids, options };
}

/** Counts directory watchers still open and stat calls made, by wrapping node:fs (the loader calls it at call time). */
function trackWatchers() {
  const original = { watch: fs.watch, stat: fs.stat };
  const watchers = new Set<fs.FSWatcher>();
  let stats = 0;
  fs.watch = ((...args: Parameters<typeof fs.watch>) => {
    const watcher = original.watch(...args);
    watchers.add(watcher);
    watcher.on('close', () => watchers.delete(watcher));
    return watcher;
  }) as typeof fs.watch;
  fs.stat = ((...args: Parameters<typeof fs.stat>) => {
    stats++;
    return (original.stat as (...a: unknown[]) => void)(...args);
  }) as typeof fs.stat;
  return {
    watchers: () => watchers.size,
    stats: () => stats,
    restore: () => Object.assign(fs, original),
  };
}

describe('openPolicy', () => {
  const tmp = tempDir('duo-mfa-watch-');
  const sources: PolicySource[] = [];
  let counter = 0;
  let file: string;

  beforeEach(() => {
    file = tmp.path(`policy-${++counter}.json`);
    writeFileSync(file, policyText(['dana']));
  });
  afterEach(() => {
    for (const source of sources.splice(0)) source.close();
  });
  after(() => tmp.cleanup());

  function open(options: OpenPolicyOptions = {}): PolicySource {
    const source = openPolicy(file, { debounceMs: 20, ...options });
    sources.push(source);
    return source;
  }

  describe('when given a parsed object', () => {
    it('compiles it once and never watches', async () => {
      const tracker = trackWatchers();
      try {
        const source = openPolicy(JSON.parse(policyText(['dana'])) as object);
        assert.deepEqual(staffOf(source.current()), ['dana']);
        assert.equal(source.current().source, '<object>');
        assert.equal(await source.reload(), false);
        assert.equal(tracker.watchers(), 0);
        assert.equal(tracker.stats(), 0);
        source.close();
      } finally {
        tracker.restore();
      }
    });

    it('throws ERR_POLICY_INVALID for an invalid object', () => {
      policyError(() => openPolicy({ tenants: {} }));
    });
  });

  describe('when the file is invalid at start-up', () => {
    it('S38 throws one error listing every problem with its path', () => {
      writeFileSync(
        file,
        JSON.stringify({ tenants: { acme: tenantDoc({ failmode: 'opne', challengeLimit: 0 }) } }),
      );
      const error = policyError(() => openPolicy(file));
      assert.deepEqual(
        issuesOf(error).map((issue) => issue.path),
        ['tenants.acme.failmode', 'tenants.acme.challengeLimit'],
      );
      assert.ok(error.message.startsWith(`Invalid MFA policy ${file} (2 problems):`));
    });

    it('throws for a missing file', () => {
      assert.equal(
        issuesOf(policyError(() => openPolicy(tmp.path('nope.json'))))[0]!.message,
        'the file does not exist',
      );
    });
  });

  describe('reload()', () => {
    it('S6 applies a changed file at once, so the next decision uses it', async () => {
      const { reloads, options } = recorder();
      const source = open({ ...options, watch: false });
      const user = { username: 'bob', tenant: 'acme' };
      assert.equal(decide(source.current(), user, Date.now()).required, false);
      writeFileSync(file, policyText(['dana', 'bob']));
      assert.equal(await source.reload(), true);
      assert.equal(decide(source.current(), user, Date.now()).required, true);
      assert.equal(reloads.length, 1);
      assert.equal(reloads[0], source.current());
    });

    it('resolves false and calls nothing when the content is the same', async () => {
      const { reloads, invalids, options } = recorder();
      const source = open({ ...options, watch: false });
      writeFileSync(file, `${policyText(['dana'])}\n\n`); // formatting only
      assert.equal(await source.reload(), false);
      assert.deepEqual([reloads.length, invalids.length], [0, 0]);
    });

    it('S38 keeps the last good policy when the file turned invalid, and calls onInvalid', async () => {
      const { reloads, invalids, options } = recorder();
      const source = open({ ...options, watch: false });
      const before = source.current();
      writeFileSync(file, '{"tenants": {"acme": ');
      assert.equal(await source.reload(), false);
      assert.equal(source.current(), before);
      assert.equal(reloads.length, 0);
      assert.equal(invalids.length, 1);
      assert.equal(invalids[0]!.code, 'ERR_POLICY_INVALID');
      assert.match(invalids[0]!.message, /not valid JSON at line 1/);
    });

    it('S38 keeps the last good policy when a secret disappears from the environment', async () => {
      const env: NodeJS.ProcessEnv = { ACME_SECRET: 'x'.repeat(40) };
      const doc = {
        tenants: {
          acme: tenantDoc({ duo: { ...(tenantDoc().duo as object), clientSecret: { env: 'ACME_SECRET' } } }),
        },
      };
      writeFileSync(file, JSON.stringify(doc));
      const { invalids, options } = recorder();
      const source = open({ ...options, watch: false, env });
      delete env.ACME_SECRET;
      assert.equal(await source.reload(), false);
      assert.equal(source.current().tenants.get('acme')!.duo.clientSecret, 'x'.repeat(40));
      assert.equal(issuesOf(invalids[0]!)[0]!.message, 'environment variable ACME_SECRET is not set');
    });

    it('runs concurrent reloads one after another, ending with the file’s latest content', async () => {
      const source = open({ watch: false });
      writeFileSync(file, policyText(['one']));
      const first = source.reload();
      writeFileSync(file, policyText(['two']));
      const second = source.reload();
      await Promise.all([first, second]);
      assert.deepEqual(staffOf(source.current()), ['two']);
    });

    it('keeps working when a callback throws (the error becomes a process warning)', async () => {
      const warnings: string[] = [];
      const onWarning = (warning: Error) => warnings.push(warning.message);
      process.on('warning', onWarning);
      try {
        const source = open({
          watch: false,
          onReload: () => {
            throw new Error('listener bug');
          },
        });
        writeFileSync(file, policyText(['erin']));
        assert.equal(await source.reload(), true);
        assert.deepEqual(staffOf(source.current()), ['erin']);
        await waitFor(() => warnings.length > 0, 'the warning');
        assert.match(warnings[0]!, /a policy reload callback threw: listener bug/);
      } finally {
        process.off('warning', onWarning);
      }
    });
  });

  describe('when watching the file', () => {
    // pollIntervalMs: 0 so that these pass only through the directory watcher.
    const watching = { pollIntervalMs: 0 };

    it('applies a change written in place', async () => {
      const { reloads, options } = recorder();
      const source = open({ ...options, ...watching });
      writeFileSync(file, policyText(['dana', 'erin']));
      await waitFor(() => reloads.length > 0, 'onReload');
      assert.deepEqual(staffOf(source.current()), ['dana', 'erin']);
    });

    it('applies a file replaced by rename (how many editors save)', async () => {
      const { reloads, options } = recorder();
      const source = open({ ...options, ...watching });
      const temp = `${file}.tmp`;
      writeFileSync(temp, policyText(['renamed']));
      renameSync(temp, file);
      await waitFor(() => reloads.length > 0, 'onReload after rename');
      assert.deepEqual(staffOf(source.current()), ['renamed']);
    });

    for (const [what, damage] of [
      ['corrupted', () => writeFileSync(file, '{ this is not json')],
      ['emptied', () => writeFileSync(file, '')],
      ['half-written', () => writeFileSync(file, policyText(['dana', 'erin']).slice(0, 40))],
      ['deleted', () => unlinkSync(file)],
    ] as const) {
      it(`S38 keeps the last good policy when the file is ${what}, and calls onInvalid`, async () => {
        const { reloads, invalids, options } = recorder();
        const source = open({ ...options, ...watching });
        const good = source.current();
        damage();
        await waitFor(() => invalids.length > 0, 'onInvalid');
        assert.equal(source.current(), good);
        assert.equal(reloads.length, 0);
        assert.equal(invalids[0]!.code, 'ERR_POLICY_INVALID');
        const user = { username: 'dana', tenant: 'acme' };
        assert.equal(decide(source.current(), user, Date.now()).required, true);
      });
    }

    it('reloads a file re-created after deletion', async () => {
      const { reloads, invalids, options } = recorder();
      const source = open({ ...options, ...watching });
      unlinkSync(file);
      await waitFor(() => invalids.length > 0, 'onInvalid after deletion');
      writeFileSync(file, policyText(['recreated']));
      await waitFor(() => reloads.length > 0, 'onReload after re-creation');
      assert.deepEqual(staffOf(source.current()), ['recreated']);
    });

    it('applies a Kubernetes-style ConfigMap update (the file is a symlink through a swapped "..data")', async () => {
      const dir = tmp.path(`configmap-${counter}`);
      fs.mkdirSync(`${dir}/..v1`, { recursive: true });
      writeFileSync(`${dir}/..v1/duo-mfa.json`, policyText(['v1']));
      fs.symlinkSync('..v1', `${dir}/..data`);
      fs.symlinkSync('..data/duo-mfa.json', `${dir}/duo-mfa.json`);
      const { reloads, options } = recorder();
      const source = openPolicy(`${dir}/duo-mfa.json`, { ...options, debounceMs: 20, ...watching });
      sources.push(source);
      fs.mkdirSync(`${dir}/..v2`);
      writeFileSync(`${dir}/..v2/duo-mfa.json`, policyText(['v2']));
      fs.symlinkSync('..v2', `${dir}/..data_tmp`);
      renameSync(`${dir}/..data_tmp`, `${dir}/..data`);
      await waitFor(() => reloads.length > 0, 'onReload after the symlink swap');
      assert.deepEqual(staffOf(source.current()), ['v2']);
    });

    it('ignores changes to other files in the same directory', async () => {
      const { reloads, invalids, options } = recorder();
      open({ ...options, ...watching });
      writeFileSync(tmp.path('unrelated.json'), 'garbage');
      writeFileSync(file, policyText(['after']));
      await waitFor(() => reloads.length > 0, 'onReload');
      assert.equal(invalids.length, 0);
    });

    it('falls back to polling the file’s stat where change events are unavailable', async () => {
      const originalWatch = fs.watch;
      fs.watch = () => {
        throw Object.assign(new Error('not supported here'), { code: 'ENOSYS' });
      };
      try {
        const { reloads, options } = recorder();
        const source = open({ ...options, pollIntervalMs: 50 });
        writeFileSync(file, policyText(['polled', 'x'.repeat(10)]));
        await waitFor(() => reloads.length > 0, 'onReload through polling');
        assert.deepEqual(staffOf(source.current()), ['polled', 'x'.repeat(10)]);
      } finally {
        fs.watch = originalWatch;
      }
    });
  });

  describe('close()', () => {
    it('releases the directory watcher and stops the stat poll; nothing is applied afterwards', async () => {
      const tracker = trackWatchers();
      try {
        const { reloads, options } = recorder();
        const source = openPolicy(file, { ...options, debounceMs: 20, pollIntervalMs: 10 });
        assert.equal(tracker.watchers(), 1);
        await waitFor(() => tracker.stats() > 0, 'the stat poll to run');
        writeFileSync(file, policyText(['pending'])); // a debounce timer may now be pending
        source.close();
        source.close(); // idempotent
        await new Promise((resolve) => setImmediate(resolve)); // FSWatcher emits 'close' on the next tick
        assert.equal(tracker.watchers(), 0);
        const statsAtClose = tracker.stats();
        await new Promise((resolve) => setTimeout(resolve, 100)); // ten poll intervals
        assert.ok(tracker.stats() <= statsAtClose + 1, 'the poll kept running after close()'); // one may be in flight
        assert.equal(await source.reload(), false);
        assert.equal(reloads.length, 0);
        assert.deepEqual(staffOf(source.current()), ['dana']);
      } finally {
        tracker.restore();
      }
    });
  });
});
