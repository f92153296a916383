// Validation of everything callers hand the emulator (options, user specs, faults, modes), with TypeErrors
// that name the offending key and what is allowed.

import { didYouMean } from '../util/names';
import { isPlainObject } from '../util/objects';
import { DEVICE_MANAGERS, DEVICE_PLATFORMS, isPhone, managerMismatch } from './access-device';
import { parseCertificateAuthority } from './certificates';
import type {
  DeviceManager,
  DevicePlatform,
  DuoEmulatorOptions,
  EmulatedUser,
  EmulatorAdminApplication,
  EmulatorApplication,
  EmulatorCertificateAuthority,
  EmulatorFault,
  EmulatorMode,
  HealthFault,
  NewUserPolicy,
  TokenFault,
  UserStatus,
} from './types';

const OPTION_KEYS = [
  'applications',
  'adminApplications',
  'mode',
  'port',
  'host',
  'certificateAuthority',
] as const;
const APPLICATION_KEYS = ['clientId', 'clientSecret', 'name'] as const;
const ADMIN_APPLICATION_KEYS = ['integrationKey', 'secretKey', 'name'] as const;
const USER_KEYS = [
  'result',
  'enrolled',
  'newUserPolicy',
  'status',
  'rememberedDevice',
  'trustedNetwork',
  'accessDevice',
  'trustedEndpoints',
  'device',
  'reason',
  'factor',
] as const;
const DEVICE_KEYS = ['platform', 'trusted'] as const;
const ACCESS_DEVICE_KEYS = [
  'platform',
  'managedBy',
  'identifierSynced',
  'compliant',
  'hostname',
  'osVersion',
  'epkey',
  'health',
  'securityAgents',
] as const;
const HEALTH_KEYS = ['encryption', 'firewall', 'password'] as const;
const STATUSES: readonly UserStatus[] = ['active', 'bypass', 'disabled', 'locked out'];
const NEW_USER_POLICIES: readonly NewUserPolicy[] = ['require-enrollment', 'allow', 'deny'];
const FAULT_KEYS = ['health', 'token', 'delayMs'] as const;
const MODES: readonly EmulatorMode[] = ['interactive', 'auto'];
const HEALTH_FAULTS: readonly HealthFault[] = ['down', 'error', 'refused', 'hang', 'slow'];
const TOKEN_FAULTS: readonly TokenFault[] = [
  'error',
  'hang',
  'slow',
  'bad-signature',
  'wrong-username',
  'wrong-audience',
  'wrong-issuer',
  'expired',
  'deny',
  'alg-none',
  'alg-hs256',
  'missing-claims',
  'not-bearer',
  'missing-id-token',
];

/** Options with their defaults applied. */
export interface ResolvedOptions {
  readonly applications: readonly EmulatorApplication[];
  readonly adminApplications: readonly EmulatorAdminApplication[];
  readonly mode: EmulatorMode;
  readonly port: number;
  readonly host: string;
  readonly certificateAuthority: EmulatorCertificateAuthority | undefined;
}

/**
 * Checks `startDuoEmulator()` options and applies defaults; throws a TypeError naming the problem.
 *
 * @example
 * ```ts
 * parseOptions({ applications: [{ clientId: 'DIABCDEFGHIJKLMNOPQR', clientSecret: 'x'.repeat(40) }] });
 * // { applications: [...], mode: 'interactive', port: 0, host: '127.0.0.1' }
 * ```
 */
export function parseOptions(options: unknown): ResolvedOptions {
  const where = 'startDuoEmulator(options)';
  if (!isPlainObject(options)) {
    throw new TypeError(
      `${where}: options must be an object such as { applications: [{ clientId, clientSecret }] }`,
    );
  }
  rejectUnknownKeys(options, OPTION_KEYS, where);
  const {
    applications,
    adminApplications = [],
    mode = 'interactive',
    port = 0,
    host = '127.0.0.1',
    certificateAuthority,
  } = options as Partial<DuoEmulatorOptions>;
  if (!Array.isArray(applications) || applications.length === 0) {
    throw new TypeError(`${where}: applications must be a non-empty array of { clientId, clientSecret }`);
  }
  const seen = new Set<string>();
  const apps = applications.map((app: unknown, index): EmulatorApplication => {
    const at = `${where}: applications[${index}]`;
    if (!isPlainObject(app)) throw new TypeError(`${at} must be an object { clientId, clientSecret, name? }`);
    rejectUnknownKeys(app, APPLICATION_KEYS, at);
    const { clientId, clientSecret, name } = app;
    if (typeof clientId !== 'string' || clientId.length !== 20) {
      throw new TypeError(`${at}.clientId must be a string of exactly 20 characters (Duo's client id)`);
    }
    if (typeof clientSecret !== 'string' || clientSecret.length !== 40) {
      throw new TypeError(
        `${at}.clientSecret must be a string of exactly 40 characters (Duo's client secret)`,
      );
    }
    if (name !== undefined && (typeof name !== 'string' || name.trim() === '')) {
      throw new TypeError(`${at}.name must be a non-empty string when given`);
    }
    if (seen.has(clientId)) throw new TypeError(`${at}.clientId ${clientId} is listed twice`);
    seen.add(clientId);
    return Object.freeze(name === undefined ? { clientId, clientSecret } : { clientId, clientSecret, name });
  });
  assertMode(mode, `${where}: mode`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`${where}: port must be an integer from 0 to 65535 (0 picks a free port)`);
  }
  if (typeof host !== 'string' || host.trim() === '') {
    throw new TypeError(`${where}: host must be a non-empty string such as '127.0.0.1'`);
  }
  return {
    applications: Object.freeze(apps),
    adminApplications: parseAdminApplications(adminApplications, where, seen),
    mode,
    port,
    host,
    certificateAuthority:
      certificateAuthority === undefined
        ? undefined
        : parseCertificateAuthority(certificateAuthority, `${where}: certificateAuthority`),
  };
}

/** Checks `adminApplications`: integration keys of 20 characters, secret keys of 40, no key listed twice. */
function parseAdminApplications(
  value: unknown,
  where: string,
  clientIds: ReadonlySet<string>,
): readonly EmulatorAdminApplication[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`${where}: adminApplications must be an array of { integrationKey, secretKey }`);
  }
  const seen = new Set<string>();
  return Object.freeze(
    value.map((app: unknown, index): EmulatorAdminApplication => {
      const at = `${where}: adminApplications[${index}]`;
      if (!isPlainObject(app))
        throw new TypeError(`${at} must be an object { integrationKey, secretKey, name? }`);
      rejectUnknownKeys(app, ADMIN_APPLICATION_KEYS, at);
      const { integrationKey, secretKey, name } = app;
      if (typeof integrationKey !== 'string' || integrationKey.length !== 20) {
        throw new TypeError(
          `${at}.integrationKey must be a string of exactly 20 characters (Duo's integration key)`,
        );
      }
      if (typeof secretKey !== 'string' || secretKey.length !== 40) {
        throw new TypeError(`${at}.secretKey must be a string of exactly 40 characters (Duo's secret key)`);
      }
      if (name !== undefined && (typeof name !== 'string' || name.trim() === '')) {
        throw new TypeError(`${at}.name must be a non-empty string when given`);
      }
      if (seen.has(integrationKey))
        throw new TypeError(`${at}.integrationKey ${integrationKey} is listed twice`);
      if (clientIds.has(integrationKey)) {
        throw new TypeError(
          `${at}.integrationKey ${integrationKey} is also a Web SDK clientId: Duo keys are unique`,
        );
      }
      seen.add(integrationKey);
      return Object.freeze(
        name === undefined ? { integrationKey, secretKey } : { integrationKey, secretKey, name },
      );
    }),
  );
}

/**
 * Checks a `setUser()` spec; throws a TypeError naming the problem.
 *
 * @example
 * ```ts
 * parseUser('alice', { result: 'deny', reason: 'user_marked_fraud' });
 * ```
 */
export function parseUser(username: unknown, spec: unknown): EmulatedUser {
  if (typeof username !== 'string' || username === '') {
    throw new TypeError(
      'setUser(username, spec): username must be a non-empty string (as sent in duo_uname)',
    );
  }
  if (spec === undefined) return {};
  const where = `setUser(${JSON.stringify(username)}, spec)`;
  if (!isPlainObject(spec))
    throw new TypeError(`${where}: spec must be an object such as { result: 'allow' }`);
  rejectUnknownKeys(spec, USER_KEYS, where);
  const {
    result,
    enrolled,
    newUserPolicy,
    status,
    rememberedDevice,
    trustedNetwork,
    accessDevice,
    trustedEndpoints,
    device,
    reason,
    factor,
  } = spec;
  if (result !== undefined && result !== 'allow' && result !== 'deny' && result !== 'error') {
    throw new TypeError(`${where}: result must be 'allow', 'deny' or 'error'`);
  }
  for (const [key, value] of [
    ['enrolled', enrolled],
    ['rememberedDevice', rememberedDevice],
    ['trustedNetwork', trustedNetwork],
    ['trustedEndpoints', trustedEndpoints],
  ] as const) {
    if (value !== undefined && typeof value !== 'boolean')
      throw new TypeError(`${where}: ${key} must be a boolean`);
  }
  if (newUserPolicy !== undefined && !NEW_USER_POLICIES.includes(newUserPolicy as NewUserPolicy)) {
    throw new TypeError(`${where}: newUserPolicy must be ${quoted(NEW_USER_POLICIES)}`);
  }
  if (status !== undefined && !STATUSES.includes(status as UserStatus)) {
    throw new TypeError(`${where}: status must be ${quoted(STATUSES)}`);
  }
  if (device !== undefined) {
    if (accessDevice !== undefined) {
      throw new TypeError(`${where}: give accessDevice or its shorthand device, not both`);
    }
    if (!isPlainObject(device)) throw new TypeError(`${where}: device must be { platform, trusted }`);
    rejectUnknownKeys(device, DEVICE_KEYS, `${where}: device`);
    if (device.platform !== 'iOS' && device.platform !== 'Android') {
      throw new TypeError(
        `${where}: device.platform must be 'iOS' or 'Android' (the shorthand is a phone's own browser; describe a computer with accessDevice)`,
      );
    }
    if (device.trusted !== 'trusted' && device.trusted !== 'not trusted' && device.trusted !== 'unknown') {
      throw new TypeError(`${where}: device.trusted must be 'trusted', 'not trusted' or 'unknown'`);
    }
  }
  if (accessDevice !== undefined) parseAccessDevice(accessDevice, `${where}: accessDevice`);
  for (const [key, value] of [
    ['reason', reason],
    ['factor', factor],
  ] as const) {
    if (value !== undefined && (typeof value !== 'string' || value === '' || value.length > 256)) {
      throw new TypeError(`${where}: ${key} must be a non-empty string (at most 256 characters)`);
    }
  }
  return spec;
}

/** Checks an `accessDevice` spec: a known platform, a manager that can vouch for it, well-typed details. */
function parseAccessDevice(value: unknown, where: string): void {
  if (!isPlainObject(value)) {
    throw new TypeError(
      `${where} must be an object such as { platform: 'Windows', managedBy: 'duo_desktop' }`,
    );
  }
  rejectUnknownKeys(value, ACCESS_DEVICE_KEYS, where);
  const {
    platform,
    managedBy,
    identifierSynced,
    compliant,
    hostname,
    osVersion,
    epkey,
    health,
    securityAgents,
  } = value;
  if (!DEVICE_PLATFORMS.includes(platform as DevicePlatform)) {
    throw new TypeError(`${where}.platform must be ${quoted(DEVICE_PLATFORMS)}`);
  }
  if (managedBy !== undefined) {
    if (!DEVICE_MANAGERS.includes(managedBy as DeviceManager)) {
      const hint = typeof managedBy === 'string' ? didYouMean(managedBy, DEVICE_MANAGERS) : undefined;
      throw new TypeError(
        `${where}.managedBy must be ${quoted(DEVICE_MANAGERS)}${hint ? ` (did you mean '${hint}'?)` : ''}`,
      );
    }
    const mismatch = managerMismatch(platform as DevicePlatform, managedBy as DeviceManager);
    if (mismatch) throw new TypeError(`${where}: ${mismatch}`);
  }
  for (const [key, flag] of [
    ['identifierSynced', identifierSynced],
    ['compliant', compliant],
  ] as const) {
    if (flag !== undefined && typeof flag !== 'boolean')
      throw new TypeError(`${where}.${key} must be a boolean`);
  }
  if (identifierSynced !== undefined && isPhone(platform as DevicePlatform)) {
    throw new TypeError(
      `${where}.identifierSynced applies to computers: Duo checks a phone through Duo Mobile, not a synced identifier`,
    );
  }
  for (const [key, text, pattern] of [
    ['hostname', hostname, /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/],
    ['osVersion', osVersion, /^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,63}$/],
    ['epkey', epkey, /^EP[A-Z0-9]{18}$/],
  ] as const) {
    if (text !== undefined && (typeof text !== 'string' || !pattern.test(text))) {
      throw new TypeError(`${where}.${key} must be a string matching ${String(pattern)}`);
    }
  }
  if (health !== undefined) {
    if (!isPlainObject(health))
      throw new TypeError(`${where}.health must be { encryption?, firewall?, password? }`);
    rejectUnknownKeys(health, HEALTH_KEYS, `${where}.health`);
    for (const key of HEALTH_KEYS) {
      if (health[key] !== undefined && typeof health[key] !== 'boolean') {
        throw new TypeError(`${where}.health.${key} must be a boolean`);
      }
    }
  }
  if (securityAgents !== undefined) {
    const valid =
      Array.isArray(securityAgents) &&
      securityAgents.length <= 20 &&
      securityAgents.every(
        (agent) =>
          isPlainObject(agent) &&
          Object.keys(agent).every((key) => key === 'name' || key === 'version') &&
          typeof agent.name === 'string' &&
          agent.name !== '' &&
          agent.name.length <= 128 &&
          (agent.version === undefined || (typeof agent.version === 'string' && agent.version.length <= 64)),
      );
    if (!valid)
      throw new TypeError(`${where}.securityAgents must be an array of { name, version? } (at most 20)`);
  }
}

function quoted(values: readonly string[]): string {
  const list = values.map((value) => `'${value}'`);
  return list.length === 1 ? list[0]! : `${list.slice(0, -1).join(', ')} or ${list.at(-1)!}`;
}

/**
 * Checks a `setFault()` argument; throws a TypeError naming the problem.
 *
 * @example
 * ```ts
 * parseFault({ health: 'slow', delayMs: 500 });
 * parseFault(null); // null: clears faults
 * ```
 */
export function parseFault(fault: unknown): EmulatorFault | null {
  if (fault === null) return null;
  const where = 'setFault(fault)';
  if (!isPlainObject(fault))
    throw new TypeError(`${where}: fault must be an object such as { health: 'down' }, or null`);
  rejectUnknownKeys(fault, FAULT_KEYS, where);
  const { health, token, delayMs } = fault;
  if (health !== undefined && !HEALTH_FAULTS.includes(health as HealthFault)) {
    throw new TypeError(`${where}: health must be one of ${HEALTH_FAULTS.map((f) => `'${f}'`).join(', ')}`);
  }
  if (token !== undefined && !TOKEN_FAULTS.includes(token as TokenFault)) {
    throw new TypeError(`${where}: token must be one of ${TOKEN_FAULTS.map((f) => `'${f}'`).join(', ')}`);
  }
  if (delayMs !== undefined && (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0)) {
    throw new TypeError(`${where}: delayMs must be a non-negative number of milliseconds`);
  }
  return Object.freeze({ ...(fault as EmulatorFault) });
}

/**
 * Throws a TypeError unless `mode` is 'interactive' or 'auto'.
 *
 * @example
 * ```ts
 * assertMode('auto', 'setMode(mode)');
 * ```
 */
export function assertMode(mode: unknown, where: string): asserts mode is EmulatorMode {
  if (!MODES.includes(mode as EmulatorMode)) {
    throw new TypeError(`${where} must be 'interactive' or 'auto'`);
  }
}

/**
 * Throws a TypeError unless `seconds` is a finite number.
 *
 * @example
 * ```ts
 * assertClockOffset(600); // the emulator runs 10 minutes ahead
 * ```
 */
export function assertClockOffset(seconds: unknown): asserts seconds is number {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) {
    throw new TypeError('setClockOffset(seconds): seconds must be a finite number (negative: behind)');
  }
}

function rejectUnknownKeys(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    const hint = didYouMean(key, allowed);
    throw new TypeError(
      `${where}: unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${allowed.join(', ')}`,
    );
  }
}
