// The single file's worker thread: a large file's reload really runs there, a small one's does not, and a worker
// that cannot run is replaced by this thread with one warning.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { FileTenantSource } from '../../lib/policy/file-source';
import type { TenantSourceOptions } from '../../lib/policy/tenant-cache';
import { KEEP_IN_MEMORY_BYTES } from '../../lib/policy/file-index';
import { packTenants } from '../../lib/policy/file-jobs';
import { FileJobRunner, type FileJobRunnerOptions } from '../../lib/policy/off-thread';
import { tempDir, tenantDoc } from './helpers';

/** Collects the process warnings with `code` (by default the worker's, DUO_MFA_POLICY_WORKER) while installed. */
function processWarnings(code = 'DUO_MFA_POLICY_WORKER') {
  const warnings: Error[] = [];
  const listener = (warning: Error & { code?: string }) => {
    if (warning.code === code) warnings.push(warning);
  };
  process.on('warning', listener);
  return { warnings, uninstall: () => process.off('warning', listener) };
}

/** process.emitWarning() emits on the next tick. */
const nextTick = () => new Promise((resolve) => setImmediate(resolve));

describe('the single policy file’s worker thread (off-thread.ts)', function () {
  this.timeout(60_000);
  const tmp = tempDir('duo-mfa-off-thread-');
  const closers: Array<{ close(): void }> = [];
  let seen: ReturnType<typeof processWarnings>;

  beforeEach(() => {
    seen = processWarnings();
  });
  afterEach(() => {
    seen.uninstall();
    for (const closer of closers.splice(0)) closer.close();
  });
  after(() => tmp.cleanup());

  describe('FileTenantSource', () => {
    /** A policy of `count` tenants, each with `staff` names (about 24 bytes a name); MFA off for `disabled`. */
    const policy = (count: number, staff: number, ...disabled: string[]) => {
      const tenants: Record<string, unknown> = {};
      for (let t = 0; t < count; t++) {
        const names = Array.from({ length: staff }, (_, i) => `user${i}.t${t}@example.com`);
        tenants[`t${t}`] = tenantDoc({ mfa: { enabled: !disabled.includes(`t${t}`), staffIncluded: names } });
      }
      return JSON.stringify({ tenants }, null, 2);
    };

    function open(name: string, text: string, options: TenantSourceOptions = {}): FileTenantSource {
      const file = tmp.path(name);
      writeFileSync(file, text);
      const source = new FileTenantSource(file, { watch: false, ...options });
      closers.push(source);
      return source;
    }

    /** Rewrites `name` with MFA off for tenant `id`, reloads, and checks the change is in force. */
    async function turnOffAndReload(
      source: FileTenantSource,
      name: string,
      [count, staff]: readonly [number, number],
      id: string,
    ): Promise<void> {
      writeFileSync(tmp.path(name), policy(count, staff, id));
      assert.equal(await source.reload(), true);
      const entry = await source.load(id);
      assert.ok(entry.state === 'ready' && entry.tenant.mfa.enabled === false, 'the change is in force');
    }

    it('re-indexes a file over 4 MB in the worker thread, not on this one', async () => {
      const text = policy(250, 1000);
      assert.ok(Buffer.byteLength(text) > KEEP_IN_MEMORY_BYTES, `only ${Buffer.byteLength(text)} bytes`);
      const source = open('large.json', text);
      assert.equal((await source.load('t7')).state, 'ready');
      assert.deepEqual(source.jobsRan, { worker: 0, inline: 0, fallback: 0 }); // start-up indexes here, by design
      writeFileSync(tmp.path('large.json'), policy(250, 1000, 't7'));
      assert.equal(await source.reload(), true);
      const entry = source.peek('t7');
      assert.ok(entry?.state === 'ready' && entry.tenant.mfa.enabled === false, 'the change is in force');
      assert.deepEqual(source.jobsRan, { worker: 1, inline: 0, fallback: 0 });
      await nextTick();
      assert.deepEqual(seen.warnings, []);
    });

    it('warms the worker up when a large watched file is opened, without counting it or losing a change', async () => {
      // The warm-up (one re-index whose answer is dropped) and the reload below meet in the worker back to back,
      // sharing its read buffer: the reload must still see the change.
      const source = open('warmed.json', policy(250, 1000), { watch: true, pollIntervalMs: 0 });
      await turnOffAndReload(source, 'warmed.json', [250, 1000], 't9');
      assert.deepEqual(source.jobsRan, { worker: 1, inline: 0, fallback: 0 });
      await nextTick();
      assert.deepEqual(seen.warnings, []);
    });

    for (const [size, count, staff] of [
      ['over 4 MB', 250, 1000],
      ['of 4 MB or less', 3, 10],
    ] as const) {
      it(`compares each reload of a file ${size} with the index the last reload left`, async () => {
        const changed: string[][] = [];
        const file = `compare-${count}.json`;
        const source = open(file, policy(count, staff), {
          onChange: (change) => changed.push(change.tenants.map((tenant) => tenant.tenant)),
        });
        writeFileSync(tmp.path(file), policy(count, staff, 't1'));
        assert.equal(await source.reload(), true);
        writeFileSync(tmp.path(file), policy(count, staff, 't2'));
        assert.equal(await source.reload(), true);
        assert.equal(await source.reload(), false);
        // t1 changed back and t2 changed since the first reload; nothing since the second.
        assert.deepEqual(changed, [['t1'], ['t1', 't2']]);
        const expected =
          count > 3 ? { worker: 3, inline: 0, fallback: 0 } : { worker: 0, inline: 3, fallback: 0 };
        assert.deepEqual(source.jobsRan, expected);
      });
    }

    it('tells onWarning, not the process, when a large file’s worker cannot start (DUO_MFA_POLICY_WORKER)', async () => {
      const told: Array<[string, string]> = [];
      const source = open('fallback.json', policy(250, 1000), {
        startWorker: () => {
          throw new Error('worker threads are turned off here');
        },
        onWarning: (message, code) => told.push([code, message]),
      });
      await turnOffAndReload(source, 'fallback.json', [250, 1000], 't3');
      assert.deepEqual(source.jobsRan, { worker: 0, inline: 0, fallback: 1 });
      assert.equal(told.length, 1);
      assert.equal(told[0]![0], 'DUO_MFA_POLICY_WORKER');
      assert.match(told[0]![1], /worker thread cannot run \(worker threads are turned off here\)/);
      await nextTick();
      assert.deepEqual(seen.warnings, []);
    });

    it('tells onWarning when an onChange callback throws (DUO_MFA_POLICY_CALLBACK), and keeps the change', async () => {
      const told: Array<[string, string]> = [];
      const source = open('callback.json', policy(3, 10), {
        onChange: () => {
          throw new Error('the host’s listener broke');
        },
        onWarning: (message, code) => told.push([code, message]),
      });
      await turnOffAndReload(source, 'callback.json', [3, 10], 't2');
      assert.deepEqual(told, [
        ['DUO_MFA_POLICY_CALLBACK', 'express-duo-mfa: a policy callback threw: the host’s listener broke'],
      ]);
    });

    it('falls back to a process warning when onWarning itself throws, and keeps the change', async () => {
      const callback = processWarnings('DUO_MFA_POLICY_CALLBACK');
      try {
        const source = open('callback-2.json', policy(3, 10), {
          onChange: () => {
            throw new Error('the host’s listener broke');
          },
          onWarning: () => {
            throw new Error('so did its logger');
          },
        });
        await turnOffAndReload(source, 'callback-2.json', [3, 10], 't1');
        await nextTick();
        assert.equal(callback.warnings.length, 1);
        assert.match(callback.warnings[0]!.message, /a policy callback threw: the host’s listener broke/);
      } finally {
        callback.uninstall();
      }
    });

    it('re-indexes a file of 4 MB or less on this thread, without a worker', async () => {
      const text = policy(3, 10);
      assert.ok(Buffer.byteLength(text) <= KEEP_IN_MEMORY_BYTES);
      const source = open('small.json', text);
      assert.equal((await source.load('t1')).state, 'ready');
      writeFileSync(tmp.path('small.json'), policy(3, 10, 't1'));
      assert.equal(await source.reload(), true);
      const entry = source.peek('t1');
      assert.ok(entry?.state === 'ready' && entry.tenant.mfa.enabled === false, 'the change is in force');
      assert.deepEqual(source.jobsRan, { worker: 0, inline: 1, fallback: 0 });
      await nextTick();
      assert.deepEqual(seen.warnings, []);
    });
  });

  describe('FileJobRunner when the worker cannot run', () => {
    let file: string;
    beforeEach(() => {
      file = tmp.path('runner.json');
      writeFileSync(file, JSON.stringify({ tenants: { acme: tenantDoc() } }));
    });

    function runner(options: FileJobRunnerOptions): FileJobRunner {
      const created = new FileJobRunner(options);
      closers.push(created);
      return created;
    }

    /** A job whose answer is known: acme's definition as stored. */
    async function readAcme(jobs: FileJobRunner): Promise<void> {
      const result = await jobs.run({ type: 'read', path: file, source: file, id: 'acme' });
      assert.ok(result.ok);
      assert.deepEqual(JSON.parse(result.text!), tenantDoc());
    }

    it('runs the jobs on this thread when the worker cannot start, with one process warning saying why', async () => {
      const jobs = runner({
        startWorker: () => {
          throw new Error('worker threads are turned off here');
        },
      });
      await readAcme(jobs);
      await readAcme(jobs);
      assert.deepEqual(jobs.ran, { worker: 0, inline: 0, fallback: 2 });
      await nextTick();
      assert.equal(seen.warnings.length, 1);
      assert.match(
        seen.warnings[0]!.message,
        /worker thread cannot run \(worker threads are turned off here\)/,
      );
      assert.match(seen.warnings[0]!.message, /run on the main thread instead/);
    });

    it('runs the job in flight on this thread when the worker fails to load, and says so once', async () => {
      const told: string[] = [];
      let started = 0;
      const jobs = runner({
        startWorker: () => {
          started++;
          return new Worker('throw new Error("the loader is missing")', { eval: true });
        },
        onFallback: (message) => told.push(message),
      });
      await readAcme(jobs);
      await readAcme(jobs); // the worker is not started again
      assert.equal(started, 1);
      assert.deepEqual(jobs.ran, { worker: 0, inline: 0, fallback: 2 });
      assert.equal(told.length, 1);
      assert.match(told[0]!, /the loader is missing/);
      await nextTick();
      assert.deepEqual(seen.warnings, []); // onFallback replaces the process warning
    });

    it('runs the job in flight on this thread when the worker exits, and tries a new worker next time', async () => {
      const told: string[] = [];
      let started = 0;
      const jobs = runner({
        startWorker: () => {
          started++;
          return new Worker('process.exit(0)', { eval: true });
        },
        onFallback: (message) => told.push(message),
      });
      await readAcme(jobs);
      await readAcme(jobs);
      assert.equal(started, 2);
      assert.deepEqual(jobs.ran, { worker: 0, inline: 0, fallback: 2 });
      assert.equal(told.length, 1, told.join('\n'));
      assert.match(told[0]!, /the policy worker exited/);
    });

    /** An index job of the runner's file, as a file source sends it. */
    const indexJob = (path: string) =>
      ({
        type: 'index',
        path,
        source: path,
        previous: packTenants(new Map()),
        lastDigest: undefined,
        env: {},
      }) as const;

    it('sends a warm-up to the worker to run unanswered, and counts it nowhere', async () => {
      const received: unknown[] = [];
      const jobs = runner({
        startWorker: () => {
          const echo = new Worker(
            "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage({ echo: m }));",
            { eval: true },
          );
          echo.on('message', (message: { echo: unknown }) => received.push(message.echo));
          return echo;
        },
      });
      jobs.warm(indexJob(file));
      for (let waited = 0; received.length === 0 && waited < 5000; waited += 5)
        await new Promise((resolve) => setTimeout(resolve, 5));
      assert.deepEqual(received, [{ warmUp: indexJob(file) }]);
      assert.deepEqual(jobs.ran, { worker: 0, inline: 0, fallback: 0 });
    });

    it('runs no warm-up on this thread when the worker cannot start, and warns of nothing until a job runs', async () => {
      const jobs = runner({
        startWorker: () => {
          throw new Error('worker threads are turned off here');
        },
      });
      jobs.warm(indexJob(file));
      assert.deepEqual(jobs.ran, { worker: 0, inline: 0, fallback: 0 });
      await nextTick();
      assert.deepEqual(seen.warnings, []);
    });

    it('keeps the real worker working after a warm-up that fails (the file is gone)', async () => {
      const jobs = runner({});
      jobs.warm(indexJob(tmp.path('missing.json')));
      await readAcme(jobs);
      assert.deepEqual(jobs.ran, { worker: 1, inline: 0, fallback: 0 });
      await nextTick();
      assert.deepEqual(seen.warnings, []);
    });

    it('uses the worker, and warns of nothing, when it works; inline jobs never start one', async () => {
      let started = 0;
      const told: string[] = [];
      const jobs = runner({ onFallback: (message) => told.push(message) });
      await jobs.run({ type: 'read', path: file, source: file, id: 'acme' }, true);
      assert.deepEqual(jobs.ran, { worker: 0, inline: 1, fallback: 0 });
      const counting = runner({
        startWorker: () => {
          started++;
          throw new Error('not expected');
        },
      });
      await counting.run({ type: 'read', path: file, source: file, id: 'acme' }, true);
      assert.equal(started, 0);
      await readAcme(jobs);
      assert.deepEqual(jobs.ran, { worker: 1, inline: 1, fallback: 0 });
      assert.deepEqual(told, []);
    });
  });
});
