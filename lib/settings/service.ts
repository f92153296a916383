// Tenant self-service settings (S48): a tenant's settings as stored, with secrets masked; changes as JSON merge
// patches with optimistic concurrency, secrets encrypted at rest, every change audited; and "Test configuration".

import { isDuoMfaError, DuoMfaError, type DuoMfaErrorCode } from '../errors';
import type { MfaInstance } from '../middleware/instance';
import { tenantIssues } from '../policy/compile';
import { policyInvalidError } from '../policy/issues';
import { encryptSecret } from '../policy/secrets';
import type { DuoCredentials, PolicyIssue } from '../policy/types';
import { hasControlCharacters } from '../util/names';
import { isPlainObject } from '../util/objects';
import { changedPaths, mergePatch } from './merge-patch';

/** A tenant's settings as the API shows them: the stored object, every secret as `{ "set": true }`. */
export interface SettingsDocument {
  /** Opaque; changes with every change to the tenant. null when the tenant does not exist (yet). */
  readonly version: string | null;
  /** The tenant's object as in the policy format; null when the tenant does not exist. */
  readonly settings: Record<string, unknown> | null;
  /** False when the policy was given as a parsed object: updateSettings() then answers ERR_SETTINGS_READ_ONLY. */
  readonly writable: boolean;
  /**
   * True when these stored settings are the ones deciding sign-ins. False when they are invalid (an edit outside
   * the API: the last good version stays in force, S49, and `problems` says why), or for a moment after such an
   * edit until the source picks it up.
   */
  readonly inForce: boolean;
  /** Why the stored settings are not in force, each with its path inside the tenant; empty otherwise. */
  readonly problems: readonly PolicyIssue[];
}

/** Options of updateSettings(). */
export interface UpdateSettingsOptions {
  /** Who made the change, for the audit trail (`settings.changed`). */
  readonly actor: string;
  /** The version the change was made on (from settings()); null to create a tenant that does not exist yet. */
  readonly version: string | null;
}

/** Duo credentials to try before saving them (the "Test configuration" button); the secret may be left out. */
export interface CandidateDuo {
  readonly clientId?: unknown;
  readonly clientSecret?: unknown;
  readonly apiHost?: unknown;
}

/** What "Test configuration" found. `message` is for people; `code` the DuoMfaError code when it failed. */
export interface ConnectionTest {
  readonly ok: boolean;
  /** This server's clock minus Duo's, ms (when Duo answered). */
  readonly skewMs?: number;
  readonly code?: string;
  readonly message?: string;
}

/** Where secrets live in a tenant, and which settings they belong with. */
const SECRETS = [
  {
    path: ['duo', 'clientSecret'],
    field: 'duo.clientSecret',
    with: [
      ['duo', 'clientId'],
      ['duo', 'apiHost'],
    ],
  },
  {
    path: ['duo', 'adminApi', 'secretKey'],
    field: 'duo.adminApi.secretKey',
    with: [
      ['duo', 'adminApi', 'integrationKey'],
      ['duo', 'adminApi', 'apiHost'],
    ],
  },
] as const;

const SECRET_LENGTH = 40;

/** What a tenant admin should check after a failed "Test configuration". */
const CHECK: Partial<Record<DuoMfaErrorCode, string>> = {
  ERR_DUO_CREDENTIALS: 'Check the Client ID and the Client secret: Duo refused them for this API hostname.',
  ERR_DUO_HOST_NOT_FOUND: 'Check the API hostname: no such host exists.',
  ERR_DUO_TLS: 'The connection to Duo could not be verified: ask whoever operates this application.',
  ERR_DUO_CLOCK_SKEW: "This server's clock is wrong: ask whoever operates this application.",
  ERR_DUO_UNAVAILABLE: 'Duo did not answer: check the API hostname, or try again in a few minutes.',
  ERR_DUO_TIMEOUT: 'Duo did not answer in time: check the API hostname, or try again in a few minutes.',
};

/**
 * The tenant's settings as stored, secrets masked (`{ "set": true }`; an operator's `{ "env": "NAME" }` shown as
 * it is).
 *
 * @example
 * ```ts
 * const { version, settings } = await mfa.settings('acme'); // settings.duo.clientSecret: { set: true }
 * ```
 */
export async function readSettings(instance: MfaInstance, tenant: string): Promise<SettingsDocument> {
  checkTenantId(tenant);
  const [stored, entry] = await Promise.all([
    instance.tenants.readTenant(tenant),
    instance.tenants.load(tenant),
  ]);
  const writable = instance.tenants.writable;
  if (stored.raw === undefined || stored.version === null) {
    return { version: null, settings: null, writable, inForce: false, problems: [] };
  }
  const inForce = entry.state === 'ready' && entry.tenant.version === stored.version;
  const refusal =
    entry.state === 'ready' ? entry.invalid : entry.state === 'unavailable' ? entry.error : undefined;
  const problems = inForce ? [] : ((refusal?.details.issues as readonly PolicyIssue[] | undefined) ?? []);
  return { version: stored.version, settings: masked(stored.raw), writable, inForce, problems };
}

/**
 * Applies a JSON merge patch (RFC 7396) to the tenant's stored settings and stores the result, if `version` is
 * still the current one. A new secret (a string) is encrypted with the secretsKey; `{ "set": true }` keeps the
 * stored one. Nothing is written when the result is invalid (ERR_POLICY_INVALID, every problem with its path
 * inside the tenant), the version is stale (ERR_SETTINGS_CONFLICT) or the policy is read-only.
 */
export async function updateSettings(
  instance: MfaInstance,
  tenant: string,
  changes: unknown,
  options: UpdateSettingsOptions,
): Promise<SettingsDocument> {
  checkTenantId(tenant);
  const actor = checkActor(options?.actor);
  const expected = options?.version;
  if (expected !== null && typeof expected !== 'string') {
    throw new TypeError(
      'express-duo-mfa: updateSettings(tenant, changes, { actor, version }) needs the version the change was made on (null to create a tenant)',
    );
  }
  if (!isPlainObject(changes)) {
    throw policyInvalidError(
      [{ path: '$', message: 'the change must be a JSON object (a merge patch of the tenant)' }],
      tenant,
    );
  }
  if (!instance.tenants.writable) {
    throw new DuoMfaError(
      'ERR_SETTINGS_READ_ONLY',
      'the MFA policy was given as a parsed object: settings cannot be changed at runtime',
    );
  }
  const stored = await instance.tenants.readTenant(tenant);
  if (stored.version !== expected) {
    throw new DuoMfaError(
      'ERR_SETTINGS_CONFLICT',
      `the settings of ${JSON.stringify(tenant)} changed since`,
      {
        details: { tenant, currentVersion: stored.version },
      },
    );
  }
  const before = stored.raw ?? {};
  const { patch, issues } = secretsOfPatch(instance, tenant, before, changes);
  const after = mergePatch(before, patch);
  if (issues.length > 0) {
    // Every problem in one answer: the secrets' and the rest of the result's (a secret refused stays as stored).
    const rest = tenantIssues(tenant, after, {
      env: instance.config.env,
      secretsKey: instance.config.secretsKey,
      paths: 'tenant',
    }).filter((issue) => !issues.some((own) => own.path === issue.path));
    throw policyInvalidError([...issues, ...rest], tenant);
  }
  const version = await instance.tenants.writeTenant(tenant, after, { expectedVersion: expected });
  const fields = changedPaths(before, after);
  instance.events.emit('settings.changed', undefined, { tenant }, { actor, fields, version });
  const entry = await instance.tenants.load(tenant);
  const inForce = entry.state === 'ready' && entry.tenant.version === version;
  return { version, settings: masked(after), writable: true, inForce, problems: [] };
}

/**
 * Duo's health check with the tenant's saved Duo application, or with `duo` before it is saved (a secret left out,
 * or `{ "set": true }`, means the saved one — only for the saved client id and API host).
 */
export async function testConnection(
  instance: MfaInstance,
  tenant: string,
  duo?: CandidateDuo,
): Promise<ConnectionTest> {
  checkTenantId(tenant);
  const entry = instance.tenants.peek(tenant) ?? (await instance.tenants.load(tenant));
  const saved = entry.state === 'ready' ? entry.tenant.duo : undefined;
  let credentials: DuoCredentials;
  try {
    credentials = candidateCredentials(instance, saved, duo);
  } catch (error) {
    if (isDuoMfaError(error)) return { ok: false, code: error.code, message: error.message };
    throw error;
  }
  try {
    const { skewMs } = await instance.adapter.healthCheck(credentials);
    return { ok: true, skewMs: Math.round(skewMs) };
  } catch (error) {
    if (!isDuoMfaError(error)) throw error;
    // The title and what to check, never the network detail (addresses, ports, certificates) behind it.
    const skewMs = error.details.skewMs;
    return {
      ok: false,
      code: error.code,
      message: `${error.title}. ${CHECK[error.code] ?? error.advice}`,
      ...(typeof skewMs === 'number' ? { skewMs: Math.round(skewMs) } : {}),
    };
  }
}

/**
 * The patch with its secrets made storable: a new secret (a string of 40 characters) encrypted for this tenant and
 * field; `{ "set": true }` dropped (the stored one stays). A refused secret is left out of the patch and reported
 * in `issues`. Refused: `{ "env" }` and `{ "encrypted" }` (the
 * server's environment and other ciphertexts are an operator's business), and a changed client id or API host
 * without the secret entered again (the saved secret must never be sent to another Duo application or host).
 */
function secretsOfPatch(
  instance: MfaInstance,
  tenant: string,
  before: Record<string, unknown>,
  changes: Record<string, unknown>,
): { patch: Record<string, unknown>; issues: PolicyIssue[] } {
  const patch = structuredClone(changes);
  const issues: PolicyIssue[] = [];
  for (const secret of SECRETS) {
    const value = valueAt(patch, secret.path);
    const changedWith = secret.with.some(
      (path) => hasPath(patch, path) && !sameJson(valueAt(patch, path), valueAt(before, path)),
    );
    if (value === undefined || isSetMarker(value)) {
      if (value !== undefined) removeAt(patch, secret.path);
      // A new application or host keeps a stored secret only when it is entered again. (No stored secret: the
      // validation of the result says what is missing.)
      if (changedWith && valueAt(before, secret.path) !== undefined) {
        issues.push({
          path: secret.field,
          message: `enter the secret again when changing ${secret.with.map((p) => p.at(-1)).join(' or ')}`,
        });
      }
      continue;
    }
    if (value === null) continue; // removing the whole application, or an invalid change the validation reports
    if (typeof value !== 'string') {
      issues.push({
        path: secret.field,
        message:
          'must be the secret itself (a string); references to the environment or ciphertexts are set by operators in the policy',
      });
      removeAt(patch, secret.path);
      continue;
    }
    if (value.length !== SECRET_LENGTH) {
      issues.push({
        path: secret.field,
        message: `must be ${SECRET_LENGTH} characters (got ${value.length})`,
      });
      removeAt(patch, secret.path);
      continue;
    }
    setAt(patch, secret.path, {
      encrypted: encryptSecret(instance.config.secretsKey, value, { tenant, field: secret.field }),
    });
  }
  for (const path of HOST_PATHS) {
    const host = valueAt(patch, path);
    if (typeof host === 'string' && host !== valueAt(before, path) && !isDuoHost(instance, host)) {
      issues.push({ path: path.join('.'), message: DUO_HOST_MESSAGE });
    }
  }
  return { patch, issues };
}

/** Where a tenant names a Duo host. */
const HOST_PATHS = [
  ['duo', 'apiHost'],
  ['duo', 'adminApi', 'apiHost'],
] as const;

const DUO_HOST_MESSAGE =
  'must be the API hostname Duo showed, e.g. "api-12345678.duosecurity.com" (a Duo host: the settings API never connects elsewhere)';

/**
 * True for a host the settings API may set or test: Duo's own (`*.duosecurity.com`, `*.duofederal.com`). An app
 * that trusts its own CA for Duo (`duoTls.ca`: the emulator, a TLS-inspecting proxy) may use any host. Otherwise a
 * tenant admin could make the server connect to any host and port and learn what answered.
 */
function isDuoHost(instance: MfaInstance, host: string): boolean {
  if (instance.config.duoCa !== undefined) return true;
  return /^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:duosecurity|duofederal)\.com$/i.test(host);
}

/** The tenant object with every secret replaced by `{ "set": true }` (an `{ "env" }` reference shown as it is). */
function masked(raw: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(raw);
  for (const secret of SECRETS) {
    const value = valueAt(copy, secret.path);
    if (value === undefined || value === null) continue;
    if (isPlainObject(value) && typeof value.env === 'string' && Object.keys(value).length === 1) continue;
    setAt(copy, secret.path, { set: true });
  }
  return copy;
}

function candidateCredentials(
  instance: MfaInstance,
  saved: DuoCredentials | undefined,
  duo: CandidateDuo | undefined,
): DuoCredentials {
  const clientId = duo?.clientId ?? saved?.clientId;
  const apiHost = duo?.apiHost ?? saved?.apiHost;
  const issues: PolicyIssue[] = [];
  if (typeof clientId !== 'string' || clientId.length !== 20)
    issues.push({ path: 'duo.clientId', message: 'must be the 20-character Client ID' });
  if (typeof apiHost !== 'string' || !/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(apiHost))
    issues.push({
      path: 'duo.apiHost',
      message: 'must be the API hostname, e.g. "api-12345678.duosecurity.com"',
    });
  else if (apiHost !== saved?.apiHost && !isDuoHost(instance, apiHost))
    issues.push({ path: 'duo.apiHost', message: DUO_HOST_MESSAGE });
  let clientSecret = duo?.clientSecret;
  if (clientSecret === undefined || isSetMarker(clientSecret)) {
    // The saved secret, only with the saved application and host it belongs to.
    const same = saved !== undefined && clientId === saved.clientId && apiHost === saved.apiHost;
    clientSecret = same ? saved.clientSecret : undefined;
    if (!same)
      issues.push({
        path: 'duo.clientSecret',
        message: 'enter the client secret to test another application or host',
      });
  } else if (typeof clientSecret !== 'string' || clientSecret.length !== SECRET_LENGTH) {
    issues.push({
      path: 'duo.clientSecret',
      message: `must be the ${SECRET_LENGTH}-character client secret`,
    });
  }
  if (issues.length > 0) throw policyInvalidError(issues, 'Test configuration');
  return { clientId: clientId as string, clientSecret: clientSecret as string, apiHost: apiHost as string };
}

function checkTenantId(tenant: unknown): asserts tenant is string {
  if (
    typeof tenant !== 'string' ||
    tenant.trim() === '' ||
    tenant.length > 200 ||
    hasControlCharacters(tenant)
  ) {
    throw new TypeError('express-duo-mfa: settings need a tenant id (a non-empty string, as in the policy)');
  }
}

function checkActor(actor: unknown): string {
  if (typeof actor !== 'string' || actor.trim() === '') {
    throw new TypeError(
      'express-duo-mfa: updateSettings needs { actor }: who made the change, for the audit trail (e.g. "alice@acme")',
    );
  }
  return actor.trim().slice(0, 200);
}

function isSetMarker(value: unknown): boolean {
  return isPlainObject(value) && value.set === true && Object.keys(value).length === 1;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function hasPath(object: unknown, path: readonly string[]): boolean {
  let current = object;
  for (const key of path) {
    if (!isPlainObject(current) || !Object.hasOwn(current, key)) return false;
    current = current[key];
  }
  return true;
}

function valueAt(object: unknown, path: readonly string[]): unknown {
  let current = object;
  for (const key of path)
    current = isPlainObject(current) && Object.hasOwn(current, key) ? current[key] : undefined;
  return current;
}

function setAt(object: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let current = object;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(current[key])) current[key] = {};
    current = current[key] as Record<string, unknown>;
  }
  current[path.at(-1)!] = value;
}

function removeAt(object: Record<string, unknown>, path: readonly string[]): void {
  const parent = valueAt(object, path.slice(0, -1));
  if (isPlainObject(parent)) delete parent[path.at(-1)!];
}
