// Shared by the benchmark processes: where things are, the built package, child processes over IPC, statistics.

import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type * as Emulator from '../lib/emulator/index';
import type * as Library from '../lib/index';

export const ROOT = join(__dirname, '..');
/** Scratch files (policy files, CPU profiles): ignored by git. */
export const TMP = join(ROOT, 'bench', '.tmp');

const loadBuilt = createRequire(join(ROOT, 'package.json'));

/** The built package (`npm run bench` builds first): what users run, not the TypeScript sources. */
export function builtLibrary(): typeof Library {
  return loadBuilt(join(ROOT, 'dist', 'index.js')) as typeof Library;
}

/** The built emulator (`express-duo-mfa/emulator`). */
export function builtEmulator(): typeof Emulator {
  return loadBuilt(join(ROOT, 'dist', 'emulator', 'index.js')) as typeof Emulator;
}

export function tmpDir(...parts: string[]): string {
  const dir = join(TMP, ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The Duo application every benchmark tenant uses (the emulator accepts it). */
export const BENCH_APP = {
  clientId: 'DIBENCHBENCHBENCH001',
  clientSecret: 'bench-secret-bench-secret-bench-secret-1',
} as const;

/** A Redis key prefix unique to one run; everything under it is deleted at the end. */
export function runPrefix(): string {
  return `duo-mfa-bench:${randomBytes(4).toString('hex')}:`;
}

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

// ---- child processes: one request at a time over IPC ----

interface Request {
  readonly id: number;
  readonly type: string;
  readonly payload: unknown;
}

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
}

/** A benchmark child process (server, load generator, login client) driven by request/reply messages. */
export class Child {
  private next = 1;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private exited: Error | undefined;

  private constructor(
    readonly name: string,
    private readonly process: ChildProcess,
  ) {
    process.on('message', (message: Reply) => {
      const waiter = this.waiting.get(message.id);
      if (!waiter) return;
      this.waiting.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`${name}: ${message.error}`));
    });
    process.on('exit', (code, signal) => {
      this.exited = new Error(`${name} exited (${signal ?? code})`);
      for (const waiter of this.waiting.values()) waiter.reject(this.exited);
      this.waiting.clear();
    });
  }

  /**
   * Forks `file` (TypeScript, run through tsx like this process) and waits for its "ready" message.
   * Its stdout is discarded (the middleware's default logger writes there, as it would in production).
   */
  static async start(name: string, file: string, options: { execArgv?: string[] } = {}): Promise<Child> {
    const child = fork(file, [], {
      execArgv: [...process.execArgv, ...(options.execArgv ?? [])],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const ready = new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`${name} exited before it was ready (${code})`)));
    });
    await ready;
    return new Child(name, child);
  }

  call<T>(type: string, payload: unknown = {}): Promise<T> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.process.send({ id, type, payload } satisfies Request);
    });
  }

  /** Asks the child to exit and waits for it (killed after 5 s). */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5000);
    this.call('exit').catch(() => undefined);
    await gone;
    clearTimeout(timer);
  }
}

/** The child side of Child: answers requests with `handlers`, then says it is ready. */
export function serveParent(handlers: Record<string, (payload: any) => unknown>): void {
  process.on('message', (message: Request) => {
    if (message.type === 'exit') {
      process.send?.({ id: message.id, ok: true } satisfies Reply, () => process.exit(0));
      return;
    }
    const handler = handlers[message.type];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown request ${message.type}`);
        return handler(message.payload);
      })
      .then(
        (result) => process.send?.({ id: message.id, ok: true, result } satisfies Reply),
        (error: unknown) =>
          process.send?.({
            id: message.id,
            ok: false,
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          } satisfies Reply),
      );
  });
  process.on('disconnect', () => process.exit(0)); // the parent died: never linger
  process.send?.('ready');
}

// ---- statistics ----

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** The median of each figure over one variant's rounds: a round of medians, labelled with that variant. */
export function medianOfRounds<R extends { readonly variant: string }>(
  rounds: readonly R[],
  variant: R['variant'],
): R {
  const of = rounds.filter((round) => round.variant === variant);
  const out: Record<string, unknown> = { variant };
  for (const key of Object.keys(of[0] ?? {}))
    if (key !== 'variant')
      out[key] = median(of.map((round) => (round as Record<string, unknown>)[key] as number));
  return out as R;
}

/** Nearest-rank percentile (p in 0–100) of unsorted values. */
export function percentile(values: readonly number[] | Float64Array, p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** A process.cpuUsage() reading. */
export type CpuSample = NodeJS.CpuUsage;

/** CPU time (user + system, µs) between two readings. */
export function cpuMicros(from: CpuSample, to: CpuSample): number {
  return to.user - from.user + (to.system - from.system);
}

/** An ioredis client with the README's production settings; rejects when Redis does not answer. */
export async function connectRedis(): Promise<Redis> {
  const client = new Redis(REDIS_URL, {
    enableOfflineQueue: false,
    commandTimeout: 1000,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    lazyConnect: true,
    retryStrategy: () => null, // a benchmark does not wait for Redis to come back
  });
  client.on('error', () => undefined); // reported through the failing commands
  await client.connect();
  return client;
}

/** Deletes every key under `prefix` (the run's own keys). */
export async function deleteKeys(client: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await client.del(...keys);
  } while (cursor !== '0');
  return deleted;
}
