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

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: FileJobResult;
  readonly error?: SerializedError;
}

/**
 * One lazily started, unreferenced worker thread for a file source's heavy jobs. When a worker cannot be started
 * (a runtime without worker threads, a loader the worker cannot use), jobs run on this thread instead: slower for
 * huge files, never wrong.
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

  /** `keepAlive`: never stop the worker for idleness (a large watched file: the next change finds it ready). */
  constructor(private readonly options: { keepAlive?: boolean } = {}) {}

  /** Starts the worker now, so the first job does not wait for it to load. */
  warm(): void {
    if (!this.closed) this.start();
  }

  run(job: IndexJob, inline?: boolean): Promise<IndexResult>;
  run(job: WriteJob, inline?: boolean): Promise<WriteResult>;
  run(job: ReadJob, inline?: boolean): Promise<ReadResult>;
  async run(job: FileJob, inline = false): Promise<FileJobResult> {
    const worker = inline || this.closed ? undefined : this.start();
    if (!worker) return runFileJob(job);
    clearTimeout(this.idle);
    const id = this.next++;
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, job });
    }).catch((error: unknown) => {
      if (this.closed) throw error;
      return undefined; // the worker died: do it here
    });
    this.armIdle();
    if (reply === undefined) return runFileJob(job);
    if (!reply.ok) throw deserializeError(reply.error!);
    return reply.result!;
  }

  /** Stops the worker; jobs in flight are rejected. Idempotent. */
  close(): void {
    this.closed = true;
    clearTimeout(this.idle);
    this.stop(new Error('the policy source was closed'));
  }

  private start(): Worker | undefined {
    if (this.worker || this.failed) return this.worker;
    let worker: Worker;
    try {
      worker = startWorker();
    } catch {
      this.failed = true;
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
