// The emulator's JWTs through jose: HS512 id_tokens it signs, and the client assertions and signed authorize
// requests it verifies (HS512 only, as Duo does), with the tampered tokens token faults ask for.

import { SignJWT, UnsecuredJWT, compactVerify, decodeJwt, decodeProtectedHeader } from 'jose';
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
const encoder = new TextEncoder();

/**
 * Signs `claims` as a compact JWS with jose: HS512 by default (header `{"alg":"HS512","typ":"JWT"}`, as Duo's
 * id_tokens have it); `HS256` and `none` exist only to forge the bad tokens token faults ask for.
 *
 * @example
 * ```ts
 * const idToken = await signJwt({ iss, aud: clientId, exp: now + 300 }, clientSecret);
 * ```
 */
export async function signJwt(
  claims: JwtObject,
  secret: string,
  alg: JwtAlgorithm = 'HS512',
): Promise<string> {
  if (alg === 'none') return new UnsecuredJWT(claims).encode();
  return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(encoder.encode(secret));
}

/**
 * Verifies an HS512 compact JWS with `secret` (jose's compactVerify, restricted to HS512) and returns its
 * header and claims. Never rejects: any other algorithm (none, HS256, RS256), any JWS extension (`crit`,
 * `b64`), a bad signature, a non-canonical signature encoding, bad base64url or JSON, or a payload that is
 * not a JSON object is a refusal with its reason. Claims (exp, aud, …) are the caller's to check: clients send
 * them in shapes jose's own claim checks refuse (the C# client sends `exp` as a string).
 *
 * @example
 * ```ts
 * const result = await verifyJwt(params.get('client_assertion'), app.clientSecret);
 * if (!result.valid) return invalidClient(result.reason);
 * ```
 */
export async function verifyJwt(token: unknown, secret: string): Promise<JwtVerification> {
  const decoded = decodeJwtUnverified(token);
  if (!decoded) return { valid: false, reason: 'malformed' };
  // Duo's JWTs never use JWS extensions: refuse any, including the `b64` one jose would otherwise honour.
  if (decoded.header.crit !== undefined || decoded.header.b64 !== undefined) {
    return { valid: false, reason: 'algorithm' };
  }
  const signature = (token as string).slice((token as string).lastIndexOf('.') + 1);
  // jose decodes a signature whose last character carries stray low bits to the same bytes; Duo's base64url is
  // canonical, so such a token was altered in transit (or forged): refuse it before verifying.
  if (Buffer.from(signature, 'base64url').toString('base64url') !== signature) {
    return { valid: false, reason: decoded.header.alg === 'HS512' ? 'signature' : 'algorithm' };
  }
  try {
    await compactVerify(token as string, encoder.encode(secret), { algorithms: ['HS512'] });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return { valid: false, reason: 'signature' };
    // Anything else is jose refusing the header: another algorithm, or a `crit` extension it does not know.
    return { valid: false, reason: 'algorithm' };
  }
  return { valid: true, header: decoded.header, claims: decoded.claims };
}

/**
 * The header and claims of a compact JWS without checking its signature (jose's decoders): only to find out
 * which client a token claims to come from before verifying it with that client's secret. Undefined for
 * anything that is not three base64url segments whose header and payload are JSON objects.
 *
 * @example
 * ```ts
 * const iss = decodeJwtUnverified(assertion)?.claims.iss;
 * ```
 */
export function decodeJwtUnverified(token: unknown): { header: JwtObject; claims: JwtObject } | undefined {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_JWT_LENGTH) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] === '' || parts[1] === '') return undefined;
  if (!parts.every((part) => SEGMENT.test(part))) return undefined;
  try {
    const header: unknown = decodeProtectedHeader(token);
    const claims: unknown = decodeJwt(token);
    return isPlainObject(header) && isPlainObject(claims) ? { header, claims } : undefined;
  } catch {
    return undefined;
  }
}
