// Shared by the example-app and browser tests: the example's policy pointed at a test emulator, its Duo
// applications, and a logger that keeps what it is told.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { TENANTS } from '../../example-app/demo';
import type { MfaLogger } from '../../lib/index';

export const EXAMPLE_DIR = resolve(__dirname, '../../example-app');
export const EXAMPLE_POLICY_FILE = resolve(EXAMPLE_DIR, 'duo-mfa.json');
export const PASSWORD = 'demo1234';

/**
 * The example's policy file as an object, every tenant (and its Admin API application) pointed at `apiHost`,
 * frank's bypass made current.
 */
export function examplePolicy(apiHost: string, edit?: (policy: any) => void): Record<string, any> {
  const policy = JSON.parse(readFileSync(EXAMPLE_POLICY_FILE, 'utf8'));
  delete policy.$schema;
  for (const tenant of Object.values<any>(policy.tenants)) {
    tenant.duo.apiHost = apiHost;
    if (tenant.duo.adminApi) tenant.duo.adminApi.apiHost = apiHost;
  }
  // The demo file's bypass has a fixed date; the tests must not start failing when it passes.
  for (const bypass of policy.tenants.acme.mfa.temporaryBypass ?? []) {
    bypass.until = new Date(Date.now() + 24 * 3600_000).toISOString();
  }
  edit?.(policy);
  return policy;
}

/** The Duo applications of the example policy, for the emulator. */
export function exampleApplications(): Array<{ clientId: string; clientSecret: string; name: string }> {
  const policy = JSON.parse(readFileSync(EXAMPLE_POLICY_FILE, 'utf8'));
  return Object.entries<any>(policy.tenants).map(([id, tenant]) => ({
    clientId: tenant.duo.clientId,
    clientSecret: tenant.duo.clientSecret,
    name: `${TENANTS.find((t) => t.id === id)?.name ?? id} Staff Portal`,
  }));
}

/** The Admin API applications of the example policy (Acme's), for the emulator's `adminApplications`. */
export function exampleAdminApplications(): Array<{ integrationKey: string; secretKey: string }> {
  const policy = JSON.parse(readFileSync(EXAMPLE_POLICY_FILE, 'utf8'));
  return Object.values<any>(policy.tenants)
    .filter((tenant) => tenant.duo.adminApi)
    .map((tenant) => ({
      integrationKey: tenant.duo.adminApi.integrationKey,
      secretKey: tenant.duo.adminApi.secretKey,
    }));
}

/** A logger that records every line (shown when a test fails) instead of printing. */
export function capturingLogger(): { logger: MfaLogger; logs: string[] } {
  const logs: string[] = [];
  const capture =
    (level: string) =>
    (obj: object, msg?: string): void => {
      logs.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
    };
  return {
    logs,
    logger: {
      debug: capture('debug'),
      info: capture('info'),
      warn: capture('warn'),
      error: capture('error'),
    },
  };
}
