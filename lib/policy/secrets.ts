// Secrets encrypted at rest: the secretsKey (AES-256-GCM), bound to a tenant and field so a value cannot be moved.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { DuoMfaError } from '../errors';

/** The prefix of every value encryptSecret() writes: the format version. */
const VERSION = 'v1';
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Which secret a ciphertext belongs to: it only opens for the same tenant and field (the associated data). */
export interface SecretContext {
  /** The tenant id, exactly as in the policy. */
  readonly tenant: string;
  /** The secret's path inside the tenant, e.g. `duo.clientSecret` or `duo.adminApi.secretKey`. */
  readonly field: string;
}

/**
 * One or more 32-byte keys, parsed from the `secretsKey` option: the first encrypts, every one is tried to
 * decrypt (so a key can be rotated without a flag day). The key bytes never appear in JSON, logs or inspect().
 *
 * @example
 * ```ts
 * const key = parseSecretsKey(process.env.DUO_MFA_SECRETS_KEY);
 * ```
 */
export class SecretsKey {
  /** Use parseSecretsKey(); the constructor takes already-checked 32-byte keys, the encrypting one first. */
  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0 || keys.some((key) => key.length !== KEY_BYTES)) {
      throw new TypeError(`a secretsKey needs one or more keys of ${KEY_BYTES} bytes`);
    }
    KEYS.set(
      this,
      keys.map((key) => Buffer.from(key)),
    );
    Object.freeze(this);
  }

  /** How many keys are configured (the first encrypts). */
  get size(): number {
    return keysOf(this).length;
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return `SecretsKey { ${this.size} key${this.size === 1 ? '' : 's'}, [redacted] }`;
  }
}

/** The key bytes, outside the object so that nothing but this module can reach them. */
const KEYS = new WeakMap<SecretsKey, readonly Buffer[]>();

function keysOf(key: SecretsKey): readonly Buffer[] {
  const keys = KEYS.get(key);
  if (keys === undefined) throw new TypeError('not a SecretsKey made by parseSecretsKey()');
  return keys;
}

/**
 * Parses the `secretsKey` option (or `DUO_MFA_SECRETS_KEY`): 32 random bytes in base64 (or base64url); several
 * keys separated by commas during a rotation, the new one first. Empty or undefined → undefined (no key).
 * Throws a TypeError naming `name` and saying what is wrong — never the key itself.
 *
 * @example
 * ```ts
 * const key = parseSecretsKey(options.secretsKey ?? process.env.DUO_MFA_SECRETS_KEY);
 * // rotation: 'NEW_KEY_BASE64,OLD_KEY_BASE64'
 * ```
 */
export function parseSecretsKey(
  value: string | SecretsKey | undefined,
  name = 'secretsKey',
): SecretsKey | undefined {
  if (value instanceof SecretsKey) return value;
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new TypeError(`${name} must be a string: 32 random bytes in base64 (openssl rand -base64 32)`);
  }
  if (value.trim() === '') return undefined;
  const parts = value.split(',').map((part) => part.trim());
  const keys = parts.map((part, index) => {
    const which = parts.length > 1 ? ` (key ${index + 1} of ${parts.length})` : '';
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(part)) {
      throw new TypeError(
        `${name}${which} must be base64: 32 random bytes, e.g. from "openssl rand -base64 32"`,
      );
    }
    const bytes = Buffer.from(part.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length !== KEY_BYTES) {
      throw new TypeError(
        `${name}${which} must decode to ${KEY_BYTES} bytes (it decodes to ${bytes.length}): use "openssl rand -base64 32"`,
      );
    }
    return bytes;
  });
  return new SecretsKey(keys);
}

/**
 * A new random secretsKey, base64: for development set-ups (the example app) and `openssl`-less machines.
 *
 * @example
 * ```ts
 * process.env.DUO_MFA_SECRETS_KEY ??= generateSecretsKey();
 * ```
 */
export function generateSecretsKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/**
 * Encrypts a secret for one tenant and field: `"v1:" + base64url(nonce ‖ ciphertext ‖ tag)`, AES-256-GCM with the
 * first key, the tenant id and field as associated data. Without a key: `ERR_SECRETS_KEY_MISSING`.
 *
 * @example
 * ```ts
 * const stored = { encrypted: encryptSecret(key, newSecret, { tenant: 'acme', field: 'duo.clientSecret' }) };
 * ```
 */
export function encryptSecret(
  key: SecretsKey | undefined,
  plaintext: string,
  context: SecretContext,
): string {
  if (key === undefined) throw secretsKeyMissing();
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keysOf(key)[0]!, nonce);
  cipher.setAAD(associatedData(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${VERSION}:${Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url')}`;
}

/** Why a secret could not be opened: said in plain words, never with the secret or the key. */
export type SecretOpenResult =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly reason: 'no-key' | 'cannot-open' | 'malformed'; readonly message: string };

/**
 * Opens an encrypted secret without throwing: the plaintext, or why not (no key, wrong key / tampered / moved to
 * another tenant or field, not a value encryptSecret() wrote). The compiler turns a failure into a load error
 * for that tenant only.
 *
 * @example
 * ```ts
 * const opened = openSecret(key, value, { tenant: 'acme', field: 'duo.clientSecret' });
 * if (!opened.ok) issues.push({ path, message: opened.message });
 * ```
 */
export function openSecret(
  key: SecretsKey | undefined,
  token: string,
  context: SecretContext,
): SecretOpenResult {
  const match = /^v1:([A-Za-z0-9_-]+)$/.exec(token);
  const bytes = match ? Buffer.from(match[1]!, 'base64url') : Buffer.alloc(0);
  if (bytes.length <= NONCE_BYTES + TAG_BYTES) {
    return {
      ok: false,
      reason: 'malformed',
      message: 'the encrypted secret is not a value express-duo-mfa wrote ("v1:" followed by base64url)',
    };
  }
  if (key === undefined) {
    return {
      ok: false,
      reason: 'no-key',
      message:
        'the secret is encrypted but no secretsKey is configured (option secretsKey, or the DUO_MFA_SECRETS_KEY environment variable)',
    };
  }
  const nonce = bytes.subarray(0, NONCE_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  const body = bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES);
  for (const candidate of keysOf(key)) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', candidate, nonce);
      decipher.setAAD(associatedData(context));
      decipher.setAuthTag(tag);
      return { ok: true, value: Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8') };
    } catch {
      // the next key, if any (a rotation keeps the old key second)
    }
  }
  return {
    ok: false,
    reason: 'cannot-open',
    message:
      'the encrypted secret cannot be opened with the configured secretsKey (a different key, a changed value, or a value encrypted for another tenant or field)',
  };
}

/**
 * Opens an encrypted secret or throws: `ERR_SECRETS_KEY_MISSING` without a key, `ERR_POLICY_INVALID` (details:
 * tenant and field) when the key cannot open it.
 *
 * @example
 * ```ts
 * const secret = decryptSecret(key, stored.encrypted, { tenant: 'acme', field: 'duo.clientSecret' });
 * ```
 */
export function decryptSecret(key: SecretsKey | undefined, token: string, context: SecretContext): string {
  const opened = openSecret(key, token, context);
  if (opened.ok) return opened.value;
  if (opened.reason === 'no-key') throw secretsKeyMissing();
  throw new DuoMfaError(
    'ERR_POLICY_INVALID',
    `tenant ${JSON.stringify(context.tenant)}, ${context.field}: ${opened.message}`,
    {
      details: {
        tenant: context.tenant,
        issues: [{ path: context.field, message: opened.message }],
      },
    },
  );
}

function secretsKeyMissing(): DuoMfaError {
  return new DuoMfaError(
    'ERR_SECRETS_KEY_MISSING',
    'secrets are stored encrypted, and no secretsKey is configured: set the secretsKey option (or the DUO_MFA_SECRETS_KEY environment variable) to 32 random bytes in base64',
  );
}

/** What a ciphertext is bound to: format version, tenant and field, NUL-separated (ids cannot hold NUL ambiguity). */
function associatedData(context: SecretContext): Buffer {
  return Buffer.from(
    `express-duo-mfa/${VERSION}\u0000${JSON.stringify(context.tenant)}\u0000${context.field}`,
    'utf8',
  );
}
