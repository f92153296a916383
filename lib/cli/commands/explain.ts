// `duo-mfa explain FILE|DIR --tenant T --user U [--role R …]`: would this user be asked for Duo, and why.

import { statSync } from 'node:fs';
import { decide, decideTenant, explainDecision } from '../../policy/decide';
import type { CompiledTenant, Decision } from '../../policy/types';
import { canonicalName, hasInvisibleCharacters } from '../../util/names';
import { EXIT, UsageError, flagOption, listOption, stringOption, type Command } from '../command';
import { json, peopleDate } from '../io';
import { describeIssues, readDirectoryTenant, readPolicyForCli } from '../policy-file';

/**
 * `duo-mfa explain FILE|DIR --tenant T --user U [--role R ...]` (see its `help` text for every option and the exit codes).
 *
 * @example
 * ```ts
 * const code = await runCli(['explain', 'duo-mfa.json', '--tenant', 'acme', '--user', 'alice', '--role', 'admin'], processIo());
 * ```
 */
export const explainCommand: Command = {
  name: 'explain',
  summary: 'say whether Duo is required for a user, and why',
  usage: 'duo-mfa explain FILE --tenant T --user U [--role R ...] [--at ISO] [--json]',
  help: `Prints the decision the middleware would make for this user, e.g.
  required: yes — role "admin" is in rolesIncluded
A tenant that is not in the policy is always "required: yes" (the middleware refuses the sign-in). Before the
tenant's mfa.enforceFrom date, the answer says until when the user is in the grace period. Dates are shown as
"30 Jun 2027, 00:00 UTC"; --json gives them in ISO 8601. A user's roles come from the host app at sign-in, never
from the policy: give them with --role (without it, when the tenant asks for Duo by role, the answer says so and
lists those roles). Duo secrets are not needed: { "env" } and { "encrypted" } secrets are not read. FILE may be a
policy directory: then only its _defaults.json and the tenant's own file are read.

Options:
  --tenant T   the user's tenant id, matched exactly (omit it to see what happens to a user without a tenant:
               defaultTenant applies)
  --user U     the username (compared case-insensitively after trimming)
  --role R     one of the user's roles, as the host app gives them; repeat for several
  --at ISO     decide at this time instead of now (e.g. 2026-11-25T18:00:00Z), for bypasses and enforceFrom
  --json       print exactly one object: { "required", "reason": { "code", "detail" }, "tenant" }, plus
               "gracePeriodUntil" (ISO) during a grace period
  --help       show this help

Exit codes: 0 a decision was made (whatever it is), 1 invalid policy, 2 usage error.`,
  options: {
    tenant: { type: 'string' },
    user: { type: 'string' },
    role: { type: 'string', multiple: true },
    at: { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: ['FILE'],

  run({ values, positionals, io }) {
    const file = positionals[0]!;
    const username = stringOption(values, 'user');
    if (username === undefined || username.trim() === '') throw new UsageError('--user U is required');
    const at = stringOption(values, 'at');
    const now = at === undefined ? Date.now() : Date.parse(at);
    if (Number.isNaN(now)) {
      throw new UsageError(
        `--at must be an ISO-8601 date-time, e.g. 2026-11-25T18:00:00Z (got ${JSON.stringify(at)})`,
      );
    }
    const user = { username, tenant: stringOption(values, 'tenant'), roles: listOption(values, 'role') };

    let decision: Decision;
    let tenant: CompiledTenant | undefined;
    if (statSync(file, { throwIfNoEntry: false })?.isDirectory()) {
      const read = readDirectoryTenant(file, user.tenant);
      if (!read.ok) {
        io.err(describeIssues(read.issues, file));
        return Promise.resolve(EXIT.failed);
      }
      decision = decideTenant(read.id, read.tenant, user, now);
      tenant = read.tenant;
    } else {
      const result = readPolicyForCli(file, { env: io.env, skipSecrets: true });
      if (!result.ok) {
        io.err(describeIssues(result.issues, file));
        return Promise.resolve(EXIT.failed);
      }
      decision = decide(result.policy, user, now);
      tenant = decision.tenant === undefined ? undefined : result.policy.tenants.get(decision.tenant);
    }
    if (hasInvisibleCharacters(username)) {
      // S46: the middleware refuses such a name before any policy decision (ERR_DUO_USERNAME_INVALID).
      const detail =
        'the username holds invisible format characters: the middleware refuses this sign-in (ERR_DUO_USERNAME_INVALID) before any policy decision';
      if (flagOption(values, 'json')) {
        io.out(
          json({
            required: true,
            reason: { code: 'invalid_username', detail },
            tenant: decision.tenant ?? null,
          }),
        );
      } else io.out(`required: yes — ${detail} (sign-in is refused)`);
      return Promise.resolve(EXIT.ok);
    }

    if (flagOption(values, 'json')) {
      io.out(
        json({
          required: decision.required,
          reason: { code: decision.reason.code, detail: decision.reason.detail },
          tenant: decision.tenant ?? null,
          ...(decision.gracePeriodUntil === undefined
            ? {}
            : { gracePeriodUntil: new Date(decision.gracePeriodUntil).toISOString() }),
        }),
      );
      return Promise.resolve(EXIT.ok);
    }
    io.out(withPeopleDates(explainDecision(decision), decision, tenant, username));
    if (decision.tenant !== undefined) {
      const te = decision.trustedEndpoints;
      const devices =
        te.policy === 'off'
          ? 'off'
          : `${te.policy} (${te.active ? 'applies to this user' : 'not for this user'})`;
      const viaDefault = user.tenant === undefined ? ' (defaultTenant)' : '';
      io.out(`tenant: ${decision.tenant}${viaDefault}; trusted endpoints: ${devices}`);
    }
    if (tenant !== undefined && user.roles.length === 0 && tenant.mfa.rolesIncluded.size > 0) {
      io.out(rolesHint(tenant));
    }
    return Promise.resolve(EXIT.ok);
  },
};

/** How many of a tenant's rolesIncluded the hint lists before "and N more". */
const ROLES_SHOWN = 20;

/**
 * The decision's sentence with its dates (the grace period's end, a bypass's end) as people read them, taken
 * from the decision and the tenant rather than parsed out of the text.
 */
function withPeopleDates(
  text: string,
  decision: Decision,
  tenant: CompiledTenant | undefined,
  username: string,
): string {
  const times: number[] = [];
  if (decision.gracePeriodUntil !== undefined) times.push(decision.gracePeriodUntil);
  if (decision.reason.code === 'temporary_bypass') {
    const bypass = tenant?.mfa.temporaryBypass.get(canonicalName(username));
    if (bypass !== undefined) times.push(bypass.until);
  }
  return times.reduce((out, time) => out.split(new Date(time).toISOString()).join(peopleDate(time)), text);
}

/** Asked without --role in a tenant that asks for Duo by role: where roles come from and how to give them. */
function rolesHint(tenant: CompiledTenant): string {
  const roles = [...tenant.mfa.rolesIncluded];
  const example = roles
    .slice(0, 2)
    .map((role) => `--role ${shellWord(role)}`)
    .join(' ');
  const shown = roles.slice(0, ROLES_SHOWN).join(', ');
  const more = roles.length > ROLES_SHOWN ? ` and ${roles.length - ROLES_SHOWN} more` : '';
  return [
    "roles: none given — a user's roles come from the host app at sign-in (getUser's roles); the policy does not know them",
    `  give them with --role R, once per role (e.g. ${example})`,
    `  tenant ${tenant.id} asks for Duo for these roles (rolesIncluded): ${shown}${more}`,
  ].join('\n');
}

/** A role as typed in a shell: as is when it is one plain word, else single-quoted. */
function shellWord(text: string): string {
  return /^[\w.:@%+=,/-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}
