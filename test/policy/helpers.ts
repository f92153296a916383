// Builders for policy documents and temp directories shared by the policy and CLI tests.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { isDuoMfaError, type DuoMfaError } from '../../lib/errors';
import type { TenantEntry } from '../../lib/policy/source';
import type { PolicyChange, TenantSourceOptions } from '../../lib/policy/tenant-cache';
import type { PolicyIssue } from '../../lib/policy/types';

/** A 40-character client secret that is easy to grep for in outputs (it must never appear there). */
export const SECRET = 'SECRET-must-never-be-printed-0123456789x';
export const OTHER_SECRET = 'OTHER-secret-that-must-never-be-shown-99';
export const CLIENT_ID = 'DIABCDEFGHIJKLMNOPQR';

/** One valid tenant, overridable field by field. */
export function tenantDoc(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    mfa: { enabled: true },
    duo: { clientId: CLIENT_ID, clientSecret: SECRET, apiHost: 'api-12345678.duosecurity.com' },
    ...overrides,
  };
}

/** The policy of DESIGN.md's example, with the secret inline. */
export function designPolicy(): Record<string, unknown> {
  return {
    $schema: './node_modules/express-duo-mfa/schema/duo-mfa.schema.json',
    defaultTenant: 'acme',
    tenants: {
      acme: {
        mfa: {
          enabled: true,
          rolesIncluded: ['admin', 'finance'],
          staffIncluded: ['dana'],
          staffExcluded: ['kiosk-1'],
          temporaryBypass: [
            { username: 'frank', until: '2026-11-25T18:00:00Z', reason: 'new phone, re-activation pending' },
          ],
        },
        duo: {
          clientId: CLIENT_ID,
          clientSecret: { env: 'ACME_DUO_CLIENT_SECRET' },
          apiHost: 'api-12345678.duosecurity.com',
        },
        failmode: 'closed',
        challengeLimit: 5,
        trustedEndpoints: {
          policy: 'monitor',
          activation: 'test-group',
          testGroup: { roles: ['it'], staff: ['erin'] },
        },
      },
    },
  };
}

export const DESIGN_ENV = { ACME_DUO_CLIENT_SECRET: SECRET };

/** A fresh directory under the OS temp dir; `cleanup()` removes it. */
export function tempDir(prefix = 'duo-mfa-policy-'): {
  dir: string;
  path(name: string): string;
  cleanup(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    path: (name) => join(dir, name),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs `fn`, asserts it throws ERR_POLICY_INVALID, and returns the error. */
export function policyError(fn: () => unknown): DuoMfaError {
  try {
    fn();
  } catch (error) {
    assert.ok(
      isDuoMfaError(error, 'ERR_POLICY_INVALID'),
      `expected ERR_POLICY_INVALID, got ${String(error)}`,
    );
    return error;
  }
  assert.fail('expected ERR_POLICY_INVALID to be thrown');
}

export function issuesOf(error: DuoMfaError): PolicyIssue[] {
  return error.details.issues as PolicyIssue[];
}

/** Resolves when `check()` is true, polling every 10 ms; rejects after `timeoutMs` with `what`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The tenant sources' tests' two tenants: acme asks its staffIncluded for Duo, globex has MFA off. */
export const acmeTenant = (staff: string[] = ['dana']) =>
  tenantDoc({ mfa: { enabled: true, staffIncluded: staff } });
export const globexTenant = () => tenantDoc({ mfa: { enabled: false } });

/** Asserts a tenant entry is ready (compiled) and returns it. */
export function readyEntry(entry: TenantEntry | undefined) {
  assert.ok(entry && entry.state === 'ready', `expected a ready entry, got ${JSON.stringify(entry)}`);
  return entry;
}

/** Records what a tenant source reports; `options` are added to the source's options. */
export function sourceRecorder(options: TenantSourceOptions = {}) {
  const changes: PolicyChange[] = [];
  const invalids: DuoMfaError[] = [];
  return {
    changes,
    invalids,
    options: {
      onChange: (change: PolicyChange) => changes.push(change),
      onInvalid: (error: DuoMfaError) => invalids.push(error),
      ...options,
    } satisfies TenantSourceOptions,
  };
}
