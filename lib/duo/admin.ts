// The Duo Admin API calls staff recovery needs (user status, Duo Mobile reactivation, bypass codes), signed with
// @duosecurity/duo_api's own signing function and sent through the same transport as every Duo call (CA, proxy,
// timeout). duo_api's Client cannot be given a CA, a proxy or a timeout, so only its signature code is reused.

import https from 'node:https';
import { stringify } from 'node:querystring';
import { constants } from '@duosecurity/duo_universal';
import { DuoMfaError } from '../errors';
import {
  classifyTransportError,
  proxyConfigError,
  transportFor,
  type DuoConnectOptions,
  type DuoTransport,
} from './transport';

/** duo_api's request signing (HMAC-SHA512 over Duo's canonical request, signature version 2). */
interface DuoSignature {
  sign(
    ikey: string,
    skey: string,
    method: string,
    host: string,
    path: string,
    params: Record<string, string>,
    date: string,
  ): string;
}
// duo_api ships no types and exports no signing function from its main module; lib/duo_sig is its own file.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const duoSignature = require('@duosecurity/duo_api/lib/duo_sig') as DuoSignature;

/** A tenant's Duo Admin API application (`duo.adminApi` in the policy). */
export interface AdminApiCredentials {
  /** The Admin API application's integration key (`DI…`, 20 characters). */
  readonly integrationKey: string;
  /** Its secret key (40 characters). */
  readonly secretKey: string;
  /** The account's API hostname, e.g. `api-12345678.duosecurity.com`. */
  readonly apiHost: string;
}

/** A Duo user's status as the Admin API reports it. */
export type DuoUserStatus = 'active' | 'bypass' | 'disabled' | 'locked out';

/** One phone of a Duo user. */
export interface StaffPhone {
  /** Duo's platform name: `Apple iOS`, `Google Android`, `Unknown` … */
  readonly platform: string;
  readonly model?: string;
  /** Duo Mobile is activated on it. */
  readonly activated: boolean;
  /** Last contact between Duo and Duo Mobile on it (ISO 8601). */
  readonly lastSeen?: string;
}

/** What the Admin API knows about one staff member. */
export interface StaffStatus {
  /** Duo's username when found, else the name asked for. */
  readonly username: string;
  /** The user exists in Duo. */
  readonly found: boolean;
  readonly status?: DuoUserStatus;
  /** Duo considers the user enrolled (has a usable authentication device). */
  readonly enrolled: boolean;
  readonly phones: readonly StaffPhone[];
  /** Last successful Duo sign-in (ISO 8601). */
  readonly lastLogin?: string;
}

/** The outcome of a Duo Mobile reactivation. The link, when there is one, is shown once and never logged. */
export interface Reactivation {
  /** The activation link for the admin to pass on, when Duo could not text it to the phone. */
  readonly activationUrl?: string;
  /** Duo texted the activation (and installation) link to the phone itself. */
  readonly sentBySms: boolean;
  /** When the activation code stops working (ISO 8601). */
  readonly expiresAt: string;
}

/** Freshly issued bypass codes: shown once, never logged. */
export interface BypassCodes {
  readonly codes: readonly string[];
  /** When the codes stop working (ISO 8601). */
  readonly expiresAt: string;
}

/** How the Admin API client connects: the same options as every call to Duo. */
export type DuoAdminApiOptions = DuoConnectOptions;

/** Reactivation links live one day by default, as in Duo. */
const ACTIVATION_VALID_SECS = 86_400;
/** Bypass codes: one code, valid one hour, usable once. */
const BYPASS_DEFAULTS = { count: 1, validSecs: 3600 };
/** Duo's own limit on codes per request. */
const MAX_BYPASS_CODES = 10;
/** Answers larger than this are not Duo's (an Admin API answer for one user is a few kB). */
const MAX_BODY_BYTES = 1024 * 1024;

/** What one request is for, in the words of the error messages. */
type Action = 'staff status' | 'reactivation' | 'bypass codes';

/** The permission each action needs on the Admin API application. */
const PERMISSION: Record<Action, string> = {
  'staff status': 'Grant read resource',
  reactivation: 'Grant write resource',
  'bypass codes': 'Grant write resource',
};

/** A Duo user as `GET /admin/v1/users` returns it (the fields used here). */
interface DuoUser {
  user_id?: unknown;
  username?: unknown;
  status?: unknown;
  is_enrolled?: unknown;
  last_login?: unknown;
  phones?: unknown;
}

interface DuoPhone {
  phone_id?: unknown;
  number?: unknown;
  type?: unknown;
  platform?: unknown;
  model?: unknown;
  activated?: unknown;
  capabilities?: unknown;
  last_seen?: unknown;
}

/**
 * Duo Admin API client for staff recovery, one per `duoMfa()` middleware; credentials are given per call (each
 * tenant brings its own Admin API application). Every failure is a DuoMfaError: ERR_ADMIN_API_CREDENTIALS,
 * ERR_ADMIN_API_PERMISSION, ERR_ADMIN_API_USER_NOT_FOUND, ERR_ADMIN_API_NO_PHONE, ERR_ADMIN_API_RATE_LIMITED,
 * ERR_ADMIN_API_UNAVAILABLE, or ERR_DUO_TLS / ERR_DUO_HOST_NOT_FOUND / ERR_DUO_CONFIG for the way to Duo.
 * Activation links and bypass codes are returned, never put in an error or a log.
 *
 * @example
 * ```ts
 * const admin = new DuoAdminApi({ timeoutMs: 5000, proxy: process.env.DUO_PROXY });
 * const status = await admin.staffStatus(tenant.duo.adminApi, 'dana');
 * if (status.found) await admin.reactivate(tenant.duo.adminApi, 'dana'); // { sentBySms: true, expiresAt }
 * const { codes } = await admin.issueBypassCodes(tenant.duo.adminApi, 'dana', { count: 1, validSecs: 3600 });
 * ```
 */
export class DuoAdminApi {
  readonly timeoutMs: number;
  private readonly transport: DuoTransport;
  private readonly now: () => number;

  constructor(options: DuoAdminApiOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.now = options.now ?? Date.now;
    this.transport = transportFor(options, { pinnedCa: constants.DUO_PINNED_CERT });
  }

  /** The user's status, enrollment, phones and last login; `found: false` when Duo does not know the name. */
  async staffStatus(credentials: AdminApiCredentials, duoUsername: string): Promise<StaffStatus> {
    const user = await this.findUser(credentials, duoUsername, 'staff status');
    if (!user) return { username: duoUsername, found: false, enrolled: false, phones: [] };
    const status = readStatus(user.status);
    const lastLogin = typeof user.last_login === 'number' ? isoSeconds(user.last_login) : undefined;
    return {
      username: typeof user.username === 'string' ? user.username : duoUsername,
      found: true,
      ...(status === undefined ? {} : { status }),
      enrolled: user.is_enrolled === true,
      phones: phonesOf(user).map(readPhone),
      ...(lastLogin === undefined ? {} : { lastLogin }),
    };
  }

  /**
   * Duo Mobile reactivation for the user's phone (the "changed phones" reset): Duo texts the activation and
   * installation links when the phone can receive SMS; otherwise the activation link is returned for the admin
   * to pass on. Either way the old Duo Mobile activation stops working.
   */
  async reactivate(
    credentials: AdminApiCredentials,
    duoUsername: string,
    options: { validSecs?: number } = {},
  ): Promise<Reactivation> {
    const validSecs = wholeNumber('validSecs', options.validSecs ?? ACTIVATION_VALID_SECS, 60, 7 * 86_400);
    const user = await this.findUser(credentials, duoUsername, 'reactivation');
    if (!user) throw userNotFound(duoUsername);
    const phone = phoneToReactivate(phonesOf(user));
    if (!phone) {
      throw new DuoMfaError(
        'ERR_ADMIN_API_NO_PHONE',
        `${duoUsername} has no smartphone in Duo to reactivate: they will be asked to enroll at their next Duo sign-in, ` +
          'or issue a bypass code meanwhile',
        { details: { username: duoUsername } },
      );
    }
    const phonePath = `/admin/v1/phones/${encodeURIComponent(String(phone.phone_id))}`;
    if (canText(phone)) {
      try {
        const sent = await this.request(
          credentials,
          'POST',
          `${phonePath}/send_sms_activation`,
          'reactivation',
          {
            install: '1',
            valid_secs: String(validSecs),
          },
        );
        return { sentBySms: true, expiresAt: this.expiry(readValidSecs(sent, validSecs)) };
      } catch (error) {
        // Duo refused to text this phone (a 400: no SMS on this number or platform): hand the link over instead.
        if (!(error instanceof DuoMfaError && error.details.httpStatus === 400)) throw error;
      }
    }
    const created = await this.request(credentials, 'POST', `${phonePath}/activation_url`, 'reactivation', {
      valid_secs: String(validSecs),
    });
    const activationUrl = (created as { activation_url?: unknown } | undefined)?.activation_url;
    if (typeof activationUrl !== 'string' || !/^https:\/\//.test(activationUrl)) {
      throw unexpectedAnswer('reactivation', credentials.apiHost, 'no activation_url');
    }
    return { activationUrl, sentBySms: false, expiresAt: this.expiry(readValidSecs(created, validSecs)) };
  }

  /**
   * New single-use bypass codes for the user (replacing any they had). Default: 1 code valid for 1 hour; at most
   * 10 codes, valid 1 minute to 30 days.
   */
  async issueBypassCodes(
    credentials: AdminApiCredentials,
    duoUsername: string,
    options: { count?: number; validSecs?: number } = {},
  ): Promise<BypassCodes> {
    const count = wholeNumber('count', options.count ?? BYPASS_DEFAULTS.count, 1, MAX_BYPASS_CODES);
    const validSecs = wholeNumber(
      'validSecs',
      options.validSecs ?? BYPASS_DEFAULTS.validSecs,
      60,
      30 * 86_400,
    );
    const user = await this.findUser(credentials, duoUsername, 'bypass codes');
    if (!user) throw userNotFound(duoUsername);
    const codes = await this.request(
      credentials,
      'POST',
      `/admin/v1/users/${encodeURIComponent(String(user.user_id))}/bypass_codes`,
      'bypass codes',
      // reuse_count 1: each code works once, which is what a code read out over the phone should do.
      { count: String(count), reuse_count: '1', valid_secs: String(validSecs) },
    );
    if (!Array.isArray(codes) || codes.length !== count || !codes.every((code) => typeof code === 'string')) {
      throw unexpectedAnswer('bypass codes', credentials.apiHost, 'not a list of codes');
    }
    return { codes: codes, expiresAt: this.expiry(validSecs) };
  }

  /** Closes the keep-alive sockets. */
  close(): void {
    this.transport.close();
  }

  private expiry(validSecs: number): string {
    return new Date(this.now() + validSecs * 1000).toISOString();
  }

  /** `GET /admin/v1/users?username=…`: the user, or undefined when Duo has no one by that name (or alias). */
  private async findUser(
    credentials: AdminApiCredentials,
    duoUsername: string,
    action: Action,
  ): Promise<DuoUser | undefined> {
    assertCredentials(credentials);
    if (typeof duoUsername !== 'string' || duoUsername.trim() === '' || /\p{Cc}/u.test(duoUsername)) {
      throw new TypeError(`a Duo username must be a non-empty string (got ${JSON.stringify(duoUsername)})`);
    }
    const users = await this.request(credentials, 'GET', '/admin/v1/users', action, {
      username: duoUsername,
    });
    if (!Array.isArray(users)) throw unexpectedAnswer(action, credentials.apiHost, 'no user list');
    const user = users[0] as DuoUser | undefined;
    if (
      user !== undefined &&
      (typeof user !== 'object' || user === null || typeof user.user_id !== 'string')
    ) {
      throw unexpectedAnswer(action, credentials.apiHost, 'a user without user_id');
    }
    return user;
  }

  /** One signed request; resolves with Duo's `response` member, rejects with a DuoMfaError. */
  private request(
    credentials: AdminApiCredentials,
    method: 'GET' | 'POST',
    path: string,
    action: Action,
    params: Record<string, string>,
  ): Promise<unknown> {
    const host = credentials.apiHost;
    const date = new Date(this.now()).toUTCString();
    const query = stringify(params);
    const body = method === 'POST' ? query : '';
    const headers: Record<string, string> = {
      Date: date,
      Host: host,
      Authorization: duoSignature.sign(
        credentials.integrationKey,
        credentials.secretKey,
        method,
        host,
        path,
        params,
        date,
      ),
      'User-Agent': 'express-duo-mfa (duo_api signature)',
      Accept: 'application/json',
    };
    if (method === 'POST') {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const target = new URL(`https://${host}`);
    const controller = new AbortController();
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        controller.abort();
        reject(
          new DuoMfaError(
            'ERR_ADMIN_API_UNAVAILABLE',
            `The Duo Admin API did not answer the ${action} request within ${this.timeoutMs} ms` +
              (this.transport.proxyLabel ? ` (through the outbound proxy ${this.transport.proxyLabel})` : ''),
            { details: { apiHost: host, timeoutMs: this.timeoutMs } },
          ),
        );
      }, this.timeoutMs);
      const settle = (outcome: () => void) => {
        clearTimeout(timer);
        outcome();
      };
      const req = https.request(
        {
          hostname: target.hostname.replace(/^\[|\]$/g, ''),
          port: target.port === '' ? 443 : Number(target.port),
          method,
          path: method === 'GET' && query !== '' ? `${path}?${query}` : path,
          headers,
          agent: this.transport.agent,
          signal: controller.signal,
          // Read by the proxy agent: a CONNECT still pending when this request is given up is abandoned too.
          duoSignal: controller.signal,
        } as https.RequestOptions,
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) req.destroy(new Error('answer too large'));
            else chunks.push(chunk);
          });
          res.on('error', (error) =>
            settle(() => reject(this.transportError(action, host, error, undefined))),
          );
          res.on('end', () =>
            settle(() => {
              try {
                resolve(
                  this.readAnswer(action, host, res.statusCode ?? 0, res.headers, Buffer.concat(chunks), req),
                );
              } catch (error) {
                reject(error instanceof Error ? error : new Error(String(error)));
              }
            }),
          );
        },
      );
      req.on('error', (error) => {
        if (controller.signal.aborted) return; // the timeout already answered
        settle(() => reject(this.transportError(action, host, error, this.transport.proxyRefusal(req))));
      });
      req.end(body);
    });
  }

  /** Duo's answer as its `response` member, or the DuoMfaError its status and FAIL code call for. */
  private readAnswer(
    action: Action,
    apiHost: string,
    status: number,
    headers: Record<string, string | string[] | undefined>,
    raw: Buffer,
    req: unknown,
  ): unknown {
    const proxyStatus = this.transport.proxyRefusal(req);
    if (proxyStatus !== undefined) throw this.transportError(action, apiHost, undefined, proxyStatus);
    let body: {
      stat?: unknown;
      code?: unknown;
      message?: unknown;
      message_detail?: unknown;
      response?: unknown;
    };
    try {
      body = JSON.parse(raw.toString('utf8')) as typeof body;
    } catch {
      body = {};
    }
    if (status >= 200 && status < 300 && body.stat === 'OK') return body.response;
    const duoCode = typeof body.code === 'number' ? body.code : undefined;
    // Duo's own words for a failure (never a code or link: those only come in OK answers).
    const said = [body.message, body.message_detail].filter((part) => typeof part === 'string').join(': ');
    const what = `${duoCode ?? `HTTP ${status}`}${said ? ` ${said}` : ''}`;
    const details = { apiHost, httpStatus: status, ...(duoCode === undefined ? {} : { duoCode }) };
    const family = duoCode !== undefined ? Math.floor(duoCode / 100) : status;
    if (family === 401) {
      const clock = /date|time|expire/i.test(said) ? "; also check this server's clock (NTP)" : '';
      return fail(
        'ERR_ADMIN_API_CREDENTIALS',
        `Duo refused the Admin API credentials for the ${action} request (${what}): check integrationKey, secretKey ` +
          `and apiHost of the tenant's duo.adminApi${clock}`,
        details,
      );
    }
    if (family === 403) {
      return fail(
        'ERR_ADMIN_API_PERMISSION',
        `The Duo Admin API application may not make the ${action} request (${what}): give it "${PERMISSION[action]}" ` +
          'in the Duo Admin Panel (Applications → the Admin API application → Permissions)',
        details,
      );
    }
    if (family === 404) {
      return fail('ERR_ADMIN_API_USER_NOT_FOUND', `Duo no longer knows this user (${what})`, details);
    }
    if (status === 429 || family === 429) {
      const retryAfter = Number(headers['retry-after']);
      return fail(
        'ERR_ADMIN_API_RATE_LIMITED',
        `Duo is rate limiting Admin API requests (${what}): try the ${action} again in a minute`,
        { ...details, ...(Number.isFinite(retryAfter) ? { retryAfterSecs: retryAfter } : {}) },
      );
    }
    if (status >= 500 || (duoCode !== undefined && duoCode >= 50000)) {
      return fail(
        'ERR_ADMIN_API_UNAVAILABLE',
        `The Duo Admin API failed the ${action} request (${what})`,
        details,
      );
    }
    if (status >= 400) {
      // A request Duo calls malformed (40002 …) is ours to fix, not an outage.
      return fail(
        'ERR_INTERNAL',
        `Duo refused the Admin API ${action} request as invalid (${what})`,
        details,
      );
    }
    return fail(
      'ERR_ADMIN_API_UNAVAILABLE',
      `The Duo Admin API gave an unexpected answer to the ${action} request (HTTP ${status})`,
      details,
    );
  }

  /** No answer from Duo: the way there failed. */
  private transportError(
    action: Action,
    apiHost: string,
    error: unknown,
    proxyStatus: number | undefined,
  ): DuoMfaError {
    const failure = classifyTransportError(error, proxyStatus);
    const proxy = this.transport.proxyLabel;
    const details = { apiHost, ...(proxy === undefined ? {} : { proxy }) };
    const reason = this.transport.redact(error instanceof Error ? error.message : String(error));
    switch (failure?.kind) {
      case 'tls':
        return new DuoMfaError(
          'ERR_DUO_TLS',
          `The Duo Admin API's TLS certificate for ${apiHost} could not be verified (${failure.code}): trust a ` +
            "TLS-inspecting proxy's CA (or the emulator's) with duoTls.ca; otherwise someone may be intercepting the connection",
          { cause: error, details: { ...details, tlsCode: failure.code } },
        );
      case 'host_not_found':
        return proxy === undefined
          ? new DuoMfaError(
              'ERR_DUO_HOST_NOT_FOUND',
              `The Duo Admin API host name ${new URL(`https://${apiHost}`).hostname} does not exist (ENOTFOUND): ` +
                "check apiHost of the tenant's duo.adminApi",
              { cause: error, details },
            )
          : proxyConfigError(this.transport, 'host_not_found', details, error);
      case 'proxy_auth':
        return proxyConfigError(this.transport, 'proxy_auth', details);
      case 'proxy_refused':
        return new DuoMfaError(
          'ERR_ADMIN_API_UNAVAILABLE',
          `The outbound proxy ${proxy ?? ''} did not open a tunnel to the Duo Admin API at ${apiHost} (HTTP ${failure.status})`,
          { details: { ...details, proxyStatus: failure.status } },
        );
      default:
        return new DuoMfaError(
          'ERR_ADMIN_API_UNAVAILABLE',
          `The Duo Admin API could not be reached for the ${action} request (${reason})`,
          { cause: error, details },
        );
    }
  }
}

function fail(code: DuoMfaError['code'], message: string, details: Record<string, unknown>): never {
  throw new DuoMfaError(code, message, { details });
}

function userNotFound(username: string): DuoMfaError {
  return new DuoMfaError('ERR_ADMIN_API_USER_NOT_FOUND', `${username} is not a user in Duo`, {
    details: { username },
  });
}

function unexpectedAnswer(action: Action, apiHost: string, what: string): DuoMfaError {
  return new DuoMfaError(
    'ERR_ADMIN_API_UNAVAILABLE',
    `The Duo Admin API gave an unexpected answer to the ${action} request (${what})`,
    { details: { apiHost } },
  );
}

function assertCredentials(credentials: AdminApiCredentials): void {
  for (const key of ['integrationKey', 'secretKey', 'apiHost'] as const) {
    const value = (credentials as Partial<AdminApiCredentials> | undefined)?.[key];
    if (typeof value !== 'string' || value.trim() === '') {
      throw new TypeError(`Admin API credentials need ${key} (the tenant's duo.adminApi.${key})`);
    }
  }
}

function wholeNumber(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new TypeError(`${name} must be a whole number from ${min} to ${max} (got ${String(value)})`);
  }
  return value;
}

function readStatus(value: unknown): DuoUserStatus | undefined {
  if (value === 'active' || value === 'bypass' || value === 'disabled' || value === 'locked out')
    return value;
  // A user pending deletion cannot sign in: for the admin it is a disabled account.
  return value === 'pending deletion' ? 'disabled' : undefined;
}

function phonesOf(user: DuoUser): DuoPhone[] {
  return Array.isArray(user.phones)
    ? (user.phones as unknown[]).filter(
        (phone): phone is DuoPhone => typeof phone === 'object' && phone !== null,
      )
    : [];
}

function readPhone(phone: DuoPhone): StaffPhone {
  const lastSeen =
    typeof phone.last_seen === 'string' && phone.last_seen !== '' ? isoDuoTime(phone.last_seen) : undefined;
  return {
    platform: typeof phone.platform === 'string' && phone.platform !== '' ? phone.platform : 'Unknown',
    ...(typeof phone.model === 'string' && phone.model !== '' && phone.model !== 'Unknown'
      ? { model: phone.model }
      : {}),
    activated: phone.activated === true,
    ...(lastSeen === undefined ? {} : { lastSeen }),
  };
}

/**
 * The phone Duo Mobile should be reactivated on: a mobile phone (not a landline or tablet) with a known
 * platform — the activated one last seen first, else the first mobile phone.
 */
function phoneToReactivate(phones: DuoPhone[]): DuoPhone | undefined {
  const mobile = phones.filter(
    (phone) =>
      typeof phone.phone_id === 'string' &&
      (phone.type === undefined ||
        (typeof phone.type === 'string' && phone.type.toLowerCase() === 'mobile')) &&
      typeof phone.platform === 'string' &&
      phone.platform.toLowerCase() !== 'unknown',
  );
  const seen = (phone: DuoPhone) => (typeof phone.last_seen === 'string' ? phone.last_seen : '');
  return [...mobile].sort((a, b) => {
    if ((a.activated === true) !== (b.activated === true)) return a.activated === true ? -1 : 1;
    return seen(b).localeCompare(seen(a));
  })[0];
}

/** Duo can text an activation link to a phone with a number and SMS among its capabilities. */
function canText(phone: DuoPhone): boolean {
  return (
    typeof phone.number === 'string' &&
    phone.number.trim() !== '' &&
    Array.isArray(phone.capabilities) &&
    phone.capabilities.includes('sms')
  );
}

function readValidSecs(answer: unknown, asked: number): number {
  const valid = (answer as { valid_secs?: unknown } | undefined)?.valid_secs;
  return typeof valid === 'number' && valid > 0 ? valid : asked;
}

function isoSeconds(seconds: number): string | undefined {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Duo writes `last_seen` as `2019-11-18T15:51:13` (UTC, no zone). */
function isoDuoTime(value: string): string | undefined {
  const date = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
