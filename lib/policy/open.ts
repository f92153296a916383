// openTenantSource(): the one factory the middleware calls, whatever form the policy takes.

import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DirectoryTenantSource } from './dir-source';
import { FileTenantSource } from './file-source';
import { policyInvalidError, ROOT_PATH } from './issues';
import { ObjectTenantSource } from './object-source';
import { isRedisPolicy, RedisTenantSource, type RedisPolicy } from './redis';
import type { TenantSource } from './source';
import type { TenantSourceOptions } from './tenant-cache';

export type { PolicyChange, PolicyWarningCode, TenantChange, TenantSourceOptions } from './tenant-cache';

/** What the `policy` option may be: a file path, a directory path, what redisPolicy() returns, or a parsed object. */
export type PolicyInput = string | RedisPolicy | object;

/**
 * Opens a policy, tenant by tenant:
 * - a path to a JSON file: read and checked whole now, synchronously (an invalid file throws `ERR_POLICY_INVALID`
 *   listing every problem), then watched; each tenant is compiled when first needed, a change recompiles only the
 *   tenants whose definition changed (re-indexed in a worker thread for large files);
 * - a path to a directory (one `<tenantId>.json` per tenant, an optional `_defaults.json`): listed and its
 *   `_defaults.json` checked now (a missing directory or an invalid `_defaults.json` throws); tenant files are read
 *   when first needed, and one invalid tenant file never stops start-up (that tenant is refused, 503, and reported);
 *   watched: a changed file reloads that tenant, a new file adds one, a deleted file removes it;
 * - `redisPolicy(redis, { prefix })`: tenants kept in Redis, one key each, shared by every instance; `ready()`
 *   resolves once the tenant list was read (or Redis did not answer: tenants are then refused until it does); a
 *   change on any instance is in force on every instance within a second (notification, healed by a revision
 *   check); Redis down: compiled tenants stay in force;
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
  if (isRedisPolicy(input)) return new RedisTenantSource(input, options);
  if (typeof input === 'string') {
    if (input.trim() === '') throw new TypeError('openTenantSource(input) needs a non-empty path');
    const stats = statSync(resolve(input), { throwIfNoEntry: false });
    if (stats?.isDirectory()) return new DirectoryTenantSource(input, options);
    if (stats === undefined && !input.endsWith('.json')) {
      throw policyInvalidError([{ path: ROOT_PATH, message: 'no such file or directory' }], input);
    }
    return new FileTenantSource(input, options);
  }
  if (typeof input === 'object' && input !== null) return new ObjectTenantSource(input, options);
  throw new TypeError(
    'openTenantSource(input) needs a path to the policy JSON file or directory, or the parsed policy object',
  );
}
