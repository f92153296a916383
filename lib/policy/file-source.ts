// The single policy file as a per-tenant source: indexed at start, tenants compiled when needed, reloaded off-thread.

import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DuoMfaError } from '../errors';
import { tenantIssues } from './compile';
import { digest, indexIssues, indexPolicyFile, KEEP_IN_MEMORY_BYTES, type FileIndex } from './file-index';
import {
  deserializeError,
  fileIndexOf,
  packTenants,
  type IndexJob,
  type IndexResult,
  type PackedTenants,
} from './file-jobs';
import { policyInvalidError, ROOT_PATH } from './issues';
import { withFileLock } from './lock';
import { FileJobRunner, type JobCounts } from './off-thread';
import { readError } from './read';
import { storedTenant, type StoredTenant, type WriteTenantOptions } from './source';
import {
  TenantCache,
  warnOperator,
  type Fetched,
  type TenantChange,
  type TenantSourceOptions,
} from './tenant-cache';
import { FileReloads, statSignature } from './file-watch';

/** Files up to this size are re-indexed on the main thread (a few ms); larger ones in the worker. */
const INLINE_BYTES = KEEP_IN_MEMORY_BYTES;

/** Recompiling many changed tenants yields to the event loop after this long. */
const SLICE_MS = 8;

/**
 * One policy JSON file, read tenant by tenant. At start the file is read and checked whole, synchronously (an
 * invalid file throws `ERR_POLICY_INVALID` listing every problem), and indexed: each tenant's byte offsets and
 * hash. A tenant is compiled the first time it is needed, from its bytes only. On a change the file is re-indexed
 * (in a worker thread when it is large) and only tenants whose bytes changed are checked and recompiled; one
 * tenant's invalid edit keeps its last good version (S49) and never affects another; a broken file as a whole
 * (not JSON, deleted) keeps every tenant as it was.
 *
 * @example
 * ```ts
 * const source = new FileTenantSource('./duo-mfa.json', { onChange, onInvalid });
 * const entry = source.peek('acme') ?? (await source.load('acme'));
 * ```
 */
export class FileTenantSource extends TenantCache {
  readonly writable = true;
  readonly description: string;
  private readonly path: string;
  private index: FileIndex;
  /** The index's tenants as the worker takes them: kept, so a reload does not pack 10,000 tenants again. */
  private packed: PackedTenants;
  private lastDigest: string | undefined;
  /** The problem last reported for the file as a whole, so a broken file is reported once, not on every event. */
  private lastProblem: string | undefined;
  private readonly runner: FileJobRunner;
  private readonly reloads: FileReloads;

  constructor(path: string, options: TenantSourceOptions) {
    super(options);
    this.description = path;
    this.path = resolve(path);
    const statBefore = statSignature(this.path); // before reading: a change after this is seen by the next poll
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.path);
    } catch (error) {
      throw readError(path, error);
    }
    const outcome = indexPolicyFile(bytes, {
      source: path,
      check: 'all',
      env: options.env,
      secretsKey: this.secretsKey,
    });
    if (!outcome.ok) throw outcome.error;
    const issues = indexIssues(outcome);
    if (issues.length > 0) throw policyInvalidError(issues, path);
    this.index = outcome.index;
    this.packed = packTenants(outcome.index.tenants);
    this.setIds([...outcome.index.tenants.keys()], outcome.index.defaultTenant);
    // A large watched file is re-indexed in the worker: started now, and kept, so a change never waits for it; and
    // warmed up with one re-index of its own (its answer dropped), so the first change finds its read buffer and
    // code ready.
    const large = bytes.length > INLINE_BYTES && (options.watch ?? true);
    this.runner = new FileJobRunner({
      keepAlive: large,
      ...(options.startWorker ? { startWorker: options.startWorker } : {}),
      onFallback: (message) => warnOperator(options, message, 'DUO_MFA_POLICY_WORKER'),
    });
    if (large) this.runner.warm(this.indexJob(bytes.length, false));

    this.reloads = new FileReloads(this.path, (force) => this.reloadOnce(force), options, statBefore);
  }

  /**
   * Where this source's file jobs (re-index, read, write) ran so far: in the worker thread, on this thread as
   * meant (files up to 4 MB), or on this thread because the worker could not run them. For tests and diagnostics.
   */
  get jobsRan(): Readonly<JobCounts> {
    return this.runner.ran;
  }

  /** Re-reads the file now (e.g. on SIGHUP). Resolves true when tenants changed. */
  reload(): Promise<boolean> {
    return this.reloads.schedule(true);
  }

  override close(): void {
    super.close();
    this.reloads.close();
    this.runner.close();
  }

  override async readTenant(id: string): Promise<StoredTenant> {
    const text = await this.readStored(id);
    try {
      return storedTenant(text === undefined ? undefined : JSON.parse(text));
    } catch (error) {
      throw unavailable(this.description, error);
    }
  }

  override async writeTenant(
    id: string,
    raw: Record<string, unknown>,
    options: WriteTenantOptions,
  ): Promise<string> {
    const issues = tenantIssues(id, raw, {
      env: this.options.env,
      secretsKey: this.secretsKey,
      paths: 'tenant',
    });
    if (issues.length > 0) {
      throw policyInvalidError(issues, `${this.description} (tenant ${JSON.stringify(id)})`, undefined, {
        tenant: id,
      });
    }
    const target = await realpath(this.path).catch(() => this.path);
    const version = await withFileLock(target, async () => {
      const size = (await stat(target)).size;
      const result = await this.runner.run(
        {
          type: 'write',
          path: target,
          source: this.description,
          id,
          raw,
          expectedVersion: options.expectedVersion,
        },
        size <= INLINE_BYTES,
      );
      if (!result.ok) throw deserializeError(result.error);
      return result.version;
    });
    await this.reloads.schedule(true); // in force here before this resolves, not when the watcher fires
    await this.load(id); // compiled: its settings page and its users come next
    return version;
  }

  protected async fetch(id: string): Promise<Fetched> {
    const entry = this.index.tenants.get(id);
    if (entry === undefined) return { kind: 'missing' };
    const bytes = await this.readSlice(entry.start, entry.end);
    if (bytes !== undefined && digest(bytes, 0, bytes.length) === entry.hash) {
      return { kind: 'found', raw: JSON.parse(bytes.toString('utf8')) };
    }
    // The file changed since it was indexed: read this tenant from it as it is now (the watcher re-indexes it),
    // rather than wait for a reload, which may itself be waiting for this load.
    this.reloads.changed();
    const text = await this.readStored(id);
    if (text === undefined) return { kind: 'missing' };
    try {
      return { kind: 'found', raw: JSON.parse(text) };
    } catch {
      return {
        kind: 'unreadable',
        issues: [{ path: ROOT_PATH, message: 'not valid JSON (the file is being changed?)' }],
      };
    }
  }

  /** The tenant from the indexed file without waiting, when its bytes still are what was indexed. */
  protected override fetchSync(id: string): Fetched | undefined {
    const entry = this.index.tenants.get(id);
    if (entry === undefined) return { kind: 'missing' };
    const bytes = this.readSliceSync(entry.start, entry.end);
    if (bytes === undefined || digest(bytes, 0, bytes.length) !== entry.hash) return undefined;
    return { kind: 'found', raw: JSON.parse(bytes.toString('utf8')) };
  }

  /** One tenant's definition as the file holds it now, as JSON text; undefined when it is not there. */
  private async readStored(id: string): Promise<string | undefined> {
    const size = await stat(this.path).then(
      (stats) => stats.size,
      () => 0,
    );
    const result = await this.runner.run(
      { type: 'read', path: this.path, source: this.description, id },
      size <= INLINE_BYTES,
    );
    if (!result.ok) throw unavailable(this.description, deserializeError(result.error));
    return result.text;
  }

  /** The bytes of a tenant: from the kept file, or read from disk at their offset. */
  private readSliceSync(start: number, end: number): Buffer | undefined {
    const kept = this.index.buffer;
    if (kept) return kept.subarray(start, end);
    let fd: number | undefined;
    try {
      fd = openSync(this.path, 'r');
      const bytes = Buffer.alloc(end - start);
      return readSync(fd, bytes, 0, bytes.length, start) === bytes.length ? bytes : undefined;
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  private async readSlice(start: number, end: number): Promise<Buffer | undefined> {
    const kept = this.index.buffer;
    if (kept) return kept.subarray(start, end);
    let handle;
    try {
      handle = await open(this.path, 'r');
      const bytes = Buffer.alloc(end - start);
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, start);
      return bytesRead === bytes.length ? bytes : undefined;
    } catch {
      return undefined;
    } finally {
      await handle?.close();
    }
  }

  /** Re-indexes the file and applies what changed, tenant by tenant. Never throws: problems go to onInvalid. */
  private async reloadOnce(force: boolean): Promise<boolean> {
    if (this.closed) return false;
    const size = (await this.reloads.reading())?.size ?? 0;
    let result: IndexResult;
    try {
      result = await this.runner.run(this.indexJob(size, force), size <= INLINE_BYTES);
    } catch (error) {
      if (this.closed) return false;
      result = {
        ok: false,
        digest: undefined,
        error: { code: 'ERR_INTERNAL', message: String(error), details: {} },
      };
    }
    if (this.closed) return false;
    if (result.ok && result.unchanged) return false;
    this.lastDigest = result.digest;
    if (!result.ok) return this.refuseFile(deserializeError(result.error));
    if (result.headIssues.length > 0)
      return this.refuseFile(policyInvalidError(result.headIssues, this.description));
    this.lastProblem = undefined;
    // The worker's answer was decoded in its own turn of the event loop; building the index takes the next one.
    if (size > INLINE_BYTES) await new Promise((resolve) => setImmediate(resolve));
    if (this.closed) return false;

    const next = fileIndexOf(result);
    // Unpacking, swapping and comparing 10,000 tenants each take milliseconds: one turn each, not one long turn.
    if (size > INLINE_BYTES) await new Promise((resolve) => setImmediate(resolve));
    if (this.closed) return false;
    const previous = this.index;
    const defaultChanged = next.defaultTenant !== previous.defaultTenant;
    this.index = next;
    this.packed = result.tenants;
    this.setIds([...next.tenants.keys()], next.defaultTenant);
    if (size > INLINE_BYTES) await new Promise((resolve) => setImmediate(resolve));
    if (this.closed) return false;

    const changes: TenantChange[] = [];
    for (const id of previous.tenants.keys()) {
      if (!next.tenants.has(id)) {
        this.versions.delete(id);
        changes.push({ tenant: id, version: null });
      }
    }
    let sliceStart = performance.now();
    for (const [id, check] of result.checked) {
      const known = this.versions.get(id);
      if (check.version !== undefined) this.versions.set(id, check.version);
      if (check.ok) {
        // Compiled tenants are recompiled now; others are only forgotten, and read when next needed.
        const change = this.isTracked(id) ? await this.refresh(id) : undefined;
        if (change) changes.push(change);
        else if (check.version !== undefined && check.version !== known && !this.isLoaded(id))
          changes.push({ tenant: id, version: check.version }); // formatting-only edits keep the version
      } else {
        await this.refresh(id, { kind: 'unreadable', issues: check.issues });
      }
      if (performance.now() - sliceStart > SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve)); // many tenants changed: let requests through
        sliceStart = performance.now();
      }
    }
    this.reportChange(changes, defaultChanged ? (next.defaultTenant ?? null) : undefined);
    return changes.length > 0 || defaultChanged;
  }

  /** The job that re-indexes the file (`size`: its size now) against the tenants in force. */
  private indexJob(size: number, force: boolean): IndexJob {
    return {
      type: 'index',
      path: this.path,
      source: this.description,
      previous: this.packed,
      // Small files: the same content again (a duplicate event) is recognised by one hash and skipped.
      lastDigest: size > INLINE_BYTES ? undefined : force ? '' : (this.lastDigest ?? ''),
      env: { ...(this.options.env ?? process.env) },
    };
  }

  /** The file as a whole is broken (not JSON, unreadable, bad top level): everything stays as it is. */
  private refuseFile(error: DuoMfaError): false {
    if (error.message !== this.lastProblem) {
      this.lastProblem = error.message;
      this.reportInvalid(error);
    }
    return false;
  }
}

function unavailable(source: string, cause: unknown): DuoMfaError {
  return new DuoMfaError('ERR_POLICY_UNAVAILABLE', `the MFA policy ${source} cannot be read now`, {
    cause,
    details: { source },
  });
}
