// One policy file, kept up to date: reloads run one at a time, started by its directory's change events
// (DirectoryWatcher) and by a stat poll for where events get lost.

import { stat, statSync, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { DirectoryWatcher } from './watcher';

export interface FileReloadOptions {
  /** Watch the file and reload it when it changes. Default true. */
  watch?: boolean | undefined;
  /** Wait this long after the last change event before reloading. Default 100. */
  debounceMs?: number | undefined;
  /** Also compare the file's stat every this many ms. 0 turns polling off. Default 2000. */
  pollIntervalMs?: number | undefined;
}

/**
 * The reloads of one file. `schedule()` runs `reload` after any reload under way; a change arriving while one waits
 * to start joins it. `reading()` is called by the reload before it reads, so the poll sees only later changes —
 * instead of reading and hashing again a change fs.watch already reloaded.
 *
 * @example
 * ```ts
 * const before = statSignature(path); // then read the file…
 * const reloads = new FileReloads(path, (force) => reloadOnce(force), { pollIntervalMs: 2000 }, before);
 * await reloads.schedule(true); // SIGHUP
 * reloads.close();
 * ```
 */
export class FileReloads {
  private lastStat: string;
  private readonly watcher: DirectoryWatcher | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private queued: Promise<boolean> | undefined;
  private closed = false;

  /** `statBefore`: the file's statSignature() taken before it was first read. */
  constructor(
    private readonly path: string,
    private readonly reload: (force: boolean) => Promise<boolean>,
    options: FileReloadOptions,
    statBefore: string,
  ) {
    this.lastStat = statBefore;
    if (options.watch ?? true) {
      const name = basename(path);
      this.watcher = new DirectoryWatcher(dirname(path), {
        accept: (changed) => changed === name,
        onChange: () => void this.schedule(false),
        poll: () => this.poll(),
        debounceMs: options.debounceMs,
        pollIntervalMs: options.pollIntervalMs,
      });
    }
  }

  /** Runs a reload after any under way (`force`: even when the file looks unchanged). Never rejects. */
  schedule(force: boolean): Promise<boolean> {
    if (!force && this.queued) return this.queued;
    const run: Promise<boolean> = this.tail
      .then(() => {
        if (this.queued === run) this.queued = undefined;
        return this.closed ? false : this.reload(force);
      })
      .catch(() => false);
    this.queued = run;
    this.tail = run;
    return run;
  }

  /** Called by a reload before it reads the file: records its stat, and answers it (undefined: missing). */
  async reading(): Promise<Stats | undefined> {
    const stats = await statOf(this.path);
    this.lastStat = stats instanceof Error ? missingSignature(stats) : signatureOf(stats);
    return stats instanceof Error ? undefined : stats;
  }

  /** The file changed in a way no event may report (seen by a reader): reload soon, as for a change event. */
  changed(): void {
    this.watcher?.trigger(null);
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
  }

  private async poll(): Promise<void> {
    const now = await currentSignature(this.path);
    if (this.closed || now === this.lastStat) return;
    this.lastStat = now;
    this.watcher?.trigger(null);
  }
}

/** The file's identity now (inode, size, mtime), or why it is missing: what the poll compares. */
export function statSignature(path: string): string {
  try {
    return signatureOf(statSync(path));
  } catch (error) {
    return missingSignature(error as NodeJS.ErrnoException);
  }
}

/** fs.stat as a promise of the stats or the error (never rejects). */
function statOf(path: string): Promise<Stats | NodeJS.ErrnoException> {
  return new Promise((resolve) => stat(path, (error, stats) => resolve(error ?? stats)));
}

/** The file's identity now, read without blocking: statSignature() for the event loop's sake. */
export async function currentSignature(path: string): Promise<string> {
  const stats = await statOf(path);
  return stats instanceof Error ? missingSignature(stats) : signatureOf(stats);
}

/** A file's identity from its stats: inode, size, mtime. */
export function signatureOf(stats: Stats): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
}

function missingSignature(error: NodeJS.ErrnoException): string {
  return `missing:${error.code ?? ''}`;
}
