// `duo-mfa health FILE`: runs Duo's health check for each tenant's credentials and reports the clock skew, and
// for a failure that is ours to fix (TLS, a host name that does not exist, the proxy) says what to do.

import { existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { DuoAdapter } from '../../duo/adapter';
import { isDuoMfaError, type DuoMfaError } from '../../errors';
import { SKEW_WARNING_MS } from '../../middleware/health';
import type { CompiledTenant } from '../../policy/types';
import { EXIT, flagOption, stringOption, type Command } from '../command';
import { DUO_FLAGS, pickTenant, readDuoFlags } from '../duo-flags';
import { json, table } from '../io';
import { describeIssues, readPolicyForCli, SECRETS_KEY_VARIABLE, tenantSetting } from '../policy-file';

/** The health check never redirects anywhere, but the Duo client wants a well-formed redirect URL. */
const PLACEHOLDER_REDIRECT = 'https://localhost/duo/callback';

interface HealthResult {
  tenant: string;
  apiHost: string;
  ok: boolean;
  /** This machine's clock minus Duo's, whole milliseconds (the text output shows the same number). */
  skewMs?: number;
  error?: { code: string; message: string };
  /** What to do about a failure that is a misconfiguration rather than an outage. */
  fix?: string;
}

/** Where the CA of a local emulator usually is: `duo-mfa emulator`'s default --ca-out, and the example app's. */
const EMULATOR_CA_DEFAULT = './.duo-emulator/ca.pem';
const EXAMPLE_APP_CA = 'example-app/.data/emulator-ca.pem';

/** What a fix needs to know about the command line. */
interface FixContext {
  readonly file: string;
  /** FILE is a policy directory: a fix names the tenant's own file. */
  readonly directory: boolean;
  readonly caPath: string | undefined;
  readonly proxy: boolean;
}

/**
 * `duo-mfa health FILE [--tenant T] [--ca FILE]` (see its `help` text for every option and the exit codes).
 *
 * @example
 * ```ts
 * const code = await runCli(['health', 'duo-mfa.json', '--ca', '.duo-emulator/ca.pem'], processIo());
 * ```
 */
export const healthCommand: Command = {
  name: 'health',
  summary: "run Duo's health check for each tenant's Duo application",
  usage: 'duo-mfa health FILE [--tenant T] [--ca FILE] [--proxy URL] [--timeout MS] [--json]',
  help: `Calls Duo's health check with each tenant's credentials (or one tenant's) and prints OK or FAIL with the
reason, and how far this machine's clock is from Duo's in milliseconds (warns above 30 s: Duo refuses tokens
beyond 60 s). A failure that is a misconfiguration — a certificate that cannot be verified, a host name that
does not exist, the proxy refusing our credentials — comes with a "fix:" line. FILE may be a policy directory.
{ "env": "NAME" } secrets are read from the environment; { "encrypted": "v1:…" } secrets are opened with
${SECRETS_KEY_VARIABLE} (without it, each is reported as a problem with its path, and nothing is checked).

Options:
  --tenant T     check only this tenant
  --ca FILE      trust this CA certificate (PEM) for Duo instead of Duo's pinned CAs: the local emulator
                 (duo-mfa emulator --ca-out FILE, default ${EMULATOR_CA_DEFAULT}; the example app keeps it in
                 ${EXAMPLE_APP_CA}) or a TLS-inspecting proxy
  --proxy URL    reach Duo through this HTTP CONNECT proxy, e.g. http://user:password@proxy:3128 (the app's
                 duoProxy option)
  --timeout MS   give up on each check after MS milliseconds (default 5000)
  --json         print { ok, tenants: [{ tenant, apiHost, ok, skewMs?, error?, fix? }], warnings } as JSON
  --help         show this help

Exit codes: 0 every check passed, 1 a check failed or the policy is invalid, 2 usage error.`,
  options: {
    tenant: { type: 'string' },
    ...DUO_FLAGS,
    json: { type: 'boolean' },
  },
  positionals: ['FILE'],

  async run({ values, positionals, io }) {
    const file = positionals[0]!;
    const { timeoutMs, caPath, ca, proxy } = readDuoFlags(values);
    const result = readPolicyForCli(file, { env: io.env });
    if (!result.ok) {
      io.err(describeIssues(result.issues, file));
      return EXIT.failed;
    }
    const wanted = stringOption(values, 'tenant');
    const tenants =
      wanted === undefined
        ? [...result.policy.tenants.values()]
        : [pickTenant(result.policy.tenants, wanted)];

    let adapter: DuoAdapter;
    try {
      adapter = new DuoAdapter({
        redirectUrl: PLACEHOLDER_REDIRECT,
        timeoutMs,
        ...(ca === undefined ? {} : { ca }),
        ...(proxy === undefined ? {} : { proxy }),
      });
    } catch (error) {
      io.err(`duo-mfa health: ${error instanceof Error ? error.message : String(error)}`);
      return EXIT.failed;
    }
    let results: HealthResult[];
    try {
      const context: FixContext = { file, directory: result.directory, caPath, proxy: proxy !== undefined };
      results = await Promise.all(tenants.map((tenant) => checkTenant(adapter, tenant, context)));
    } finally {
      adapter.close();
    }

    const warnings = results
      .filter((entry) => entry.skewMs !== undefined && Math.abs(entry.skewMs) > SKEW_WARNING_MS)
      .map((entry) => ({
        tenant: entry.tenant,
        message: `this machine's clock is ${seconds(Math.abs(entry.skewMs!))} ${entry.skewMs! > 0 ? 'ahead of' : 'behind'} Duo's (Duo refuses tokens beyond 60 s): fix the clock (NTP)`,
      }));
    const ok = results.every((entry) => entry.ok);
    if (flagOption(values, 'json')) {
      io.out(json({ ok, tenants: results, warnings }));
    } else {
      const rows = results.map((entry) => [
        entry.tenant,
        entry.ok ? 'OK' : 'FAIL',
        entry.apiHost,
        entry.ok ? `clock skew ${signedMs(entry.skewMs ?? 0)}` : failureDetail(entry),
      ]);
      io.out(table(['TENANT', 'DUO', 'API HOST', 'DETAIL'], rows));
      for (const warning of warnings) io.err(`warning: ${warning.tenant}: ${warning.message}`);
      for (const entry of results) if (entry.fix) io.err(`fix: ${entry.tenant}: ${entry.fix}`);
    }
    return ok ? EXIT.ok : EXIT.failed;
  },
};

async function checkTenant(
  adapter: DuoAdapter,
  tenant: CompiledTenant,
  context: FixContext,
): Promise<HealthResult> {
  const base = { tenant: tenant.id, apiHost: tenant.duo.apiHost };
  try {
    const health = await adapter.healthCheck(tenant.duo);
    return { ...base, ok: true, skewMs: Math.round(health.skewMs) || 0 };
  } catch (error) {
    const code = isDuoMfaError(error) ? error.code : 'ERR_UNEXPECTED';
    const message = error instanceof Error ? error.message : String(error);
    // A clock-skew failure (ERR_DUO_CLOCK_SKEW) carries the measured skew: keep it for the warning.
    const skewMs = isDuoMfaError(error) ? error.details.skewMs : undefined;
    const fix = isDuoMfaError(error) ? fixFor(error, tenant, context) : undefined;
    return {
      ...base,
      ok: false,
      ...(typeof skewMs === 'number' ? { skewMs: Math.round(skewMs) || 0 } : {}),
      error: { code, message },
      ...(fix === undefined ? {} : { fix }),
    };
  }
}

/** The DETAIL column for a failure: plain words for the misconfigurations, Duo's reason otherwise. */
function failureDetail(entry: HealthResult): string {
  const error = entry.error;
  if (error?.code === 'ERR_DUO_TLS') {
    return /No TLS session/.test(error.message)
      ? 'no TLS session could be set up (is this Duo?)'
      : "Duo's certificate could not be verified";
  }
  if (error?.code === 'ERR_DUO_HOST_NOT_FOUND') return 'this host name does not exist (ENOTFOUND)';
  return error?.message ?? 'failed';
}

/** What to do about a failure that is not an outage, in plain words; undefined for outages and Duo's refusals. */
function fixFor(error: DuoMfaError, tenant: CompiledTenant, context: FixContext): string | undefined {
  const apiHost = tenant.duo.apiHost;
  const at = tenantSetting(context.file, context.directory, tenant.id, 'duo.apiHost');
  const where = `${at.path} in ${at.file}`;
  switch (error.code) {
    case 'ERR_DUO_TLS': {
      const tlsCode = typeof error.details.tlsCode === 'string' ? ` (${error.details.tlsCode})` : '';
      if (/No TLS session/.test(error.message)) {
        return `nothing at ${apiHost} speaks TLS as Duo does${tlsCode}: check ${where} (Duo's API hostname, like api-12345678.duosecurity.com)`;
      }
      const local = localEmulatorHint(apiHost, context.file, context.caPath, tlsCode);
      if (local) return local;
      return (
        `Duo's certificate for ${apiHost} could not be verified${tlsCode}. If a TLS-inspecting proxy sits between this ` +
        'machine and Duo, pass its CA with --ca FILE (the app needs the same CA in duoTls.ca). If there is no such ' +
        'proxy, someone may be intercepting the connection to Duo: do not work around it'
      );
    }
    case 'ERR_DUO_HOST_NOT_FOUND':
      return `check ${where}: it must be the "API hostname" of the tenant's Duo application, like api-12345678.duosecurity.com`;
    case 'ERR_DUO_CONFIG':
      return context.proxy ? 'check the host, user and password in --proxy' : undefined;
    default:
      return undefined;
  }
}

/**
 * For a certificate that failed verification at an `apiHost` on this machine (the local emulator): which `--ca`
 * to pass, naming the CA file found next to the policy or in the emulator's default place. Undefined elsewhere.
 *
 * @example
 * ```ts
 * localEmulatorHint('127.0.0.1:8443', 'example-app/duo-mfa.json', undefined);
 * // '127.0.0.1:8443 is on this machine — the local Duo emulator? … pass its CA with --ca example-app/.data/emulator-ca.pem'
 * ```
 */
export function localEmulatorHint(
  apiHost: string,
  file: string,
  caPath: string | undefined,
  tlsCode = '',
): string | undefined {
  if (!isThisMachine(apiHost)) return undefined;
  const found = emulatorCaFiles(file).filter((path) => path !== caPath);
  if (caPath !== undefined) {
    return (
      `${apiHost} is on this machine, but its certificate is not signed by the CA in --ca ${caPath}${tlsCode}: ` +
      'a restarted emulator makes a new CA — pass the one it wrote this time' +
      (found.length > 0 ? ` (--ca ${found[0]})` : ` (its --ca-out file, default ${EMULATOR_CA_DEFAULT})`)
    );
  }
  return (
    `${apiHost} is on this machine — the local Duo emulator? Its certificate is not signed by Duo's CAs${tlsCode}: ` +
    (found.length > 0
      ? `pass its CA with --ca ${found[0]}`
      : `pass its CA with --ca FILE: the file duo-mfa emulator wrote with --ca-out (default ${EMULATOR_CA_DEFAULT}; ` +
        `the example app's is ${EXAMPLE_APP_CA})`)
  );
}

/** 127.0.0.0/8, ::1 and localhost: a Duo "apiHost" there is an emulator (or a mistake), never Duo. */
function isThisMachine(apiHost: string): boolean {
  let host: string;
  try {
    host = new URL(`https://${apiHost}`).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Emulator CA files that exist, as paths to type: next to the policy (the example app's), then the default. */
function emulatorCaFiles(file: string): string[] {
  const policy = resolve(file);
  const base = isDirectory(policy) ? [policy, dirname(policy)] : [dirname(policy)];
  const candidates = [
    ...base.map((dir) => join(dir, '.data', 'emulator-ca.pem')),
    ...base.map((dir) => join(dir, '.duo-emulator', 'ca.pem')),
    resolve(EMULATOR_CA_DEFAULT),
    resolve(EXAMPLE_APP_CA),
  ];
  const found = [...new Set(candidates)].filter((path) => existsSync(path));
  return found.map((path) => {
    const shown = relative(process.cwd(), path);
    return shown.startsWith('..') ? path : shown;
  });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/** The skew as JSON has it (whole ms), with a sign: `+235 ms`, `-1204 ms`, `0 ms`. */
function signedMs(ms: number): string {
  const rounded = Math.round(ms) || 0;
  return `${rounded > 0 ? '+' : ''}${rounded} ms`;
}
