// Reading the policy FILE argument for a command: every problem as data, printed the same way by each command.

import { isDuoMfaError } from '../errors';
import { validatePolicy, type PolicyValidation } from '../policy/compile';
import { policyInvalidError } from '../policy/issues';
import { readPolicyFile } from '../policy/read';
import type { PolicyIssue } from '../policy/types';

/**
 * Reads and validates a policy file without throwing for policy problems (a missing file, bad JSON and schema
 * errors all come back as issues). `skipSecrets` is for commands that never talk to Duo.
 *
 * @example
 * ```ts
 * const result = readPolicyForCli('duo-mfa.json', { env: io.env });
 * if (!result.ok) io.err(describeIssues(result.issues, 'duo-mfa.json'));
 * ```
 */
export function readPolicyForCli(
  file: string,
  options: { env: NodeJS.ProcessEnv; skipSecrets?: boolean },
): PolicyValidation {
  let raw: unknown;
  try {
    raw = readPolicyFile(file);
  } catch (error) {
    if (isDuoMfaError(error, 'ERR_POLICY_INVALID')) {
      return { ok: false, issues: (error.details.issues as PolicyIssue[] | undefined) ?? [] };
    }
    throw error;
  }
  return validatePolicy(raw, { env: options.env, source: file, skipSecrets: options.skipSecrets });
}

/**
 * The same text the loader throws: a title naming the file, then one `path: message` line per problem.
 *
 * @example
 * ```ts
 * io.err(describeIssues([{ path: 'tenants.acme.failmode', message: 'must be "closed" or "open"' }], 'duo-mfa.json'));
 * ```
 */
export function describeIssues(issues: readonly PolicyIssue[], file: string): string {
  return policyInvalidError(issues, file).message;
}
