// The token endpoint's success body: an HS512 id_token shaped like Duo's (signed with jose), and the tampered
// variants faults ask for.

import { randomBytes, randomUUID } from 'node:crypto';
import { accessDeviceClaims, stableId } from './access-device';
import { signJwt, type JwtObject } from './jwt';
import type { IssuedCode } from './state';
import type { TokenFault } from './types';

/** id_tokens are valid this long after iat, like Duo's. */
export const ID_TOKEN_LIFETIME_SECONDS = 300;

/** Where the emulated phone and browser appear to be (fictional, fixed). */
const LOCATION = { city: 'Ann Arbor', state: 'Michigan', country: 'United States' } as const;
const AUTH_DEVICE_IP = '192.0.2.10'; // TEST-NET-1

export interface TokenInput {
  readonly issued: IssuedCode;
  /** `host:port` the client used (from its assertion's aud): the id_token's iss is built from it. */
  readonly issuerHost: string;
  /** Emulator clock, seconds. */
  readonly now: number;
  readonly fault?: TokenFault | undefined;
}

/**
 * The JSON body of a successful token response, honouring a token fault (tampered id_token or envelope).
 *
 * @example
 * ```ts
 * return jsonReply(200, await tokenResponse({ issued, issuerHost: '127.0.0.1:8443', now: state.nowSeconds() }));
 * ```
 */
export async function tokenResponse(input: TokenInput): Promise<Record<string, unknown>> {
  const { issued, fault } = input;
  const secret = issued.login.app.clientSecret;
  const claims = idTokenClaims(input);
  let idToken: string;
  switch (fault) {
    case 'bad-signature':
      idToken = await signJwt(claims, randomBytes(20).toString('hex'));
      break;
    case 'alg-none':
      idToken = await signJwt(claims, secret, 'none');
      break;
    case 'alg-hs256':
      idToken = await signJwt(claims, secret, 'HS256');
      break;
    default:
      idToken = await signJwt(claims, secret);
  }
  const body: Record<string, unknown> = {
    id_token: idToken,
    access_token: randomBytes(32).toString('base64url'),
    expires_in: 3600,
    token_type: fault === 'not-bearer' ? 'mac' : 'Bearer',
  };
  if (fault === 'missing-id-token') delete body.id_token;
  return body;
}

/**
 * The id_token claims for an issued code: every field of DUO-PROTOCOL.md's id_token, with the fault's tampering.
 *
 * @example
 * ```ts
 * const claims = idTokenClaims({ issued, issuerHost: '127.0.0.1:8443', now: 1767225600 });
 * claims.auth_context.reason; // 'user_approved'
 * ```
 */
export function idTokenClaims(input: TokenInput): JwtObject {
  const { issued, fault } = input;
  const { login, auth } = issued;
  const denied = fault === 'deny' || auth.result === 'deny';
  const reason = fault === 'deny' && auth.result === 'allow' ? 'user_marked_fraud' : auth.reason;
  const iat = fault === 'expired' ? input.now - 2 * ID_TOKEN_LIFETIME_SECONDS : input.now;
  const authSeconds = Math.floor(auth.at / 1000);
  const userKey = stableId('DU', `user\0${login.username}`);
  const { accessDevice, trustedEndpointStatus } = accessDeviceClaims(auth.access, {
    ip: login.accessIp,
    userAgent: login.userAgent,
    location: LOCATION,
  });

  const authContext: JwtObject = {
    txid: randomUUID(),
    timestamp: authSeconds,
    isotimestamp: new Date(authSeconds * 1000).toISOString(),
    event_type: 'authentication',
    result: auth.fraud ? 'fraud' : denied ? 'denied' : 'success',
    reason,
    factor: auth.factor,
    alias: '',
    email: login.username.includes('@') ? login.username : '',
    ood_software: null,
    user: { name: login.username, key: userKey, groups: [] },
    application: { name: login.app.name ?? 'Emulated Web SDK application', key: login.app.clientId },
    auth_device:
      auth.authDeviceName === null
        ? { ip: null, location: {}, name: null }
        : { ip: AUTH_DEVICE_IP, location: { ...LOCATION }, name: auth.authDeviceName },
    access_device: accessDevice,
  };
  if (trustedEndpointStatus !== undefined) authContext.trusted_endpoint_status = trustedEndpointStatus;

  const claims: JwtObject = {
    iss:
      fault === 'wrong-issuer'
        ? 'https://api-00000000.duosecurity.com/oauth/v1/token'
        : `https://${input.issuerHost}/oauth/v1/token`,
    aud: fault === 'wrong-audience' ? otherClientId(login.app.clientId) : login.app.clientId,
    sub: userKey,
    exp: iat + ID_TOKEN_LIFETIME_SECONDS,
    iat,
    auth_time: fault === 'expired' ? iat : authSeconds,
    preferred_username: fault === 'wrong-username' ? `${login.username}.impostor` : login.username,
    auth_result: {
      result: denied ? 'deny' : 'allow',
      status: denied ? 'deny' : 'allow',
      status_msg: denied ? 'Login denied' : 'Login Successful',
    },
    auth_context: authContext,
  };
  if (login.nonce !== undefined) claims.nonce = login.nonce;
  if (fault === 'missing-claims') {
    delete claims.exp;
    delete claims.iat;
  }
  return claims;
}

function otherClientId(clientId: string): string {
  const other = 'DIWRONGAUDIENCE00000';
  return clientId === other ? 'DIWRONGAUDIENCE00001' : other;
}
