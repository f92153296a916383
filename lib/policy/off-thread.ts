// Runs single-file jobs in one worker thread, so a 300 MB policy file is indexed without stalling requests.

import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  deserializeError,
  runFileJob,
  type FileJob,
  type FileJobResult,
  type IndexJob,
  type IndexResult,
  type ReadJob,
  type ReadResult,
  type SerializedError,
  type WriteJob,
  type WriteResult,
} from './file-jobs';

/**
 * The worker is this directory's file-worker: .js once built. Run from the TypeScript sources (the tests, through
 * tsx), the worker needs tsx's loader too, which a worker does not inherit for its entry file: it is loaded first.
 */
function startWorker(): Worker {
  const extension = extname(__filename);
  const file = join(__dirname, `file-worker${extension}`);
  if (extension === '.js') return new Worker(file, { stdout: false, stderr: false });
  const loader = createRequire(__filename).resolve('tsx/cjs');
  const code = `require(${JSON.stringify(loader)}); require(${JSON.stringify(file)});`;
  return new Worker(code, { eval: true, stdout: false, stderr: false });
}

/** The worker exits after this long without work, and starts again on the next job. */
const IDLE_MS = 30_000;

/**
 * How many jobs a runner ran where: in the worker, on this thread as asked (small files), or on this thread
 * because the worker could not run them (`fallback`: it could not start, failed or exited).
 */
export interface JobCounts {
  worker: number;
  inline: number;
  fallback: number;
}

export interface FileJobRunnerOptions {
  /** Never stop the worker for idleness (a large watched file: the next change finds it ready). */
  readonly keepAlive?: boolean;
  /** Starts the worker thread. Default: this directory's file-worker (a seam for tests: one that fails). */
  readonly startWorker?: () => Worker;
  /**
   * Told, once until the worker works again, that jobs run on this thread because the worker could not run them.
   * Default: a process warning (code `DUO_MFA_POLICY_WORKER`).
   */
  readonly onFallback?: (message: string) => void;
}

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: FileJobResult;
  readonly error?: SerializedError;
}

/**
 * One lazily started, unreferenced worker thread for a file source's heavy jobs. When a worker cannot be started
 * (a runtime without worker threads, a loader the worker cannot use) or dies, jobs run on this thread instead:
 * slower for huge files, never wrong — and said once, as a warning, since requests may then wait for them.
 * `ran` counts where jobs ran.
 *
 * @example
 * ```ts
 * const runner = new FileJobRunner();
 * const result = await runner.run({ type: 'index', path, source: path, previous: [], lastDigest: undefined, env: {} });
 * runner.close();
 * ```
 */
export class FileJobRunner {
  private worker: Worker | undefined;
  private failed = false;
  private next = 1;
  private readonly waiting = new Map<number, { resolve(reply: Reply): void; reject(error: Error): void }>();
  private idle: NodeJS.Timeout | undefined;
  private closed = false;
  /** Why the worker last failed to run a job (reported once: cleared when a job runs in the worker again). */
  private problem: Error | undefined;
  private warned = false;
  private readonly counts: JobCounts = { worker: 0, inline: 0, fallback: 0 };

  constructor(private readonly options: FileJobRunnerOptions = {}) {}

  /** How many jobs ran where so far (a copy), for tests and diagnostics. */
  get ran(): Readonly<JobCounts> {
    return { ...this.counts };
  }

  /**
   * Starts the worker now, so the first job does not wait for it to load. With `warmUp`, the worker also runs that
   * index job once and drops its answer: its read buffer is then sized and faulted in and its code compiled, which
   * for a 300 MB file is most of a first re-index's time (a second or more on some virtual machines). Never run on
   * this thread: without a worker, nothing is warmed.
   */
  warm(warmUp?: IndexJob): void {
    if (this.closed) return;
    const worker = this.start();
    if (worker && warmUp) worker.postMessage({ warmUp });
  }

  run(job: IndexJob, inline?: boolean): Promise<IndexResult>;
  run(job: WriteJob, inline?: boolean): Promise<WriteResult>;
  run(job: ReadJob, inline?: boolean): Promise<ReadResult>;
  async run(job: FileJob, inline = false): Promise<FileJobResult> {
    if (inline || this.closed) return this.runHere(job, 'inline');
    const worker = this.start();
    if (!worker) return this.runHere(job, 'fallback');
    clearTimeout(this.idle);
    const id = this.next++;
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, job });
    }).catch((error: unknown) => {
      if (this.closed) throw error;
      this.problem = error instanceof Error ? error : new Error(String(error));
      return undefined; // the worker died: do it here
    });
    this.armIdle();
    if (reply === undefined) return this.runHere(job, 'fallback');
    this.counts.worker++;
    this.problem = undefined;
    this.warned = false;
    if (!reply.ok) throw deserializeError(reply.error!);
    return reply.result!;
  }

  /** Stops the worker; jobs in flight are rejected. Idempotent. */
  close(): void {
    this.closed = true;
    clearTimeout(this.idle);
    this.stop(new Error('the policy source was closed'));
  }

  /** Runs a job on this thread: as asked, or because the worker could not (said once, as a warning). */
  private runHere(job: FileJob, why: 'inline' | 'fallback'): Promise<FileJobResult> {
    this.counts[why]++;
    if (why === 'fallback' && !this.warned) {
      this.warned = true;
      const message =
        `express-duo-mfa: the policy file's worker thread cannot run (${this.problem?.message ?? 'unknown reason'}); ` +
        `policy file jobs run on the main thread instead, which may delay requests while a large file is reloaded`;
      if (this.options.onFallback) this.options.onFallback(message);
      else process.emitWarning(message, { code: 'DUO_MFA_POLICY_WORKER' });
    }
    return runFileJob(job);
  }

  private start(): Worker | undefined {
    if (this.worker || this.failed) return this.worker;
    let worker: Worker;
    try {
      worker = (this.options.startWorker ?? startWorker)();
    } catch (error) {
      this.failed = true;
      this.problem = error instanceof Error ? error : new Error(String(error));
      return undefined;
    }
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      waiter?.resolve(reply);
    });
    worker.on('error', (error) => {
      this.failed = true;
      this.problem = error;
      this.stop(error);
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.stop(new Error('the policy worker exited'));
    });
    this.worker = worker;
    return worker;
  }

  private armIdle(): void {
    clearTimeout(this.idle);
    if (this.waiting.size > 0 || !this.worker || this.options.keepAlive) return;
    this.idle = setTimeout(() => this.stop(new Error('idle')), IDLE_MS);
    this.idle.unref();
  }

  private stop(error: Error): void {
    const worker = this.worker;
    this.worker = undefined;
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
    if (worker) void worker.terminate();
  }
}
