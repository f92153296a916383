// What the example keeps on disk between starts (example-app/.data/, ignored by git): a development session
// secret, a development secretsKey and the Duo emulator's CA, so signed cookies, Redis sessions, secrets saved on
// MFA Settings and a browser's trust survive a restart.

import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEmulatorCa, type EmulatorCertificateAuthority } from 'express-duo-mfa/emulator';
import { generateSecretsKey, parseSecretsKey } from 'express-duo-mfa/policy';

/** Owner only: the secret signs session cookies and the CA key signs certificates a browser may trust. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** A generated secret is 32 random bytes in hex; a hand-written one shorter than this is refused. */
const MIN_SECRET_LENGTH = 32;

/** The files of the data directory. */
export const DATA_FILES = {
  sessionSecret: 'session-secret',
  /** The key that encrypts Duo secrets saved through MFA Settings (32 random bytes, base64). */
  secretsKey: 'secrets-key',
  /** `{ cert, key }` as createEmulatorCa() returns it. */
  emulatorCa: 'emulator-ca.json',
  /** The CA certificate alone, for browsers and `duo-mfa health --ca`. */
  emulatorCaPem: 'emulator-ca.pem',
} as const;

/** Where a value came from, for the banner. */
export type Origin = 'environment' | 'created' | 'kept' | 'temporary';

export interface Kept<T> {
  readonly value: T;
  readonly origin: Origin;
  /** The file it lives in (absent for `environment` and `temporary`). */
  readonly file?: string | undefined;
  /** Why a saved value was replaced, or why nothing could be saved. */
  readonly note?: string | undefined;
}

/**
 * The session secret: `SESSION_SECRET` from the environment when set; otherwise the one saved in `dir`
 * (created with mode 0600 on first start). When `dir` cannot be written, a random secret for this run only.
 *
 * @example
 * ```ts
 * const secret = sessionSecret('example-app/.data', process.env);
 * secret.origin; // 'created' the first time, 'kept' afterwards, 'environment' with SESSION_SECRET
 * ```
 */
export function sessionSecret(dir: string, env: NodeJS.ProcessEnv): Kept<string> {
  const fromEnv = env.SESSION_SECRET;
  if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, origin: 'environment' };
  const file = join(dir, DATA_FILES.sessionSecret);
  const saved = readPrivate(file)?.trim();
  if (saved !== undefined && saved.length >= MIN_SECRET_LENGTH) return { value: saved, origin: 'kept', file };
  const value = randomBytes(32).toString('hex');
  const note =
    saved === undefined ? undefined : `${file} held a secret shorter than ${MIN_SECRET_LENGTH} characters`;
  const written = writePrivate(dir, file, `${value}\n`);
  return written === true
    ? { value, origin: 'created', file, note }
    : { value, origin: 'temporary', note: written };
}

/**
 * The `secretsKey` that encrypts the Duo secrets an admin saves on MFA Settings: `DUO_MFA_SECRETS_KEY` from the
 * environment when set (a malformed one throws a TypeError naming it); otherwise the one saved in `dir` (made with
 * generateSecretsKey() and mode 0600 on first start). When `dir` cannot be written, a key for this run only: secrets
 * saved during it cannot be opened after a restart.
 *
 * @example
 * ```ts
 * const key = secretsKey('example-app/.data', process.env);
 * duoMfa({ policy, baseUrl, secretsKey: key.value });
 * ```
 */
export function secretsKey(dir: string, env: NodeJS.ProcessEnv): Kept<string> {
  const fromEnv = env.DUO_MFA_SECRETS_KEY;
  if (fromEnv !== undefined && fromEnv !== '') {
    parseSecretsKey(fromEnv, 'DUO_MFA_SECRETS_KEY'); // a malformed key: a TypeError naming the variable
    return { value: fromEnv, origin: 'environment' };
  }
  const file = join(dir, DATA_FILES.secretsKey);
  const saved = readPrivate(file)?.trim();
  let note: string | undefined;
  if (saved !== undefined) {
    try {
      if (parseSecretsKey(saved, file) !== undefined) return { value: saved, origin: 'kept', file };
    } catch {
      // not a key: replaced below
    }
    // Replacing it loses nothing that still opens: a key that does not parse never encrypted anything.
    note = `${file} did not hold a key (32 random bytes in base64): a new one replaced it`;
  }
  const value = generateSecretsKey();
  const written = writePrivate(dir, file, `${value}\n`);
  return written === true
    ? { value, origin: 'created', file, note }
    : { value, origin: 'temporary', note: written };
}

/**
 * The emulator's CA: the one saved in `dir` while it is still usable (see caProblem), or a new one saved there
 * with mode 0600. Also writes the certificate alone next to it (`emulator-ca.pem`), for browsers and the CLI.
 *
 * @example
 * ```ts
 * const ca = await emulatorCa('example-app/.data');
 * const duo = await startDuoEmulator({ applications, certificateAuthority: ca.value });
 * ```
 */
export async function emulatorCa(
  dir: string,
  now: Date = new Date(),
): Promise<Kept<EmulatorCertificateAuthority>> {
  const file = join(dir, DATA_FILES.emulatorCa);
  const text = readPrivate(file);
  let note: string | undefined;
  if (text !== undefined) {
    const saved = parseCa(text);
    const problem = saved
      ? caProblem(saved, now)
      : 'it is not the { cert, key } JSON createEmulatorCa() returns';
    if (saved && problem === undefined) {
      writePrivate(dir, join(dir, DATA_FILES.emulatorCaPem), saved.cert);
      return { value: saved, origin: 'kept', file };
    }
    note = `the saved CA in ${file} was replaced: ${problem}`;
  }
  const value = await createEmulatorCa();
  const written = writePrivate(dir, file, `${JSON.stringify(value, null, 2)}\n`);
  if (written !== true) return { value, origin: 'temporary', note: written };
  writePrivate(dir, join(dir, DATA_FILES.emulatorCaPem), value.cert);
  return { value, origin: 'created', file, note };
}

/**
 * Why a saved CA can no longer serve (the emulator would refuse it), or undefined: the PEMs parse, the key is the
 * certificate's, it is a CA, and it stays valid at least another day (the emulator's server certificates never
 * outlive it).
 *
 * @example
 * ```ts
 * caProblem(await createEmulatorCa()); // undefined
 * ```
 */
export function caProblem(ca: EmulatorCertificateAuthority, now: Date = new Date()): string | undefined {
  try {
    const certificate = new X509Certificate(ca.cert);
    if (!certificate.ca) return 'its certificate is not a CA';
    if (!certificate.checkPrivateKey(createPrivateKey(ca.key))) return 'its key is not the certificate’s';
    const validTo = new Date(certificate.validTo).getTime();
    if (validTo - now.getTime() < 24 * 3600_000) return `it expires on ${certificate.validTo}`;
    if (new Date(certificate.validFrom).getTime() > now.getTime()) return 'it is not valid yet';
    return undefined;
  } catch {
    return 'its PEMs do not parse';
  }
}

function parseCa(text: string): EmulatorCertificateAuthority | undefined {
  try {
    const value = JSON.parse(text) as Partial<EmulatorCertificateAuthority> | null;
    return typeof value?.cert === 'string' && typeof value.key === 'string'
      ? { cert: value.cert, key: value.key }
      : undefined;
  } catch {
    return undefined;
  }
}

/** The file's text, its mode tightened to 0600 if someone loosened it; undefined when it cannot be read. */
function readPrivate(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, FILE_MODE);
  } catch {
    // a file we can read but not chmod (another owner): still usable
  }
  return text;
}

/** Writes a 0600 file in a 0700 directory; true, or why it could not (a read-only checkout). */
function writePrivate(dir: string, file: string, text: string): true | string {
  try {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    writeFileSync(file, text, { mode: FILE_MODE });
    chmodSync(file, FILE_MODE); // writeFileSync's mode applies only when it creates the file
    return true;
  } catch (error) {
    return `${dir} cannot be written (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
}
