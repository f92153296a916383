// `duo-mfa health FILE`: runs Duo's health check for each tenant's credentials and reports the clock skew.

import { readFileSync } from 'node:fs';
import { DuoAdapter } from '../../duo/adapter';
import { isDuoMfaError } from '../../errors';
import { SKEW_WARNING_MS } from '../../middleware/health';
import type { CompiledTenant } from '../../policy/types';
import { didYouMean } from '../../util/names';
import { EXIT, UsageError, flagOption, integerOption, stringOption, type Command } from '../command';
import { json, table } from '../io';
import { describeIssues, readPolicyForCli } from '../policy-file';

/** The health check never redirects anywhere, but the Duo client wants a well-formed redirect URL. */
const PLACEHOLDER_REDIRECT = 'https://localhost/duo/callback';

interface HealthResult {
  tenant: string;
  apiHost: string;
  ok: boolean;
  skewMs?: number;
  error?: { code: string; message: string };
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
  usage: 'duo-mfa health FILE [--tenant T] [--ca FILE] [--timeout MS] [--json]',
  help: `Calls Duo's health check with each tenant's credentials (or one tenant's) and prints OK or FAIL with the
reason, and how far this machine's clock is from Duo's (warns above 30 s: Duo refuses tokens beyond 60 s).
{ "env": "NAME" } secrets are read from the environment.

Options:
  --tenant T     check only this tenant
  --ca FILE      trust this CA certificate (PEM) for Duo instead of Duo's pinned CAs: the local emulator
                 (duo-mfa emulator --ca-out FILE) or a TLS-inspecting proxy
  --timeout MS   give up on each check after MS milliseconds (default 5000)
  --json         print { ok, tenants: [{ tenant, apiHost, ok, skewMs?, error? }], warnings } as JSON
  --help         show this help

Exit codes: 0 every check passed, 1 a check failed or the policy is invalid, 2 usage error.`,
  options: {
    tenant: { type: 'string' },
    ca: { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: ['FILE'],

  async run({ values, positionals, io }) {
    const file = positionals[0]!;
    const timeoutMs = integerOption(values, 'timeout', 5000, 1, 600_000);
    const ca = readCa(stringOption(values, 'ca'));
    const result = readPolicyForCli(file, { env: io.env });
    if (!result.ok) {
      io.err(describeIssues(result.issues, file));
      return EXIT.failed;
    }
    const tenants = pickTenants(result.policy.tenants, stringOption(values, 'tenant'));

    let adapter: DuoAdapter;
    try {
      adapter = new DuoAdapter({
        redirectUrl: PLACEHOLDER_REDIRECT,
        timeoutMs,
        ...(ca === undefined ? {} : { ca }),
      });
    } catch (error) {
      io.err(`duo-mfa health: ${error instanceof Error ? error.message : String(error)}`);
      return EXIT.failed;
    }
    let results: HealthResult[];
    try {
      results = await Promise.all(tenants.map((tenant) => checkTenant(adapter, tenant)));
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
        entry.ok ? `clock skew ${signedSeconds(entry.skewMs ?? 0)}` : (entry.error?.message ?? 'failed'),
      ]);
      io.out(table(['TENANT', 'DUO', 'API HOST', 'DETAIL'], rows));
      for (const warning of warnings) io.err(`warning: ${warning.tenant}: ${warning.message}`);
    }
    return ok ? EXIT.ok : EXIT.failed;
  },
};

async function checkTenant(adapter: DuoAdapter, tenant: CompiledTenant): Promise<HealthResult> {
  const base = { tenant: tenant.id, apiHost: tenant.duo.apiHost };
  try {
    const health = await adapter.healthCheck(tenant.duo);
    return { ...base, ok: true, skewMs: health.skewMs };
  } catch (error) {
    const code = isDuoMfaError(error) ? error.code : 'ERR_UNEXPECTED';
    const message = error instanceof Error ? error.message : String(error);
    // A clock-skew failure (ERR_DUO_CLOCK_SKEW) carries the measured skew: keep it for the warning.
    const skewMs = isDuoMfaError(error) ? error.details.skewMs : undefined;
    return {
      ...base,
      ok: false,
      ...(typeof skewMs === 'number' ? { skewMs } : {}),
      error: { code, message },
    };
  }
}

function pickTenants(
  tenants: ReadonlyMap<string, CompiledTenant>,
  wanted: string | undefined,
): CompiledTenant[] {
  if (wanted === undefined) return [...tenants.values()];
  const tenant = tenants.get(wanted);
  if (tenant) return [tenant];
  const hint = didYouMean(wanted, tenants.keys());
  const known = [...tenants.keys()].slice(0, 10).join(', ');
  throw new UsageError(
    `tenant ${JSON.stringify(wanted)} is not in the policy${hint ? ` — did you mean ${JSON.stringify(hint)}?` : ` (tenants: ${known})`}`,
  );
}

function readCa(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(`--ca ${path} cannot be read (${code})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(`--ca ${path} is not a PEM certificate (no "-----BEGIN CERTIFICATE-----")`);
  }
  return pem;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

function signedSeconds(ms: number): string {
  const rounded = Math.round(ms / 1000);
  return `${rounded > 0 ? '+' : ''}${rounded} s`;
}
