// The heavy work on a single policy file — index it, splice one tenant into it — run inline or in a worker thread.

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DuoMfaError, isDuoMfaError } from '../errors';
import { isPlainObject } from '../util/objects';
import { indexPolicyFile, type FileIndex, type IndexedTenant, type TenantCheck } from './file-index';
import { hasBom, scanPolicy } from './file-scan';
import { policyInvalidError, ROOT_PATH } from './issues';
import { parsePolicyText, readError } from './read';
import { settingsConflict } from './source';
import type { PolicyIssue } from './types';
import { tenantVersion } from './version';

/** Re-index the file; only tenants whose bytes changed since `previous` are checked. */
export interface IndexJob {
  readonly type: 'index';
  readonly path: string;
  readonly source: string;
  /** The tenants in force (ids, hashes, byte lengths): see packTenants(). */
  readonly previous: PackedTenants;
  /**
   * The whole file's sha256 when last indexed: the same file again is answered `unchanged`. Undefined: do not
   * compare (nor hash the whole file: for a large file, what changed is found tenant by tenant anyway).
   */
  readonly lastDigest: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Replace (or add) one tenant's definition in the file, if its stored version is still `expectedVersion`. */
export interface WriteJob {
  readonly type: 'write';
  /** The real path (symlinks resolved): the link itself is kept. */
  readonly path: string;
  readonly source: string;
  readonly id: string;
  /** The tenant's new definition. */
  readonly raw: Readonly<Record<string, unknown>>;
  readonly expectedVersion: string | null;
}

/** Read one tenant's definition as stored now (the settings API's read; a load that found the file changed). */
export interface ReadJob {
  readonly type: 'read';
  readonly path: string;
  readonly source: string;
  readonly id: string;
}

export type FileJob = IndexJob | WriteJob | ReadJob;

/**
 * Tenants' offsets and hashes in a form that crosses a thread boundary cheaply: one list of ids, one typed array of
 * [start, end] pairs, and the hashes (44 characters each) in one string — not 10,000 little objects to clone.
 */
export interface PackedTenants {
  readonly ids: readonly string[];
  readonly offsets: Float64Array;
  readonly hashes: string;
}

const HASH_LENGTH = 44; // sha256 in base64

/**
 * The tenants of an index, packed.
 *
 * @example
 * ```ts
 * const packed = packTenants(index.tenants);
 * ```
 */
export function packTenants(tenants: ReadonlyMap<string, IndexedTenant>): PackedTenants {
  const ids: string[] = [];
  const offsets = new Float64Array(tenants.size * 2);
  const hashes: string[] = [];
  let i = 0;
  for (const [id, entry] of tenants) {
    ids.push(id);
    offsets[i++] = entry.start;
    offsets[i++] = entry.end;
    hashes.push(entry.hash);
  }
  return { ids, offsets, hashes: hashes.join('') };
}

/**
 * The tenants of packTenants(), unpacked.
 *
 * @example
 * ```ts
 * const tenants = unpackTenants(result.tenants);
 * ```
 */
export function unpackTenants(packed: PackedTenants): Map<string, IndexedTenant> {
  const tenants = new Map<string, IndexedTenant>();
  packed.ids.forEach((id, index) => {
    tenants.set(id, {
      start: packed.offsets[index * 2]!,
      end: packed.offsets[index * 2 + 1]!,
      hash: packed.hashes.slice(index * HASH_LENGTH, (index + 1) * HASH_LENGTH),
    });
  });
  return tenants;
}

/** A DuoMfaError as data, to cross a thread boundary. */
export interface SerializedError {
  readonly code: string;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export type IndexResult =
  | { readonly ok: true; readonly unchanged: true; readonly digest: string }
  | {
      readonly ok: true;
      readonly unchanged: false;
      readonly digest: string;
      readonly tenants: PackedTenants;
      readonly defaultTenant: string | undefined;
      readonly size: number;
      /** The kept file (small files, or one that had to be re-serialized). */
      readonly buffer: Buffer | undefined;
      readonly checked: readonly (readonly [string, TenantCheck])[];
      readonly headIssues: readonly PolicyIssue[];
    }
  | { readonly ok: false; readonly digest: string | undefined; readonly error: SerializedError };

export type WriteResult =
  { readonly ok: true; readonly version: string } | { readonly ok: false; readonly error: SerializedError };

/** The tenant's definition as JSON text (undefined: not in the file), or why the file cannot be read. */
export type ReadResult =
  | { readonly ok: true; readonly text: string | undefined }
  | { readonly ok: false; readonly error: SerializedError };

/**
 * Runs one job on this thread. The worker (file-worker.ts) calls the same function off the main thread.
 *
 * @example
 * ```ts
 * const result = await runFileJob({ type: 'index', path, source: path, previous: [], lastDigest: undefined, env: {} });
 * ```
 */
export async function runFileJob(job: IndexJob): Promise<IndexResult>;
export async function runFileJob(job: WriteJob): Promise<WriteResult>;
export async function runFileJob(job: ReadJob): Promise<ReadResult>;
export async function runFileJob(job: FileJob): Promise<FileJobResult>;
export async function runFileJob(job: FileJob): Promise<FileJobResult> {
  if (job.type === 'index') return indexJob(job);
  if (job.type === 'write') return writeJob(job);
  return readJob(job);
}

export type FileJobResult = IndexResult | WriteResult | ReadResult;

/**
 * The FileIndex an IndexResult describes.
 *
 * @example
 * ```ts
 * if (result.ok && !result.unchanged) index = fileIndexOf(result);
 * ```
 */
export function fileIndexOf(result: Extract<IndexResult, { unchanged: false }>): FileIndex {
  return {
    tenants: unpackTenants(result.tenants),
    defaultTenant: result.defaultTenant,
    buffer: result.buffer,
    size: result.size,
  };
}

/**
 * A DuoMfaError as data, and back.
 *
 * @example
 * ```ts
 * throw deserializeError(serializeError(error));
 * ```
 */
export function serializeError(error: unknown): SerializedError {
  if (isDuoMfaError(error)) return { code: error.code, message: error.message, details: error.details };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'ERR_INTERNAL', message, details: {} };
}

export function deserializeError(error: SerializedError): DuoMfaError {
  return new DuoMfaError(error.code as DuoMfaError['code'], error.message, { details: { ...error.details } });
}

/** In the worker thread, files are read in one synchronous call: faster than chunked reads, and off the main thread. */
let readWhole: (path: string) => Promise<Buffer> = (path) => readFile(path);

/**
 * Called by the worker thread: read files synchronously there.
 *
 * @example
 * ```ts
 * readFilesSynchronously();
 * ```
 */
export function readFilesSynchronously(): void {
  readWhole = (path) => Promise.resolve(readIntoScratch(path));
}

/**
 * One buffer, kept and reused from one read to the next (grown when a file outgrows it): allocating and faulting in
 * 300 MB of fresh memory on every reload takes the process's memory-map lock for long enough to stall the main
 * thread, whose own allocations need it too. What is read into it must not outlive the job (nothing is kept).
 */
let scratch: Buffer | undefined;

function readIntoScratch(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (scratch === undefined || scratch.length < size)
      scratch = Buffer.allocUnsafeSlow(Math.ceil(size * 1.1) + 1024);
    let read = 0;
    while (read < size) {
      const bytes = readSync(fd, scratch, read, size - read, read);
      if (bytes === 0) break; // the file was cut short while it was read: what was read is indexed (and refused)
      read += bytes;
    }
    return scratch.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

async function indexJob(job: IndexJob): Promise<IndexResult> {
  let bytes: Buffer;
  try {
    bytes = await readWhole(job.path);
  } catch (error) {
    return { ok: false, digest: undefined, error: serializeError(readError(job.source, error)) };
  }
  const digest = job.lastDigest === undefined ? '' : createHash('sha256').update(bytes).digest('base64');
  if (digest === job.lastDigest) return { ok: true, unchanged: true, digest };
  const outcome = indexPolicyFile(bytes, {
    source: job.source,
    check: 'changed',
    previous: new Map(
      [...unpackTenants(job.previous)].map(([id, entry]) => [
        id,
        { hash: entry.hash, length: entry.end - entry.start },
      ]),
    ),
    env: job.env,
    // Encrypted secrets are opened on the main thread when the tenant is compiled: the key never leaves it.
    skipEncryptedSecrets: true,
  });
  if (!outcome.ok) return { ok: false, digest, error: serializeError(outcome.error) };
  const { index } = outcome;
  return {
    ok: true,
    unchanged: false,
    digest,
    tenants: packTenants(index.tenants),
    defaultTenant: index.defaultTenant,
    size: index.size,
    buffer: index.buffer,
    checked: [...outcome.checked],
    headIssues: outcome.headIssues,
  };
}

async function readJob(job: ReadJob): Promise<ReadResult> {
  try {
    const bytes = await readWhole(job.path).catch((error: unknown) => {
      throw readError(job.source, error);
    });
    const layout = scanPolicy(bytes);
    if (layout?.tenants?.members) {
      const member = layout.tenants.members.find((candidate) => candidate.key === job.id);
      return { ok: true, text: member ? bytes.toString('utf8', member.start, member.end) : undefined };
    }
    const doc = parsePolicyText(bytes.toString('utf8', hasBom(bytes) ? 3 : 0), job.source);
    const tenants = isPlainObject(doc) && isPlainObject(doc.tenants) ? doc.tenants : {};
    return { ok: true, text: Object.hasOwn(tenants, job.id) ? JSON.stringify(tenants[job.id]) : undefined };
  } catch (error) {
    return { ok: false, error: serializeError(error) };
  }
}

async function writeJob(job: WriteJob): Promise<WriteResult> {
  try {
    const before = await readWhole(job.path);
    const after = spliceTenant(before, job);
    await atomicWrite(job.path, after);
    return { ok: true, version: tenantVersion(job.raw) };
  } catch (error) {
    return { ok: false, error: serializeError(error) };
  }
}

/**
 * The file's new bytes with one tenant's definition replaced (or added at the end of `tenants`): every other byte
 * is kept as it is — other tenants, `$schema`, key order, `{ env }` references, formatting. The new definition is
 * written as 2-space JSON at the indentation of its neighbours (compact when the file is on one line). Throws
 * ERR_SETTINGS_CONFLICT when the stored version is not `expectedVersion`, ERR_POLICY_INVALID when the file is not
 * a policy document any more.
 */
function spliceTenant(bytes: Buffer, job: WriteJob): Buffer {
  const layout = scanPolicy(bytes);
  if (layout?.tenants?.members === undefined) return rewriteWhole(bytes, job); // not delimitable: parse it all
  const { tenants } = layout;
  const member = tenants.members!.find((candidate) => candidate.key === job.id);
  const current = member ? tenantVersion(JSON.parse(bytes.toString('utf8', member.start, member.end))) : null;
  if (current !== job.expectedVersion) throw settingsConflict(job.id, job.expectedVersion, current);

  if (member) {
    const indent = indentationAt(bytes, member.keyStart);
    return Buffer.concat([
      bytes.subarray(0, member.start),
      Buffer.from(render(job.raw, indent), 'utf8'),
      bytes.subarray(member.end),
    ]);
  }
  const last = tenants.members!.at(-1);
  if (last === undefined) {
    // `"tenants": {}`: the first member goes inside the braces.
    const outer = indentationAt(bytes, tenants.start);
    const indent = outer === undefined ? undefined : `${outer}  `;
    const text =
      indent === undefined
        ? `${JSON.stringify(job.id)}:${render(job.raw, indent)}`
        : `\n${indent}${JSON.stringify(job.id)}: ${render(job.raw, indent)}\n${outer}`;
    return Buffer.concat([
      bytes.subarray(0, tenants.start + 1),
      Buffer.from(text, 'utf8'),
      bytes.subarray(tenants.end - 1),
    ]);
  }
  const indent = indentationAt(bytes, last.keyStart);
  const text =
    indent === undefined
      ? `,${JSON.stringify(job.id)}:${render(job.raw, indent)}`
      : `,\n${indent}${JSON.stringify(job.id)}: ${render(job.raw, indent)}`;
  return Buffer.concat([bytes.subarray(0, last.end), Buffer.from(text, 'utf8'), bytes.subarray(last.end)]);
}

/** The fallback for a file the scanner cannot delimit: parsed whole, changed, written back as 2-space JSON. */
function rewriteWhole(bytes: Buffer, job: WriteJob): Buffer {
  let doc: unknown;
  try {
    doc = parsePolicyText(bytes.toString('utf8', hasBom(bytes) ? 3 : 0), job.source);
  } catch (error) {
    throw policyInvalidError(
      [{ path: ROOT_PATH, message: 'the file is not valid JSON any more: fix it before changing settings' }],
      job.source,
      error,
    );
  }
  if (!isPlainObject(doc) || !isPlainObject(doc.tenants)) {
    throw policyInvalidError(
      [
        {
          path: 'tenants',
          message: 'the file has no "tenants" object any more: fix it before changing settings',
        },
      ],
      job.source,
    );
  }
  const tenants = doc.tenants;
  const current = Object.hasOwn(tenants, job.id) ? tenantVersion(tenants[job.id]) : null;
  if (current !== job.expectedVersion) throw settingsConflict(job.id, job.expectedVersion, current);
  Object.defineProperty(tenants, job.id, {
    value: job.raw,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return Buffer.from(`${JSON.stringify(doc, null, 2)}\n`, 'utf8');
}

/** The whitespace before `offset` on its line, or undefined when something else precedes it there (compact JSON). */
function indentationAt(bytes: Buffer, offset: number): string | undefined {
  let p = offset;
  while (p > 0 && (bytes[p - 1] === 0x20 || bytes[p - 1] === 0x09)) p--;
  if (p > 0 && bytes[p - 1] !== 0x0a) return undefined;
  return bytes.toString('utf8', p, offset);
}

/** A tenant's definition as 2-space JSON whose lines continue at `indent` (compact without one). */
function render(raw: unknown, indent: string | undefined): string {
  if (indent === undefined) return JSON.stringify(raw);
  return JSON.stringify(raw, null, 2).replace(/\n/g, `\n${indent}`);
}

/**
 * Writes a file so that a crash leaves either the old or the new content, never a mix or a truncated file: a
 * temporary file in the same directory (named with a leading dot, so directory watchers ignore it), fsync,
 * rename over the target, fsync of the directory. The target's permissions are kept.
 *
 * @example
 * ```ts
 * await atomicWrite('/etc/app/duo-mfa.d/acme.json', Buffer.from(text));
 * ```
 */
export async function atomicWrite(target: string, data: Buffer): Promise<void> {
  const dir = dirname(target);
  const temporary = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let mode = 0o644;
  try {
    mode = (await stat(target)).mode & 0o777;
  } catch {
    // a new file: the default mode
  }
  const handle = await open(temporary, 'wx', mode);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  try {
    const directory = await open(dir, 'r');
    try {
      await directory.sync(); // the rename itself survives a power cut
    } finally {
      await directory.close();
    }
  } catch {
    // some platforms cannot open or sync a directory: the rename is still atomic
  }
}
