// Validation of everything callers hand the emulator (options, user specs, faults, modes), with TypeErrors
// that name the offending key and what is allowed.

import { didYouMean } from '../util/names';
import { isPlainObject } from '../util/objects';
import type {
  DuoEmulatorOptions,
  EmulatedUser,
  EmulatorApplication,
  EmulatorFault,
  EmulatorMode,
  HealthFault,
  TokenFault,
} from './types';

const OPTION_KEYS = ['applications', 'mode', 'port', 'host'] as const;
const APPLICATION_KEYS = ['clientId', 'clientSecret', 'name'] as const;
const USER_KEYS = ['result', 'enrolled', 'device', 'reason', 'factor'] as const;
const DEVICE_KEYS = ['platform', 'trusted'] as const;
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
  readonly mode: EmulatorMode;
  readonly port: number;
  readonly host: string;
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
    mode = 'interactive',
    port = 0,
    host = '127.0.0.1',
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
  return { applications: Object.freeze(apps), mode, port, host };
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
  const { result, enrolled, device, reason, factor } = spec;
  if (result !== undefined && result !== 'allow' && result !== 'deny' && result !== 'error') {
    throw new TypeError(`${where}: result must be 'allow', 'deny' or 'error'`);
  }
  if (enrolled !== undefined && typeof enrolled !== 'boolean') {
    throw new TypeError(`${where}: enrolled must be a boolean`);
  }
  if (device !== undefined) {
    if (!isPlainObject(device)) throw new TypeError(`${where}: device must be { platform, trusted }`);
    rejectUnknownKeys(device, DEVICE_KEYS, `${where}: device`);
    if (device.platform !== 'iOS' && device.platform !== 'Android') {
      throw new TypeError(`${where}: device.platform must be 'iOS' or 'Android'`);
    }
    if (device.trusted !== 'trusted' && device.trusted !== 'not trusted' && device.trusted !== 'unknown') {
      throw new TypeError(`${where}: device.trusted must be 'trusted', 'not trusted' or 'unknown'`);
    }
  }
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
