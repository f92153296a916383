// A policy directory — one <tenantId>.json per tenant and an optional _defaults.json — read tenant by tenant.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DuoMfaError } from '../errors';
import { defaultTenantIssues, tenantIssues } from './compile';
import { atomicWrite } from './file-jobs';
import { issuesFromZod, policyErrorMap, policyInvalidError, ROOT_PATH } from './issues';
import { withFileLock } from './lock';
import { parsePolicyText, readError } from './read';
import { allowedKeysAt, PolicyHeadSchema } from './schema';
import { settingsConflict, storedTenant, type StoredTenant, type WriteTenantOptions } from './source';
import { TenantCache, type Fetched, type TenantChange, type TenantSourceOptions } from './tenant-cache';
import type { PolicyIssue } from './types';
import { tenantVersion } from './version';
import { DirectoryWatcher } from './watcher';
import { currentSignature, signatureOf, statSignature } from './file-watch';

/** The file holding the policy's top-level keys (`defaultTenant`, `$schema`). */
export const DEFAULTS_FILE = '_defaults.json';

/**
 * A tenant id that can be a file name in a policy directory: letters, digits, `.`, `_`, `@`, `+` and `-`, starting
 * with a letter or a digit, at most 200 characters — no path separators, no names a file system treats specially
 * (`.`/`..`, hidden files), and `_…` left for the directory's own files.
 */
export const TENANT_FILE_ID = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$/;

/** The tracked files are stat-ed on every this many polls (the directory itself on every poll). */
const FILE_POLL_EVERY = 5;

/**
 * The tenant id a directory entry holds, `'defaults'` for `_defaults.json`, `'ignored'` for names that are not
 * policy files (not `.json`, or hidden: editor swap files), `'invalid'` for a `.json` file whose name is not a
 * valid tenant id.
 *
 * @example
 * ```ts
 * tenantFileId('acme.json'); // 'acme'
 * tenantFileId('.acme.json.swp'); // { ignored }
 * ```
 */
export function tenantFileId(
  name: string,
): { readonly id: string } | { readonly kind: 'defaults' | 'ignored' | 'invalid' } {
  if (name.startsWith('.') || !name.endsWith('.json')) return { kind: 'ignored' };
  if (name === DEFAULTS_FILE) return { kind: 'defaults' };
  const id = name.slice(0, -'.json'.length);
  return TENANT_FILE_ID.test(id) ? { id } : { kind: 'invalid' };
}

/** The message for a `.json` file whose name is not a valid tenant id (the file is ignored). */
export const INVALID_NAME_MESSAGE =
  'the file name is not a valid tenant id (letters, digits, ".", "_", "@", "+" and "-", starting with a letter or a digit): the file is ignored, and its users are refused as an unknown tenant';

/**
 * One policy directory. At start the directory is listed and `_defaults.json` is read and checked (a missing
 * directory, or an invalid `_defaults.json`, throws `ERR_POLICY_INVALID`); tenant files are read when first
 * needed, so start-up does not grow with the number of tenants. The directory is watched: a changed file reloads
 * that tenant only, a new file adds a tenant, a deleted file removes it. One tenant's invalid file keeps its last
 * good version, or refuses only that tenant (503), and never stops start-up (S49). Problems name the file, with
 * paths inside it (`mfa.enabled`).
 *
 * @example
 * ```ts
 * const source = new DirectoryTenantSource('./duo-mfa.d', { onChange, onInvalid });
 * source.tenantIds(); // ['acme', 'globex']
 * ```
 */
export class DirectoryTenantSource extends TenantCache {
  readonly writable = true;
  readonly description: string;
  protected override readonly issuePaths = 'tenant' as const;
  private readonly dir: string;
  /** Stat signature of each tenant file whose content is in use (compiled, or refused and reported). */
  private readonly tracked = new Map<string, string>();
  private defaultsSignature: string;
  private dirSignature: string;
  /** `.json` names that are not valid ids, reported once each. */
  private readonly badNames = new Set<string>();
  private readonly watcher: DirectoryWatcher | undefined;
  private polls = 0;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(path: string, options: TenantSourceOptions) {
    super(options);
    this.description = path;
    this.dir = resolve(path);
    const dirStats = statSync(this.dir, { throwIfNoEntry: false });
    if (!dirStats?.isDirectory()) {
      throw policyInvalidError(
        [{ path: ROOT_PATH, message: dirStats ? 'it is not a directory' : 'the directory does not exist' }],
        path,
      );
    }
    this.dirSignature = signatureOf(dirStats);
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (error) {
      throw readError(path, error);
    }
    const ids: string[] = [];
    const invalidNames: string[] = [];
    for (const name of names) {
      const kind = tenantFileId(name);
      if ('id' in kind) ids.push(kind.id);
      else if (kind.kind === 'invalid') invalidNames.push(name);
    }
    ids.sort();
    this.defaultsSignature = statSignature(join(this.dir, DEFAULTS_FILE));
    const defaults = this.readDefaultsSync(ids);
    if (!defaults.ok) throw policyInvalidError(defaults.issues, path);
    this.setIds(ids, defaults.defaultTenant);
    for (const name of invalidNames.sort()) this.reportBadName(name);

    if (options.watch ?? true) {
      this.watcher = new DirectoryWatcher(this.dir, {
        accept: (name) => {
          const kind = tenantFileId(name);
          return 'id' in kind || kind.kind !== 'ignored';
        },
        onChange: (changed) => void this.enqueue(() => this.apply(changed)),
        poll: () => this.poll(),
        debounceMs: options.debounceMs,
        pollIntervalMs: options.pollIntervalMs,
      });
    }
  }

  /** Looks at the whole directory again now (e.g. on SIGHUP). Resolves when applied. */
  rescan(): Promise<void> {
    return this.enqueue(() => this.apply(null));
  }

  override close(): void {
    super.close();
    this.watcher?.close();
  }

  override async readTenant(id: string): Promise<StoredTenant> {
    if (!TENANT_FILE_ID.test(id)) return storedTenant(undefined);
    const bytes = await readFile(this.fileOf(id)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw unavailable(this.description, readError(`${this.description}/${id}.json`, error));
    });
    return storedOf(bytes);
  }

  override async writeTenant(
    id: string,
    raw: Record<string, unknown>,
    options: WriteTenantOptions,
  ): Promise<string> {
    const where = `${this.description}/${id}.json`;
    if (!TENANT_FILE_ID.test(id)) {
      throw policyInvalidError(
        [
          {
            path: ROOT_PATH,
            message: `tenant id ${JSON.stringify(id)}: ${INVALID_NAME_MESSAGE.split(':')[0]}`,
          },
        ],
        where,
        undefined,
        { tenant: id },
      );
    }
    const issues = tenantIssues(id, raw, {
      env: this.options.env,
      secretsKey: this.secretsKey,
      paths: 'tenant',
    });
    if (issues.length > 0) throw policyInvalidError(issues, where, undefined, { tenant: id });
    const file = this.fileOf(id);
    const version = await withFileLock(file, async () => {
      const current = storedOf(
        await readFile(file).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return undefined;
          throw unavailable(this.description, readError(where, error));
        }),
      ).version;
      if (current !== options.expectedVersion) throw settingsConflict(id, options.expectedVersion, current);
      await atomicWrite(file, Buffer.from(`${JSON.stringify(raw, null, 2)}\n`, 'utf8'));
      return tenantVersion(raw);
    });
    // In force here at once, not when the watcher fires (which then finds nothing new).
    await this.enqueue(() => this.apply(new Set([`${id}.json`])));
    await this.load(id); // compiled: its settings page and its users come next
    return version;
  }

  protected async fetch(id: string): Promise<Fetched> {
    const file = this.fileOf(id);
    const signature = await currentSignature(file);
    const read = await readFile(file).then(
      (bytes) => ({ bytes }),
      (error: unknown) => ({ error }),
    );
    return this.fetched(id, file, signature, read);
  }

  /** The tenant's file read without waiting (it is small): what fetch() does, synchronously. */
  protected override fetchSync(id: string): Fetched {
    const file = this.fileOf(id);
    const signature = statSignature(file); // gone: readFileSync says so below
    let read: { bytes: Buffer } | { error: unknown };
    try {
      read = { bytes: readFileSync(file) };
    } catch (error) {
      read = { error };
    }
    return this.fetched(id, file, signature, read);
  }

  /** What a tenant file's read gives; its stat (`signature`, taken before the read) is tracked for the poll. */
  private fetched(
    id: string,
    file: string,
    signature: string,
    read: { bytes: Buffer } | { error: unknown },
  ): Fetched {
    if ('error' in read) {
      if ((read.error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      this.tracked.set(id, signature);
      return {
        kind: 'unreadable',
        issues: [{ path: ROOT_PATH, message: reasonOf(readError(file, read.error)) }],
      };
    }
    this.tracked.set(id, signature);
    try {
      return { kind: 'found', raw: parsePolicyText(read.bytes.toString('utf8'), `${id}.json`) };
    } catch (error) {
      return { kind: 'unreadable', issues: [{ path: ROOT_PATH, message: reasonOf(error) }] };
    }
  }

  protected override sourceOf(id: string): { source: string; file?: string } {
    return { source: this.description, file: `${id}.json` };
  }

  private fileOf(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  /** Directory changes are applied one batch at a time, in order. */
  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.tail.then(task, task);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async poll(): Promise<void> {
    const dirNow = await currentSignature(this.dir);
    if (this.closed) return;
    if (dirNow !== this.dirSignature) {
      this.watcher?.trigger(null); // files added, removed or renamed
      return;
    }
    if (++this.polls % FILE_POLL_EVERY !== 0) return;
    // Files edited in place do not change the directory: compare the files in use.
    const names: string[] = [];
    const defaultsNow = await currentSignature(join(this.dir, DEFAULTS_FILE));
    if (defaultsNow !== this.defaultsSignature) names.push(DEFAULTS_FILE);
    for (const [id, signature] of [...this.tracked]) {
      const now = await currentSignature(this.fileOf(id));
      if (now !== signature) names.push(`${id}.json`);
    }
    for (const name of names) this.watcher?.trigger(name);
  }

  /**
   * Applies changed names (or, with null, whatever changed in the whole directory): tenant files first, then
   * `_defaults.json` (so a new default tenant written with its file is known), then one onChange.
   */
  private async apply(names: ReadonlySet<string> | null): Promise<void> {
    if (this.closed) return;
    let changed: Set<string>;
    if (names === null) {
      changed = await this.sweep();
    } else {
      changed = new Set(names);
    }
    const changes: TenantChange[] = [];
    const ids = new Set(this.tenantIds());
    let defaultsChanged = false;
    for (const name of [...changed].sort()) {
      const kind = tenantFileId(name);
      if (!('id' in kind)) {
        if (kind.kind === 'defaults') defaultsChanged = true;
        else if (kind.kind === 'invalid') {
          const exists = await stat(join(this.dir, name)).then(
            () => true,
            () => false,
          );
          if (exists) this.reportBadName(name);
          else this.badNames.delete(name);
        }
        continue;
      }
      const { id } = kind;
      const fetched = await this.fetch(id).catch((error: unknown): Fetched => ({ kind: 'down', error }));
      if (this.closed) return;
      if (fetched.kind === 'missing') {
        this.tracked.delete(id);
        if (ids.delete(id)) {
          this.setIds([...ids].sort(), this.defaultTenant());
          await this.refresh(id, fetched);
          changes.push({ tenant: id, version: null });
        }
        continue;
      }
      if (!ids.has(id)) {
        ids.add(id);
        this.setIds([...ids].sort(), this.defaultTenant());
      }
      const change = await this.refresh(id, fetched);
      if (!this.hasSlot(id)) this.tracked.delete(id); // not in use: read afresh when needed, nothing to compare
      if (change) changes.push(change);
    }
    let defaultTenant: string | null | undefined;
    if (defaultsChanged) defaultTenant = await this.reloadDefaults();
    this.dirSignature = await stat(this.dir).then(signatureOf, () => this.dirSignature);
    this.reportChange(changes, defaultTenant);
  }

  /** The names that changed in the whole directory: files added or removed, and files in use that changed. */
  private async sweep(): Promise<Set<string>> {
    const changed = new Set<string>();
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      this.reportInvalid(unavailable(this.description, readError(this.description, error)));
      return changed;
    }
    const present = new Set<string>();
    for (const name of names) {
      const kind = tenantFileId(name);
      if ('id' in kind) present.add(kind.id);
      else if (kind.kind === 'invalid' && !this.badNames.has(name)) changed.add(name);
    }
    for (const id of this.tenantIds()) if (!present.has(id)) changed.add(`${id}.json`);
    for (const id of present) if (!this.hasId(id)) changed.add(`${id}.json`);
    for (const [id, signature] of this.tracked) {
      if (!present.has(id)) continue;
      const now = await currentSignature(this.fileOf(id));
      if (now !== signature) changed.add(`${id}.json`);
    }
    const defaultsNow = await currentSignature(join(this.dir, DEFAULTS_FILE));
    if (defaultsNow !== this.defaultsSignature) changed.add(DEFAULTS_FILE);
    return changed;
  }

  /** Reads `_defaults.json` again; an invalid one keeps the defaults in force. Resolves to the new default if it changed. */
  private async reloadDefaults(): Promise<string | null | undefined> {
    const file = join(this.dir, DEFAULTS_FILE);
    this.defaultsSignature = await currentSignature(file);
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.reportInvalid(
          policyInvalidError(
            [{ path: ROOT_PATH, message: reasonOf(readError(file, error)), file: DEFAULTS_FILE }],
            `${this.description}/${DEFAULTS_FILE}`,
            undefined,
            { file: DEFAULTS_FILE },
          ),
        );
        return undefined;
      }
    }
    const defaults = checkDefaults(text, this.tenantIds());
    if (!defaults.ok) {
      this.reportInvalid(
        policyInvalidError(defaults.issues, `${this.description}/${DEFAULTS_FILE}`, undefined, {
          file: DEFAULTS_FILE,
        }),
      );
      return undefined;
    }
    const before = this.defaultTenant();
    if (defaults.defaultTenant === before) return undefined;
    this.setIds(this.tenantIds(), defaults.defaultTenant);
    return defaults.defaultTenant ?? null;
  }

  private readDefaultsSync(ids: readonly string[]): DefaultsCheck {
    let text: string | undefined;
    try {
      text = readFileSync(join(this.dir, DEFAULTS_FILE), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        return {
          ok: false,
          issues: [
            { path: ROOT_PATH, message: reasonOf(readError(DEFAULTS_FILE, error)), file: DEFAULTS_FILE },
          ],
        };
      }
    }
    return checkDefaults(text, ids);
  }

  private reportBadName(name: string): void {
    if (this.badNames.has(name)) return;
    this.badNames.add(name);
    this.reportInvalid(
      policyInvalidError(
        [{ path: ROOT_PATH, message: INVALID_NAME_MESSAGE, file: name }],
        `${this.description}/${name}`,
        undefined,
        { file: name },
      ),
    );
  }
}

type DefaultsCheck =
  | { readonly ok: true; readonly defaultTenant: string | undefined }
  | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

/** The schema of `_defaults.json`: the policy file's top-level keys, `tenants` excepted. */
const DefaultsSchema = PolicyHeadSchema;

/**
 * Checks the text of `_defaults.json` (undefined: there is none): its keys, and that `defaultTenant` names a
 * tenant file.
 *
 * @example
 * ```ts
 * checkDefaults('{ "defaultTenant": "acme" }', ['acme']); // { ok: true, defaultTenant: 'acme' }
 * ```
 */
export function checkDefaults(text: string | undefined, ids: readonly string[]): DefaultsCheck {
  if (text === undefined) return { ok: true, defaultTenant: undefined };
  let raw: unknown;
  try {
    raw = parsePolicyText(text, DEFAULTS_FILE);
  } catch (error) {
    return { ok: false, issues: [{ path: ROOT_PATH, message: reasonOf(error), file: DEFAULTS_FILE }] };
  }
  const parsed = DefaultsSchema.safeParse(raw, { error: policyErrorMap });
  const allowed = (path: readonly PropertyKey[]) =>
    path.length === 0 ? ['$schema', 'defaultTenant'] : allowedKeysAt(path);
  const issues = (parsed.success ? [] : issuesFromZod(parsed.error.issues, allowed)).map((issue) =>
    issue.path === 'tenants'
      ? {
          ...issue,
          message: 'tenants are not written here: each tenant is its own <id>.json file in the directory',
        }
      : issue,
  );
  if (parsed.success) {
    issues.push(
      ...defaultTenantIssues(parsed.data.defaultTenant, ids).map((issue) => ({
        ...issue,
        message: issue.message.replace(
          'must name a tenant in "tenants"',
          'must name a tenant file (<id>.json) in the directory',
        ),
      })),
    );
  }
  if (issues.length > 0)
    return { ok: false, issues: issues.map((issue) => ({ ...issue, file: DEFAULTS_FILE })) };
  return { ok: true, defaultTenant: parsed.data!.defaultTenant };
}

/** The StoredTenant of a tenant file's bytes (undefined: no file); an unreadable file has a version of its bytes. */
function storedOf(bytes: Buffer | undefined): StoredTenant {
  if (bytes === undefined) return storedTenant(undefined);
  try {
    return storedTenant(JSON.parse(bytes.toString('utf8')));
  } catch {
    return { version: tenantVersion({ unreadable: bytes.toString('base64') }), raw: {} };
  }
}

/** The reason a policy error gives (its one issue's message), or the error's message. */
function reasonOf(error: unknown): string {
  const issues =
    error instanceof DuoMfaError ? (error.details.issues as PolicyIssue[] | undefined) : undefined;
  if (issues && issues.length === 1) return issues[0]!.message;
  return error instanceof Error ? error.message : String(error);
}

function unavailable(source: string, cause: unknown): DuoMfaError {
  return new DuoMfaError('ERR_POLICY_UNAVAILABLE', `the MFA policy directory ${source} cannot be read now`, {
    cause,
    details: { source },
  });
}
