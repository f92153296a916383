// The per-tenant cache every policy source shares: compile on first use, one load at a time, last good kept (S49).

import type { Worker } from 'node:worker_threads';
import { type DuoMfaError } from '../errors';
import { tenantIssues, validateTenant } from './compile';
import { policyInvalidError } from './issues';
import { parseSecretsKey, type SecretsKey } from './secrets';
import {
  settingsReadOnly,
  tenantUnavailable,
  type StoredTenant,
  type TenantEntry,
  type TenantSource,
  type WriteTenantOptions,
} from './source';
import type { PolicyIssue } from './types';
import { tenantVersion } from './version';

/** One tenant added, changed or removed. */
export interface TenantChange {
  readonly tenant: string;
  /** Its new version (CompiledTenant.version); null when it was removed. */
  readonly version: string | null;
}

/** What changed in one reload of a source (a file edit, a directory event, a Redis notification, a write). */
export interface PolicyChange {
  /** Where: the file or directory path, `redis:<prefix>`. */
  readonly source: string;
  /** Every tenant added, changed or removed, in the source's order. */
  readonly tenants: readonly TenantChange[];
  /** Set when the default tenant changed: its new value (null: none any more). */
  readonly defaultTenant?: string | null;
}

/** Options every TenantSource takes (openTenantSource passes them through). */
export interface TenantSourceOptions {
  /** Where `{ "env": "NAME" }` secrets are read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * The key that opens `{ "encrypted": "v1:…" }` secrets: 32 bytes in base64 (several, comma-separated, while
   * rotating). Not read from the environment here: the caller passes `options.secretsKey ??
   * process.env.DUO_MFA_SECRETS_KEY`. Without it, a tenant holding an encrypted secret is unavailable.
   */
  secretsKey?: string | SecretsKey | undefined;
  /**
   * Called after tenants changed and the new versions are in force (tenants compiled before are recompiled first).
   * A throwing callback becomes a process warning.
   */
  onChange?(change: PolicyChange): void;
  /**
   * Called for each problem: `ERR_POLICY_INVALID` for an invalid or unreadable definition (`details`: `tenant` when
   * it is one tenant's, `source`, `issues` with their JSON paths, `file` for a directory), `ERR_POLICY_UNAVAILABLE`
   * when the store cannot be read (Redis down). The tenant keeps its last good version, or is refused (503).
   * Default: a process warning.
   */
  onInvalid?(error: DuoMfaError): void;
  /** The clock (epoch ms), for retry delays. Default Date.now. */
  now?: () => number;
  /** Watch the file or directory (or listen to Redis notifications). Default true; a parsed object is never watched. */
  watch?: boolean;
  /** Wait this long after the last change event before reading (editors write in several steps). Default 100. */
  debounceMs?: number;
  /**
   * Also compare stats every this many ms, for file systems where change events get lost (network mounts,
   * Kubernetes ConfigMap symlink swaps); for Redis, the version check that heals missed notifications. 0 turns it
   * off. Default 2000.
   */
  pollIntervalMs?: number;
  /**
   * Told what an operator should know that is neither an invalid tenant nor an outage: the policy file's worker
   * thread cannot run, so its jobs run on the main thread (`DUO_MFA_POLICY_WORKER`), or an onChange / onInvalid
   * callback threw (`DUO_MFA_POLICY_CALLBACK`). Default: a process warning with that code.
   */
  onWarning?(message: string, code: PolicyWarningCode): void;
  /** Starts the single file's worker thread. Default: the bundled worker. A seam for tests (one that fails). */
  startWorker?: () => Worker;
}

/** The codes onWarning() is told. */
export type PolicyWarningCode = 'DUO_MFA_POLICY_WORKER' | 'DUO_MFA_POLICY_CALLBACK';

/**
 * Tells `options.onWarning`, or else emits a process warning with the code. Never throws: an onWarning that throws
 * leaves the process warning.
 *
 * @example
 * ```ts
 * warnOperator(options, 'the worker thread cannot run', 'DUO_MFA_POLICY_WORKER');
 * ```
 */
export function warnOperator(options: TenantSourceOptions, message: string, code: PolicyWarningCode): void {
  try {
    if (options.onWarning) return options.onWarning(message, code);
  } catch {
    // Fall through to the process warning: a policy source never throws from reporting.
  }
  process.emitWarning(message, { code });
}

/** What a source's store says about one tenant. */
export type Fetched =
  /** Its definition, parsed. `file` names it for a directory (`acme.json`). */
  | { readonly kind: 'found'; readonly raw: unknown }
  /** Not in the store. */
  | { readonly kind: 'missing' }
  /** In the store but unreadable (not JSON, permission denied…): these issues, paths rooted as in the single file. */
  | { readonly kind: 'unreadable'; readonly issues: readonly PolicyIssue[] }
  /** The store itself cannot be reached (Redis down): try again later. */
  | { readonly kind: 'down'; readonly error: unknown };

/** How long a tenant that could not be loaded because the store was down stays refused before a new attempt. */
export const RETRY_AFTER_MS = 1000;

const MISSING: TenantEntry = Object.freeze({ state: 'missing' });

/** What the cache knows besides a tenant's entry. */
interface SlotInfo {
  /** The version of the definition last compiled or reported (valid or not), to report each problem once. */
  readonly seen: string | undefined;
  /** For a store outage: when peek() stops answering this entry, so the next request loads again. */
  readonly retryAt?: number;
}

/** A tenant's entry and what the cache knows about it. */
interface Slot extends SlotInfo {
  readonly entry: TenantEntry;
}

/**
 * The shared part of every TenantSource: slots per tenant (compiled, refused or unavailable), loads shared by
 * concurrent callers and run one at a time per tenant, the tenant list and default tenant, and reporting.
 * A source supplies fetch() (read one tenant from its store) and keeps the list up to date with setIds().
 */
export abstract class TenantCache implements TenantSource {
  abstract readonly description: string;
  abstract readonly writable: boolean;
  protected closed = false;
  protected readonly secretsKey: SecretsKey | undefined;
  /** What peek() answers: the entry itself, one Map lookup on every request. */
  private readonly entries = new Map<string, TenantEntry>();
  /** The rest of each slot, beside its entry (an entry object always belongs to one tenant). */
  private readonly info = new WeakMap<TenantEntry, SlotInfo>();
  private readonly slots = {
    get: (id: string): Slot | undefined => {
      const entry = this.entries.get(id);
      if (entry === undefined) return undefined;
      const info = this.info.get(entry);
      return { entry, seen: info?.seen, ...(info?.retryAt === undefined ? {} : { retryAt: info.retryAt }) };
    },
    set: (id: string, slot: Slot): void => {
      this.entries.set(id, slot.entry);
      this.info.set(slot.entry, {
        seen: slot.seen,
        ...(slot.retryAt === undefined ? {} : { retryAt: slot.retryAt }),
      });
    },
    has: (id: string): boolean => this.entries.has(id),
    delete: (id: string): boolean => this.entries.delete(id),
    keys: () => this.entries.keys(),
  };
  /** The version of each tenant's definition last seen valid, compiled or not: a change is reported only once. */
  protected readonly versions = new Map<string, string>();
  /** Per tenant, the tail of its queue of loads and refreshes: one at a time, in order. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly loading = new Map<string, Promise<TenantEntry>>();
  private ids: readonly string[] = Object.freeze([]);
  private idSet: ReadonlySet<string> = new Set();
  /** False until the tenant list is known (Redis not reached yet): unknown ids must then be looked up. */
  private idsKnown = false;
  private defaultId: string | undefined;

  protected constructor(protected readonly options: TenantSourceOptions) {
    this.secretsKey = parseSecretsKey(options.secretsKey);
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  defaultTenant(): string | undefined {
    return this.defaultId;
  }

  tenantIds(): readonly string[] {
    return this.ids;
  }

  listed(): boolean {
    return this.idsKnown;
  }

  peek(id: string): TenantEntry | undefined {
    const entry = this.entries.get(id);
    if (entry !== undefined) {
      if (entry.state === 'ready') return entry; // the hot path: one lookup
      const retryAt = this.info.get(entry)?.retryAt;
      return retryAt !== undefined && this.now() >= retryAt ? undefined : entry;
    }
    return this.idsKnown && !this.idSet.has(id) ? MISSING : undefined;
  }

  load(id: string): Promise<TenantEntry> {
    const cached = this.peek(id);
    if (cached !== undefined) return Promise.resolve(cached);
    let pending = this.loading.get(id);
    if (pending === undefined) {
      const loading: Promise<TenantEntry> = this.serial(id, async () => {
        const again = this.peek(id); // a refresh queued before this load may have settled it
        if (again !== undefined) return again;
        return this.settle(id, await this.fetchSafely(id));
      }).finally(() => {
        if (this.loading.get(id) === loading) this.loading.delete(id);
      });
      pending = loading;
      this.loading.set(id, loading);
    }
    return pending;
  }

  /**
   * The tenant's entry now, compiled on the spot when the store can be read without waiting (a parsed object, a
   * file, a directory); undefined when it cannot (Redis) or a load or refresh of it is under way. For the rare
   * synchronous caller (an admin page's `mfa.tenantSettings()`), never the request path.
   */
  loadSync(id: string): TenantEntry | undefined {
    const cached = this.peek(id);
    if (cached !== undefined) return cached;
    if (this.loading.has(id) || this.queues.has(id)) return undefined;
    let fetched: Fetched | undefined;
    try {
      fetched = this.fetchSync(id);
    } catch (error) {
      fetched = { kind: 'down', error };
    }
    return fetched === undefined ? undefined : this.settle(id, fetched);
  }

  readTenant(_id: string): Promise<StoredTenant> {
    return Promise.reject(settingsReadOnly(this.description));
  }

  writeTenant(_id: string, _raw: Record<string, unknown>, _options: WriteTenantOptions): Promise<string> {
    return Promise.reject(settingsReadOnly(this.description));
  }

  close(): void {
    this.closed = true;
  }

  /** Reads one tenant from the store. Never throws for a tenant's own problems: 'unreadable' or 'down'. */
  protected abstract fetch(id: string): Promise<Fetched>;

  /** fetch() without waiting, for stores that allow it; undefined when this one cannot (then load() it). */
  protected fetchSync(_id: string): Fetched | undefined {
    return undefined;
  }

  /**
   * How issue paths are rooted: as in the single file (`tenants.acme.mfa.enabled`), or relative to the tenant's own
   * document (`mfa.enabled` in `acme.json`, for a directory).
   */
  protected readonly issuePaths: 'policy' | 'tenant' = 'policy';

  /** Where a tenant's problems are reported from (a directory names the tenant's file). */
  protected sourceOf(_id: string): { source: string; file?: string } {
    return { source: this.description };
  }

  protected now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Replaces the tenant list (and default tenant), dropping the slots of tenants that are gone. */
  protected setIds(ids: readonly string[], defaultTenant: string | undefined): void {
    this.ids = Object.freeze([...ids]);
    this.idSet = new Set(ids);
    this.idsKnown = true;
    this.defaultId = defaultTenant;
    for (const id of this.entries.keys()) if (!this.idSet.has(id)) this.entries.delete(id);
    for (const id of this.versions.keys()) if (!this.idSet.has(id)) this.versions.delete(id);
  }

  protected hasId(id: string): boolean {
    return this.idSet.has(id);
  }

  /** True when the tenant is compiled (or was, and its last good version is kept): a change must recompile it. */
  protected isLoaded(id: string): boolean {
    return this.slots.get(id)?.entry.state === 'ready';
  }

  /** True when the tenant has a slot of any kind (compiled, or refused and reported). */
  protected hasSlot(id: string): boolean {
    return this.slots.has(id);
  }

  /**
   * True when something about the tenant is cached or in flight (a slot, a load, a queued refresh): only then does
   * a change need refresh(); otherwise the tenant is read afresh when first needed anyway.
   */
  protected isTracked(id: string): boolean {
    return this.slots.has(id) || this.loading.has(id) || this.queues.has(id);
  }

  /** Forgets what is cached about a tenant that is not compiled, so its next use reads it afresh. */
  protected forget(id: string): void {
    if (!this.isLoaded(id)) this.slots.delete(id);
  }

  /** Every store outage slot is dropped: the store is back, the next request loads those tenants again. */
  protected clearOutages(): void {
    for (const [id, entry] of this.entries)
      if (this.info.get(entry)?.retryAt !== undefined) this.entries.delete(id);
  }

  /**
   * Runs `task` after every earlier load and refresh of this tenant: a refresh queued while a load reads the old
   * definition runs after it and compiles the new one.
   */
  protected serial<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(id, tail);
    void tail.then(() => {
      if (this.queues.get(id) === tail) this.queues.delete(id);
    });
    return run;
  }

  /**
   * After the store said the tenant changed. A compiled tenant is read again (or `known`, the store's answer when
   * the caller already read it) and recompiled; one that is not compiled is only checked when `known` is given
   * (reported if invalid, its version returned if valid) and otherwise forgotten, to be read when next needed.
   * Resolves to the change to report, if any. Always through serial(): never interleaved with a load.
   * `compile: true` (a write through this source) compiles it in any case.
   */
  protected refresh(
    id: string,
    known?: Fetched,
    options: { compile?: boolean } = {},
  ): Promise<TenantChange | undefined> {
    return this.serial(id, async () => {
      if (this.closed) return undefined;
      const before = this.slots.get(id);
      const compiled = before?.entry.state === 'ready' ? before.entry.tenant : undefined;
      // A write through this source compiles the tenant: its settings page and its users come next.
      const loaded = compiled !== undefined || options.compile === true;
      if (!loaded && known === undefined) {
        this.slots.delete(id); // not compiled: read afresh when first needed
        return undefined;
      }
      const fetched = known ?? (await this.fetchSafely(id));
      if (fetched.kind === 'missing') {
        this.slots.delete(id);
        const known = this.versions.delete(id);
        return before || known ? { tenant: id, version: null } : undefined;
      }
      if (!loaded && fetched.kind === 'found') {
        const issues = tenantIssues(id, fetched.raw, { env: this.options.env, secretsKey: this.secretsKey });
        if (issues.length === 0) {
          this.slots.delete(id); // valid, and not needed yet: compiled when first used
          const version = tenantVersion(fetched.raw);
          const known = this.versions.get(id);
          this.versions.set(id, version);
          return version === known ? undefined : { tenant: id, version };
        }
      }
      if (!loaded && fetched.kind === 'down') return undefined;
      const previous = compiled?.version;
      const entry = this.settle(id, fetched);
      if (entry.state === 'ready' && entry.invalid === undefined && entry.tenant.version !== previous) {
        return { tenant: id, version: entry.tenant.version };
      }
      return undefined;
    });
  }

  /**
   * Compiles what the store returned and updates the slot: a valid definition replaces the old one; an invalid
   * one keeps the last good version in force (or refuses the tenant) and is reported once per definition.
   */
  protected settle(id: string, fetched: Fetched): TenantEntry {
    const slot = this.slots.get(id);
    const lastGood = slot?.entry.state === 'ready' ? slot.entry.tenant : undefined;
    if (fetched.kind === 'missing') {
      this.slots.delete(id);
      this.versions.delete(id);
      return MISSING;
    }
    if (fetched.kind === 'down') {
      const error = tenantUnavailable(id, fetched.error);
      if (lastGood) return slot!.entry; // Redis down: the last good compiled tenant stays in force
      const entry: TenantEntry = Object.freeze({ state: 'unavailable', error });
      this.slots.set(id, { entry, seen: undefined, retryAt: this.now() + RETRY_AFTER_MS });
      return entry;
    }
    let issues: readonly PolicyIssue[];
    let seen: string;
    if (fetched.kind === 'found') {
      seen = tenantVersion(fetched.raw);
      const result = validateTenant(id, fetched.raw, {
        env: this.options.env,
        secretsKey: this.secretsKey,
        paths: this.issuePaths,
      });
      if (result.ok) {
        const entry: TenantEntry =
          lastGood?.version === result.tenant.version && slot?.entry.state === 'ready' && !slot.entry.invalid
            ? slot.entry // same definition: keep the compiled object (and its identity)
            : Object.freeze({ state: 'ready', tenant: result.tenant });
        this.slots.set(id, { entry, seen: result.tenant.version });
        this.versions.set(id, result.tenant.version);
        return entry;
      }
      issues = result.issues;
    } else {
      issues = fetched.issues;
      seen = issues.map((issue) => `${issue.path}\u0000${issue.message}`).join('\n');
    }
    const where = this.sourceOf(id);
    const invalid = policyInvalidError(
      issues.map((issue) => (where.file === undefined ? issue : { ...issue, file: where.file })),
      where.file === undefined ? where.source : `${where.source}/${where.file}`,
      undefined,
      { tenant: id, ...(where.file === undefined ? {} : { file: where.file }) },
    );
    const report = slot?.seen !== seen; // each definition's problems once, however often it is read
    const entry: TenantEntry = lastGood
      ? Object.freeze({ state: 'ready', tenant: lastGood, invalid })
      : Object.freeze({ state: 'unavailable', error: tenantUnavailable(id, invalid) });
    this.slots.set(id, { entry, seen });
    if (report) this.reportInvalid(invalid);
    return entry;
  }

  /** Reports a problem through onInvalid (default: a process warning); a throwing callback is a warning too. */
  protected reportInvalid(error: DuoMfaError): void {
    this.notify(() => {
      if (this.options.onInvalid) this.options.onInvalid(error);
      else {
        process.emitWarning(`${error.message}\nThe last good MFA policy of that tenant stays in force.`, {
          code: error.code,
        });
      }
    });
  }

  /** Reports changes through onChange, when there are any. */
  protected reportChange(changes: readonly TenantChange[], defaultTenant?: string | null): void {
    if (changes.length === 0 && defaultTenant === undefined) return;
    const change: PolicyChange = Object.freeze({
      source: this.description,
      tenants: Object.freeze([...changes]),
      ...(defaultTenant === undefined ? {} : { defaultTenant }),
    });
    this.notify(() => this.options.onChange?.(change));
  }

  private notify(callback: () => void): void {
    if (this.closed) return;
    try {
      callback();
    } catch (error) {
      const message = `express-duo-mfa: a policy callback threw: ${error instanceof Error ? error.message : String(error)}`;
      warnOperator(this.options, message, 'DUO_MFA_POLICY_CALLBACK');
    }
  }

  private async fetchSafely(id: string): Promise<Fetched> {
    try {
      return await this.fetch(id);
    } catch (error) {
      return { kind: 'down', error };
    }
  }
}
