// Benchmark 5: policy sources at scale (10,000 tenants × 1,000 staff) — single file, directory and Redis: first
// decision, event-loop delay during a one-tenant change, time until it is in force, heap, decide() latency.

import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as Policy from '../lib/policy/index';
import type * as RedisPolicyModule from '../lib/policy/redis';
import { Child, connectRedis, deleteKeys, ROOT, tmpDir } from './common';
import { scalePolicyText, scaleTenant, scaleTenantId } from './fixtures';
import type { SourceSpec } from './policy-source-child';

export interface PolicySourcesOptions {
  /** Tenants in the generated policy (10,000 for the figures; fewer to try the harness). */
  readonly tenants: number;
  /** decide() calls timed per size. */
  readonly calls: number;
  /** Sizes decide() latency is measured at (tenants compiled). */
  readonly sizes: readonly number[];
  /** A Redis key prefix of this run (deleted at the end). */
  readonly prefix: string;
}

type Form = SourceSpec['form'];

export interface FormResult {
  readonly form: Form;
  /** Opening the source until the first decision for one tenant, ms. */
  readonly firstDecisionMs: number;
  /** Of which opening (and, for Redis, ready()), ms. */
  readonly openMs: number;
  /** Largest event-loop delay while serving decisions without a change, then during a one-tenant change, ms. */
  readonly baselineMaxDelayMs: number;
  readonly changeMaxDelayMs: number;
  /** From the change (rename, file write, or writeTenant on another instance) until decisions use it, ms. */
  readonly inForceMs: number | undefined;
  /** Heap held after 100 tenants were used, MB. */
  readonly touchedHeapMB: number;
  readonly decisionsPerSecond: number;
}

interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
}

export interface PolicySourcesResult {
  readonly tenants: number;
  readonly fileMB: number;
  readonly forms: readonly FormResult[];
  /** The first-wave whole compile (compilePolicy) of the same file: heap held, MB. */
  readonly fullCompileHeapMB: number;
  /** Where the single file's start-up time goes, ms. */
  readonly fileStart: { readonly readMs: number; readonly indexMs: number };
  /**
   * peek + decideTenant latency with N tenants compiled, µs: users spread across all N, and (`inUse`) users of
   * the same 10 tenants whatever N is.
   */
  readonly decide: readonly (Latency & { readonly tenants: number; readonly inUse: Latency })[];
}

const load = createRequire(join(ROOT, 'package.json'));
const policy = (): typeof Policy => load(join(ROOT, 'dist', 'policy', 'index.js')) as typeof Policy;
const redisModule = (): typeof RedisPolicyModule =>
  load(join(ROOT, 'dist', 'policy', 'redis.js')) as typeof RedisPolicyModule;

const CHILD = join(__dirname, 'policy-source-child.ts');
const CHILD_ARGS = { execArgv: ['--expose-gc', '--max-old-space-size=4096'] };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs every measurement, each form in fresh child processes, and prints the figures with the targets. */
export async function runPolicySources(options: PolicySourcesOptions): Promise<PolicySourcesResult> {
  const { tenants } = options;
  const watched = Math.floor(tenants / 2);
  const dir = tmpDir('policy-sources');
  const file = join(dir, 'policy.json');
  const directory = join(dir, 'policy.d');
  const prefix = `${options.prefix}policy`;

  process.stdout.write(`  generating ${tenants} tenants (file, directory, Redis)…`);
  writeFileSync(file, scalePolicyText(tenants));
  rmSync(directory, { recursive: true, force: true });
  mkdirSync(directory);
  writeFileSync(join(directory, '_defaults.json'), JSON.stringify({ defaultTenant: scaleTenantId(0) }));
  const all = new Map<string, unknown>();
  for (let t = 0; t < tenants; t++) {
    const tenant = scaleTenant(t);
    writeFileSync(join(directory, `${scaleTenantId(t)}.json`), JSON.stringify(tenant));
    all.set(scaleTenantId(t), tenant);
  }
  const redis = await connectRedis();
  await redisModule().importPolicy(redis, prefix, { defaultTenant: scaleTenantId(0) }, all);
  all.clear();
  const fileMB = statSync(file).size / 1e6;
  process.stdout.write(` ${fileMB.toFixed(0)} MB\n`);

  const specs: Record<Form, SourceSpec> = {
    file: { form: 'file', path: file },
    directory: { form: 'directory', path: directory },
    redis: { form: 'redis', prefix },
  };
  /** Work done before the measured window (writing a 282 MB file takes this process seconds of CPU). */
  const prepare: Partial<Record<Form, () => void>> = {
    file: () =>
      writeFileSync(`${file}.next`, scalePolicyText(tenants, undefined, { tenant: watched, revision: 1 })),
  };
  const changes: Record<Form, () => Promise<number>> = {
    file: () => {
      // Written beside it first (a name the watcher ignores), then renamed over it: an editor's atomic save.
      const at = Date.now();
      renameSync(`${file}.next`, file);
      return Promise.resolve(at);
    },
    directory: () => {
      const at = Date.now();
      writeFileSync(
        join(directory, `${scaleTenantId(watched)}.json`),
        JSON.stringify(scaleTenant(watched, undefined, 1)),
      );
      return Promise.resolve(at);
    },
    redis: async () => {
      // Instance A (this process) writes; instance B (the child) must decide with it.
      const a = policy().openTenantSource(redisModule().redisPolicy(redis, { prefix }), { watch: false });
      await a.ready();
      const { version } = await a.readTenant(scaleTenantId(watched));
      const at = Date.now();
      await a.writeTenant(scaleTenantId(watched), scaleTenant(watched, undefined, 1), {
        expectedVersion: version,
      });
      a.close();
      return at;
    },
  };

  const forms: FormResult[] = [];
  let fileStart: PolicySourcesResult['fileStart'];
  let fullCompileHeapMB: number;
  const decide: PolicySourcesResult['decide'][number][] = [];
  try {
    for (const form of ['directory', 'redis', 'file'] as const) {
      process.stdout.write(`  ${form}: first decision…`);
      const child = await Child.start(`policy source (${form})`, CHILD, CHILD_ARGS);
      let result: Omit<FormResult, 'touchedHeapMB'>;
      try {
        const start = await child.call<{ openMs: number; firstDecisionMs: number }>('start', {
          spec: specs[form],
          tenant: watched,
        });
        process.stdout.write(` ${start.firstDecisionMs.toFixed(0)} ms; one-tenant change…`);
        prepare[form]?.();
        const { baseline } = await child.call<{ baseline: { maxMs: number } }>('serve', {
          spec: specs[form],
          tenant: watched,
          served: 100,
          total: tenants,
          baselineMs: 1500,
        });
        const waiting = child.call<{
          seenAt?: number;
          during: { maxMs: number };
          decisionsPerSecond: number;
        }>('waitChange', { timeoutMs: 15_000 });
        await sleep(50);
        const changedAt = await changes[form]();
        const seen = await waiting;
        result = {
          form,
          firstDecisionMs: start.firstDecisionMs,
          openMs: start.openMs,
          baselineMaxDelayMs: baseline.maxMs,
          changeMaxDelayMs: seen.during.maxMs,
          inForceMs: seen.seenAt === undefined ? undefined : seen.seenAt - changedAt,
          decisionsPerSecond: seen.decisionsPerSecond,
        };
        process.stdout.write(
          ` in force after ${result.inForceMs ?? '—'} ms, max event-loop delay ${seen.during.maxMs.toFixed(1)} ms\n`,
        );
        await child.call('close');
      } finally {
        await child.stop();
      }
      // Back to the original tenant for the next form's first look (the file is regenerated below if needed).
      const heapChild = await Child.start(`policy source heap (${form})`, CHILD, CHILD_ARGS);
      try {
        const touched = await heapChild.call<{ heapMB: number }>('touch', {
          spec: specs[form],
          count: 100,
          total: tenants,
        });
        forms.push({ ...result, touchedHeapMB: touched.heapMB });
      } finally {
        await heapChild.stop();
      }
    }

    process.stdout.write('  single file: where start-up goes; whole compile for reference…');
    const reference = await Child.start('policy full compile', CHILD, CHILD_ARGS);
    try {
      fileStart = await reference.call<{ readMs: number; indexMs: number }>('fileStart', { path: file });
      fullCompileHeapMB = (await reference.call<{ heapMB: number }>('fullCompile', { path: file })).heapMB;
    } finally {
      await reference.stop();
    }
    process.stdout.write(` ${fullCompileHeapMB.toFixed(0)} MB\n`);

    for (const size of options.sizes.filter((size) => size <= tenants)) {
      process.stdout.write(`  decide() with ${size} tenants compiled…`);
      const child = await Child.start(`policy decide (${size})`, CHILD, CHILD_ARGS);
      try {
        const latency = await child.call<Latency & { inUse: Latency }>('decideLatency', {
          spec: specs.directory,
          total: size,
          calls: options.calls,
        });
        decide.push({ tenants: size, ...latency });
        process.stdout.write(
          ` p99 ${latency.p99.toFixed(2)} µs (the same 10 in use: ${latency.inUse.p99.toFixed(2)} µs)\n`,
        );
      } finally {
        await child.stop();
      }
    }
  } finally {
    await deleteKeys(redis, `{${prefix}}`);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  }
  const result: PolicySourcesResult = { tenants, fileMB, forms, fullCompileHeapMB, fileStart, decide };
  console.log(`\n${renderPolicySources(result)}\n`);
  return result;
}

/** The figures as a Markdown table, with each target and whether it is met. */
export function renderPolicySources(result: PolicySourcesResult): string {
  const rows: string[][] = [];
  const met = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'met' : '**not met**');
  const ms = (value: number | undefined) =>
    value === undefined || Number.isNaN(value) ? '—' : `${value.toFixed(0)} ms`;
  for (const form of result.forms) {
    const heapShare = form.touchedHeapMB / result.fullCompileHeapMB;
    rows.push([
      form.form,
      ms(form.firstDecisionMs),
      form.form === 'file' ? 'state it' : met(form.firstDecisionMs < 200),
      `${form.changeMaxDelayMs.toFixed(1)} ms (idle serving: ${form.baselineMaxDelayMs.toFixed(1)} ms)`,
      met(form.changeMaxDelayMs < 50),
      ms(form.inForceMs),
      met(form.inForceMs === undefined ? false : form.inForceMs < 1000),
      `${form.touchedHeapMB.toFixed(1)} MB (${(heapShare * 100).toFixed(1)} %)`,
      met(heapShare < 0.1),
    ]);
  }
  const header = [
    'form',
    'open → first decision',
    '< 200 ms',
    'max event-loop delay, one-tenant change',
    '< 50 ms',
    'change → in force',
    '< 1 s',
    'heap after 100 of N tenants (of whole compile)',
    '< 10 %',
  ];
  const table = [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
  const smallest = result.decide[0];
  const largest = result.decide.at(-1);
  const flat = smallest && largest ? largest.p99 / smallest.p99 : NaN;
  const flatInUse = smallest && largest ? largest.inUse.p99 / smallest.inUse.p99 : NaN;
  const line = (of: (size: PolicySourcesResult['decide'][number]) => Latency) =>
    result.decide
      .map((size) => {
        const l = of(size);
        return `${size.tenants}: p50 ${l.p50.toFixed(2)} / p99 ${l.p99.toFixed(2)} / p99.9 ${l.p999.toFixed(2)} µs`;
      })
      .join('; ');
  return [
    `Policy sources, ${result.tenants} tenants × 1,000 staff (single file ${result.fileMB.toFixed(0)} MB):`,
    '',
    table,
    '',
    `Single file start-up: read ${ms(result.fileStart.readMs)}, index and check every tenant ${ms(result.fileStart.indexMs)} ` +
      '(scan of the layout, a hash per tenant, each tenant parsed and checked on its own, nothing compiled).',
    `Whole compile (first-wave compilePolicy) holds ${result.fullCompileHeapMB.toFixed(0)} MB of heap.`,
    `decide() (peek + decideTenant) with N tenants compiled, users spread across all N — ${line((size) => size)}; ` +
      `p99 < 5 µs: ${met(result.decide.every((size) => size.p99 < 5))}; largest / smallest p99 = ${flat.toFixed(2)} ` +
      `(≤ 2: ${met(flat <= 2)}).`,
    `decide() with N tenants compiled, users of the same 10 tenants — ${line((size) => size.inUse)}; ` +
      `largest / smallest p99 = ${flatInUse.toFixed(2)} (≤ 2: ${met(flatInUse <= 2)}).`,
  ].join('\n');
}
