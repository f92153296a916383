// Loading the admin policy: loadPolicyFile() once, or openPolicy() for the live, hot-reloaded policy.

import { compilePolicy, type CompileOptions } from './compile';
import { readPolicyFile } from './read';
import type { CompiledPolicy, PolicySource } from './types';
import { WatchedPolicyFile, type OpenPolicyOptions } from './watch';

export type { OpenPolicyOptions } from './watch';
export type { PolicySource } from './types';

/**
 * Reads, validates and compiles a policy file. Throws `ERR_POLICY_INVALID` listing every problem.
 *
 * @example
 * ```ts
 * const policy = loadPolicyFile('./duo-mfa.json', { env: process.env });
 * ```
 */
export function loadPolicyFile(path: string, options: Omit<CompileOptions, 'source'> = {}): CompiledPolicy {
  return compilePolicy(readPolicyFile(path), { ...options, source: path });
}

/**
 * Opens the admin policy: a file path (read now, synchronously: an invalid file throws `ERR_POLICY_INVALID`
 * listing every problem; then watched and hot-reloaded) or an already-parsed object (compiled once).
 *
 * On reload the new policy replaces the old one in a single reference swap, so `current()` never sees a half
 * state; a file that turns invalid leaves the last good policy in force and calls `onInvalid` (SECURITY.md S38).
 * `close()` releases the watcher and every timer.
 *
 * @example
 * ```ts
 * const policy = openPolicy('./duo-mfa.json', {
 *   onReload: (p) => logger.info({ version: p.version }, 'policy reloaded'),
 *   onInvalid: (error) => logger.error({ issues: error.details.issues }, 'policy invalid, keeping the last good one'),
 * });
 * process.on('SIGHUP', () => void policy.reload());
 * decide(policy.current(), user, Date.now());
 * ```
 */
export function openPolicy(input: string | object, options: OpenPolicyOptions = {}): PolicySource {
  if (typeof input === 'string') return new WatchedPolicyFile(input, options);
  if (typeof input === 'object' && input !== null) {
    const policy = compilePolicy(input, { env: options.env, source: '<object>' });
    return Object.freeze({ current: () => policy, reload: () => Promise.resolve(false), close: () => {} });
  }
  throw new TypeError('openPolicy(input) needs a path to the policy JSON file or the parsed policy object');
}
