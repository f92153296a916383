// Duo's Admin API request signature, checked as Duo documents it and as @duosecurity/duo_api 1.5 sends it: HTTP
// Basic credentials of the integration key and an HMAC (SHA-1 or SHA-512, hex) of the canonical request.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { EmulatorAdminApplication } from './types';

/** How far a request's Date may be from the emulator's clock (Duo does not publish its window; 5 min is ours). */
export const DATE_WINDOW_SECONDS = 300;

/** A signed request as the checker needs it. */
export interface SignedRequest {
  readonly method: string;
  /** The path exactly as sent, without the query (`/admin/v1/users`). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The query parameters, in the order sent. */
  readonly query: ReadonlyArray<readonly [string, string]>;
  /** urlencoded body parameters (signature version 2 for POST), in the order sent. */
  readonly form: ReadonlyArray<readonly [string, string]> | undefined;
  /** The raw body when it is JSON (signature version 5 hashes it). */
  readonly jsonBody: Buffer | undefined;
}

/** One of Duo's 401 answers: `{ stat: "FAIL", code, message, message_detail? }`. */
export interface SignatureFailure {
  readonly ok: false;
  readonly code: number;
  readonly message: string;
  readonly detail?: string;
  /** Short reason for the emulator's log. */
  readonly why: string;
}

export type SignatureCheck =
  { readonly ok: true; readonly app: EmulatorAdminApplication; readonly host: string } | SignatureFailure;

/**
 * Checks an Admin API request's credentials against the known applications and the emulator's host names:
 * - `Authorization: Basic base64(ikey:signature)` present and well formed (else 40101), ikey known (else 40102);
 * - a `X-Duo-Date` header (preferred) or `Date` header (else 40104), within ±5 minutes of `nowMs` (else 40105);
 * - the signature: hex HMAC-SHA1 (40 characters) or HMAC-SHA512 (128) with the secret key, of the version 2
 *   canonical request `date \n METHOD \n host \n path \n params` (params sorted, RFC 3986-encoded; the body's
 *   for POST/PUT/PATCH, the query's otherwise), or version 5 (`… \n params \n sha512(body) \n sha512(headers)`,
 *   JSON bodies) — else 40103.
 *
 * @example
 * ```ts
 * const check = verifyAdminSignature(request, state.adminApplications, state.hosts, state.now());
 * if (!check.ok) return jsonReply(401, { stat: 'FAIL', code: check.code, message: check.message });
 * ```
 */
export function verifyAdminSignature(
  request: SignedRequest,
  applications: ReadonlyMap<string, EmulatorAdminApplication>,
  hosts: readonly string[],
  nowMs: number,
): SignatureCheck {
  const fail = (code: number, message: string, why: string, detail?: string): SignatureFailure => ({
    ok: false,
    code,
    message,
    why,
    ...(detail === undefined ? {} : { detail }),
  });
  const authorization = header(request.headers, 'authorization');
  const basic =
    authorization === undefined ? undefined : /^Basic ([A-Za-z0-9+/=]{1,1024})$/.exec(authorization)?.[1];
  if (basic === undefined) return fail(40101, 'Missing request credentials', 'credentials');
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return fail(40101, 'Missing request credentials', 'credentials');
  const integrationKey = decoded.slice(0, colon);
  const signature = decoded.slice(colon + 1).toLowerCase();
  const app = applications.get(integrationKey);
  if (!app) return fail(40102, 'Invalid integration key in request credentials', 'integration_key');

  const date = header(request.headers, 'x-duo-date') ?? header(request.headers, 'date');
  if (date === undefined || date.trim() === '') {
    return fail(40104, 'Missing required request header', 'date', 'Date');
  }
  const sent = Date.parse(date);
  if (!Number.isFinite(sent) || Math.abs(nowMs - sent) > DATE_WINDOW_SECONDS * 1000) {
    return fail(
      40105,
      'Request date is too far from the current time',
      'date_skew',
      `The Date header must be within ${DATE_WINDOW_SECONDS} seconds of Duo's clock`,
    );
  }

  const algorithm = signature.length === 40 ? 'sha1' : signature.length === 128 ? 'sha512' : undefined;
  if (algorithm === undefined || !/^[0-9a-f]+$/.test(signature)) {
    return fail(40103, 'Invalid signature in request credentials', 'signature');
  }
  const expected = Buffer.from(signature, 'hex');
  const bodyMethod = ['POST', 'PUT', 'PATCH'].includes(request.method.toUpperCase());
  const v2Params = canonParams(bodyMethod && request.form !== undefined ? request.form : request.query);
  const v5Params = canonParams(request.query);
  const bodyHash = sha512(request.jsonBody ?? Buffer.alloc(0));
  for (const host of hosts) {
    const head = [date, request.method.toUpperCase(), host.toLowerCase(), request.path];
    const candidates = [
      [...head, v2Params],
      [...head, v5Params, bodyHash, sha512(Buffer.alloc(0))],
    ];
    for (const lines of candidates) {
      const mac = createHmac(algorithm, app.secretKey).update(lines.join('\n'), 'utf8').digest();
      if (mac.length === expected.length && timingSafeEqual(mac, expected)) return { ok: true, app, host };
    }
  }
  return fail(40103, 'Invalid signature in request credentials', 'signature');
}

/**
 * Duo's canonical parameter string: names sorted by character code, each `name=value` RFC 3986-encoded (only
 * letters, digits and `-_.~` left as they are), repeated names in the order sent, joined by `&`.
 *
 * @example
 * ```ts
 * canonParams([['username', 'jo smith'], ['limit', '1']]); // 'limit=1&username=jo%20smith'
 * ```
 */
export function canonParams(params: ReadonlyArray<readonly [string, string]>): string {
  const byName = new Map<string, string[]>();
  for (const [name, value] of params) {
    const values = byName.get(name);
    if (values) values.push(value);
    else byName.set(name, [value]);
  }
  const names = [...byName.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names
    .flatMap((name) => (byName.get(name) ?? []).map((value) => `${encode(name)}=${encode(value)}`))
    .join('&');
}

function encode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function sha512(bytes: Buffer): string {
  return createHash('sha512').update(bytes).digest('hex');
}

function header(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
