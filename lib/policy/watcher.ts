// Watches a directory for policy changes: fs.watch events debounced and batched by name, with a polling fallback.

import { watch, type FSWatcher } from 'node:fs';

export interface DirectoryWatcherOptions {
  /** Which names matter (the policy file, `<id>.json`…). Names starting with ".." always do (Kubernetes swaps). */
  accept(name: string): boolean;
  /**
   * Called once changes settled: the names that changed, or null when they are unknown (the platform gave no
   * name, or a Kubernetes `..data` symlink was swapped): look at everything.
   */
  onChange(names: ReadonlySet<string> | null): void;
  /** Called every pollIntervalMs: compare stats and call trigger() when something changed. */
  poll?(): Promise<void>;
  /** Wait this long after the last event before calling onChange (editors write in several steps). Default 100. */
  debounceMs?: number;
  /** 0 turns polling off. Default 2000. */
  pollIntervalMs?: number;
}

/**
 * Watches one directory. Watching the directory rather than a file survives editors that save by rename and
 * delete-then-create (which replace the file's inode), and Kubernetes ConfigMap updates (files are symlinks through
 * a swapped `..data`). Where events are lost (network mounts, some containers) the poll still notices.
 *
 * @example
 * ```ts
 * const watcher = new DirectoryWatcher('/etc/app', {
 *   accept: (name) => name === 'duo-mfa.json',
 *   onChange: () => void reload(),
 *   poll: async () => { if (await statChanged()) watcher.trigger(null); },
 * });
 * watcher.close();
 * ```
 */
export class DirectoryWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  /** Names seen since the last onChange; null once an unknown change was seen. */
  private pending: Set<string> | null = new Set();
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly options: DirectoryWatcherOptions,
  ) {
    try {
      this.watcher = watch(dir, { persistent: false }, (_event, filename) => {
        const name = filename === null ? null : String(filename);
        if (name === null || name.startsWith('..')) this.trigger(null);
        else if (options.accept(name)) this.trigger(name);
      });
      this.watcher.on('error', () => {
        // The directory went away or cannot be watched any more: the poll still notices changes.
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined; // cannot watch here (unsupported file system): rely on polling
    }
    const interval = options.pollIntervalMs ?? 2000;
    if (interval > 0 && options.poll) {
      let polling = false;
      this.timer = setInterval(() => {
        if (polling || this.closed || !options.poll) return;
        polling = true;
        options
          .poll()
          .catch(() => undefined)
          .finally(() => (polling = false));
      }, interval);
      this.timer.unref();
    }
  }

  /** Records a change (a name, or null: unknown) and calls onChange once events stop for debounceMs. */
  trigger(name: string | null): void {
    if (this.closed) return;
    if (name === null) this.pending = null;
    else this.pending?.add(name);
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      const names = this.pending;
      this.pending = new Set();
      if (!this.closed) this.options.onChange(names);
    }, this.options.debounceMs ?? 100);
    this.debounce.unref();
  }

  /** Releases the watcher and every timer. Idempotent. */
  close(): void {
    this.closed = true;
    clearTimeout(this.debounce);
    this.debounce = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
