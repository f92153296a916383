// `duo-mfa check FILE`: validate a policy file, summarise each tenant, and warn about risky settings.

import { policyWarnings } from '../../policy/warnings';
import { EXIT, flagOption, type Command } from '../command';
import { json, table } from '../io';
import { describeIssues, readPolicyForCli } from '../policy-file';
import { SUMMARY_HEADER, summarizeTenants, summaryRow } from '../summary';

/**
 * `duo-mfa check FILE [--json]` (see its `help` text for every option and the exit codes).
 *
 * @example
 * ```ts
 * const code = await runCli(['check', 'duo-mfa.json', '--json'], processIo());
 * ```
 */
export const checkCommand: Command = {
  name: 'check',
  summary: 'validate a policy file; summarise each tenant; warn about risky settings',
  usage: 'duo-mfa check FILE [--json]',
  help: `Validates FILE (every problem is listed with its JSON path), resolves { "env": "NAME" } secrets from the
environment (a missing variable is an error), prints who is asked for Duo in each tenant, and warns about
settings that load but are risky: someone both included and excluded, failmode "open", trusted endpoints
"block" without a test group first, bypasses longer than 7 days or expired, secrets written inline, settings
with no effect.

Options:
  --json   print { ok, errors, warnings, tenants } as JSON
  --help   show this help

Exit codes: 0 valid (warnings alone do not fail), 1 invalid, 2 usage error.`,
  options: { json: { type: 'boolean' } },
  positionals: ['FILE'],

  run({ values, positionals, io }) {
    const file = positionals[0]!;
    const asJson = flagOption(values, 'json');
    const result = readPolicyForCli(file, { env: io.env });
    if (!result.ok) {
      if (asJson) io.out(json({ ok: false, errors: result.issues, warnings: [], tenants: [] }));
      else io.err(describeIssues(result.issues, file));
      return Promise.resolve(EXIT.failed);
    }

    const now = Date.now();
    const warnings = policyWarnings(result.file, now);
    const tenants = summarizeTenants(result.file, now);
    if (asJson) {
      io.out(json({ ok: true, errors: [], warnings, tenants }));
      return Promise.resolve(EXIT.ok);
    }
    const count = tenants.length === 1 ? '1 tenant' : `${tenants.length} tenants`;
    io.out(`${file}: valid — ${count}, version ${result.policy.version}\n`);
    io.out(table(SUMMARY_HEADER, tenants.map(summaryRow)));
    if (warnings.length > 0) {
      io.out(`\nWarnings (${warnings.length}):`);
      for (const warning of warnings) io.out(`  ${warning.path}: ${warning.message}`);
    }
    return Promise.resolve(EXIT.ok);
  },
};
