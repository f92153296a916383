// Child process (with --expose-gc) of the policy-sources benchmark: one policy source in a fresh heap, measured.

import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type * as Policy from '../lib/policy/index';
import type { TenantSource } from '../lib/policy/index';
import type * as FileIndex from '../lib/policy/file-index';
import type * as RedisPolicyModule from '../lib/policy/redis';
import { percentile, REDIS_URL, ROOT, serveParent } from './common';
import { SCALE_STAFF, scaleTenantId, scaleUsername } from './fixtures';

/** Where the policy is: a file or directory path, or a Redis prefix. */
export type SourceSpec =
  | { readonly form: 'file' | 'directory'; readonly path: string }
  | { readonly form: 'redis'; readonly prefix: string };

const load = createRequire(join(ROOT, 'package.json'));
/** The built policy subpath (`npm run bench` builds first). */
const policy = (): typeof Policy => load(join(ROOT, 'dist', 'policy', 'index.js')) as typeof Policy;
const redisModule = (): typeof RedisPolicyModule =>
  load(join(ROOT, 'dist', 'policy', 'redis.js')) as typeof RedisPolicyModule;

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const heapMB = (): number => process.memoryUsage().heapUsed / 1e6;

let source: TenantSource | undefined;
let redis: Redis | undefined;
let serving: { ids: number[]; watched: string; initial: string } | undefined;
let decisions = 0;
let seenAt: number | undefined;

/** The largest and 99th-percentile event-loop delay over `ms` (or until `until()`), in ms. */
async function delayWindow(ms: number, until?: () => boolean): Promise<{ maxMs: number; p99Ms: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !(until?.() ?? false))
    await new Promise((resolve) => setTimeout(resolve, 5));
  histogram.disable();
  return { maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6 };
}

async function open(spec: SourceSpec): Promise<TenantSource> {
  if (spec.form !== 'redis') return policy().openTenantSource(spec.path, { debounceMs: 100 });
  redis ??= new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const opened = policy().openTenantSource(redisModule().redisPolicy(redis, { prefix: spec.prefix }));
  await opened.ready();
  return opened;
}

async function entryOf(id: string) {
  const entry = source!.peek(id) ?? (await source!.load(id));
  if (entry.state !== 'ready') throw new Error(`${id}: ${entry.state}`);
  return entry.tenant;
}

/** A user of tenant `t`, cycling through every branch of decide(). */
function userOf(t: number, i: number) {
  const kind = i % 4;
  const index = kind === 1 ? SCALE_STAFF.included + (i % SCALE_STAFF.excluded) : i % SCALE_STAFF.included;
  return {
    username: kind === 3 ? `someone${i}@example.com` : scaleUsername(t, index),
    roles: kind === 2 ? ['Admin', 'staff'] : ['staff'],
  };
}

// Loaded before anything is timed: module loading is a process's start-up, not the opening of a source.
policy();
redisModule();

serveParent({
  /** Opening the source until the first decision for one tenant, and the heap it holds then. */
  async start({ spec, tenant }: { spec: SourceSpec; tenant: number }) {
    gc();
    const heapBefore = heapMB();
    const started = performance.now();
    source = await open(spec);
    const opened = performance.now();
    const id = scaleTenantId(tenant);
    const decision = policy().decideTenant(id, await entryOf(id), userOf(tenant, 0), Date.now());
    const decided = performance.now();
    gc();
    return {
      openMs: opened - started,
      firstDecisionMs: decided - started,
      required: decision.required,
      tenants: source.tenantIds().length,
      heapMB: heapMB() - heapBefore,
    };
  },

  /** Heap held once `count` tenants were used (compiled), over the heap before the source was opened. */
  async touch({ spec, count, total }: { spec: SourceSpec; count: number; total: number }) {
    gc();
    const before = heapMB();
    source = await open(spec);
    const step = Math.floor(total / count);
    for (let i = 0; i < count; i++) await entryOf(scaleTenantId(i * step));
    gc();
    return { heapMB: heapMB() - before };
  },

  /** The first-wave way: the whole file compiled (compilePolicy), heap held once the parsed file is collected. */
  fullCompile({ path }: { path: string }) {
    gc();
    const before = heapMB();
    const compiled = policy().compilePolicy(JSON.parse(readFileSync(path, 'utf8')) as unknown);
    gc();
    gc(); // a second full collection: the 282 MB text and the parsed file are then surely gone
    return { heapMB: heapMB() - before, tenants: compiled.tenants.size };
  },

  /**
   * Starts serving decisions (peek + decideTenant, as the middleware does per request) for `served` compiled
   * tenants, one tenant of which is watched; measures the largest event-loop delay of `baselineMs` of serving
   * alone. Serving goes on until close().
   */
  async serve({
    spec,
    tenant,
    served,
    total,
    baselineMs,
  }: {
    spec: SourceSpec;
    tenant: number;
    served: number;
    total: number;
    baselineMs: number;
  }) {
    source ??= await open(spec);
    const ids = Array.from({ length: served }, (_, i) => Math.floor((i * total) / served));
    if (!ids.includes(tenant)) ids[0] = tenant;
    for (const t of ids) await entryOf(scaleTenantId(t));
    serving = {
      ids,
      watched: scaleTenantId(tenant),
      initial: (await entryOf(scaleTenantId(tenant))).version,
    };
    const { decideTenant } = policy();
    const loop = () => {
      if (!serving) return;
      const now = Date.now();
      for (let i = 0; i < 200; i++, decisions++) {
        const t = serving.ids[decisions % serving.ids.length]!;
        const id = scaleTenantId(t);
        const entry = source!.peek(id);
        if (entry?.state === 'ready') decideTenant(id, entry.tenant, userOf(t, decisions), now);
      }
      const current = source!.peek(serving.watched);
      if (seenAt === undefined && current?.state === 'ready' && current.tenant.version !== serving.initial) {
        seenAt = Date.now();
      }
      setImmediate(loop);
    };
    loop();
    return { baseline: await delayWindow(baselineMs) };
  },

  /**
   * While serving: resolves once the watched tenant's version changed (and 300 ms more were served), or after
   * timeoutMs, with when it was seen and the event-loop delay meanwhile. Call it before making the change.
   */
  async waitChange({ timeoutMs }: { timeoutMs: number }) {
    const before = decisions;
    const started = performance.now();
    const during = await delayWindow(timeoutMs, () => seenAt !== undefined && Date.now() - seenAt > 300);
    const seconds = (performance.now() - started) / 1000;
    return { seenAt, during, decisionsPerSecond: Math.round((decisions - before) / seconds) };
  },

  /** Where the single file's start-up goes: reading it, then indexing and checking every tenant (no compile). */
  fileStart({ path }: { path: string }) {
    const { indexPolicyFile } = load(join(ROOT, 'dist', 'policy', 'file-index.js')) as typeof FileIndex;
    const started = performance.now();
    const bytes = readFileSync(path);
    const read = performance.now();
    const outcome = indexPolicyFile(bytes, { source: path, check: 'all' });
    if (!outcome.ok) throw outcome.error;
    return { readMs: read - started, indexMs: performance.now() - read };
  },

  /**
   * decideTenant() latency (peek + decide) with `total` tenants compiled: first with users spread across every
   * compiled tenant (the working set grows with the policy), then with users of the first 10 tenants only (the
   * same working set whatever is compiled: what the number of compiled tenants alone costs a decision).
   */
  async decideLatency({ spec, total, calls }: { spec: SourceSpec; total: number; calls: number }) {
    source = await open(spec);
    const tenants: { id: string; t: number }[] = [];
    for (let t = 0; t < total; t++) {
      await entryOf(scaleTenantId(t));
      tenants.push({ id: scaleTenantId(t), t });
    }
    const { decideTenant } = policy();
    const now = Date.now();
    const timed = (among: readonly { id: string; t: number }[]) => {
      const users = Array.from({ length: 4096 }, (_, i) => {
        const pick = among[(i * 7919) % among.length]!;
        return { id: pick.id, user: userOf(pick.t, i) };
      });
      const call = (i: number) => {
        const { id, user } = users[i & 4095]!;
        const entry = source!.peek(id)!;
        if (entry.state === 'ready') decideTenant(id, entry.tenant, user, now);
      };
      for (let i = 0; i < 200_000; i++) call(i);
      const times = new Float64Array(calls);
      for (let i = 0; i < calls; i++) {
        const begin = performance.now();
        call(i);
        times[i] = performance.now() - begin;
      }
      const micros = (p: number) => percentile(times, p) * 1000;
      return { p50: micros(50), p99: micros(99), p999: micros(99.9) };
    };
    const spread = timed(tenants);
    return { ...spread, inUse: timed(tenants.slice(0, 10)) };
  },

  close() {
    serving = undefined;
    source?.close();
    redis?.disconnect();
    return {};
  },
});
