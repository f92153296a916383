// What the middleware reads policy through: tenants looked up one at a time, compiled once and cached.

import { DuoMfaError } from '../errors';
import { tenantVersion } from './version';
import type { CompiledTenant, PolicySource } from './types';

/** One tenant as a source holds it now. */
export type TenantEntry =
  /**
   * Compiled and in force. `invalid` is set when the tenant's current definition is invalid or unreadable and this
   * is its last good version, kept in force (S49); it names the problems.
   */
  | { readonly state: 'ready'; readonly tenant: CompiledTenant; readonly invalid?: DuoMfaError }
  /** Not in the policy: its users are refused (403 ERR_DUO_UNKNOWN_TENANT), never waved through (S7). */
  | { readonly state: 'missing' }
  /**
   * In the policy but not usable, and no good version was ever loaded: its definition is invalid, or the source
   * is down. Its users are refused with 503 ERR_POLICY_UNAVAILABLE (S49); other tenants are not affected.
   */
  | { readonly state: 'unavailable'; readonly error: DuoMfaError };

/** A tenant exactly as stored, for the settings API: `{ env }` references and `{ encrypted }` secrets as they are. */
export interface StoredTenant {
  /** The stored definition's version (CompiledTenant.version of it); null when the tenant does not exist. */
  readonly version: string | null;
  /** The tenant object as stored (no defaults applied); undefined when the tenant does not exist. */
  readonly raw: Record<string, unknown> | undefined;
}

/** Options of TenantSource.writeTenant(). */
export interface WriteTenantOptions {
  /**
   * The version the change was based on (StoredTenant.version): the write happens only if the stored tenant still
   * has it (compare-and-set). `null`: create, only if the tenant does not exist yet.
   */
  readonly expectedVersion: string | null;
}

/**
 * A live policy, read tenant by tenant. The middleware calls `peek()` on every request (synchronous: a cached
 * tenant costs one Map lookup) and `load()` only the first time a tenant is needed.
 */
export interface TenantSource {
  /** Where the policy comes from, for logs and events: a file or directory path, `redis:<prefix>`, `<object>`. */
  readonly description: string;
  /** True when writeTenant() can store changes (a file, a directory, Redis); false for a parsed object. */
  readonly writable: boolean;
  /** Resolves once the source can answer: the default tenant and the tenant list are known. Never rejects. */
  ready(): Promise<void>;
  /** The tenant used for users who carry none (the policy's defaultTenant). */
  defaultTenant(): string | undefined;
  /**
   * True once the tenant list and the default tenant have been read (until then defaultTenant() answers undefined
   * because nothing is known yet, not because the policy has none: a Redis policy whose store is down at start).
   */
  listed?(): boolean;
  /** Every tenant id in the policy now, in the source's order. Kept by the source: cheap to call. */
  tenantIds(): readonly string[];
  /** The tenant's entry when it was already looked up, else undefined (then call load()). Never blocks. */
  peek(id: string): TenantEntry | undefined;
  /** Looks the tenant up: reads and compiles it once; concurrent callers share one load. Never rejects. */
  load(id: string): Promise<TenantEntry>;
  /**
   * load() without waiting, for stores that can be read synchronously (a parsed object, a file, a directory);
   * undefined when this one cannot (Redis) or a load is under way. Not for the request path.
   */
  loadSync?(id: string): TenantEntry | undefined;
  /**
   * The tenant as stored now, read from the store (not the cache), with its version — the settings API's read.
   * Rejects with ERR_POLICY_UNAVAILABLE when the store cannot be read.
   */
  readTenant(id: string): Promise<StoredTenant>;
  /**
   * Stores a tenant's new definition and resolves to its new version: validated first (ERR_POLICY_INVALID with
   * `details.issues`, paths relative to the tenant object, nothing written), compare-and-set on `expectedVersion`
   * (ERR_SETTINGS_CONFLICT, nothing written), atomic. The source's cache reflects it when this resolves.
   * ERR_SETTINGS_READ_ONLY for a parsed object.
   */
  writeTenant(id: string, raw: Record<string, unknown>, options: WriteTenantOptions): Promise<string>;
  /** Stops watching or listening: releases every watcher, timer, worker and subscription. Idempotent. */
  close(): void;
}

/**
 * A TenantSource over a whole-file PolicySource (the first-wave loader): every tenant is compiled with the file.
 * Read-only: use openTenantSource() for a writable, per-tenant source.
 *
 * @example
 * ```ts
 * const tenants = tenantSourceOf(openPolicy('./duo-mfa.json'));
 * tenants.peek('acme');
 * ```
 */
export function tenantSourceOf(policy: PolicySource): TenantSource {
  const missing: TenantEntry = Object.freeze({ state: 'missing' });
  const entries = new WeakMap<CompiledTenant, TenantEntry>();
  const entryOf = (id: string): TenantEntry => {
    const { tenants, version } = policy.current();
    const tenant = tenants.get(id);
    if (!tenant) return missing;
    let entry = entries.get(tenant);
    if (!entry) entries.set(tenant, (entry = Object.freeze({ state: 'ready', tenant, version })));
    return entry;
  };
  return {
    get description() {
      return policy.current().source;
    },
    writable: false,
    ready: () => Promise.resolve(),
    defaultTenant: () => policy.current().defaultTenant,
    tenantIds: () => [...policy.current().tenants.keys()],
    peek: entryOf,
    load: (id) => Promise.resolve(entryOf(id)),
    readTenant: (id) => {
      const tenant = policy.current().tenants.get(id);
      return Promise.resolve({ version: tenant ? tenant.version : null, raw: undefined });
    },
    writeTenant: () => Promise.reject(settingsReadOnly(policy.current().source)),
    close: () => policy.close(),
  };
}

/** The error for a tenant that cannot be loaded (S49). */
export function tenantUnavailable(tenant: string, cause?: unknown): DuoMfaError {
  return new DuoMfaError(
    'ERR_POLICY_UNAVAILABLE',
    `the policy of tenant ${JSON.stringify(tenant)} cannot be loaded`,
    {
      cause,
      details: { tenant },
    },
  );
}

/**
 * The error for a write to a policy that cannot be written (a parsed object).
 *
 * @example
 * ```ts
 * throw settingsReadOnly('<object>');
 * ```
 */
export function settingsReadOnly(source: string): DuoMfaError {
  return new DuoMfaError(
    'ERR_SETTINGS_READ_ONLY',
    `the MFA policy was given as a parsed object (${source}): settings cannot be changed at runtime — give a file, a directory or redisPolicy() instead`,
    { details: { source } },
  );
}

/**
 * The error for a stale write (optimistic concurrency): someone changed the tenant since `expected` was read.
 *
 * @example
 * ```ts
 * if (current !== expected) throw settingsConflict('acme', expected, current);
 * ```
 */
export function settingsConflict(
  tenant: string,
  expected: string | null,
  current: string | null,
): DuoMfaError {
  const what =
    expected === null
      ? `tenant ${JSON.stringify(tenant)} already exists`
      : current === null
        ? `tenant ${JSON.stringify(tenant)} no longer exists`
        : `tenant ${JSON.stringify(tenant)} was changed by someone else (version ${current}, the change was based on ${expected})`;
  return new DuoMfaError('ERR_SETTINGS_CONFLICT', `${what}: reload the settings and apply the change again`, {
    details: { tenant, expectedVersion: expected, currentVersion: current },
  });
}

/**
 * The StoredTenant of a raw definition (undefined: the tenant does not exist).
 *
 * @example
 * ```ts
 * storedTenant(JSON.parse(text)); // { version: '3f9c0a1b2d4e', raw: { mfa: …, duo: … } }
 * ```
 */
export function storedTenant(raw: unknown): StoredTenant {
  if (raw === undefined) return { version: null, raw: undefined };
  return {
    version: tenantVersion(raw),
    raw:
      typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {},
  };
}
