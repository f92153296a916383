// CPU profiles of the server process (V8's sampling profiler, as `node --cpu-prof`), and where their time goes.

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { ROOT } from './common';

/** The V8 CPU profile format (.cpuprofile, opens in Chrome DevTools). */
interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }>;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Profiles a window of this process's life: the same sampler as `node --cpu-prof`, started and stopped around one
 * measurement so start-up and the other variants stay out of it.
 */
export class Profiler {
  private readonly session = new Session();

  constructor() {
    this.session.connect();
  }

  async start(intervalMicros = 250): Promise<void> {
    await this.post('Profiler.enable');
    await this.post('Profiler.setSamplingInterval', { interval: intervalMicros });
    await this.post('Profiler.start');
  }

  /** Stops and writes the .cpuprofile to `file`. */
  async stop(file: string): Promise<void> {
    const { profile } = (await this.post('Profiler.stop')) as { profile: CpuProfile };
    writeFileSync(file, JSON.stringify(profile));
  }

  private post(method: string, params?: object): Promise<unknown> {
    return new Promise((resolve, reject) =>
      this.session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  }
}

export interface ProfileSummary {
  /** Sampled time the process was busy (idle left out), ms. */
  readonly busyMs: number;
  /** Busy time by owner: a package, Node core, the garbage collector…; native code counts for its JS caller. */
  readonly byOwner: ReadonlyArray<{ readonly owner: string; readonly ms: number; readonly share: number }>;
  /** The functions with the most self time. */
  readonly top: ReadonlyArray<{
    readonly name: string;
    readonly owner: string;
    readonly ms: number;
    readonly share: number;
  }>;
}

/**
 * Where a profile's time goes: self time per owner (native builtins such as JSON.stringify are charged to the
 * JavaScript that called them) and the top functions by self time.
 */
export function summarizeProfile(profile: CpuProfile, topCount = 12): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  // The profiler's own start and stop (called from this file) are not the app's time.
  const profilerOwn = new Set<number>();
  for (const node of profile.nodes) {
    if (node.callFrame.url.endsWith('/bench/profile.ts')) {
      const mark = (id: number): void => {
        profilerOwn.add(id);
        for (const child of byId.get(id)?.children ?? []) mark(child);
      };
      mark(node.id);
    }
  }
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    if (!profilerOwn.has(id)) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }

  const ownerOf = (id: number): string => {
    const node = byId.get(id)!;
    const special = specialOwner(node.callFrame.functionName);
    if (special) return special;
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const owner = packageOf(byId.get(current)!.callFrame.url);
      if (owner) return owner;
    }
    return 'other native code';
  };

  const owners = new Map<string, number>();
  const functions = new Map<string, { owner: string; micros: number }>();
  let busy = 0;
  for (const [id, micros] of self) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') continue;
    busy += micros;
    const owner = ownerOf(id);
    owners.set(owner, (owners.get(owner) ?? 0) + micros);
    const name = functionName(node.callFrame);
    const where =
      packageOf(node.callFrame.url) ?? specialOwner(node.callFrame.functionName) ?? 'native builtin';
    const entry = functions.get(name) ?? { owner: where, micros: 0 };
    entry.micros += micros;
    functions.set(name, entry);
  }
  const share = (micros: number) => (busy === 0 ? 0 : micros / busy);
  return {
    busyMs: busy / 1000,
    byOwner: [...owners]
      .sort((a, b) => b[1] - a[1])
      .map(([owner, micros]) => ({ owner, ms: micros / 1000, share: share(micros) })),
    top: [...functions]
      .sort((a, b) => b[1].micros - a[1].micros)
      .slice(0, topCount)
      .map(([name, { owner, micros }]) => ({ name, owner, ms: micros / 1000, share: share(micros) })),
  };
}

function specialOwner(functionName: string): string | undefined {
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (functionName === '(program)') return 'V8 / libuv (no JS frame)';
  return undefined;
}

/** The package a script belongs to: ours (dist/), a dependency, Node core, or the benchmark's host app. */
function packageOf(url: string): string | undefined {
  if (url === '') return undefined;
  if (url.startsWith('node:')) return 'node core';
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first, second] = path.slice(modules + '/node_modules/'.length).split('/');
    return first?.startsWith('@') ? `${first}/${second}` : (first ?? 'other');
  }
  if (path.startsWith(`${ROOT}/dist/`)) return 'express-duo-mfa';
  if (path.startsWith(`${ROOT}/bench/`)) return 'host app (bench)';
  return 'other';
}

function functionName(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (frame.url === '') return name;
  const path = frame.url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  const short =
    modules >= 0
      ? path.slice(modules + '/node_modules/'.length)
      : path.startsWith(`${ROOT}/`)
        ? path.slice(ROOT.length + 1)
        : path;
  return `${name} (${short}:${frame.lineNumber + 1})`;
}
