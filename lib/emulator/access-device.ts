// Trusted Endpoints as Duo documents it: what may vouch for an access device (Duo Mobile for its own phone, Duo
// Desktop or a device-management integration for a computer), the trust status that follows, and the
// `auth_context.access_device` the id_token reports.

import { createHash } from 'node:crypto';
import type {
  DeviceManager,
  DevicePlatform,
  DeviceTrust,
  EmulatedAccessDevice,
  EmulatedUser,
  PhonePlatform,
} from './types';

/** Every platform an access device may have, phones first. */
export const DEVICE_PLATFORMS: readonly DevicePlatform[] = [
  'iOS',
  'Android',
  'Windows',
  'macOS',
  'Linux',
  'ChromeOS',
];
/** Every `managedBy` code the emulator knows (see DeviceManager for what each stands for). */
export const DEVICE_MANAGERS: readonly DeviceManager[] = [
  'duo_mobile',
  'duo_desktop',
  'ivanti',
  'ivanti_epmm',
  'intune',
  'jamf',
  'workspace_one',
  'google_workspace',
  'active_directory',
  'generic',
];
/** Platforms Duo Desktop runs on. */
const DUO_DESKTOP_PLATFORMS: readonly DevicePlatform[] = ['Windows', 'macOS', 'Linux'];

/** How `access_device.os` names each platform in Duo's logs and tokens. */
const OS_NAMES: Readonly<Record<DevicePlatform, string>> = {
  iOS: 'iOS',
  Android: 'Android',
  Windows: 'Windows',
  macOS: 'Mac OS X',
  Linux: 'Linux',
  ChromeOS: 'Chrome OS',
};
const DEFAULT_OS_VERSIONS: Readonly<Record<DevicePlatform, string>> = {
  iOS: '17.5.1',
  Android: '14',
  Windows: '11',
  macOS: '14.5',
  Linux: 'unknown',
  ChromeOS: '124.0.6367.225',
};

/** A user's access device with every default applied and its trust decided: what a code carries to the id_token. */
export interface AccessDeviceSnapshot {
  readonly platform: DevicePlatform;
  readonly managedBy: DeviceManager | undefined;
  readonly trust: DeviceTrust;
  readonly hostname: string | null;
  readonly osVersion: string;
  readonly epkey: string;
  readonly encryption: boolean | 'unknown';
  readonly firewall: boolean | 'unknown';
  readonly password: boolean | 'unknown';
  readonly securityAgents: ReadonlyArray<{ security_agent: string; version: string | null }> | 'unknown';
}

/** True for iOS and Android: the phones Duo Mobile runs on. */
export function isPhone(platform: DevicePlatform): platform is PhonePlatform {
  return platform === 'iOS' || platform === 'Android';
}

/**
 * Why `managedBy` cannot vouch for a device of `platform`, or undefined when it can: Duo Mobile vouches only for
 * the phone it runs on, Duo Desktop runs on Windows, macOS and Linux, Active Directory joins computers.
 *
 * @example
 * ```ts
 * managerMismatch('Windows', 'duo_mobile'); // 'Duo Mobile vouches only for the phone it runs on (iOS or Android)…'
 * ```
 */
export function managerMismatch(platform: DevicePlatform, managedBy: DeviceManager): string | undefined {
  if (managedBy === 'duo_mobile' && !isPhone(platform)) {
    return 'Duo Mobile vouches only for the phone it runs on (iOS or Android), never for a computer a push was approved for: use duo_desktop or a device-management integration';
  }
  if (managedBy === 'duo_desktop' && !DUO_DESKTOP_PLATFORMS.includes(platform)) {
    return 'Duo Desktop runs on Windows, macOS and Linux: a phone is vouched for by duo_mobile or its device-management integration';
  }
  if (managedBy === 'active_directory' && isPhone(platform)) {
    return 'Active Directory domain-joins computers, not phones';
  }
  return undefined;
}

/**
 * The trust status Duo reports, as its Trusted Endpoints documentation describes it:
 * - no Trusted Endpoints integration active for the user → `unknown`;
 * - a device failing the policy's device checks, or managed by nothing → `not trusted`;
 * - a phone → `trusted` when Duo Mobile is activated on it (it vouches for its own browser, directly or for the
 *   phone's device-management integration);
 * - a computer → `trusted` with Duo Desktop, or when its device-management integration has synced its identifier.
 *
 * @example
 * ```ts
 * trustOf({ platform: 'Windows', managedBy: 'ivanti', identifierSynced: true }, { trustedEndpoints: true, duoMobileActivated: true }); // 'trusted'
 * ```
 */
export function trustOf(
  device: EmulatedAccessDevice,
  context: { trustedEndpoints: boolean; duoMobileActivated: boolean },
): DeviceTrust {
  if (!context.trustedEndpoints) return 'unknown';
  if (device.compliant === false || device.managedBy === undefined) return 'not trusted';
  if (isPhone(device.platform)) return context.duoMobileActivated ? 'trusted' : 'not trusted';
  if (device.managedBy === 'duo_desktop') return 'trusted';
  return device.identifierSynced === true ? 'trusted' : 'not trusted';
}

/**
 * The access device a user spec describes: `accessDevice` as given, or the first version's `device` shorthand
 * turned into the phone's own browser with the trust it named (trusted: Duo Mobile vouches; not trusted:
 * unmanaged; unknown: no Trusted Endpoints integration). Undefined when the spec describes none.
 *
 * @example
 * ```ts
 * describedDevice({ device: { platform: 'iOS', trusted: 'trusted' } }); // { device: { platform: 'iOS', managedBy: 'duo_mobile', … }, trustedEndpoints: true }
 * ```
 */
export function describedDevice(
  spec: EmulatedUser,
): { device: EmulatedAccessDevice; trustedEndpoints: boolean; shorthand: boolean } | undefined {
  if (spec.accessDevice) {
    return { device: spec.accessDevice, trustedEndpoints: spec.trustedEndpoints ?? true, shorthand: false };
  }
  if (!spec.device) return undefined;
  const { platform, trusted } = spec.device;
  // The shorthand reported Duo Mobile's device health check with the trust as its flags: keep those values.
  const flag = trusted === 'trusted' ? true : trusted === 'not trusted' ? false : undefined;
  const device: EmulatedAccessDevice = {
    platform,
    ...(trusted === 'trusted' ? { managedBy: 'duo_mobile' as const } : {}),
    health: { ...(flag === undefined ? {} : { encryption: flag, firewall: flag }), password: true },
    securityAgents: [],
  };
  return { device, trustedEndpoints: spec.trustedEndpoints ?? trusted !== 'unknown', shorthand: true };
}

/**
 * Applies every default to a described device and decides its trust, for `username` (the default epkey is
 * stable per user and platform, as Duo's is per endpoint).
 *
 * @example
 * ```ts
 * snapshotDevice('erin', described, { duoMobileActivated: true }).trust; // 'trusted'
 * ```
 */
export function snapshotDevice(
  username: string,
  described: { device: EmulatedAccessDevice; trustedEndpoints: boolean },
  context: { duoMobileActivated: boolean },
): AccessDeviceSnapshot {
  const { device } = described;
  // Duo Desktop (Duo's Device Health app) is what reports a computer's hostname, health and security agents.
  const desktopAgent = !isPhone(device.platform) && device.managedBy !== undefined;
  const health = (value: boolean | undefined): boolean | 'unknown' =>
    value !== undefined ? value : desktopAgent ? true : 'unknown';
  return {
    platform: device.platform,
    managedBy: device.managedBy,
    trust: trustOf(device, {
      trustedEndpoints: described.trustedEndpoints,
      duoMobileActivated: context.duoMobileActivated,
    }),
    hostname: device.hostname ?? null,
    osVersion: device.osVersion ?? DEFAULT_OS_VERSIONS[device.platform],
    epkey: device.epkey ?? stableId('EP', `endpoint\0${username}\0${device.platform}`),
    encryption: health(device.health?.encryption),
    firewall: health(device.health?.firewall),
    password: health(device.health?.password),
    securityAgents: device.securityAgents
      ? device.securityAgents.map((agent) => ({ security_agent: agent.name, version: agent.version ?? null }))
      : desktopAgent
        ? []
        : 'unknown',
  };
}

/**
 * `auth_context.access_device` for a sign-in from `snapshot` (or, without one, from a browser Duo knows nothing
 * about but its User-Agent), plus the top-level `trusted_endpoint_status` when a device was described.
 * `management_system` is the emulator's own field (Duo documents none saying what vouched): the manager's code.
 *
 * @example
 * ```ts
 * const { accessDevice, trustedEndpointStatus } = accessDeviceClaims(snapshot, { ip: '127.0.0.1', userAgent });
 * ```
 */
export function accessDeviceClaims(
  snapshot: AccessDeviceSnapshot | undefined,
  browser: { ip: string; userAgent: string; location: Record<string, string> },
): { accessDevice: Record<string, unknown>; trustedEndpointStatus: DeviceTrust | undefined } {
  const agent = describeUserAgent(browser.userAgent);
  const common = {
    ip: browser.ip,
    location: { ...browser.location },
    browser: agent.browser,
    browser_version: agent.browserVersion,
  };
  if (!snapshot) {
    return {
      accessDevice: {
        ...common,
        hostname: null,
        epkey: null,
        os: agent.os,
        os_version: agent.osVersion,
        is_encryption_enabled: 'unknown',
        is_firewall_enabled: 'unknown',
        is_password_set: 'unknown',
        security_agents: 'unknown',
      },
      trustedEndpointStatus: undefined,
    };
  }
  return {
    accessDevice: {
      ...common,
      hostname: snapshot.hostname,
      epkey: snapshot.epkey,
      os: OS_NAMES[snapshot.platform],
      os_version: snapshot.osVersion,
      is_encryption_enabled: snapshot.encryption,
      is_firewall_enabled: snapshot.firewall,
      is_password_set: snapshot.password,
      security_agents:
        snapshot.securityAgents === 'unknown' ? 'unknown' : snapshot.securityAgents.map((a) => ({ ...a })),
      management_system: snapshot.managedBy ?? null,
    },
    trustedEndpointStatus: snapshot.trust,
  };
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
