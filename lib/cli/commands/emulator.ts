// `duo-mfa emulator`: runs the offline Duo emulator until Ctrl+C, with a policy file's credentials or a demo app.

import { randomInt } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  startDuoEmulator,
  type EmulatorAdminApplication,
  type EmulatorApplication,
  type EmulatorMode,
} from '../../emulator';
import type { CompiledTenant } from '../../policy/types';
import { EXIT, choiceOption, integerOption, stringOption, type Command } from '../command';
import type { CliIo } from '../io';
import { describeIssues, readPolicyForCli, SECRETS_KEY_VARIABLE } from '../policy-file';

const MODES: readonly EmulatorMode[] = ['interactive', 'auto'];
const DEFAULT_CA_OUT = './.duo-emulator/ca.pem';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * `duo-mfa emulator [--port 8443] [--policy FILE|DIR]` (see its `help` text for every option and the exit codes).
 *
 * @example
 * ```ts
 * const code = await runCli(['emulator', '--port', '0', '--policy', 'duo-mfa.d'], processIo());
 * ```
 */
export const emulatorCommand: Command = {
  name: 'emulator',
  summary: 'run the offline Duo emulator (HTTPS) until Ctrl+C',
  usage:
    'duo-mfa emulator [--port 8443] [--host 127.0.0.1] [--policy FILE] [--mode interactive|auto] [--ca-out FILE]',
  help: `Starts a local HTTPS server that speaks Duo's OIDC Auth API well enough for the official Duo client, with
a throw-away CA written to --ca-out. Point a tenant's "apiHost" at the printed apiHost and trust the CA
(duoMfa({ duoTls: { ca } }), or duo-mfa health --ca FILE).

Options:
  --port N         port to listen on (default 8443; 0 picks a free port, printed at start)
  --host H         interface to listen on (default 127.0.0.1)
  --policy FILE    accept every tenant's Duo credentials from this policy file or policy directory
                   ({ "env": "NAME" } secrets are read from the environment, { "encrypted": "v1:…" } ones
                   opened with ${SECRETS_KEY_VARIABLE}), and each tenant's duo.adminApi credentials (an Admin
                   API application) when present; without it, a demo application is generated and printed
  --mode M         interactive (default): prompt pages with "Send me a Push"; auto: approve at once
  --ca-out FILE    where to write the CA certificate (PEM) (default ${DEFAULT_CA_OUT})
  --help           show this help

Stops cleanly on SIGINT (Ctrl+C) or SIGTERM. Exit codes: 0 stopped, 1 could not start, 2 usage error.`,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    policy: { type: 'string' },
    mode: { type: 'string' },
    'ca-out': { type: 'string' },
  },
  positionals: [],

  async run({ values, io }) {
    const port = integerOption(values, 'port', 8443, 0, 65535);
    const host = stringOption(values, 'host') ?? '127.0.0.1';
    const mode = choiceOption(values, 'mode', MODES, 'interactive');
    const caOut = resolve(stringOption(values, 'ca-out') ?? DEFAULT_CA_OUT);
    const policyFile = stringOption(values, 'policy');

    let applications: EmulatorApplication[];
    let adminApplications: TenantAdminApplication[] = [];
    let tenants: CompiledTenant[] = [];
    if (policyFile === undefined) {
      applications = [demoApplication()];
    } else {
      const read = readPolicyForCli(policyFile, { env: io.env });
      if (!read.ok) {
        io.err(describeIssues(read.issues, policyFile));
        return EXIT.failed;
      }
      tenants = [...read.policy.tenants.values()];
      applications = applicationsOf(tenants, io);
      adminApplications = uniqueAdminApplications(adminApplicationsOf(tenants), io);
    }

    let emulator;
    try {
      emulator = await startDuoEmulator({
        applications,
        adminApplications: adminApplications.map(({ integrationKey, secretKey, name }) => ({
          integrationKey,
          secretKey,
          name,
        })),
        mode,
        port,
        host,
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason =
        code === 'EADDRINUSE'
          ? `port ${port} on ${host} is already in use (try --port 0)`
          : error instanceof Error
            ? error.message
            : String(error);
      io.err(`duo-mfa emulator: could not start: ${reason}`);
      return EXIT.failed;
    }

    try {
      mkdirSync(dirname(caOut), { recursive: true });
      writeFileSync(caOut, emulator.ca);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? String(error);
      io.err(`duo-mfa emulator: cannot write the CA to ${caOut}: ${reason}`);
      await emulator.close();
      return EXIT.failed;
    }

    printBanner(io, {
      apiHost: emulator.apiHost,
      url: emulator.url,
      caOut,
      mode,
      policyFile,
      applications,
      tenants,
      adminApplications,
    });
    const signal = await io.waitForStop();
    await emulator.close();
    io.out(`Duo emulator stopped (${signal}).`);
    return EXIT.ok;
  },
};

/** An Admin API application a tenant's `duo.adminApi` names, with the tenant and apiHost for the banner. */
interface TenantAdminApplication extends EmulatorAdminApplication {
  readonly name: string;
  readonly apiHost: string;
}

/** Each tenant's `duo.adminApi` application, named after the tenant. */
function adminApplicationsOf(tenants: readonly CompiledTenant[]): TenantAdminApplication[] {
  return tenants.flatMap((tenant) => {
    const admin = tenant.duo.adminApi;
    return admin === undefined
      ? []
      : [
          {
            integrationKey: admin.integrationKey,
            secretKey: admin.secretKey,
            name: tenant.id,
            apiHost: admin.apiHost,
          },
        ];
  });
}

/** One Admin API application per distinct integration key (tenants may share one). */
function uniqueAdminApplications(
  apps: readonly TenantAdminApplication[],
  io: CliIo,
): TenantAdminApplication[] {
  const byKey = new Map<string, TenantAdminApplication>();
  for (const app of apps) {
    const known = byKey.get(app.integrationKey);
    if (known === undefined) byKey.set(app.integrationKey, app);
    else if (known.secretKey !== app.secretKey) {
      io.err(
        `warning: tenants ${known.name} and ${app.name} use Admin API integration key ${app.integrationKey} with different secret keys: the emulator accepts ${known.name}'s`,
      );
    }
  }
  return [...byKey.values()];
}

/** One application per distinct clientId (tenants may share a Duo application). */
function applicationsOf(tenants: readonly CompiledTenant[], io: CliIo): EmulatorApplication[] {
  const byClientId = new Map<string, EmulatorApplication>();
  for (const tenant of tenants) {
    const { clientId, clientSecret } = tenant.duo;
    const known = byClientId.get(clientId);
    if (known === undefined) byClientId.set(clientId, { clientId, clientSecret, name: tenant.id });
    else if (known.clientSecret !== clientSecret) {
      io.err(
        `warning: tenants ${known.name ?? '?'} and ${tenant.id} use client ${clientId} with different secrets: the emulator accepts ${known.name ?? '?'}'s`,
      );
    }
  }
  return [...byClientId.values()];
}

function demoApplication(): EmulatorApplication {
  return { clientId: `DI${randomText(18)}`, clientSecret: randomText(40), name: 'Demo application' };
}

function randomText(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

function printBanner(
  io: CliIo,
  info: {
    apiHost: string;
    url: string;
    caOut: string;
    mode: EmulatorMode;
    policyFile: string | undefined;
    applications: readonly EmulatorApplication[];
    tenants: readonly CompiledTenant[];
    adminApplications: readonly TenantAdminApplication[];
  },
): void {
  io.out('Duo emulator running (offline; for development and tests only)');
  io.out(`  apiHost:  ${info.apiHost}`);
  io.out(`  url:      ${info.url}`);
  io.out(`  CA:       ${info.caOut}`);
  io.out(`  mode:     ${info.mode}`);
  if (info.policyFile === undefined) {
    const demo = info.applications[0]!;
    io.out('  demo application (emulator-only credentials):');
    io.out(`    clientId:      ${demo.clientId}`);
    io.out(`    clientSecret:  ${demo.clientSecret}`);
    io.out(`    apiHost:       ${info.apiHost}`);
  } else {
    io.out(`  applications from ${info.policyFile}:`);
    for (const tenant of info.tenants) {
      const note = tenant.duo.apiHost === info.apiHost ? '' : ` (its apiHost is ${tenant.duo.apiHost})`;
      io.out(`    ${tenant.id}: ${tenant.duo.clientId}${note}`);
    }
    if (info.adminApplications.length > 0) {
      io.out('  Admin API applications:');
      for (const app of info.adminApplications) {
        const note = app.apiHost === info.apiHost ? '' : ` (its apiHost is ${app.apiHost})`;
        io.out(`    ${app.name}: ${app.integrationKey}${note}`);
      }
    }
  }
  io.out('Press Ctrl+C to stop.');
}
