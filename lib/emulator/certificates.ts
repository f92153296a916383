// The emulator's HTTPS certificates through selfsigned: a CA (fresh, or one the caller saved) that signs a server
// certificate naming the hosts the emulator answers on.

import { X509Certificate, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { generate } from 'selfsigned';
import { isPlainObject } from '../util/objects';
import type { EmulatorCertificateAuthority } from './types';

/** The PEMs the emulator needs: trust `caCert`, serve `serverCert` with `serverKey`. */
export interface EmulatorCertificates {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

export interface CertificateOptions {
  /** Extra subjectAltNames besides 127.0.0.1, ::1 and localhost: IP literals or DNS names. */
  readonly extraNames?: readonly string[];
  /** Start of validity is `now - 1 h`; the server certificate ends at `now + 30 days`. Default: the current time. */
  readonly now?: Date;
  /** A CA to sign with (validated by the caller with parseCertificateAuthority); default: a fresh one. */
  readonly ca?: EmulatorCertificateAuthority;
}

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;
/** The server certificate's lifetime: short, since a new one is made at every start. */
const SERVER_VALIDITY_MS = 30 * DAY_MS;
/** A saved CA outlives many restarts; it signs nothing but emulator server certificates. */
const CA_VALIDITY_MS = 5 * 365 * DAY_MS;
const ORGANIZATION = 'express-duo-mfa offline Duo emulator';

/**
 * Generates a CA for the emulator (EC P-256, valid from now − 1 h for five years). Save both PEMs and pass them
 * back as `startDuoEmulator({ certificateAuthority })` so browsers and clients that trust it keep trusting every
 * later start. The key signs only emulator server certificates: keep it out of version control all the same.
 *
 * @example
 * ```ts
 * const ca = await createEmulatorCa();
 * writeFileSync('.duo-emulator/ca.pem', ca.cert);
 * writeFileSync('.duo-emulator/ca-key.pem', ca.key, { mode: 0o600 });
 * ```
 */
export async function createEmulatorCa(options: { now?: Date } = {}): Promise<EmulatorCertificateAuthority> {
  const now = options.now ?? new Date();
  const suffix = randomBytes(4).toString('hex');
  const pems = await generate(
    [
      { name: 'organizationName', value: ORGANIZATION },
      { name: 'commonName', value: `express-duo-mfa emulator CA ${suffix}` },
    ],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: new Date(now.getTime() - HOUR_MS),
      notAfterDate: new Date(now.getTime() + CA_VALIDITY_MS),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ],
    },
  );
  return { cert: pems.cert, key: pems.private };
}

/**
 * The CA (fresh unless `options.ca` is given) and a server certificate it signs for 127.0.0.1, ::1, localhost and
 * `extraNames`, valid from now − 1 h to now + 30 days.
 *
 * @example
 * ```ts
 * const { caCert, serverCert, serverKey } = await generateCertificates({ extraNames: ['duo.test'] });
 * https.createServer({ key: serverKey, cert: serverCert }, handler);
 * ```
 */
export async function generateCertificates(options: CertificateOptions = {}): Promise<EmulatorCertificates> {
  const now = options.now ?? new Date();
  const ca = options.ca ?? (await createEmulatorCa({ now }));
  const notAfter = new Date(now.getTime() + SERVER_VALIDITY_MS);
  const caEnd = new Date(new X509Certificate(ca.cert).validTo);
  const server = await generate(
    [
      { name: 'organizationName', value: ORGANIZATION },
      { name: 'commonName', value: 'localhost' },
    ],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: new Date(now.getTime() - HOUR_MS),
      // Never outlive the CA: a leaf valid past its issuer is refused by strict clients.
      notAfterDate: notAfter < caEnd ? notAfter : caEnd,
      ca: { cert: ca.cert, key: ca.key },
      extensions: [
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: subjectAltNames(options.extraNames ?? []) },
      ],
    },
  );
  return { caCert: ca.cert, serverCert: server.cert, serverKey: server.private };
}

/**
 * Checks a `certificateAuthority` option: both PEMs parse, the certificate is a CA that may sign certificates
 * and is valid now, and the key is the certificate's. Throws a TypeError saying which of these failed.
 *
 * @example
 * ```ts
 * const ca = parseCertificateAuthority({ cert: readFileSync('ca.pem', 'utf8'), key: readFileSync('ca-key.pem', 'utf8') }, 'startDuoEmulator(options): certificateAuthority');
 * ```
 */
export function parseCertificateAuthority(
  value: unknown,
  where: string,
  now: Date = new Date(),
): EmulatorCertificateAuthority {
  if (!isPlainObject(value) || typeof value.cert !== 'string' || typeof value.key !== 'string') {
    throw new TypeError(
      `${where} must be { cert, key }: the PEM strings createEmulatorCa() returned (or that you saved from it)`,
    );
  }
  for (const key of Object.keys(value)) {
    if (key !== 'cert' && key !== 'key')
      throw new TypeError(`${where}: unknown key "${key}"; allowed: cert, key`);
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(value.cert);
  } catch {
    throw new TypeError(`${where}.cert is not a PEM certificate (the cert createEmulatorCa() returned)`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(value.key);
  } catch {
    throw new TypeError(
      `${where}.key is not an unencrypted PEM private key (the key createEmulatorCa() returned)`,
    );
  }
  if (!certificate.ca) {
    throw new TypeError(
      `${where}.cert is not a CA certificate (basicConstraints cA is not set): use createEmulatorCa()`,
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TypeError(`${where}.key does not match .cert: the two PEMs come from different CAs`);
  }
  if (new Date(certificate.validTo) <= now || new Date(certificate.validFrom) > now) {
    throw new TypeError(
      `${where}.cert is not valid now (valid from ${certificate.validFrom} to ${certificate.validTo}): make a new one with createEmulatorCa()`,
    );
  }
  return { cert: value.cert, key: value.key };
}

/** 127.0.0.1, ::1, localhost and the extra names, deduplicated; wildcard addresses and odd names skipped. */
function subjectAltNames(extraNames: readonly string[]): Array<{ type: 2 | 7; value?: string; ip?: string }> {
  const names: Array<{ type: 2 | 7; value?: string; ip?: string }> = [];
  const seen = new Set<string>();
  for (const raw of ['127.0.0.1', '::1', 'localhost', ...extraNames]) {
    const name = raw
      .trim()
      .replace(/^\[(.*)\]$/, '$1')
      .toLowerCase();
    if (seen.has(name)) continue;
    seen.add(name);
    const version = isIP(name);
    if (version !== 0) {
      if (name === '0.0.0.0' || name === '::') continue;
      names.push({ type: 7, ip: name });
    } else if (/^[a-z0-9*]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(name)) {
      names.push({ type: 2, value: name });
    }
  }
  return names;
}
