// Reads a verified Duo id_token into a small typed result; tolerant of absent or odd fields, never trusting them.

import { isPlainObject } from '../util/objects';

export type TrustStatus = 'trusted' | 'not trusted' | 'unknown';

/** The device the person signed in from, as Duo reported it (every field optional in real tokens). */
export interface AccessDevice {
  readonly trusted: TrustStatus;
  readonly ip?: string;
  readonly hostname?: string;
  /** Duo's endpoint key, e.g. "EP3NOQXW3A8Y5JKGVUUV". */
  readonly epkey?: string;
  readonly os?: string;
  readonly osVersion?: string;
  readonly browser?: string;
  readonly browserVersion?: string;
  readonly location?: { readonly city?: string; readonly state?: string; readonly country?: string };
  /**
   * What vouched for a trusted device: the management code of `auth_context.access_device.management_system`
   * (`duo_mobile`, `duo_desktop`, `ivanti`, …). Only set when the device is trusted, and only for display and
   * records: Duo documents no such field, the offline emulator sends it (see docs/emulator.md).
   */
  readonly vouchedBy?: string;
}

export interface DuoAuthResult {
  /** preferred_username: the Duo username the prompt verified. */
  readonly username: string;
  /** auth_result.result: "allow" | "deny". */
  readonly result: string;
  /** auth_result.status. */
  readonly status: string;
  readonly statusMsg: string;
  /** auth_context.reason, e.g. "user_approved", "user_marked_fraud", "endpoint_is_not_trusted". */
  readonly reason: string;
  /** auth_context.factor, free text ("duo_push", "WebAuthn Chrome Touch ID"…). */
  readonly factor: string;
  readonly txid: string;
  /** auth_time, seconds since epoch (0 when absent). */
  readonly authTime: number;
  readonly device: AccessDevice;
  /** The authenticator (phone) Duo used, when reported. */
  readonly authDevice?: { readonly name?: string; readonly ip?: string };
}

const TRUST: ReadonlySet<string> = new Set(['trusted', 'not trusted', 'unknown']);

/** Builds a DuoAuthResult from an already signature-checked id_token payload. */
export function readAuthResult(token: unknown): DuoAuthResult {
  const claims = record(token);
  const authResult = record(claims.auth_result);
  const context = record(claims.auth_context);
  const access = record(context.access_device);
  const authDevice = record(context.auth_device);
  const trustedRaw = text(context.trusted_endpoint_status)?.toLowerCase();
  const location = record(access.location);

  return {
    username: text(claims.preferred_username) ?? '',
    result: text(authResult.result) ?? '',
    status: text(authResult.status) ?? '',
    statusMsg: text(authResult.status_msg) ?? '',
    reason: text(context.reason) ?? '',
    factor: text(context.factor) ?? '',
    txid: text(context.txid) ?? '',
    authTime: typeof claims.auth_time === 'number' ? claims.auth_time : 0,
    device: compact({
      trusted: trustedRaw !== undefined && TRUST.has(trustedRaw) ? (trustedRaw as TrustStatus) : 'unknown',
      ip: text(access.ip),
      hostname: known(access.hostname),
      epkey: text(access.epkey),
      os: known(access.os),
      osVersion: known(access.os_version),
      browser: known(access.browser),
      browserVersion: known(access.browser_version),
      vouchedBy: trustedRaw === 'trusted' ? managementCode(access.management_system) : undefined,
      location:
        Object.keys(location).length > 0
          ? compact({
              city: text(location.city),
              state: text(location.state),
              country: text(location.country),
            })
          : undefined,
    }),
    authDevice:
      Object.keys(authDevice).length > 0
        ? compact({ name: text(authDevice.name), ip: text(authDevice.ip) })
        : undefined,
  };
}

/** A management code as the emulator sends it (lower-case letters, digits, `_` and `-`); anything else is dropped. */
function managementCode(value: unknown): string | undefined {
  return typeof value === 'string' && /^[a-z0-9][a-z0-9_-]{0,63}$/.test(value) ? value : undefined;
}

function record(value: unknown): Record<string, unknown> {
  return isPlainObject(value) ? value : {};
}

/** A short string, or undefined for anything else (numbers and booleans are not invented into strings). */
function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, 512) : undefined;
}

/** Like text(), but Duo's placeholder "unknown" counts as absent (so a device never reads "Linux unknown"). */
function known(value: unknown): string | undefined {
  const result = text(value);
  return result === undefined || result.toLowerCase() === 'unknown' ? undefined : result;
}

function compact<T extends Record<string, unknown>>(value: T): T {
  for (const key of Object.keys(value)) if (value[key] === undefined) delete value[key];
  return value;
}
