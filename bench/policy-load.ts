// Child process (with --expose-gc): loads one generated policy file and times decide(), in a fresh heap per size.

import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompiledPolicy, PolicyUser } from '../lib/index';
import { builtLibrary, cpuMicros, percentile, serveParent, tmpDir } from './common';
import { SCALE_STAFF, scalePolicyText, scaleUsername } from './fixtures';

export interface PolicyLoadResult {
  readonly tenants: number;
  readonly names: number;
  readonly fileMB: number;
  /** readFileSync + JSON.parse (what loadPolicyFile does before compiling), ms. */
  readonly parseMs: number;
  /** compilePolicy(): validation, secrets, version hash, Sets, ms. */
  readonly compileMs: number;
  /** CPU time of the process meanwhile (the collector's helper threads included), ms. */
  readonly parseCpuMs: number;
  readonly compileCpuMs: number;
  /** Heap held by the compiled policy once the parsed file is collected, MB. */
  readonly retainedMB: number;
  /** Peak resident set size of the process during the load, MB. */
  readonly peakRssMB: number;
  /** decide() latency over `calls` calls, µs. */
  readonly decide: {
    readonly calls: number;
    readonly p50: number;
    readonly p99: number;
    readonly p999: number;
  };
  /** What timing an empty call costs (performance.now() twice), µs: included in the decide() figures. */
  readonly timerOverhead: number;
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

interface Loaded {
  readonly policy: CompiledPolicy;
  readonly parseMs: number;
  readonly compileMs: number;
  readonly parseCpuMs: number;
  readonly compileCpuMs: number;
}

/** Reads, parses and compiles as loadPolicyFile() does, timing each half; the parsed file is garbage after. */
function load(file: string): Loaded {
  const { compilePolicy } = builtLibrary();
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const parsed = performance.now();
  const cpuParsed = process.cpuUsage();
  const policy = compilePolicy(raw, { source: file });
  const compiled = performance.now();
  return {
    policy,
    parseMs: parsed - started,
    compileMs: compiled - parsed,
    parseCpuMs: cpuMicros(cpuStart, cpuParsed) / 1000,
    compileCpuMs: cpuMicros(cpuParsed, process.cpuUsage()) / 1000,
  };
}

/** Users spread over every tenant and every branch of decide(): included, excluded, by role, not included. */
function users(tenants: number, count: number): PolicyUser[] {
  const out: PolicyUser[] = [];
  let seed = 12345;
  const random = (limit: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % limit;
  };
  for (let i = 0; i < count; i++) {
    const t = random(tenants);
    const kind = i % 4;
    const index =
      kind === 1 ? SCALE_STAFF.included + random(SCALE_STAFF.excluded) : random(SCALE_STAFF.included);
    out.push({
      username: kind === 3 ? `someone${i}@example.com` : scaleUsername(t, index),
      tenant: `tenant-${t}`,
      roles: kind === 2 ? ['Admin', 'staff'] : ['staff'],
    });
  }
  return out;
}

/** Per-call latency of decide() over `calls` calls, after a warm-up that lets V8 optimise it. */
function timeDecide(policy: CompiledPolicy, tenants: number, calls: number): PolicyLoadResult['decide'] {
  const { decide } = builtLibrary();
  const sample = users(tenants, 4096);
  const now = Date.now();
  for (let i = 0; i < 200_000; i++) decide(policy, sample[i & 4095]!, now);
  const times = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const begin = performance.now();
    decide(policy, sample[i & 4095]!, now);
    times[i] = performance.now() - begin;
  }
  const micros = (p: number) => percentile(times, p) * 1000;
  return { calls, p50: micros(50), p99: micros(99), p999: micros(99.9) };
}

serveParent({
  load({ tenants, calls }: { tenants: number; calls: number }): PolicyLoadResult {
    const file = join(tmpDir(), `policy-${tenants}.json`);
    writeFileSync(file, scalePolicyText(tenants));
    const fileMB = statSync(file).size / 1e6;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const loaded = load(file);
    const peakRssMB = process.resourceUsage().maxRSS / 1024;
    gc();
    const retainedMB = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    rmSync(file);

    const decide = timeDecide(loaded.policy, tenants, calls);
    const empty = new Float64Array(100_000);
    for (let i = 0; i < empty.length; i++) {
      const begin = performance.now();
      empty[i] = performance.now() - begin;
    }
    return {
      tenants,
      names: tenants * (SCALE_STAFF.included + SCALE_STAFF.excluded),
      fileMB,
      parseMs: loaded.parseMs,
      compileMs: loaded.compileMs,
      parseCpuMs: loaded.parseCpuMs,
      compileCpuMs: loaded.compileCpuMs,
      retainedMB,
      peakRssMB,
      decide,
      timerOverhead: percentile(empty, 50) * 1000,
    };
  },
});
