// The hot-reload watcher behind openPolicy(): watches the file's directory, debounces, swaps on valid changes.

import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { type DuoMfaError, isDuoMfaError } from '../errors';
import { compilePolicy } from './compile';
import { FileReloads, statSignature } from './file-watch';
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
  private readonly reloads: FileReloads;
  /** What the last read saw (content hash or read error), so duplicate change events do nothing. */
  private lastSeen: string;
  private readonly path: string;

  constructor(
    private readonly source: string,
    private readonly options: OpenPolicyOptions,
  ) {
    this.path = resolve(source);
    const statBefore = statSignature(this.path); // before reading: a change after this is seen by the next poll
    const text = readPolicyText(this.path, source);
    this.policy = compilePolicy(parsePolicyText(text, source), { env: options.env, source });
    this.lastSeen = digest(text);
    this.reloads = new FileReloads(this.path, (force) => this.readOnce(force), options, statBefore);
  }

  current(): CompiledPolicy {
    return this.policy;
  }

  reload(): Promise<boolean> {
    return this.reloads.schedule(true);
  }

  close(): void {
    this.closed = true;
    this.reloads.close();
  }

  /** Reads, validates and swaps. Never throws: problems go to onInvalid. */
  private async readOnce(force: boolean): Promise<boolean> {
    if (this.closed) return false;
    await this.reloads.reading();
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

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
