// JSON merge patch (RFC 7396) for tenant settings, and the paths a change touched (for the audit trail).

import { isPlainObject } from '../util/objects';

/**
 * Applies a JSON merge patch: objects merge key by key, `null` removes a key, anything else (arrays included)
 * replaces. Returns a new object; neither argument is changed. "__proto__" keys are skipped.
 *
 * @example
 * ```ts
 * mergePatch({ mfa: { enabled: true, staffIncluded: ['dana'] } }, { mfa: { enabled: false } });
 * // { mfa: { enabled: false, staffIncluded: ['dana'] } }
 * ```
 */
export function mergePatch(
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const result: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (key === '__proto__') continue;
    if (value === null) delete result[key];
    else if (isPlainObject(value)) {
      const current = result[key];
      result[key] = mergePatch(isPlainObject(current) ? current : {}, value);
    } else result[key] = structuredClone(value);
  }
  return result;
}

/**
 * The dotted paths whose values differ between two tenant objects (leaves, and whole lists), sorted: what a
 * `settings.changed` event names. Values themselves are never part of it.
 *
 * @example
 * ```ts
 * changedPaths({ mfa: { enabled: true } }, { mfa: { enabled: false }, failmode: 'open' }); // ['failmode', 'mfa.enabled']
 * ```
 */
export function changedPaths(before: unknown, after: unknown, prefix = ''): string[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys]
      .flatMap((key) => changedPaths(before[key], after[key], prefix ? `${prefix}.${key}` : key))
      .sort();
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [prefix || '$'];
}
