// A throw-away CA and server certificate for the emulator's HTTPS, built with node:crypto and a tiny DER encoder.

import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

/** The PEMs the emulator needs: trust `caCert`, serve `serverCert` with `serverKey`. */
export interface EmulatorCertificates {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

export interface CertificateOptions {
  /** Extra subjectAltNames besides 127.0.0.1, ::1 and localhost: IP literals or DNS names. */
  readonly extraNames?: readonly string[];
  /** Start of validity is `now - 1 h`; end is `now + 30 days`. Default: the current time. */
  readonly now?: Date;
}

const HOUR_MS = 3600_000;
const VALIDITY_MS = 30 * 24 * HOUR_MS;

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

/**
 * Generates a fresh CA (EC P-256, valid from now − 1 h to now + 30 days) and a server certificate it signs,
 * naming 127.0.0.1, ::1, localhost and `extraNames`. The CA's private key is discarded once it has signed.
 *
 * @example
 * ```ts
 * const { caCert, serverCert, serverKey } = generateCertificates({ extraNames: ['duo.test'] });
 * https.createServer({ key: serverKey, cert: serverCert }, handler);
 * https.get(url, { ca: caCert }, onResponse);
 * ```
 */
export function generateCertificates(options: CertificateOptions = {}): EmulatorCertificates {
  const now = options.now ?? new Date();
  const notBefore = new Date(now.getTime() - HOUR_MS);
  const notAfter = new Date(now.getTime() + VALIDITY_MS);
  const caKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const serverKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const caKeyId = keyIdentifier(caKeys.publicKey);
  const caName = distinguishedName(
    `express-duo-mfa emulator CA ${randomBytes(4).toString('hex')}`,
    'express-duo-mfa offline Duo emulator',
  );

  const caCert = certificate(caKeys.privateKey, {
    issuer: caName,
    subject: caName,
    notBefore,
    notAfter: new Date(notAfter.getTime() + HOUR_MS),
    publicKey: caKeys.publicKey,
    extensions: [
      extension(OID.basicConstraints, true, der.sequence(der.boolean(true))),
      extension(OID.keyUsage, true, der.bitString(Buffer.from([0x06]), 1)), // keyCertSign, cRLSign
      extension(OID.subjectKeyIdentifier, false, der.octetString(caKeyId)),
    ],
  });

  const serverCert = certificate(caKeys.privateKey, {
    issuer: caName,
    subject: distinguishedName('localhost', 'express-duo-mfa offline Duo emulator'),
    notBefore,
    notAfter,
    publicKey: serverKeys.publicKey,
    extensions: [
      extension(OID.basicConstraints, true, der.sequence()), // cA defaults to FALSE, omitted in DER
      extension(OID.keyUsage, true, der.bitString(Buffer.from([0x80]), 7)), // digitalSignature
      extension(OID.extKeyUsage, false, der.sequence(der.oid(OID.serverAuth))),
      extension(OID.subjectAltName, false, subjectAltNames(options.extraNames ?? [])),
      extension(OID.subjectKeyIdentifier, false, der.octetString(keyIdentifier(serverKeys.publicKey))),
      extension(OID.authorityKeyIdentifier, false, der.sequence(der.contextPrimitive(0, caKeyId))),
    ],
  });

  return {
    caCert: toPem('CERTIFICATE', caCert),
    serverCert: toPem('CERTIFICATE', serverCert),
    serverKey: serverKeys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

interface CertificateFields {
  readonly issuer: Buffer;
  readonly subject: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKey: KeyObject;
  readonly extensions: readonly Buffer[];
}

function certificate(signingKey: KeyObject, fields: CertificateFields): Buffer {
  const algorithm = der.sequence(der.oid(OID.ecdsaWithSha256));
  const tbs = der.sequence(
    der.contextConstructed(0, der.integer(Buffer.from([2]))), // v3
    der.integer(serialNumber()),
    algorithm,
    fields.issuer,
    der.sequence(der.time(fields.notBefore), der.time(fields.notAfter)),
    fields.subject,
    fields.publicKey.export({ format: 'der', type: 'spki' }),
    der.contextConstructed(3, der.sequence(...fields.extensions)),
  );
  // For EC keys node:crypto produces the DER-encoded ECDSA-Sig-Value X.509 expects.
  const signature = sign('sha256', tbs, signingKey);
  return der.sequence(tbs, algorithm, der.bitString(signature, 0));
}

/** 16 random bytes, positive (top bit clear) and minimal (first byte non-zero). */
function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes;
}

function distinguishedName(commonName: string, organization: string): Buffer {
  const attribute = (oid: string, value: string) => der.set(der.sequence(der.oid(oid), der.utf8(value)));
  return der.sequence(attribute(OID.organizationName, organization), attribute(OID.commonName, commonName));
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? der.sequence(der.oid(oid), der.boolean(true), der.octetString(value))
    : der.sequence(der.oid(oid), der.octetString(value));
}

function subjectAltNames(extraNames: readonly string[]): Buffer {
  const names: Buffer[] = [];
  const seen = new Set<string>();
  for (const name of ['127.0.0.1', '::1', 'localhost', ...extraNames]) {
    const entry = generalName(name);
    if (!entry) continue;
    const key = entry.toString('hex');
    if (seen.has(key)) continue;
    seen.add(key);
    names.push(entry);
  }
  return der.sequence(...names);
}

/** iPAddress [7] for IP literals (wildcards skipped), dNSName [2] for host names. */
function generalName(name: string): Buffer | undefined {
  const version = isIP(name);
  if (version === 4) {
    if (name === '0.0.0.0') return undefined;
    return der.contextPrimitive(7, Buffer.from(name.split('.').map(Number)));
  }
  if (version === 6) {
    const bytes = ipv6Bytes(name);
    if (bytes.every((b) => b === 0)) return undefined;
    return der.contextPrimitive(7, bytes);
  }
  const host = name.trim().toLowerCase();
  if (!/^[a-z0-9*]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(host)) return undefined;
  return der.contextPrimitive(2, Buffer.from(host, 'ascii'));
}

/**
 * The 16 bytes of an IPv6 literal already accepted by `isIP` (handles `::` and a dotted IPv4 tail).
 *
 * @example
 * ```ts
 * ipv6Bytes('::1'); // <Buffer 00 … 00 01>
 * ```
 */
export function ipv6Bytes(address: string): Buffer {
  let text = address.replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const parts = v4[1].split('.').map(Number);
    const hex = (a: number, b: number) => ((a << 8) | b).toString(16);
    text = `${text.slice(0, -v4[1].length)}${hex(parts[0] ?? 0, parts[1] ?? 0)}:${hex(parts[2] ?? 0, parts[3] ?? 0)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...new Array<string>(fill).fill('0'), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.slice(0, 8).forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16) & 0xffff, index * 2));
  return bytes;
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (the uncompressed EC point). */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([
    Buffer.from([0x04]),
    Buffer.from(jwk.x ?? '', 'base64url'),
    Buffer.from(jwk.y ?? '', 'base64url'),
  ]);
  return createHash('sha1').update(point).digest();
}

function toPem(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * The handful of DER encodings an X.509 v3 certificate needs.
 *
 * @example
 * ```ts
 * der.sequence(der.oid('2.5.4.3'), der.utf8('localhost')); // an AttributeTypeAndValue
 * ```
 */
export const der = {
  tlv(tag: number, content: Buffer): Buffer {
    return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
  },
  sequence(...items: Buffer[]): Buffer {
    return der.tlv(0x30, Buffer.concat(items));
  },
  set(...items: Buffer[]): Buffer {
    return der.tlv(0x31, Buffer.concat(items));
  },
  boolean(value: boolean): Buffer {
    return der.tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
  },
  /** A non-negative INTEGER from big-endian bytes: minimal, with a 0x00 pad when the top bit is set. */
  integer(bytes: Buffer): Buffer {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    let content = bytes.subarray(start);
    if (content.length === 0) content = Buffer.from([0]);
    if ((content[0] ?? 0) & 0x80) content = Buffer.concat([Buffer.from([0]), content]);
    return der.tlv(0x02, content);
  },
  bitString(bytes: Buffer, unusedBits: number): Buffer {
    return der.tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), bytes]));
  },
  octetString(bytes: Buffer): Buffer {
    return der.tlv(0x04, bytes);
  },
  oid(dotted: string): Buffer {
    const arcs = dotted.split('.').map(Number);
    const bytes: number[] = [(arcs[0] ?? 0) * 40 + (arcs[1] ?? 0)];
    for (const arc of arcs.slice(2)) {
      const chunk = [arc & 0x7f];
      for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) {
        chunk.unshift((rest & 0x7f) | 0x80);
      }
      bytes.push(...chunk);
    }
    return der.tlv(0x06, Buffer.from(bytes));
  },
  utf8(text: string): Buffer {
    return der.tlv(0x0c, Buffer.from(text, 'utf8'));
  },
  /** UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5). */
  time(date: Date): Buffer {
    const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
    const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
    const year = date.getUTCFullYear();
    return year >= 1950 && year < 2050
      ? der.tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii'))
      : der.tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
  },
  /** [n] IMPLICIT primitive (e.g. dNSName, iPAddress, keyIdentifier). */
  contextPrimitive(tagNumber: number, content: Buffer): Buffer {
    return der.tlv(0x80 | tagNumber, content);
  },
  /** [n] EXPLICIT / constructed. */
  contextConstructed(tagNumber: number, content: Buffer): Buffer {
    return der.tlv(0xa0 | tagNumber, content);
  },
};

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
