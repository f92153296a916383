// `duo-mfa check FILE|DIR`: validate a policy file or directory, summarise each tenant, and warn about risky settings.

import type { PolicyWarning } from '../../policy/types';
import { policyWarnings } from '../../policy/warnings';
import { EXIT, flagOption, type Command } from '../command';
import { json, table } from '../io';
import { describeIssues, locateWarning, readPolicyForCli, SECRETS_KEY_VARIABLE } from '../policy-file';
import { SUMMARY_HEADER, summarizeTenants, summaryRow } from '../summary';

/**
 * `duo-mfa check FILE [--json]`, FILE a policy file or directory (see its `help` text for every option and the exit codes).
 *
 * @example
 * ```ts
 * const code = await runCli(['check', 'duo-mfa.json', '--json'], processIo());
 * ```
 */
export const checkCommand: Command = {
  name: 'check',
  summary: 'validate a policy file or directory; summarise each tenant; warn about risky settings',
  usage: 'duo-mfa check FILE [--json]',
  help: `Validates FILE, or every file of FILE when it is a policy directory (every problem is listed with its JSON path, and
in a directory with its file), resolves { "env": "NAME" } secrets from the environment (a missing variable is an
error) and opens { "encrypted": "v1:…" } secrets with ${SECRETS_KEY_VARIABLE} when it is set (without it they are
left unchecked, and a warning says so), prints who is asked for Duo in each tenant, and warns about settings that
load but are risky: someone both included and excluded, failmode "open" (and "open" with trusted endpoints
"block", which never fails open), trusted endpoints "block" without a test group first, bypasses longer than 7
days or expired, an enforceFrom date in the past, secrets written inline, settings with no effect.

Options:
  --json   print { ok, errors, warnings, tenants } as JSON (a directory's errors and warnings carry "file")
  --help   show this help

Exit codes: 0 valid (warnings alone do not fail), 1 invalid, 2 usage error.`,
  options: { json: { type: 'boolean' } },
  positionals: ['FILE'],

  run({ values, positionals, io }) {
    const file = positionals[0]!;
    const asJson = flagOption(values, 'json');
    const result = readPolicyForCli(file, { env: io.env, secrets: 'resolve-if-key' });
    if (!result.ok) {
      if (asJson) io.out(json({ ok: false, errors: result.issues, warnings: [], tenants: [] }));
      else io.err(describeIssues(result.issues, file));
      return Promise.resolve(EXIT.failed);
    }

    const now = Date.now();
    const warnings = [
      ...policyWarnings(result.file, now).map((warning) => locateWarning(warning, result.directory)),
      ...result.notes.map((message): PolicyWarning => ({ path: '$', message })),
    ];
    const tenants = summarizeTenants(result.file, now);
    if (asJson) {
      io.out(json({ ok: true, errors: [], warnings, tenants }));
      return Promise.resolve(EXIT.ok);
    }
    const count = tenants.length === 1 ? '1 tenant' : `${tenants.length} tenants`;
    const form = result.directory ? ' in a directory' : '';
    io.out(`${file}: valid — ${count}${form}, version ${result.policy.version}\n`);
    io.out(table(SUMMARY_HEADER, tenants.map(summaryRow)));
    if (warnings.length > 0) {
      io.out(`\nWarnings (${warnings.length}):`);
      for (const warning of warnings) {
        const file = warning.file === undefined ? '' : `${warning.file}: `;
        const path = warning.path === '$' ? '' : `${warning.path}: `;
        io.out(`  ${file}${path}${warning.message}`);
      }
    }
    return Promise.resolve(EXIT.ok);
  },
};
