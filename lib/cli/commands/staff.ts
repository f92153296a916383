// `duo-mfa staff FILE --tenant T --user U`: a staff member's Duo status through the tenant's Admin API
// application, and the recovery actions — Duo Mobile reactivation, bypass codes (printed once, never logged).

import { DuoAdminApi, type AdminApiCredentials, type StaffStatus } from '../../duo/admin';
import { isDuoMfaError } from '../../errors';
import { EXIT, UsageError, flagOption, integerOption, stringOption, type Command } from '../command';
import { DUO_FLAGS, pickTenant, readDuoFlags } from '../duo-flags';
import { json, peopleDate, table } from '../io';
import { describeIssues, readPolicyForCli, SECRETS_KEY_VARIABLE, tenantSetting } from '../policy-file';
import { localEmulatorHint } from './health';

/**
 * `duo-mfa staff FILE --tenant T --user U [--reactivate | --bypass-codes N] [--json]` (see its `help` text).
 *
 * @example
 * ```ts
 * const code = await runCli(['staff', 'duo-mfa.json', '--tenant', 'acme', '--user', 'dana'], processIo());
 * ```
 */
export const staffCommand: Command = {
  name: 'staff',
  summary: "a staff member's Duo status; Duo Mobile reactivation and bypass codes (Duo Admin API)",
  usage:
    'duo-mfa staff FILE --tenant T --user U [--reactivate | --bypass-codes N [--valid-secs S]] [--ca FILE] [--proxy URL] [--timeout MS] [--json]',
  help: `Asks Duo, through the tenant's Admin API application (duo.adminApi in the policy), about one staff member:
whether Duo knows them, their status (active, bypass, disabled, locked out), whether they are enrolled, their
phones and last sign-in. With --reactivate, starts the "changed phones" reset: Duo texts a new Duo Mobile
activation link to their phone when it can, otherwise the link is printed for you to pass on. With
--bypass-codes N, issues N single-use bypass codes. Links and codes are printed once, here, and never logged.
FILE may be a policy directory. { "env": "NAME" } secrets are read from the environment; { "encrypted": "v1:…" }
secrets are opened with ${SECRETS_KEY_VARIABLE}.

Options:
  --tenant T        the tenant (required)
  --user U          the staff member's Duo username (required)
  --reactivate      reactivate Duo Mobile on their phone
  --bypass-codes N  issue N bypass codes (1 to 10), each usable once
  --valid-secs S    how long the activation link or the codes stay valid (activation: default 86400, at most
                    604800; codes: default 3600, at most 2592000)
  --ca FILE         trust this CA (PEM) for Duo instead of Duo's pinned CAs: the local emulator, a TLS-inspecting proxy
  --proxy URL       reach Duo through this HTTP CONNECT proxy (the app's duoProxy option)
  --timeout MS      give up on each request after MS milliseconds (default 5000)
  --json            print the answer as JSON
  --help            show this help

The Admin API application needs "Grant read resource" (status) and "Grant write resource" (reactivation, bypass
codes) in the Duo Admin Panel.

Exit codes: 0 done (status: the user is in Duo), 1 not in Duo, Duo refused, or the policy is invalid, 2 usage error.`,
  options: {
    tenant: { type: 'string' },
    user: { type: 'string' },
    reactivate: { type: 'boolean' },
    'bypass-codes': { type: 'string' },
    'valid-secs': { type: 'string' },
    ...DUO_FLAGS,
    json: { type: 'boolean' },
  },
  positionals: ['FILE'],

  async run({ values, positionals, io }) {
    const file = positionals[0]!;
    const tenantId = stringOption(values, 'tenant');
    if (tenantId === undefined || tenantId === '') throw new UsageError('--tenant T is required');
    const username = stringOption(values, 'user')?.trim();
    if (username === undefined || username === '') throw new UsageError('--user U is required');
    const reactivate = flagOption(values, 'reactivate');
    const wantsCodes = stringOption(values, 'bypass-codes') !== undefined;
    if (reactivate && wantsCodes) throw new UsageError('give --reactivate or --bypass-codes N, not both');
    const count = integerOption(values, 'bypass-codes', 1, 1, 10);
    if (stringOption(values, 'valid-secs') !== undefined && !reactivate && !wantsCodes) {
      throw new UsageError('--valid-secs goes with --reactivate or --bypass-codes N');
    }
    const validSecs = reactivate
      ? integerOption(values, 'valid-secs', 86_400, 60, 604_800)
      : integerOption(values, 'valid-secs', 3600, 60, 2_592_000);
    const { timeoutMs, caPath, ca, proxy } = readDuoFlags(values);

    const found = readAdminApi(file, tenantId, io.env);
    if (!found.ok) {
      io.err(found.message);
      return EXIT.failed;
    }
    const credentials = found.credentials;
    const admin = new DuoAdminApi({
      timeoutMs,
      ...(ca === undefined ? {} : { ca }),
      ...(proxy === undefined ? {} : { proxy }),
    });
    const asJson = flagOption(values, 'json');
    try {
      if (reactivate) {
        const result = await admin.reactivate(credentials, username, { validSecs });
        if (asJson) io.out(json({ tenant: tenantId, username, ...result }));
        else if (result.sentBySms) {
          io.out(
            `Duo texted a new Duo Mobile activation link to ${username}'s phone (valid until ${peopleDate(result.expiresAt)}).`,
          );
        } else {
          io.out(
            `Activation link for ${username}, valid until ${peopleDate(result.expiresAt)} — pass it on to them ` +
              `(shown only this once):\n${result.activationUrl ?? ''}`,
          );
        }
        return EXIT.ok;
      }
      if (wantsCodes) {
        const result = await admin.issueBypassCodes(credentials, username, { count, validSecs });
        if (asJson) io.out(json({ tenant: tenantId, username, ...result }));
        else {
          io.out(
            `${result.codes.length} bypass code${result.codes.length === 1 ? '' : 's'} for ${username}, each usable once, ` +
              `valid until ${peopleDate(result.expiresAt)} (shown only this once; they replace earlier codes):\n` +
              result.codes.join('\n'),
          );
        }
        return EXIT.ok;
      }
      const status = await admin.staffStatus(credentials, username);
      if (asJson) io.out(json({ tenant: tenantId, ...status }));
      else io.out(describeStatus(status, tenantId));
      return status.found ? EXIT.ok : EXIT.failed;
    } catch (error) {
      if (!isDuoMfaError(error)) throw error;
      io.err(`duo-mfa staff: ${error.message}`);
      const hint =
        error.code === 'ERR_DUO_TLS' ? localEmulatorHint(credentials.apiHost, file, caPath) : undefined;
      if (hint) io.err(`fix: ${hint}`);
      return EXIT.failed;
    } finally {
      admin.close();
    }
  },
};

/** The status as a short report: a few labelled lines and the phones as a table. */
function describeStatus(status: StaffStatus, tenant: string): string {
  if (!status.found) {
    return `${status.username} is not in Duo (tenant ${tenant}): Duo will ask them to enroll at their first Duo sign-in, if the Duo policy allows enrollment.`;
  }
  const lines = [
    `${status.username} in Duo (tenant ${tenant})`,
    '',
    `STATUS      ${status.status ?? 'unknown'}`,
    `ENROLLED    ${status.enrolled ? 'yes' : 'no'}`,
    `LAST LOGIN  ${status.lastLogin ? peopleDate(status.lastLogin) : 'never'}`,
    '',
  ];
  if (status.phones.length === 0) lines.push('No phones.');
  else {
    lines.push(
      table(
        ['PHONE', 'MODEL', 'DUO MOBILE', 'LAST SEEN'],
        status.phones.map((phone) => [
          phone.platform,
          phone.model ?? '-',
          phone.activated ? 'activated' : 'not activated',
          phone.lastSeen ? peopleDate(phone.lastSeen) : '-',
        ]),
      ),
    );
  }
  return lines.join('\n');
}

type AdminApiLookup =
  | { readonly ok: true; readonly credentials: AdminApiCredentials }
  | { readonly ok: false; readonly message: string };

/** The tenant's `duo.adminApi`, secret resolved, from the policy file or directory. */
function readAdminApi(file: string, tenantId: string, env: NodeJS.ProcessEnv): AdminApiLookup {
  const result = readPolicyForCli(file, { env });
  if (!result.ok) return { ok: false, message: describeIssues(result.issues, file) };
  const tenant = pickTenant(result.policy.tenants, tenantId);
  const adminApi = tenant.duo.adminApi;
  if (adminApi) return { ok: true, credentials: adminApi };
  const at = tenantSetting(file, result.directory, tenantId, 'duo.adminApi');
  return {
    ok: false,
    message:
      `duo-mfa staff: tenant ${JSON.stringify(tenantId)} has no Duo Admin API application: add ` +
      `${at.path} { integrationKey, secretKey, apiHost } to ${at.file} (see docs/duo.md)`,
  };
}
