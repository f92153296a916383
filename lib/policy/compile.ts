// Validates a parsed policy file, resolves env secrets and builds the frozen, precompiled CompiledPolicy.

import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { canonicalName, didYouMean } from '../util/names';
import { isPlainObject } from '../util/objects';
import { FrozenMap, FrozenSet, deepFreeze } from './frozen';
import { canonicalHash } from './hash';
import {
  describeValue,
  formatPath,
  issuesFromZod,
  policyErrorMap,
  policyInvalidError,
  ROOT_PATH,
} from './issues';
import {
  allowedKeysAt,
  ENV_NAME,
  nameListPaths,
  PolicyFileSchema,
  type PolicyFile,
  type PolicyFileTenant,
} from './schema';
import type { CompiledBypass, CompiledPolicy, CompiledTenant, DuoCredentials, PolicyIssue } from './types';

/** Where the length of a client secret is fixed by Duo. */
const SECRET_LENGTH = 40;

export interface CompileOptions {
  /** Where `{ "env": "NAME" }` secrets are read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Named in errors and kept as `policy.source`: the file path, or `<object>` (default). */
  source?: string;
  /**
   * Do not read `{ "env": "NAME" }` secrets (their clientSecret compiles to ""). Only for tools that make
   * decisions and never talk to Duo, such as `duo-mfa explain`. Never for the middleware.
   */
  skipSecrets?: boolean;
}

/** The outcome of validatePolicy(): the compiled policy and the validated file, or every problem found. */
export type PolicyValidation =
  | {
      readonly ok: true;
      readonly policy: CompiledPolicy;
      readonly file: PolicyFile;
      readonly issues: readonly [];
    }
  | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

/**
 * Validates and compiles without throwing: every problem at once, each with its JSON path. `compilePolicy()`
 * is the throwing form; `duo-mfa check` uses this one to also read the validated file.
 *
 * @example
 * ```ts
 * const result = validatePolicy(JSON.parse(text), { source: 'duo-mfa.json' });
 * if (!result.ok) for (const issue of result.issues) console.log(`${issue.path}: ${issue.message}`);
 * ```
 */
export function validatePolicy(raw: unknown, options: CompileOptions = {}): PolicyValidation {
  const source = options.source ?? '<object>';
  if (!isPlainObject(raw)) {
    return {
      ok: false,
      issues: [
        { path: ROOT_PATH, message: `must be a JSON object with "tenants" (got ${describeValue(raw)})` },
      ],
    };
  }
  const lists = checkNameLists(raw);
  const parsed = PolicyFileSchema.safeParse(lists.rest, { error: policyErrorMap });
  const issues: PolicyIssue[] = parsed.success ? [] : issuesFromZod(parsed.error.issues, allowedKeysAt);
  const checkedLists = new Set<unknown>(lists.checked.map((list) => list.names));
  issues.push(...prototypeKeyIssues(raw, checkedLists), ...tenantIdIssues(raw), ...defaultTenantIssues(raw));
  const secrets = options.skipSecrets
    ? new Map<string, string>()
    : resolveEnvSecrets(raw, options.env ?? process.env, issues);

  if (issues.length > 0 || !parsed.success) return { ok: false, issues: sortByTenant(issues, raw) };

  const file = parsed.data;
  const canonical = new Map<readonly string[], readonly string[]>();
  for (const list of lists.checked) {
    setAt(file.tenants[list.tenant], list.path, list.names); // shared with `raw`, not copied: lists can be huge
    canonical.set(list.names, list.canonical);
  }
  // Hashed before the Sets are built: the hash's short-lived text is then collected without copying them.
  const version = policyVersion(file, secrets);
  const tenants: [string, CompiledTenant][] = [];
  for (const [id, tenant] of Object.entries(file.tenants)) {
    const secret =
      typeof tenant.duo.clientSecret === 'string' ? tenant.duo.clientSecret : (secrets.get(id) ?? '');
    tenants.push([id, compileTenant(id, tenant, secret, canonical)]);
  }
  const policy: CompiledPolicy = Object.freeze({
    defaultTenant: file.defaultTenant,
    tenants: new FrozenMap(tenants),
    source,
    version,
  });
  return { ok: true, policy, file, issues: [] };
}

/**
 * Validates a parsed policy file and compiles it into the frozen form the middleware and `decide()` read.
 * Throws one `DuoMfaError` `ERR_POLICY_INVALID` listing every problem (message: one per line with `source`;
 * `details.issues`: the PolicyIssue list). Secret values never appear in errors.
 *
 * @example
 * ```ts
 * const policy = compilePolicy(JSON.parse(fs.readFileSync('duo-mfa.json', 'utf8')), { source: 'duo-mfa.json' });
 * policy.tenants.get('acme')?.mfa.rolesIncluded.has('admin');
 * ```
 */
export function compilePolicy(raw: unknown, options: CompileOptions = {}): CompiledPolicy {
  const result = validatePolicy(raw, options);
  if (!result.ok) throw policyInvalidError(result.issues, options.source ?? '<object>');
  return result.policy;
}

function compileTenant(
  id: string,
  tenant: PolicyFileTenant,
  clientSecret: string,
  canonical: ReadonlyMap<readonly string[], readonly string[]>,
): CompiledTenant {
  const names = (list: readonly string[]): ReadonlySet<string> =>
    new FrozenSet(canonical.get(list) ?? list.map(canonicalName));
  const bypasses = new Map<string, CompiledBypass>();
  for (const entry of tenant.mfa.temporaryBypass) {
    const username = canonicalName(entry.username);
    const until = Date.parse(entry.until);
    const previous = bypasses.get(username);
    if (!previous || until > previous.until) {
      bypasses.set(username, Object.freeze({ username, until, reason: entry.reason.trim() }));
    }
  }
  const { trustedEndpoints: te, mfa } = tenant;
  return deepFreeze({
    id,
    mfa: {
      enabled: mfa.enabled,
      rolesIncluded: names(mfa.rolesIncluded),
      staffIncluded: names(mfa.staffIncluded),
      staffExcluded: names(mfa.staffExcluded),
      temporaryBypass: new FrozenMap(bypasses),
    },
    duo: credentials(tenant.duo.clientId, clientSecret, tenant.duo.apiHost),
    failmode: tenant.failmode,
    challengeLimit: tenant.challengeLimit,
    trustedEndpoints: {
      policy: te.policy,
      activation: te.activation,
      testGroup: { roles: names(te.testGroup.roles), staff: names(te.testGroup.staff) },
    },
  });
}

/** A name list checked by checkNameLists(): where it is, as written, and canonical. */
interface CheckedList {
  readonly tenant: string;
  readonly path: readonly string[];
  readonly names: readonly string[];
  readonly canonical: readonly string[];
}

/**
 * Checks every tenant's name lists (thousands of usernames each in large deployments) with one plain loop per
 * list instead of one zod parse per entry. A list whose entries are all non-blank strings, which is all zod's
 * nameList would check, is taken out of the copy handed to zod (`rest`) and returned with its canonical form;
 * validatePolicy puts it back into the validated file. A list with any bad entry stays in `rest`, so zod still
 * reports every problem with its own message and path.
 */
function checkNameLists(raw: Record<string, unknown>): {
  rest: Record<string, unknown>;
  checked: CheckedList[];
} {
  const checked: CheckedList[] = [];
  if (!isPlainObject(raw.tenants)) return { rest: raw, checked };
  const paths = nameListPaths();
  let tenants: Record<string, unknown> | undefined;
  for (const [id, tenant] of Object.entries(raw.tenants)) {
    if (id === '__proto__' || !isPlainObject(tenant)) continue; // reported by prototypeKeyIssues / zod
    let rest = tenant;
    for (const path of paths) {
      const names = getAt(tenant, path);
      const canonical = canonicalNames(names);
      if (canonical === undefined || canonical.length === 0) continue;
      checked.push({ tenant: id, path, names: names as string[], canonical });
      rest = withAt(rest, path, []);
    }
    if (rest !== tenant) (tenants ??= { ...raw.tenants })[id] = rest;
  }
  return { rest: tenants ? { ...raw, tenants } : raw, checked };
}

/**
 * The canonical names of a list whose entries are all strings with a non-blank character (zod's nameString:
 * /\S/), else undefined. canonicalName() trims exactly the characters \s matches, so "blank" is the same test.
 * A list already written in canonical form (the usual case) is returned as it is, not copied.
 */
function canonicalNames(list: unknown): readonly string[] | undefined {
  if (!Array.isArray(list)) return undefined;
  let out: string[] | undefined;
  for (let index = 0; index < list.length; index++) {
    const entry: unknown = list[index];
    if (typeof entry !== 'string') return undefined;
    const name = canonicalName(entry);
    if (name === '') return undefined;
    if (out) out.push(name);
    else if (name !== entry) out = [...(list.slice(0, index) as string[]), name];
  }
  return out ?? (list as string[]);
}

function getAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path)
    current = isPlainObject(current) && Object.hasOwn(current, key) ? current[key] : undefined;
  return current;
}

/** A copy of `object` with `value` at `path`, copying only the objects along the path. */
function withAt(
  object: Record<string, unknown>,
  path: readonly string[],
  value: unknown,
): Record<string, unknown> {
  const [key, ...tail] = path;
  if (key === undefined) return object;
  const next = tail.length === 0 ? value : withAt(object[key] as Record<string, unknown>, tail, value);
  return { ...object, [key]: next };
}

function setAt(object: unknown, path: readonly string[], value: unknown): void {
  let current = object as Record<string, unknown>;
  for (const key of path.slice(0, -1)) current = current[key] as Record<string, unknown>;
  current[path.at(-1)!] = value;
}

/**
 * Duo credentials whose secret stays out of JSON.stringify (pino) and util.inspect (console.log). The property
 * itself is an ordinary one, so `{ ...credentials }` still carries it.
 */
function credentials(clientId: string, clientSecret: string, apiHost: string): DuoCredentials {
  const value = { clientId, clientSecret, apiHost };
  const redacted = () => ({ clientId, clientSecret: '[redacted]', apiHost });
  Object.defineProperty(value, 'toJSON', { value: redacted, enumerable: false });
  Object.defineProperty(value, inspect.custom, { value: redacted, enumerable: false });
  return value;
}

/** The content hash: the validated file (defaults applied) with every secret replaced by its sha256. */
function policyVersion(file: PolicyFile, envSecrets: ReadonlyMap<string, string>): string {
  const tenants: Record<string, unknown> = {};
  for (const [id, tenant] of Object.entries(file.tenants)) {
    const secret = typeof tenant.duo.clientSecret === 'string' ? tenant.duo.clientSecret : envSecrets.get(id);
    const from = typeof tenant.duo.clientSecret === 'string' ? 'inline' : tenant.duo.clientSecret.env;
    const digest = createHash('sha256')
      .update(secret ?? '')
      .digest('hex');
    tenants[id] = { ...tenant, duo: { ...tenant.duo, clientSecret: { from, sha256: digest } } };
  }
  return canonicalHash({ defaultTenant: file.defaultTenant, tenants });
}

/** Reads `{ "env": "NAME" }` secrets; a missing, empty or wrong-length variable is an issue (never its value). */
function resolveEnvSecrets(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  issues: PolicyIssue[],
): Map<string, string> {
  const resolved = new Map<string, string>();
  const tenants = raw.tenants;
  if (!isPlainObject(tenants)) return resolved;
  for (const [id, tenant] of Object.entries(tenants)) {
    const duo = isPlainObject(tenant) ? tenant.duo : undefined;
    const secret = isPlainObject(duo) ? duo.clientSecret : undefined;
    const name = isPlainObject(secret) ? secret.env : undefined;
    if (typeof name !== 'string' || !ENV_NAME.test(name)) continue;
    const path = formatPath(['tenants', id, 'duo', 'clientSecret']);
    const value = env[name];
    if (value === undefined) {
      issues.push({ path, message: `environment variable ${name} is not set` });
    } else if (value === '') {
      issues.push({ path, message: `environment variable ${name} is empty` });
    } else if (value.length !== SECRET_LENGTH) {
      const spaces = value.trim() !== value ? ', including surrounding whitespace' : '';
      issues.push({
        path,
        message: `environment variable ${name} must hold the ${SECRET_LENGTH}-character client secret (it holds ${value.length} characters${spaces})`,
      });
    } else {
      resolved.set(id, value);
    }
  }
  return resolved;
}

/** Tenant ids are matched exactly, so an empty id or one with surrounding spaces can only be a mistake. */
function tenantIdIssues(raw: Record<string, unknown>): PolicyIssue[] {
  if (!isPlainObject(raw.tenants)) return [];
  const issues: PolicyIssue[] = [];
  for (const id of Object.keys(raw.tenants)) {
    const path = formatPath(['tenants', id]);
    if (id.trim() === '') issues.push({ path, message: 'tenant id must not be empty or blank' });
    else if (id.trim() !== id) {
      issues.push({
        path,
        message: 'tenant id must not start or end with spaces (tenant ids are matched exactly)',
      });
    }
  }
  return issues;
}

function defaultTenantIssues(raw: Record<string, unknown>): PolicyIssue[] {
  const { defaultTenant, tenants } = raw;
  if (typeof defaultTenant !== 'string' || defaultTenant === '' || !isPlainObject(tenants)) return [];
  if (Object.hasOwn(tenants, defaultTenant)) return [];
  const ids = Object.keys(tenants);
  const hint = didYouMean(defaultTenant, ids);
  const known = hint
    ? ` — did you mean "${hint}"?`
    : ids.length > 0 && ids.length <= 10
      ? ` (tenants: ${ids.join(', ')})`
      : '';
  return [
    {
      path: 'defaultTenant',
      message: `must name a tenant in "tenants" (got ${describeValue(defaultTenant)})${known}`,
    },
  ];
}

/**
 * JSON.parse keeps a "__proto__" key as data, but validation silently drops it (a tenant called "__proto__"
 * would vanish): report every one instead. `stringLists` are lists already known to hold only strings.
 */
function prototypeKeyIssues(raw: unknown, stringLists: ReadonlySet<unknown>): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const visit = (value: unknown, path: PropertyKey[], depth: number): void => {
    if (typeof value !== 'object' || value === null || depth > 8) return;
    if (Array.isArray(value)) {
      if (stringLists.has(value)) return;
      for (let index = 0; index < value.length; index++) {
        const item: unknown = value[index];
        if (typeof item === 'object') visit(item, [...path, index], depth + 1);
      }
      return;
    }
    for (const key of Object.keys(value)) {
      if (key === '__proto__') {
        issues.push({
          path: formatPath([...path, key]),
          message: '"__proto__" cannot be used as a key or tenant id',
        });
      } else {
        visit((value as Record<string, unknown>)[key], [...path, key], depth + 1);
      }
    }
  };
  visit(raw, [], 0);
  return issues;
}

/** Keeps document-level problems first, then each tenant's together, in file order. Stable within a tenant. */
function sortByTenant(issues: PolicyIssue[], raw: Record<string, unknown>): PolicyIssue[] {
  const tenants = isPlainObject(raw.tenants) ? Object.keys(raw.tenants) : [];
  const order = new Map(tenants.map((id, index) => [formatPath(['tenants', id]), index]));
  const rank = (path: string): number => {
    const match = /^tenants(\.[\w$-]+|\["(?:[^"\\]|\\.)*"\])/.exec(path);
    return match ? (order.get(match[0]) ?? tenants.length) : -1;
  };
  return issues
    .map((issue, index) => ({ issue, index, rank: rank(issue.path) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((entry) => entry.issue);
}
