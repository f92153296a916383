// The token endpoint's success body: an HS512 id_token shaped like Duo's, and the tampered variants faults ask for.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { signJwt, type JwtObject } from './jwt';
import type { IssuedCode } from './state';
import type { TokenFault } from './types';

/** id_tokens are valid this long after iat, like Duo's. */
export const ID_TOKEN_LIFETIME_SECONDS = 300;

/** Where the emulated phone and browser appear to be (fictional, fixed). */
const LOCATION = { city: 'Ann Arbor', state: 'Michigan', country: 'United States' } as const;
/** The phone number reported for users who did not enroll one in the prompt (a fictional 555 number). */
export const DEFAULT_PHONE = '+1 734-555-0100';
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
 * return jsonReply(200, tokenResponse({ issued, issuerHost: '127.0.0.1:8443', now: state.nowSeconds() }));
 * ```
 */
export function tokenResponse(input: TokenInput): Record<string, unknown> {
  const { issued, fault } = input;
  const secret = issued.login.app.clientSecret;
  const claims = idTokenClaims(input);
  let idToken: string;
  switch (fault) {
    case 'bad-signature':
      idToken = signJwt(claims, randomBytes(20).toString('hex'));
      break;
    case 'alg-none':
      idToken = signJwt(claims, secret, { alg: 'none' });
      break;
    case 'alg-hs256':
      idToken = signJwt(claims, secret, { alg: 'HS256' });
      break;
    default:
      idToken = signJwt(claims, secret);
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
  const device = auth.device;
  const trusted = device?.trusted;
  const flag = trusted === 'trusted' ? true : trusted === 'not trusted' ? false : 'unknown';
  const browser = describeUserAgent(login.userAgent);

  const authContext: JwtObject = {
    txid: randomUUID(),
    timestamp: authSeconds,
    isotimestamp: new Date(authSeconds * 1000).toISOString(),
    event_type: 'authentication',
    result: denied ? 'denied' : 'success',
    reason,
    factor: auth.factor,
    alias: '',
    email: login.username.includes('@') ? login.username : '',
    ood_software: null,
    user: { name: login.username, key: userKey, groups: [] },
    application: { name: login.app.name ?? 'Emulated Web SDK application', key: login.app.clientId },
    auth_device: { ip: AUTH_DEVICE_IP, location: { ...LOCATION }, name: auth.authDeviceName },
    access_device: {
      ip: login.accessIp,
      location: { ...LOCATION },
      hostname: null,
      epkey: device ? stableId('EP', `endpoint\0${login.username}\0${device.platform}`) : null,
      browser: browser.browser,
      browser_version: browser.browserVersion,
      os: device ? device.platform : browser.os,
      os_version: device ? (device.platform === 'iOS' ? '17.5.1' : '14') : browser.osVersion,
      is_encryption_enabled: flag,
      is_firewall_enabled: flag,
      is_password_set: device ? true : 'unknown',
      security_agents: device ? [] : 'unknown',
    },
  };
  if (trusted !== undefined) authContext.trusted_endpoint_status = trusted;

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

/**
 * A stable Duo-style identifier: `prefix` + 18 upper-case letters and digits derived from `input`.
 *
 * @example
 * ```ts
 * stableId('EP', 'endpoint\0alice\0iOS'); // 'EP' + 18 characters, the same on every run
 * ```
 */
export function stableId(prefix: string, input: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const digest = createHash('sha256').update(input, 'utf8').digest();
  let id = prefix;
  for (let i = 0; i < 18; i++) id += alphabet[(digest[i] ?? 0) % alphabet.length];
  return id;
}

function otherClientId(clientId: string): string {
  const other = 'DIWRONGAUDIENCE00000';
  return clientId === other ? 'DIWRONGAUDIENCE00001' : other;
}

interface BrowserInfo {
  readonly browser: string;
  readonly browserVersion: string;
  readonly os: string;
  readonly osVersion: string;
}

/**
 * A rough reading of a User-Agent header, enough for the access_device fields.
 *
 * @example
 * ```ts
 * describeUserAgent('Mozilla/5.0 (X11; Linux x86_64) … Chrome/126.0.0.0 Safari/537.36');
 * // { browser: 'Chrome', browserVersion: '126.0.0.0', os: 'Linux', osVersion: 'unknown' }
 * ```
 */
export function describeUserAgent(userAgent: string): BrowserInfo {
  const find = (pattern: RegExp) => pattern.exec(userAgent)?.[1];
  let browser = 'unknown';
  let browserVersion = 'unknown';
  const browsers: Array<[string, RegExp]> = [
    ['Edge Chromium', /Edg\/([\d.]+)/],
    ['Firefox', /Firefox\/([\d.]+)/],
    ['Chrome', /(?:Chrome|CriOS|HeadlessChrome)\/([\d.]+)/],
    ['Safari', /Version\/([\d.]+).*Safari\//],
  ];
  for (const [name, pattern] of browsers) {
    const version = find(pattern);
    if (version) {
      browser = name;
      browserVersion = version;
      break;
    }
  }
  let os = 'unknown';
  let osVersion = 'unknown';
  const systems: Array<[string, RegExp]> = [
    ['iOS', /(?:iPhone|CPU) OS ([\d_]+)/],
    ['Android', /Android ([\d.]+)/],
    ['Windows', /Windows NT ([\d.]+)/],
    ['Mac OS X', /Mac OS X ([\d_.]+)/],
    ['Linux', /(Linux)/],
  ];
  for (const [name, pattern] of systems) {
    const version = find(pattern);
    if (version) {
      os = name;
      osVersion = name === 'Linux' ? 'unknown' : version.replace(/_/g, '.');
      break;
    }
  }
  return { browser, browserVersion, os, osVersion };
}
