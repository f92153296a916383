// The hot-reload watcher behind openPolicy(): watches the file's directory, debounces, swaps on valid changes.

import { createHash } from 'node:crypto';
import { stat, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { type DuoMfaError, isDuoMfaError } from '../errors';
import { compilePolicy } from './compile';
import { policyInvalidError, ROOT_PATH } from './issues';
import { parsePolicyText, readPolicyText, readPolicyTextAsync } from './read';
import type { CompiledPolicy, PolicySource } from './types';

export interface OpenPolicyOptions {
  /** Where `{ "env": "NAME" }` secrets are read from (at start and on every reload). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Watch the file and reload it when it changes. Default true for a path; an object is never watched. */
  watch?: boolean;
  /** Wait this long after the last change event before reading (editors write in several steps). Default 100. */
  debounceMs?: number;
  /**
   * Also compare the file's stat every this many ms, for file systems where change events get lost (network
   * mounts, some containers, Kubernetes ConfigMap symlink swaps). 0 turns polling off. Default 2000.
   */
  pollIntervalMs?: number;
  /** Called after a changed, valid file replaced the policy in force. */
  onReload?(policy: CompiledPolicy): void;
  /**
   * Called when the file turned invalid (corrupt, emptied, half-written, deleted, a secret missing): the last
   * good policy stays in force. Default: a process warning.
   */
  onInvalid?(error: DuoMfaError): void;
}

/**
 * A policy file loaded now (synchronously; an invalid file throws) and, unless `watch: false`, hot-reloaded.
 *
 * @example
 * ```ts
 * const source = new WatchedPolicyFile('./duo-mfa.json', { onInvalid: (error) => log(error) });
 * source.current();
 * source.close();
 * ```
 */
export class WatchedPolicyFile implements PolicySource {
  private policy: CompiledPolicy;
  private closed = false;
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  /** The file's identity (inode, size, mtime) when last looked at, for the stat poll. */
  private lastStat: string;
  private debounce: NodeJS.Timeout | undefined;
  /** Reloads run one at a time; `queued` is the next one, not yet started, that new triggers join. */
  private tail: Promise<unknown> = Promise.resolve();
  private queued: Promise<boolean> | undefined;
  /** What the last read saw (content hash or read error), so duplicate change events do nothing. */
  private lastSeen: string;
  private readonly path: string;

  constructor(
    private readonly source: string,
    private readonly options: OpenPolicyOptions,
  ) {
    this.path = resolve(source);
    this.lastStat = statSignature(this.path); // before reading: a change after this is seen by the next poll
    const text = readPolicyText(this.path, source);
    this.policy = compilePolicy(parsePolicyText(text, source), { env: options.env, source });
    this.lastSeen = digest(text);
    if (options.watch ?? true) this.startWatching();
  }

  current(): CompiledPolicy {
    return this.policy;
  }

  reload(): Promise<boolean> {
    return this.schedule(true);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.debounce);
    this.debounce = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.poll);
    this.poll = undefined;
  }

  private startWatching(): void {
    // Watch the directory, not the file: editors that save by rename, and delete-then-create, replace the
    // file's inode, which a watcher on the file itself would lose. Names starting with ".." are how Kubernetes
    // swaps a mounted ConfigMap (the file is a symlink through "..data").
    const name = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
        if (filename === null || filename === name || filename.startsWith('..')) this.trigger();
      });
      this.watcher.on('error', () => {
        // The directory went away or cannot be watched any more: the stat poll still notices changes.
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined; // cannot watch here (unsupported file system): rely on polling
    }
    const interval = this.options.pollIntervalMs ?? 2000;
    if (interval > 0) {
      let statting = false;
      this.poll = setInterval(() => {
        if (statting) return;
        statting = true;
        stat(this.path, (error, stats) => {
          statting = false;
          const now = error ? `missing:${error.code ?? ''}` : signatureOf(stats);
          if (this.closed || now === this.lastStat) return;
          this.lastStat = now;
          this.trigger();
        });
      }, interval);
      this.poll.unref();
    }
  }

  private trigger(): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.schedule(false);
    }, this.options.debounceMs ?? 100);
    this.debounce.unref();
  }

  /** Runs reloads one after another; change events arriving while one waits to start join it. */
  private schedule(force: boolean): Promise<boolean> {
    if (!force && this.queued) return this.queued;
    const run: Promise<boolean> = this.tail
      .then(() => {
        if (this.queued === run) this.queued = undefined;
        return this.readOnce(force);
      })
      .catch(() => false);
    this.queued = run;
    this.tail = run;
    return run;
  }

  /** Reads, validates and swaps. Never throws: problems go to onInvalid. */
  private async readOnce(force: boolean): Promise<boolean> {
    if (this.closed) return false;
    // Before reading, as in the constructor: the poll then sees only changes made after this read, instead of
    // reading and hashing again a change fs.watch already reloaded.
    this.lastStat = statSignature(this.path);
    let text: string | undefined;
    let failure: DuoMfaError | undefined;
    try {
      text = await readPolicyTextAsync(this.path, this.source);
    } catch (error) {
      failure = asPolicyError(error, this.source);
    }
    const seen = text === undefined ? `error:${failure?.message}` : digest(text);
    if (this.closed || (!force && seen === this.lastSeen)) return false;
    this.lastSeen = seen;

    let next: CompiledPolicy | undefined;
    if (text !== undefined) {
      try {
        next = compilePolicy(parsePolicyText(text, this.source), {
          env: this.options.env,
          source: this.source,
        });
      } catch (error) {
        failure = asPolicyError(error, this.source);
      }
    }
    if (this.closed) return false;
    if (next === undefined) {
      this.notify(() => (this.options.onInvalid ?? warn)(failure ?? asPolicyError(undefined, this.source)));
      return false;
    }
    if (next.version === this.policy.version) return false;
    this.policy = next; // the swap: one reference assignment
    const applied = next;
    this.notify(() => this.options.onReload?.(applied));
    return true;
  }

  /** A throwing callback must not stop the watcher: it becomes a process warning. */
  private notify(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      process.emitWarning(
        `express-duo-mfa: a policy reload callback threw: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

function asPolicyError(error: unknown, source: string): DuoMfaError {
  if (isDuoMfaError(error)) return error;
  return policyInvalidError([{ path: ROOT_PATH, message: 'it could not be reloaded' }], source, error);
}

function warn(error: DuoMfaError): void {
  process.emitWarning(`${error.message}\nThe last good MFA policy stays in force.`, { code: error.code });
}

function statSignature(path: string): string {
  try {
    return signatureOf(statSync(path));
  } catch (error) {
    return `missing:${(error as NodeJS.ErrnoException).code ?? ''}`;
  }
}

function signatureOf(stats: Stats): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
