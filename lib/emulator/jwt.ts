// Compact JWS (HS512) signing and verification for the emulator, with node:crypto only.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { isPlainObject } from '../util/objects';

/** Algorithms the emulator can sign with. Only HS512 is ever accepted on verification. */
export type JwtAlgorithm = 'HS512' | 'HS256' | 'none';

export type JwtObject = Record<string, unknown>;

/** Why a token was refused before its claims were looked at. */
export type JwtRejection = 'malformed' | 'algorithm' | 'signature';

export type JwtVerification =
  | { readonly valid: true; readonly header: JwtObject; readonly claims: JwtObject }
  | { readonly valid: false; readonly reason: JwtRejection };

/** Tokens longer than this are refused unread (the Duo client's are well under 2 KB). */
export const MAX_JWT_LENGTH = 16_384;

const SEGMENT = /^[A-Za-z0-9_-]*$/;

/**
 * Signs `claims` as a compact JWS. HS512 by default; `HS256` and `none` exist to forge bad tokens in tests.
 *
 * @example
 * ```ts
 * const token = signJwt({ iss: clientId, exp: now + 300 }, clientSecret);
 * ```
 */
export function signJwt(
  claims: JwtObject,
  secret: string | Uint8Array,
  options: { alg?: JwtAlgorithm; header?: JwtObject } = {},
): string {
  const alg = options.alg ?? 'HS512';
  const header = encodeSegment({ alg, typ: 'JWT', ...options.header });
  const payload = encodeSegment(claims);
  const input = `${header}.${payload}`;
  if (alg === 'none') return `${input}.`;
  return `${input}.${hmac(alg, secret, input).toString('base64url')}`;
}

/**
 * Verifies an HS512 compact JWS with `secret` and returns its header and claims. Never throws: any other
 * algorithm (none, HS256, …), a bad signature, bad base64url or JSON, or a payload that is not an object is a
 * refusal. Claims (exp, aud, …) are the caller's to check.
 *
 * @example
 * ```ts
 * const result = verifyJwt(req.body.client_assertion, app.clientSecret);
 * if (!result.valid) return invalidClient();
 * ```
 */
export function verifyJwt(token: unknown, secret: string | Uint8Array): JwtVerification {
  const parts = splitToken(token);
  if (!parts) return { valid: false, reason: 'malformed' };
  const header = parseSegment(parts.header);
  const claims = parseSegment(parts.payload);
  if (!header || !claims) return { valid: false, reason: 'malformed' };
  if (header.alg !== 'HS512' || header.crit !== undefined) return { valid: false, reason: 'algorithm' };
  const expected = hmac('HS512', secret, `${parts.header}.${parts.payload}`);
  const actual = Buffer.from(parts.signature, 'base64url');
  // Non-canonical base64url (stray low bits in the last character) would decode to the same bytes: refuse it.
  const canonical = actual.toString('base64url') === parts.signature;
  if (!canonical || actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    return { valid: false, reason: 'signature' };
  }
  return { valid: true, header, claims };
}

/**
 * The header and claims of a compact JWS without checking its signature: only to find out which client a
 * token claims to come from before verifying it with that client's secret.
 *
 * @example
 * ```ts
 * const iss = decodeJwtUnverified(assertion)?.claims.iss;
 * ```
 */
export function decodeJwtUnverified(token: unknown): { header: JwtObject; claims: JwtObject } | undefined {
  const parts = splitToken(token);
  if (!parts) return undefined;
  const header = parseSegment(parts.header);
  const claims = parseSegment(parts.payload);
  return header && claims ? { header, claims } : undefined;
}

function splitToken(token: unknown): { header: string; payload: string; signature: string } | undefined {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_JWT_LENGTH) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [header = '', payload = '', signature = ''] = parts;
  if (header === '' || payload === '') return undefined;
  if (!SEGMENT.test(header) || !SEGMENT.test(payload) || !SEGMENT.test(signature)) return undefined;
  return { header, payload, signature };
}

function parseSegment(segment: string): JwtObject | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return isPlainObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function encodeSegment(value: JwtObject): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function hmac(alg: 'HS512' | 'HS256', secret: string | Uint8Array, input: string): Buffer {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  return createHmac(alg === 'HS512' ? 'sha512' : 'sha256', key)
    .update(input, 'ascii')
    .digest();
}
