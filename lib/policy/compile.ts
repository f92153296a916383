// Validates policy documents and tenants, resolves secrets, and builds the frozen, precompiled forms decide() reads.

import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { z } from 'zod';
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
  TenantSchema,
  type PolicyFile,
  type PolicyFileTenant,
} from './schema';
import { openSecret, parseSecretsKey, type SecretsKey } from './secrets';
import { tenantVersion } from './version';
import type {
  AdminApiCredentials,
  CompiledBypass,
  CompiledPolicy,
  CompiledTenant,
  DuoCredentials,
  PolicyIssue,
} from './types';

/** Where the length of a client secret (and an Admin API secret key) is fixed by Duo. */
const SECRET_LENGTH = 40;

export interface CompileOptions {
  /** Where `{ "env": "NAME" }` secrets are read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Named in errors and kept as `policy.source`: the file path, or `<object>` (default). */
  source?: string;
  /**
   * Do not read secrets (`{ "env" }` and `{ "encrypted" }` compile to ""). Only for tools that make decisions and
   * never talk to Duo, such as `duo-mfa explain`. Never for the middleware.
   */
  skipSecrets?: boolean;
  /**
   * The key that opens `{ "encrypted": "v1:…" }` secrets (base64, or parsed with parseSecretsKey()). Without it an
   * encrypted secret is a load error for its tenant.
   */
  secretsKey?: string | SecretsKey | undefined;
  /**
   * Leave `{ "encrypted" }` secrets closed (they compile to "") instead of reporting them: `duo-mfa check` without
   * DUO_MFA_SECRETS_KEY, which says so in a warning. Never for the middleware.
   */
  skipEncryptedSecrets?: boolean;
  /**
   * Leave `{ "env" }` secrets unread (they compile to ""): `duo-mfa import`, run where the instances' variables are
   * not set. Never for the middleware.
   */
  skipEnvSecrets?: boolean;
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

/** The outcome of validateTenant(): the compiled tenant and its validated form, or every problem found. */
export type TenantValidation =
  | {
      readonly ok: true;
      readonly tenant: CompiledTenant;
      readonly file: PolicyFileTenant;
      readonly issues: readonly [];
    }
  | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

/** Where validateTenant() roots the paths of its issues. */
export interface TenantValidationOptions extends CompileOptions {
  /**
   * `'policy'` (default): paths as in the single file, `tenants.acme.mfa.enabled`; `'tenant'`: relative to the
   * tenant object itself, `mfa.enabled` (what a settings form shows next to its fields).
   */
  paths?: 'policy' | 'tenant';
}

/**
 * The document's top level with each tenant left unchecked: the tenants are checked one by one with TenantSchema,
 * so one tenant's problems (and its paths) never depend on another's.
 */
const DocumentSchema = PolicyFileSchema.extend({
  tenants: z
    .record(z.string(), z.unknown())
    .refine((tenants) => Object.keys(tenants).length > 0, { error: 'must list at least one tenant' }),
});

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
  const head = validateDocumentHead(raw);
  if (head.root) return { ok: false, issues: head.issues };
  const issues: PolicyIssue[] = [...head.issues];
  const context = secretContext(options);
  const checked: [string, CheckedTenant][] = [];
  for (const [id, tenant] of head.tenants) {
    const result = checkTenant(id, tenant, context, ['tenants', id]);
    if (result.ok) checked.push([id, result]);
    else issues.push(...result.issues);
  }
  if (issues.length > 0) return { ok: false, issues };

  const tenantsFile: Record<string, PolicyFileTenant> = {};
  for (const [id, tenant] of checked) tenantsFile[id] = tenant.file;
  const file = { ...(head.file as Omit<PolicyFile, 'tenants'>), tenants: tenantsFile };
  // Hashed before the Sets are built: the hash's short-lived text is then collected without copying them.
  const version = policyVersion(file.defaultTenant, checked);
  const tenants: [string, CompiledTenant][] = checked.map(([id, tenant]) => [
    id,
    buildTenant(id, tenant, tenantVersion(head.tenants.get(id))),
  ]);
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

/**
 * Validates and compiles one tenant on its own — what `tenants.<id>` holds in the single file, a `<id>.json` in a
 * directory, or a Redis value — with its secrets resolved. Policy sources compile tenants one at a time with it;
 * the settings API validates a change with it (`paths: 'tenant'`).
 *
 * @example
 * ```ts
 * const result = validateTenant('acme', JSON.parse(text), { env: process.env, secretsKey });
 * if (result.ok) decideTenant('acme', result.tenant, user, Date.now());
 * ```
 */
export function validateTenant(
  id: string,
  raw: unknown,
  options: TenantValidationOptions = {},
): TenantValidation {
  const prefix = options.paths === 'tenant' ? [] : ['tenants', id];
  const result = checkTenant(id, raw, secretContext(options), prefix);
  if (!result.ok) return { ok: false, issues: result.issues };
  return { ok: true, tenant: buildTenant(id, result, tenantVersion(raw)), file: result.file, issues: [] };
}

/**
 * Every problem of one tenant's definition, without compiling it (no Sets are built): what start-up and reloads
 * check tenants with before they are needed. Empty when valid. Paths as validateTenant()'s.
 *
 * @example
 * ```ts
 * const issues = tenantIssues('acme', JSON.parse(slice), { env: process.env });
 * ```
 */
export function tenantIssues(
  id: string,
  raw: unknown,
  options: TenantValidationOptions = {},
): readonly PolicyIssue[] {
  const prefix = options.paths === 'tenant' ? [] : ['tenants', id];
  const result = checkTenant(id, raw, secretContext(options), prefix, false);
  return result.ok ? [] : result.issues;
}

/** The checked top level of a policy document. `root` is true when the document as a whole is unusable. */
export interface DocumentHead {
  readonly root: boolean;
  readonly issues: readonly PolicyIssue[];
  /** The validated top-level keys (`$schema`, `defaultTenant`), without `tenants`. */
  readonly file: Omit<PolicyFile, 'tenants'> | undefined;
  /** The tenants as written, in document order, `__proto__` left out (reported). */
  readonly tenants: ReadonlyMap<string, unknown>;
}

/**
 * Checks a policy document's top level: that it is an object with a non-empty `tenants` object, its other keys,
 * `defaultTenant` naming a tenant, and `"__proto__"` keys. The tenants themselves are left to validateTenant().
 *
 * @example
 * ```ts
 * const head = validateDocumentHead(JSON.parse(text));
 * if (head.issues.length === 0) for (const [id, raw] of head.tenants) validateTenant(id, raw);
 * ```
 */
export function validateDocumentHead(raw: unknown): DocumentHead {
  if (!isPlainObject(raw)) {
    return {
      root: true,
      issues: [
        { path: ROOT_PATH, message: `must be a JSON object with "tenants" (got ${describeValue(raw)})` },
      ],
      file: undefined,
      tenants: new Map(),
    };
  }
  const parsed = DocumentSchema.safeParse(raw, { error: policyErrorMap });
  const issues: PolicyIssue[] = parsed.success ? [] : issuesFromZod(parsed.error.issues, allowedKeysAt);
  const tenants = new Map<string, unknown>();
  if (isPlainObject(raw.tenants)) {
    for (const id of Object.keys(raw.tenants)) if (id !== '__proto__') tenants.set(id, raw.tenants[id]);
  }
  issues.push(...prototypeKeyIssues(raw, [], { skip: 'tenants' }));
  if (isPlainObject(raw.tenants) && Object.hasOwn(raw.tenants, '__proto__')) {
    issues.push({
      path: formatPath(['tenants', '__proto__']),
      message: '"__proto__" cannot be used as a key or tenant id',
    });
  }
  issues.push(...defaultTenantIssues(raw.defaultTenant, [...tenants.keys()]));
  const file = parsed.success ? (({ tenants: _, ...rest }) => rest)(parsed.data) : undefined;
  return { root: false, issues, file, tenants };
}

/**
 * The problem with a `defaultTenant` that names no tenant, with a "did you mean" or the list of tenants.
 *
 * @example
 * ```ts
 * defaultTenantIssues('acm', ['acme']); // [{ path: 'defaultTenant', message: '… did you mean "acme"?' }]
 * ```
 */
export function defaultTenantIssues(defaultTenant: unknown, ids: readonly string[]): PolicyIssue[] {
  if (typeof defaultTenant !== 'string' || defaultTenant === '') return [];
  if (ids.includes(defaultTenant)) return [];
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

// ---- one tenant ----

/** How secrets are read while checking tenants. */
interface SecretContext {
  readonly env: NodeJS.ProcessEnv;
  readonly key: SecretsKey | undefined;
  readonly skip: boolean;
  readonly skipEncrypted: boolean;
  readonly skipEnv: boolean;
}

function secretContext(options: CompileOptions): SecretContext {
  return {
    env: options.env ?? process.env,
    key: parseSecretsKey(options.secretsKey),
    skip: options.skipSecrets === true,
    skipEncrypted: options.skipEncryptedSecrets === true,
    skipEnv: options.skipEnvSecrets === true,
  };
}

/** A tenant that passed every check: its validated form, resolved secrets and canonical name lists. */
interface CheckedTenant {
  readonly ok: true;
  readonly file: PolicyFileTenant;
  readonly clientSecret: string;
  readonly adminSecret: string | undefined;
  readonly canonical: ReadonlyMap<readonly string[], readonly string[]>;
}

/** Every check of one tenant, issues rooted at `prefix`: schema, "__proto__" keys, its id, secrets. */
function checkTenant(
  id: string,
  raw: unknown,
  context: SecretContext,
  prefix: readonly PropertyKey[],
  canonicalize = true,
): CheckedTenant | { readonly ok: false; readonly issues: PolicyIssue[] } {
  const lists = checkNameLists(raw, canonicalize);
  const parsed = TenantSchema.safeParse(lists.rest, { error: policyErrorMap });
  const issues: PolicyIssue[] = parsed.success
    ? []
    : issuesFromZod(
        parsed.error.issues.map((issue) => ({ ...issue, path: [...prefix, ...issue.path] })),
        (path) => allowedKeysAt(['tenants', id, ...path.slice(prefix.length)]),
      );
  issues.push(...prototypeKeyIssues(raw, prefix, { stringLists: lists.names }));
  issues.push(...tenantIdIssues(id, prefix));
  const secrets = resolveSecrets(id, raw, context, prefix, issues);
  if (issues.length > 0 || !parsed.success) return { ok: false, issues };

  const file = parsed.data;
  const canonical = new Map<readonly string[], readonly string[]>();
  for (const list of lists.checked) {
    setAt(file, list.path, list.names); // shared with `raw`, not copied: lists can be huge
    canonical.set(list.names, list.canonical);
  }
  return { ok: true, file, canonical, ...secrets };
}

function buildTenant(id: string, checked: CheckedTenant, version: string): CompiledTenant {
  const { file: tenant, canonical } = checked;
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
  const admin = tenant.duo.adminApi;
  return deepFreeze({
    id,
    version,
    mfa: {
      enabled: mfa.enabled,
      rolesIncluded: names(mfa.rolesIncluded),
      staffIncluded: names(mfa.staffIncluded),
      staffExcluded: names(mfa.staffExcluded),
      temporaryBypass: new FrozenMap(bypasses),
      ...(mfa.enforceFrom === undefined ? {} : { enforceFrom: Date.parse(mfa.enforceFrom) }),
    },
    duo: credentials(
      tenant.duo.clientId,
      checked.clientSecret,
      tenant.duo.apiHost,
      admin && adminCredentials(admin.integrationKey, checked.adminSecret ?? '', admin.apiHost),
    ),
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
  readonly path: readonly string[];
  readonly names: readonly string[];
  readonly canonical: readonly string[];
}

/**
 * Checks a tenant's name lists (thousands of usernames each in large deployments) with one plain loop per list
 * instead of one zod parse per entry. A list whose entries are all non-blank strings, which is all zod's nameList
 * would check, is taken out of the copy handed to zod (`rest`) and returned with its canonical form; checkTenant
 * puts it back into the validated tenant. A list with any bad entry stays in `rest`, so zod still reports every
 * problem with its own message and path.
 */
function checkNameLists(
  tenant: unknown,
  canonicalize: boolean,
): {
  rest: unknown;
  checked: CheckedList[];
  names: ReadonlySet<unknown>;
} {
  const checked: CheckedList[] = [];
  if (!isPlainObject(tenant)) return { rest: tenant, checked, names: new Set() };
  let rest = tenant;
  for (const path of nameListPaths()) {
    const names = getAt(tenant, path);
    const canonical = canonicalize ? canonicalNames(names) : checkedNames(names);
    if (canonical === undefined || canonical.length === 0) continue;
    checked.push({ path, names: names as string[], canonical });
    rest = withAt(rest, path, []);
  }
  return { rest, checked, names: new Set(checked.map((list) => list.names)) };
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

/**
 * The list itself when its entries are all non-blank strings (canonicalNames' test, without building the canonical
 * form), else undefined: for checks that compile nothing.
 */
function checkedNames(list: unknown): readonly string[] | undefined {
  if (!Array.isArray(list)) return undefined;
  for (let index = 0; index < list.length; index++) {
    const entry: unknown = list[index];
    if (typeof entry !== 'string') return undefined;
    const first = entry.charCodeAt(0);
    // A printable ASCII first character is not blank; anything else gets the exact test.
    if (!(first > 0x20 && first < 0x7f) && entry.trim() === '') return undefined;
  }
  return list as string[];
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
function credentials(
  clientId: string,
  clientSecret: string,
  apiHost: string,
  adminApi: AdminApiCredentials | undefined,
): CompiledTenant['duo'] {
  const value: DuoCredentials & { adminApi?: AdminApiCredentials } = { clientId, clientSecret, apiHost };
  if (adminApi) value.adminApi = adminApi;
  const redacted = () => ({
    clientId,
    clientSecret: '[redacted]',
    apiHost,
    ...(adminApi ? { adminApi } : {}), // adminApi redacts itself
  });
  Object.defineProperty(value, 'toJSON', { value: redacted, enumerable: false });
  Object.defineProperty(value, inspect.custom, { value: redacted, enumerable: false });
  return value;
}

/** Admin API credentials, with the same redaction as credentials(). */
function adminCredentials(integrationKey: string, secretKey: string, apiHost: string): AdminApiCredentials {
  const value = { integrationKey, secretKey, apiHost };
  const redacted = () => ({ integrationKey, secretKey: '[redacted]', apiHost });
  Object.defineProperty(value, 'toJSON', { value: redacted, enumerable: false });
  Object.defineProperty(value, inspect.custom, { value: redacted, enumerable: false });
  return value;
}

/** The whole policy's content hash: the validated tenants (defaults applied), every secret by its sha256. */
function policyVersion(
  defaultTenant: string | undefined,
  checked: readonly (readonly [string, CheckedTenant])[],
): string {
  const tenants: Record<string, unknown> = {};
  const sealed = (value: unknown, resolved: string | undefined) => ({
    from:
      typeof value === 'string' ? 'inline' : isPlainObject(value) && 'env' in value ? value.env : 'encrypted',
    sha256: createHash('sha256')
      .update(resolved ?? '')
      .digest('hex'),
  });
  for (const [id, { file, clientSecret, adminSecret }] of checked) {
    const admin = file.duo.adminApi;
    tenants[id] = {
      ...file,
      duo: {
        ...file.duo,
        clientSecret: sealed(file.duo.clientSecret, clientSecret),
        ...(admin ? { adminApi: { ...admin, secretKey: sealed(admin.secretKey, adminSecret) } } : {}),
      },
    };
  }
  return canonicalHash({ defaultTenant, tenants });
}

/** Where a tenant's secrets are, inside the tenant, with the field name bound into their encryption. */
const SECRET_FIELDS = [
  { path: ['duo', 'clientSecret'], field: 'duo.clientSecret', what: 'client secret' },
  { path: ['duo', 'adminApi', 'secretKey'], field: 'duo.adminApi.secretKey', what: 'secret key' },
] as const;

/**
 * Reads a tenant's `{ "env" }` and `{ "encrypted" }` secrets; a missing, empty or wrong-length value, or one the
 * key cannot open, is an issue (never its value). Inline secrets are checked by the schema.
 */
function resolveSecrets(
  id: string,
  raw: unknown,
  context: SecretContext,
  prefix: readonly PropertyKey[],
  issues: PolicyIssue[],
): { clientSecret: string; adminSecret: string | undefined } {
  const out: (string | undefined)[] = [];
  for (const { path: at, field, what } of SECRET_FIELDS) {
    const value = getAt(raw, at);
    const path = formatPath([...prefix, ...at]);
    if (typeof value === 'string') {
      out.push(value);
      continue;
    }
    out.push(undefined);
    if (!isPlainObject(value) || context.skip) continue;
    if (typeof value.env === 'string' && ENV_NAME.test(value.env)) {
      if (context.skipEnv) continue;
      const name = value.env;
      const resolved = context.env[name];
      if (resolved === undefined) {
        issues.push({ path, message: `environment variable ${name} is not set` });
      } else if (resolved === '') {
        issues.push({ path, message: `environment variable ${name} is empty` });
      } else if (resolved.length !== SECRET_LENGTH) {
        const spaces = resolved.trim() !== resolved ? ', including surrounding whitespace' : '';
        issues.push({
          path,
          message: `environment variable ${name} must hold the ${SECRET_LENGTH}-character ${what} (it holds ${resolved.length} characters${spaces})`,
        });
      } else {
        out[out.length - 1] = resolved;
      }
    } else if (typeof value.encrypted === 'string' && !context.skipEncrypted) {
      const opened = openSecret(context.key, value.encrypted, { tenant: id, field });
      if (!opened.ok) {
        if (opened.reason !== 'malformed') issues.push({ path, message: opened.message }); // malformed: the schema says so
      } else if (opened.value.length !== SECRET_LENGTH) {
        issues.push({
          path,
          message: `the encrypted ${what} must be ${SECRET_LENGTH} characters (it holds ${opened.value.length})`,
        });
      } else {
        out[out.length - 1] = opened.value;
      }
    }
  }
  return { clientSecret: out[0] ?? '', adminSecret: out[1] };
}

/**
 * Tenant ids are matched exactly, so an empty id or one with surrounding spaces can only be a mistake.
 *
 * @example
 * ```ts
 * tenantIdIssues(' acme', ['tenants', ' acme']); // [{ path: 'tenants[" acme"]', message: '… spaces …' }]
 * ```
 */
export function tenantIdIssues(id: string, prefix: readonly PropertyKey[]): PolicyIssue[] {
  const path = formatPath(prefix.length > 0 ? prefix : ['tenants', id]);
  if (id.trim() === '') return [{ path, message: 'tenant id must not be empty or blank' }];
  if (id === '__proto__') return [{ path, message: '"__proto__" cannot be used as a key or tenant id' }];
  if (id.trim() !== id) {
    return [
      { path, message: 'tenant id must not start or end with spaces (tenant ids are matched exactly)' },
    ];
  }
  return [];
}

/**
 * JSON.parse keeps a "__proto__" key as data, but validation silently drops it (a tenant called "__proto__"
 * would vanish): report every one instead. `stringLists` are lists already known to hold only strings; `skip`
 * is a top-level key left to another check (the tenants, checked one by one).
 */
function prototypeKeyIssues(
  raw: unknown,
  prefix: readonly PropertyKey[],
  options: { stringLists?: ReadonlySet<unknown>; skip?: string },
): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const visit = (value: unknown, path: PropertyKey[], depth: number): void => {
    if (typeof value !== 'object' || value === null || depth > 8) return;
    if (Array.isArray(value)) {
      if (options.stringLists?.has(value)) return;
      for (let index = 0; index < value.length; index++) {
        const item: unknown = value[index];
        if (typeof item === 'object') visit(item, [...path, index], depth + 1);
      }
      return;
    }
    for (const key of Object.keys(value)) {
      if (depth === 0 && key === options.skip) continue;
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
  visit(raw, [...prefix], 0);
  return issues;
}
