// openTenantSource(): the one factory the middleware calls, whatever form the policy takes.

import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { FileTenantSource } from './file-source';
import { ObjectTenantSource } from './object-source';
import type { TenantSource } from './source';
import type { TenantSourceOptions } from './tenant-cache';

export type { PolicyChange, TenantChange, TenantSourceOptions } from './tenant-cache';

/** What the `policy` option may be: a file path, a directory path, or a parsed policy object. */
export type PolicyInput = string | object;

/**
 * Opens a policy, tenant by tenant:
 * - a path to a JSON file: read and checked whole now, synchronously (an invalid file throws `ERR_POLICY_INVALID`
 *   listing every problem), then watched; each tenant is compiled when first needed, a change recompiles only the
 *   tenants whose definition changed (re-indexed in a worker thread for large files);
 * - a parsed object: checked whole now (throws like a file), never changes, read-only.
 *
 * Every form: `peek()` is one Map lookup for a compiled tenant; one tenant's invalid definition keeps its last good
 * version or refuses only that tenant (S49); `onChange` and `onInvalid` report what happened, tenant by tenant.
 *
 * @example
 * ```ts
 * const tenants = openTenantSource(options.policy, {
 *   env: process.env,
 *   secretsKey: options.secretsKey ?? process.env.DUO_MFA_SECRETS_KEY,
 *   onChange: (change) => emit('policy.reloaded', change),
 *   onInvalid: (error) => emit('policy.invalid', error.details),
 * });
 * await tenants.ready();
 * const entry = tenants.peek(id) ?? (await tenants.load(id));
 * ```
 */
export function openTenantSource(input: PolicyInput, options: TenantSourceOptions = {}): TenantSource {
  if (typeof input === 'string') {
    if (input.trim() === '') throw new TypeError('openTenantSource(input) needs a non-empty path');
    const stats = statSync(resolve(input), { throwIfNoEntry: false });
    if (stats?.isDirectory()) throw new TypeError('policy directories are not supported yet');
    return new FileTenantSource(input, options);
  }
  if (typeof input === 'object' && input !== null) return new ObjectTenantSource(input, options);
  throw new TypeError(
    'openTenantSource(input) needs a path to the policy JSON file or directory, or the parsed policy object',
  );
}
