// A tenant's version: an opaque hash of its stored definition, secrets sealed by their sha256, for change detection.

import { createHash } from 'node:crypto';
import { isPlainObject } from '../util/objects';
import { canonicalHash } from './hash';

/**
 * The version of one tenant as stored (`tenants.<id>` of the single file, a `<id>.json`, a Redis value): the
 * canonical JSON hash (key order and formatting do not count) of the definition with every secret replaced by
 * its sha256, so the version changes with any change — a new secret included — and never reveals one. It does
 * not depend on the environment or the secretsKey, so every instance computes the same version for the same
 * stored tenant: the settings API compares it (optimistic concurrency), and an invalid definition has one too.
 *
 * @example
 * ```ts
 * tenantVersion({ mfa: { enabled: true }, duo }); // '3f9c0a1b2d4e'
 * ```
 */
export function tenantVersion(raw: unknown): string {
  return canonicalHash(sealSecrets(raw));
}

/** A copy of the tenant with its secret values replaced by hashes (only the objects on the way are copied). */
function sealSecrets(raw: unknown): unknown {
  if (!isPlainObject(raw) || !isPlainObject(raw.duo)) return raw;
  const duo: Record<string, unknown> = { ...raw.duo, clientSecret: seal(raw.duo.clientSecret) };
  if (isPlainObject(raw.duo.adminApi)) {
    duo.adminApi = { ...raw.duo.adminApi, secretKey: seal(raw.duo.adminApi.secretKey) };
  }
  return { ...raw, duo };
}

function seal(secret: unknown): unknown {
  const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
  if (typeof secret === 'string') return { sha256: sha256(secret) };
  if (isPlainObject(secret) && typeof secret.encrypted === 'string') {
    return { ...secret, encrypted: sha256(secret.encrypted) };
  }
  return secret;
}
