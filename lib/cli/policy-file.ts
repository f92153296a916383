// Reading the policy FILE (or DIR) argument for a command: every problem as data, printed the same way by each command.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isDuoMfaError } from '../errors';
import {
  validatePolicy,
  validateTenant,
  type CompileOptions,
  type PolicyValidation,
} from '../policy/compile';
import { checkDefaults, DEFAULTS_FILE, INVALID_NAME_MESSAGE, tenantFileId } from '../policy/dir-source';
import { formatPath, policyInvalidError, ROOT_PATH } from '../policy/issues';
import { parsePolicyText, readPolicyFile } from '../policy/read';
import { openSecret, parseSecretsKey, type SecretsKey } from '../policy/secrets';
import type { CompiledTenant, PolicyIssue, PolicyWarning } from '../policy/types';
import { isPlainObject } from '../util/objects';

/** The environment variable the CLI reads the secretsKey from (as the middleware's default does). */
export const SECRETS_KEY_VARIABLE = 'DUO_MFA_SECRETS_KEY';

/** How a command wants secrets: read them all, all but encrypted ones when no key is set, or none. */
export type CliSecrets = 'resolve' | 'resolve-if-key' | 'skip' | 'skip-env';

/** A policy as a command read it: validated, with where it came from and how secrets were handled. */
export type CliPolicy = PolicyValidation & {
  /** True for a policy directory (problems then name their file). */
  readonly directory: boolean;
  /** Top-level keys and each tenant exactly as written (import stores these, not the defaults-applied form). */
  readonly raw: { readonly head: Record<string, unknown>; readonly tenants: ReadonlyMap<string, unknown> };
  /** Things the user should know that are not problems (e.g. encrypted secrets left unchecked). */
  readonly notes: readonly string[];
};

/**
 * Reads and validates a policy file or directory without throwing for policy problems (a missing file, bad JSON,
 * schema errors, a bad tenant file name all come back as issues; a directory's issues name their file, with paths
 * inside it). `secrets` says what to do with `{ "env" }` and `{ "encrypted" }` secrets; the secretsKey is read from
 * DUO_MFA_SECRETS_KEY. With `resolve` and no key, each encrypted secret is an issue saying to set that variable.
 *
 * @example
 * ```ts
 * const result = readPolicyForCli('duo-mfa.d', { env: io.env });
 * if (!result.ok) io.err(describeIssues(result.issues, 'duo-mfa.d'));
 * ```
 */
export function readPolicyForCli(
  path: string,
  options: { env: NodeJS.ProcessEnv; skipSecrets?: boolean; secrets?: CliSecrets },
): CliPolicy {
  const secrets: CliSecrets = options.skipSecrets ? 'skip' : (options.secrets ?? 'resolve');
  const notes: string[] = [];
  let key: SecretsKey | undefined;
  try {
    key =
      secrets === 'skip'
        ? undefined
        : parseSecretsKey(options.env[SECRETS_KEY_VARIABLE], SECRETS_KEY_VARIABLE);
  } catch (error) {
    return failed(false, [{ path: ROOT_PATH, message: (error as Error).message }]);
  }
  const compile: CompileOptions = {
    env: options.env,
    source: path,
    secretsKey: key,
    skipSecrets: secrets === 'skip',
    skipEnvSecrets: secrets === 'skip-env',
    // Without a key, encrypted secrets stay closed: with 'resolve', lockedSecrets() reports each in the CLI's words.
    skipEncryptedSecrets: key === undefined,
  };
  const directory = statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
  const read = directory ? readDirectory(path) : readFile(path);
  if ('issues' in read) return failed(directory, read.issues);
  if (
    key === undefined &&
    secrets !== 'resolve' &&
    secrets !== 'skip' &&
    encryptedSecrets(read.tenants).length > 0
  ) {
    notes.push(
      `encrypted secrets were not checked: set ${SECRETS_KEY_VARIABLE} to the secretsKey to check that they open`,
    );
  }
  const result = validatePolicy(read.doc, compile);
  const locked = key === undefined && secrets === 'resolve' ? lockedSecrets(read.tenants) : [];
  const problems = [...read.problems, ...(result.ok ? [] : result.issues), ...locked];
  if (problems.length > 0) {
    return failed(directory, directory ? problems.map(inFile) : problems, read);
  }
  if (directory && read.tenants.size === 0) {
    return failed(
      directory,
      [{ path: ROOT_PATH, message: 'the directory holds no tenant file (<id>.json)' }],
      read,
    );
  }
  return { ...result, directory, raw: read, notes };
}

/** One tenant of a directory, read on its own for `duo-mfa explain` (never the whole directory). */
export type CliDirectoryTenant =
  | { readonly ok: true; readonly id: string | undefined; readonly tenant: CompiledTenant | undefined }
  | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

/**
 * Reads `_defaults.json` and one tenant's file of a policy directory (the default tenant when `id` is undefined),
 * without secrets: what `duo-mfa explain DIR` needs, whatever the size of the directory. A tenant without a file
 * comes back undefined (the decision is then `unknown_tenant`).
 *
 * @example
 * ```ts
 * const read = readDirectoryTenant('duo-mfa.d', 'acme');
 * if (read.ok) decideTenant(read.id, read.tenant, user, Date.now());
 * ```
 */
export function readDirectoryTenant(path: string, id: string | undefined): CliDirectoryTenant {
  let names: string[];
  try {
    names = readdirSync(path);
  } catch (error) {
    return {
      ok: false,
      issues: [{ path: ROOT_PATH, message: `it cannot be read (${(error as NodeJS.ErrnoException).code})` }],
    };
  }
  const ids = names.flatMap((name) => {
    const kind = tenantFileId(name);
    return 'id' in kind ? [kind.id] : [];
  });
  let text: string | undefined;
  try {
    text = readFileSync(join(path, DEFAULTS_FILE), 'utf8');
  } catch {
    text = undefined;
  }
  const defaults = checkDefaults(text, ids);
  if (!defaults.ok) return { ok: false, issues: defaults.issues };
  const tenantId = id ?? defaults.defaultTenant;
  if (tenantId === undefined || !ids.includes(tenantId)) return { ok: true, id: tenantId, tenant: undefined };
  const file = `${tenantId}.json`;
  let raw: unknown;
  try {
    raw = parsePolicyText(readFileSync(join(path, file), 'utf8'), file);
  } catch (error) {
    const issues = isDuoMfaError(error) ? (error.details.issues as PolicyIssue[] | undefined) : undefined;
    return {
      ok: false,
      issues: [{ path: ROOT_PATH, message: issues?.[0]?.message ?? 'it cannot be read', file }],
    };
  }
  const result = validateTenant(tenantId, raw, { skipSecrets: true, paths: 'tenant' });
  if (!result.ok) return { ok: false, issues: result.issues.map((issue) => ({ ...issue, file })) };
  return { ok: true, id: tenantId, tenant: result.tenant };
}

/**
 * The same text the loader throws: a title naming the file (or directory), then one `path: message` line per
 * problem (prefixed by its file in a directory).
 *
 * @example
 * ```ts
 * io.err(describeIssues([{ path: 'tenants.acme.failmode', message: 'must be "closed" or "open"' }], 'duo-mfa.json'));
 * ```
 */
export function describeIssues(issues: readonly PolicyIssue[], file: string): string {
  return policyInvalidError(issues, file).message;
}

/**
 * A warning's location as a directory's user reads it: `acme.json: mfa.staffExcluded[0]` instead of
 * `tenants.acme.mfa.staffExcluded[0]` (unchanged for a single file).
 *
 * @example
 * ```ts
 * io.out(`  ${warningLine(warning, result.directory)}`);
 * ```
 */
export function locateWarning(warning: PolicyWarning, directory: boolean): PolicyWarning {
  return directory ? inFile(warning) : warning;
}

/**
 * Where a person changes one of a tenant's settings, for fix hints: the JSON path in the policy file, or for a
 * policy directory the path inside the tenant's own file.
 *
 * @example
 * ```ts
 * const at = tenantSetting('duo-mfa.d', true, 'acme', 'duo.apiHost'); // { path: 'duo.apiHost', file: 'duo-mfa.d/acme.json' }
 * tenantSetting('duo-mfa.json', false, 'acme', 'duo.apiHost'); // { path: 'tenants.acme.duo.apiHost', file: 'duo-mfa.json' }
 * io.err(`fix: check ${at.path} in ${at.file}`);
 * ```
 */
export function tenantSetting(
  policy: string,
  directory: boolean,
  tenantId: string,
  setting: string,
): { readonly path: string; readonly file: string } {
  return directory
    ? { path: setting, file: join(policy, `${tenantId}.json`) }
    : { path: `${formatPath(['tenants', tenantId])}.${setting}`, file: policy };
}

/** A single-file path (`tenants.acme.mfa.enabled`) as the file of a directory and the path inside it. */
function inFile<T extends { path: string; message: string; file?: string }>(issue: T): T {
  if (issue.file !== undefined) return issue;
  const match = /^tenants(?:\.([\w$-]+)|\["((?:[^"\\]|\\.)*)"\])(.*)$/.exec(issue.path);
  if (match) {
    const id = match[1] ?? (JSON.parse(`"${match[2]!}"`) as string);
    const rest = match[3]!.replace(/^\./, '');
    return { ...issue, path: rest === '' ? ROOT_PATH : rest, file: `${id}.json` };
  }
  if (issue.path === 'tenants')
    return { ...issue, path: ROOT_PATH, message: 'the directory holds no tenant file (<id>.json)' };
  if (issue.path === ROOT_PATH) return issue;
  // Said as the directory's runtime says it (dir-source.ts): _defaults.json holds no tenants.
  const message = issue.message
    .replace('must name a tenant in "tenants"', 'must name a tenant file (<id>.json) in the directory')
    .replace('allowed here: $schema, defaultTenant, tenants', 'allowed here: $schema, defaultTenant');
  return { ...issue, message, file: DEFAULTS_FILE };
}

interface Read {
  /** The document validated: the file as parsed, or the directory as one document. */
  readonly doc: unknown;
  readonly head: Record<string, unknown>;
  readonly tenants: ReadonlyMap<string, unknown>;
  /** Problems found while reading (unreadable or non-JSON tenant files, bad names), each naming its file. */
  readonly problems: readonly PolicyIssue[];
}

function readFile(path: string): Read | { issues: readonly PolicyIssue[] } {
  let raw: unknown;
  try {
    raw = readPolicyFile(path);
  } catch (error) {
    if (isDuoMfaError(error, 'ERR_POLICY_INVALID')) {
      return { issues: (error.details.issues as PolicyIssue[] | undefined) ?? [] };
    }
    throw error;
  }
  // Whatever is wrong with its shape is reported by validatePolicy(doc).
  if (!isPlainObject(raw)) return { doc: raw, head: {}, tenants: new Map(), problems: [] };
  const { tenants, ...head } = raw;
  const entries = isPlainObject(tenants) ? Object.keys(tenants).map((id) => [id, tenants[id]] as const) : [];
  return { doc: raw, head, tenants: new Map(entries), problems: [] };
}

function readDirectory(path: string): Read | { issues: readonly PolicyIssue[] } {
  let names: string[];
  try {
    names = readdirSync(path).sort();
  } catch (error) {
    return {
      issues: [{ path: ROOT_PATH, message: `it cannot be read (${(error as NodeJS.ErrnoException).code})` }],
    };
  }
  const problems: PolicyIssue[] = [];
  const tenants = new Map<string, unknown>();
  let head: Record<string, unknown> = {};
  for (const name of names) {
    const kind = tenantFileId(name);
    if (!('id' in kind) && kind.kind === 'ignored') continue;
    if (!('id' in kind) && kind.kind === 'invalid') {
      problems.push({ path: ROOT_PATH, message: INVALID_NAME_MESSAGE, file: name });
      continue;
    }
    let value: unknown;
    try {
      value = parsePolicyText(readFileSync(join(path, name), 'utf8'), name);
    } catch (error) {
      const issues = isDuoMfaError(error) ? (error.details.issues as PolicyIssue[] | undefined) : undefined;
      const message = issues?.[0]?.message ?? `it cannot be read (${(error as NodeJS.ErrnoException).code})`;
      problems.push({ path: ROOT_PATH, message, file: name });
      continue;
    }
    if ('id' in kind) tenants.set(kind.id, value);
    else if (isPlainObject(value)) {
      if ('tenants' in value) {
        problems.push({
          path: 'tenants',
          message: 'tenants are not written here: each tenant is its own <id>.json file in the directory',
          file: DEFAULTS_FILE,
        });
      }
      const { tenants: _, ...rest } = value;
      head = rest;
    } else {
      problems.push({ path: ROOT_PATH, message: 'must be a JSON object', file: DEFAULTS_FILE });
    }
  }
  const doc: Record<string, unknown> = { ...head };
  const byId: Record<string, unknown> = {};
  for (const [id, raw] of tenants) define(byId, id, raw);
  doc.tenants = byId;
  return { doc, head, tenants, problems };
}

function failed(directory: boolean, issues: readonly PolicyIssue[], read?: Read): CliPolicy {
  return {
    ok: false,
    issues,
    directory,
    raw: { head: read?.head ?? {}, tenants: read?.tenants ?? new Map() },
    notes: [],
  };
}

/** Where a tenant keeps its secrets, and the field name bound into their encryption. */
const SECRET_FIELDS = [
  { path: ['duo', 'clientSecret'], field: 'duo.clientSecret' },
  { path: ['duo', 'adminApi', 'secretKey'], field: 'duo.adminApi.secretKey' },
] as const;

/** Every `{ "encrypted": "…" }` secret of the tenants as written, with its tenant, field and path. */
function encryptedSecrets(
  tenants: ReadonlyMap<string, unknown>,
): { tenant: string; field: string; path: string; token: string }[] {
  const found: { tenant: string; field: string; path: string; token: string }[] = [];
  for (const [tenant, raw] of tenants) {
    for (const { path, field } of SECRET_FIELDS) {
      let value: unknown = raw;
      for (const key of path) value = isPlainObject(value) ? value[key] : undefined;
      if (isPlainObject(value) && typeof value.encrypted === 'string') {
        found.push({ tenant, field, path: formatPath(['tenants', tenant, ...path]), token: value.encrypted });
      }
    }
  }
  return found;
}

/**
 * One issue per encrypted secret that only the key can open (a malformed one is the schema's to report): the
 * secret's path and how to open it from the command line.
 */
function lockedSecrets(tenants: ReadonlyMap<string, unknown>): PolicyIssue[] {
  return encryptedSecrets(tenants)
    .filter(({ tenant, field, token }) => {
      const opened = openSecret(undefined, token, { tenant, field });
      return !opened.ok && opened.reason === 'no-key';
    })
    .map(({ path }) => ({
      path,
      message:
        `the secret is encrypted and ${SECRETS_KEY_VARIABLE} is not set: set ${SECRETS_KEY_VARIABLE} to the ` +
        "app's secretsKey (the key that encrypted it) and run the command again",
    }));
}

/** An own property, whatever its name ("__proto__" included), as JSON.parse makes it. */
function define(object: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true });
}
