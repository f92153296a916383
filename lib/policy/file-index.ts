// The index of a single policy file: where each tenant's bytes are and their hash, checked tenant by tenant.

import { createHash } from 'node:crypto';
import { type DuoMfaError } from '../errors';
import { tenantIssues, validateDocumentHead } from './compile';
import { hasBom, scanPolicy, type ScannedPolicy } from './file-scan';
import { policyInvalidError } from './issues';
import { parsePolicyText } from './read';
import { type SecretsKey } from './secrets';
import type { PolicyIssue } from './types';
import { tenantVersion } from './version';

/** Files up to this size are kept in memory (tenants are read from it); larger ones are read tenant by tenant. */
export const KEEP_IN_MEMORY_BYTES = 4 * 1024 * 1024;

/** Where one tenant's definition is in the file, and the sha256 of its bytes (to tell a change). */
export interface IndexedTenant {
  readonly start: number;
  readonly end: number;
  readonly hash: string;
}

/** A policy file's index: small (offsets and hashes), whatever the size of the file. */
export interface FileIndex {
  /** Every tenant, in file order. */
  readonly tenants: ReadonlyMap<string, IndexedTenant>;
  readonly defaultTenant: string | undefined;
  /** The whole file, when it is small enough to keep (or had to be re-serialized): tenants are read from it. */
  readonly buffer: Buffer | undefined;
  /** The size of the file indexed, in bytes. */
  readonly size: number;
}

/** What a tenant's check found: valid or its problems; with the version of its definition on a reload. */
export type TenantCheck =
  | { readonly ok: true; readonly version?: string }
  | { readonly ok: false; readonly version?: string; readonly issues: readonly PolicyIssue[] };

export interface IndexOptions {
  /** Named in errors. */
  readonly source: string;
  /** Check every tenant (start-up), or only those whose bytes changed since `previous` (a reload). */
  readonly check: 'all' | 'changed';
  /**
   * The index in force (id → hash and length), to tell which tenants changed. A tenant whose bytes at its new
   * position still hash the same is taken as unchanged without being scanned, which is most of a re-index's time.
   */
  readonly previous?: ReadonlyMap<string, { readonly hash: string; readonly length: number }>;
  readonly env?: NodeJS.ProcessEnv;
  readonly secretsKey?: SecretsKey | undefined;
  /** Leave encrypted secrets to be checked when the tenant is compiled (the worker never holds the key). */
  readonly skipEncryptedSecrets?: boolean;
}

/** The index, and every tenant checked (see IndexOptions.check); or why the file as a whole is unusable. */
export type IndexOutcome =
  | {
      readonly ok: true;
      readonly index: FileIndex;
      /** The tenants that were checked: all of them, or those new or changed. */
      readonly checked: ReadonlyMap<string, TenantCheck>;
      /** Problems of the document itself (top-level keys, defaultTenant): the file is then refused as a whole. */
      readonly headIssues: readonly PolicyIssue[];
    }
  | { readonly ok: false; readonly error: DuoMfaError };

/**
 * Indexes the bytes of a policy file: scans its layout (file-scan.ts), checks its top level, hashes every tenant's
 * bytes and checks the tenants asked for, one at a time, never holding more than one parsed tenant. A file that is
 * not JSON is an error saying where; a valid file the scanner cannot delimit is re-serialized and kept in memory.
 *
 * @example
 * ```ts
 * const outcome = indexPolicyFile(readFileSync(path), { source: path, check: 'all' });
 * if (outcome.ok) outcome.index.tenants.get('acme'); // { start, end, hash }
 * ```
 */
export function indexPolicyFile(bytes: Buffer, options: IndexOptions): IndexOutcome {
  let buffer = bytes;
  // Hashes of tenants found unchanged while scanning, by offset (a duplicate key may appear twice).
  const verified = new Map<number, string>();
  const previous = options.previous;
  const known =
    previous &&
    ((key: string, start: number): number | undefined => {
      const before = previous.get(key);
      if (before === undefined || start + before.length > bytes.length) return undefined;
      const hash = digest(bytes, start, start + before.length);
      if (hash !== before.hash) return undefined;
      verified.set(start, hash);
      return start + before.length;
    });
  let layout = scanPolicy(buffer, known);
  let kept = bytes.length <= KEEP_IN_MEMORY_BYTES;
  if (layout === undefined) {
    // Not delimitable: parse the whole text, which either says where it is broken or is valid JSON after all.
    let parsed: unknown;
    try {
      parsed = parsePolicyText(decode(bytes), options.source);
    } catch (error) {
      return { ok: false, error: error as DuoMfaError };
    }
    buffer = Buffer.from(JSON.stringify(parsed) ?? 'null', 'utf8');
    layout = scanPolicy(buffer);
    kept = true;
    if (layout === undefined) return headOnly(parsed, options.source);
  }

  const slice = (start: number, end: number): unknown => JSON.parse(buffer.toString('utf8', start, end));
  const skeleton: Record<string, unknown> = {};
  const tenants = new Map<string, IndexedTenant>();
  const checked = new Map<string, TenantCheck>();
  try {
    for (const member of layout.head) define(skeleton, member.key, slice(member.start, member.end));
    if (layout.tenants?.members) {
      const placeholders: Record<string, unknown> = {};
      for (const member of layout.tenants.members) {
        define(placeholders, member.key, true);
        if (member.key === '__proto__') continue; // reported by the head check
        const hash = verified.get(member.start) ?? digest(buffer, member.start, member.end);
        tenants.set(member.key, { start: member.start, end: member.end, hash });
        if (options.check === 'changed' && previous?.get(member.key)?.hash === hash) continue;
        const raw = slice(member.start, member.end);
        // Versions are for reporting changes; at start-up nothing changed (and hashing 10,000 tenants costs ~2 s).
        const version = options.check === 'changed' ? { version: tenantVersion(raw) } : {};
        const issues = tenantIssues(member.key, raw, {
          env: options.env,
          secretsKey: options.secretsKey,
          skipEncryptedSecrets: options.skipEncryptedSecrets,
        });
        checked.set(
          member.key,
          issues.length === 0 ? { ok: true, ...version } : { ok: false, ...version, issues },
        );
      }
      define(skeleton, 'tenants', placeholders);
    } else if (layout.tenants) {
      define(skeleton, 'tenants', slice(layout.tenants.start, layout.tenants.end));
    }
  } catch {
    // A value did not parse: the whole text says where.
    try {
      parsePolicyText(decode(bytes), options.source);
    } catch (error) {
      return { ok: false, error: error as DuoMfaError };
    }
    return {
      ok: false,
      error: policyInvalidError([{ path: '$', message: 'not valid JSON' }], options.source),
    };
  }
  const head = validateDocumentHead(skeleton);
  const defaultTenant = typeof skeleton.defaultTenant === 'string' ? skeleton.defaultTenant : undefined;
  return {
    ok: true,
    // A kept file is copied: `bytes` may be a reused read buffer (the worker's).
    index: { tenants, defaultTenant, buffer: kept ? Buffer.from(buffer) : undefined, size: bytes.length },
    checked,
    headIssues: head.issues,
  };
}

/**
 * Every problem of an indexed file, document first, then each tenant's in file order: what start-up throws.
 *
 * @example
 * ```ts
 * const issues = indexIssues(outcome);
 * if (issues.length > 0) throw policyInvalidError(issues, path);
 * ```
 */
export function indexIssues(outcome: Extract<IndexOutcome, { ok: true }>): PolicyIssue[] {
  const issues = [...outcome.headIssues];
  for (const check of outcome.checked.values()) if (!check.ok) issues.push(...check.issues);
  return issues;
}

/**
 * The sha256 of a tenant's bytes, which reloads compare to tell whether it changed.
 *
 * @example
 * ```ts
 * digest(buffer, entry.start, entry.end) === entry.hash; // the file still holds what was indexed
 * ```
 */
export function digest(buffer: Buffer, start: number, end: number): string {
  return createHash('sha256').update(buffer.subarray(start, end)).digest('base64');
}

/**
 * The scanned layout of a buffer (for writes that splice one tenant in), or undefined when it cannot be delimited.
 *
 * @example
 * ```ts
 * scanLayout(buffer)?.tenants?.members?.find((m) => m.key === 'acme');
 * ```
 */
export function scanLayout(buffer: Buffer): ScannedPolicy | undefined {
  return scanPolicy(buffer);
}

/** The file's text as readPolicyText() gives it (the BOM is dropped by parsePolicyText). */
function decode(bytes: Buffer): string {
  return bytes.toString('utf8', hasBom(bytes) ? 3 : 0);
}

/** A valid JSON document that is not an object with delimitable tenants: only its head problems matter. */
function headOnly(parsed: unknown, source: string): IndexOutcome {
  const head = validateDocumentHead(parsed);
  return {
    ok: false,
    error: policyInvalidError(
      head.issues.length > 0 ? head.issues : [{ path: '$', message: 'cannot be read' }],
      source,
    ),
  };
}

/** An own property, whatever its name ("__proto__" included), as JSON.parse makes it. */
function define(object: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true });
}
