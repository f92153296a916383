// What the middleware reads policy through: tenants looked up one at a time, compiled once and cached.

import { DuoMfaError } from '../errors';
import type { CompiledTenant, PolicySource } from './types';

/** One tenant as a source holds it now. */
export type TenantEntry =
  /** Compiled and in force; `version` changes with every change to the tenant. */
  | { readonly state: 'ready'; readonly tenant: CompiledTenant; readonly version: string }
  /** Not in the policy: its users are refused (403 ERR_DUO_UNKNOWN_TENANT), never waved through (S7). */
  | { readonly state: 'missing' }
  /**
   * In the policy but not usable, and no good version was ever loaded: its definition is invalid, or the source
   * is down. Its users are refused with 503 ERR_POLICY_UNAVAILABLE (S49); other tenants are not affected.
   */
  | { readonly state: 'unavailable'; readonly error: DuoMfaError };

/**
 * A live policy, read tenant by tenant. The middleware calls `peek()` on every request (synchronous: a cached
 * tenant costs one Map lookup) and `load()` only the first time a tenant is needed.
 */
export interface TenantSource {
  /** Where the policy comes from, for logs and events: a file or directory path, `redis:<prefix>`, `<object>`. */
  readonly description: string;
  /** Resolves once the source can answer: the default tenant and the tenant list are known. */
  ready(): Promise<void>;
  /** The tenant used for users who carry none (the policy's defaultTenant). */
  defaultTenant(): string | undefined;
  /** Every tenant id in the policy now, in the source's order. Kept by the source: cheap to call. */
  tenantIds(): readonly string[];
  /** The tenant's entry when it was already looked up, else undefined (then call load()). Never blocks. */
  peek(id: string): TenantEntry | undefined;
  /** Looks the tenant up: reads and compiles it once; concurrent callers share one load. Never rejects. */
  load(id: string): Promise<TenantEntry>;
  /** Stops watching or listening: releases every watcher, timer and subscription. Idempotent. */
  close(): void;
}

/**
 * A TenantSource over a whole-file PolicySource (the first-wave loader): every tenant is compiled with the file.
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
    ready: () => Promise.resolve(),
    defaultTenant: () => policy.current().defaultTenant,
    tenantIds: () => [...policy.current().tenants.keys()],
    peek: entryOf,
    load: (id) => Promise.resolve(entryOf(id)),
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
