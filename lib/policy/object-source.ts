// A parsed policy object as a per-tenant source: checked whole at start, tenants compiled when needed, read-only.

import { tenantIssues, validateDocumentHead } from './compile';
import { policyInvalidError } from './issues';
import { storedTenant, type StoredTenant } from './source';
import { TenantCache, type Fetched, type TenantSourceOptions } from './tenant-cache';

/**
 * The policy given as an object (`duoMfa({ policy: { tenants: … } })`). Checked whole at construction (an invalid
 * object throws `ERR_POLICY_INVALID` listing every problem); each tenant is kept as a JSON snapshot, so later
 * changes to the caller's object have no effect, and compiled when first needed. Never changes; writes are refused
 * with `ERR_SETTINGS_READ_ONLY`.
 *
 * @example
 * ```ts
 * const source = new ObjectTenantSource(JSON.parse(text), {});
 * await source.load('acme');
 * ```
 */
export class ObjectTenantSource extends TenantCache {
  readonly description = '<object>';
  readonly writable = false;
  private readonly snapshots = new Map<string, string>();

  constructor(input: object, options: TenantSourceOptions) {
    super(options);
    const head = validateDocumentHead(input);
    const issues = [...head.issues];
    if (!head.root) {
      for (const [id, raw] of head.tenants) {
        issues.push(...tenantIssues(id, raw, { env: options.env, secretsKey: this.secretsKey }));
      }
    }
    if (issues.length > 0) throw policyInvalidError(issues, this.description);
    for (const [id, raw] of head.tenants) this.snapshots.set(id, JSON.stringify(raw));
    this.setIds([...head.tenants.keys()], head.file?.defaultTenant);
  }

  override readTenant(id: string): Promise<StoredTenant> {
    const text = this.snapshots.get(id);
    return Promise.resolve(storedTenant(text === undefined ? undefined : JSON.parse(text)));
  }

  protected fetch(id: string): Promise<Fetched> {
    return Promise.resolve(this.fetchSync(id));
  }

  protected override fetchSync(id: string): Fetched {
    const text = this.snapshots.get(id);
    if (text === undefined) return { kind: 'missing' };
    return { kind: 'found', raw: JSON.parse(text) as unknown };
  }
}
