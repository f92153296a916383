// The emulator's memory: applications, Duo users (shared by the prompt and the Admin API) with their phone and
// bypass codes, pending prompts, issued codes, seen jtis, the clock, faults, counters, the log and the SMS outbox.
// Expiry is checked on use, so nothing here holds a timer.

import { randomBytes } from 'node:crypto';
import {
  describedDevice,
  isPhone,
  snapshotDevice,
  stableId,
  type AccessDeviceSnapshot,
} from './access-device';
import type {
  EmulatedAccessDevice,
  EmulatedUser,
  EmulatorAdminApplication,
  EmulatorApplication,
  EmulatorFault,
  EmulatorLogEntry,
  EmulatorMode,
  EmulatorSms,
  NewUserPolicy,
  PhonePlatform,
  UserStatus,
} from './types';

/** A validated authorize request, waiting for the prompt's outcome. */
export interface PendingLogin {
  readonly app: EmulatorApplication;
  readonly redirectUri: string;
  readonly state: string;
  readonly username: string;
  readonly nonce: string | undefined;
  /** `duo_code` (true) or `code` (false) in the redirect back. */
  readonly useDuoCode: boolean;
  /** The browser's address and user agent, reported as the access device. */
  readonly accessIp: string;
  readonly userAgent: string;
}

/** What the prompt decided, carried by a code into the id_token. */
export interface Authentication {
  readonly result: 'allow' | 'deny';
  readonly reason: string;
  readonly factor: string;
  /** The user reported the request as fraud: `auth_context.result` is "fraud". */
  readonly fraud: boolean;
  /** The access device as it was when the login ended (trust decided then). */
  readonly access: AccessDeviceSnapshot | undefined;
  /** The phone Duo pushed to (auth_device.name); null when no factor ran. */
  readonly authDeviceName: string | null;
  /** Emulator clock, ms. */
  readonly at: number;
}

export interface IssuedCode {
  readonly login: PendingLogin;
  readonly auth: Authentication;
  /** Emulator clock, ms. */
  readonly issuedAt: number;
  used: boolean;
}

/** The phone a user enrolled (the Duo Mobile phone pushes go to). */
export interface PhoneRecord {
  /** `DP` + 18 characters. */
  readonly id: string;
  /** As the user typed it (shown on pages, reported as auth_device.name). */
  display: string;
  /** E.164, as the Admin API reports it. */
  number: string;
  platform: PhonePlatform;
  /** Duo Mobile is activated on it (push works). */
  activated: boolean;
  /** Emulator clock, ms: the last time Duo Mobile talked to Duo. */
  lastSeen: number | undefined;
}

/** One bypass code issued through the Admin API. */
export interface BypassCode {
  readonly code: string;
  /** Uses left; Infinity for reuse_count 0. */
  remaining: number;
  /** Emulator clock, ms; undefined: never expires. */
  readonly expiresAt: number | undefined;
}

/** A pending Duo Mobile activation (Admin API activation_url / send_sms_activation). */
export interface Activation {
  readonly code: string;
  readonly username: string;
  readonly phoneId: string;
  /** Emulator clock, ms. */
  readonly expiresAt: number;
}

/** A user as the emulator treats them now: the spec with defaults, plus what enrollment and the Admin API did. */
export interface UserRecord {
  readonly username: string;
  /** `DU` + 18 characters, stable per username: the Admin API's user_id and the id_token's sub. */
  readonly userId: string;
  readonly result: 'allow' | 'deny' | 'error';
  readonly reason: string | undefined;
  readonly factor: string | undefined;
  readonly status: UserStatus;
  readonly newUserPolicy: NewUserPolicy;
  readonly rememberedDevice: boolean;
  readonly trustedNetwork: boolean;
  /** The access device (from accessDevice or the device shorthand), undefined when none is described. */
  readonly accessDevice:
    { device: EmulatedAccessDevice; trustedEndpoints: boolean; shorthand: boolean } | undefined;
  enrolled: boolean;
  phone: PhoneRecord | undefined;
  bypassCodes: BypassCode[];
  /** Emulator clock, ms. */
  readonly created: number;
  /** Emulator clock, ms, of the last allowed sign-in. */
  lastLogin: number | undefined;
}

export type PromptStep =
  | 'enroll-welcome'
  | 'enroll-method'
  | 'enroll-phone'
  | 'enroll-platform'
  | 'enroll-install'
  | 'enroll-activate'
  | 'auth'
  | 'passcode'
  | 'pushed'
  | 'device-check';

/** One interactive prompt in progress, keyed by a random id carried in its pages' forms. */
export interface PromptTransaction {
  readonly id: string;
  readonly login: PendingLogin;
  readonly createdAt: number;
  step: PromptStep;
  phone: string | undefined;
  platform: PhonePlatform | undefined;
  activationCode: string | undefined;
  /** Shown on the next page (e.g. "enter a valid phone number"). */
  notice: string | undefined;
  justEnrolled: boolean;
  /** The factor the user completed before the device check: a push or a bypass code. */
  completedWith: 'approve' | 'passcode' | undefined;
  /** Wrong bypass codes typed so far. */
  passcodeAttempts: number;
}

/** Codes are exchangeable for this long (Duo's exact lifetime is undocumented; 60 s is a fair model). */
export const CODE_LIFETIME_MS = 60_000;
/** Prompts left unfinished for this long are forgotten. */
export const PROMPT_LIFETIME_MS = 10 * 60_000;
/** Duo's clock leeway for JWT time claims, both ways. */
export const LEEWAY_SECONDS = 60;
/** The phone number reported for users who did not enroll one in the prompt (a fictional 555 number). */
export const DEFAULT_PHONE = '+1 734-555-0100';

const MAX_LOG_ENTRIES = 10_000;
const MAX_SMS = 1_000;
/** Used codes are remembered a while after expiry so a replay is told apart from garbage in the log. */
const CODE_MEMORY_MS = 10 * 60_000;
/** Finished prompts are remembered this long, so their dead-end page can still link back to the application. */
const FINISHED_MEMORY_MS = 2 * PROMPT_LIFETIME_MS;

/**
 * Mutable state shared by the emulator's handlers. Not exported from the package: `startDuoEmulator()` wraps it.
 *
 * @example
 * ```ts
 * const state = new EmulatorState(applications, [], 'auto');
 * state.setUser('alice', { result: 'deny' });
 * state.now(); // ms, real clock + offset
 * ```
 */
export class EmulatorState {
  readonly applications: ReadonlyMap<string, EmulatorApplication>;
  readonly adminApplications: ReadonlyMap<string, EmulatorAdminApplication>;
  mode: EmulatorMode;
  fault: EmulatorFault | null = null;
  /** `https://` + each of these is an accepted audience (and Admin API host); set once listening. */
  hosts: readonly string[] = [];
  readonly counts = { health: 0, authorize: 0, token: 0 };
  readonly users = new Map<string, UserRecord>();
  readonly codes = new Map<string, IssuedCode>();
  readonly prompts = new Map<string, PromptTransaction>();
  readonly activations = new Map<string, Activation>();
  /** Origins of applications whose prompts ended, by prompt id: where a late dead-end page links back to. */
  private readonly finished = new Map<string, { origin: string; appName: string | undefined; at: number }>();
  /** The last redirect_uri origin each client used in a validly signed request. */
  private readonly knownOrigins = new Map<string, string>();
  private readonly seenJti = new Map<string, number>();
  private readonly entries: EmulatorLogEntry[] = [];
  private readonly outbox: EmulatorSms[] = [];
  private offsetMs = 0;

  constructor(
    applications: readonly EmulatorApplication[],
    adminApplications: readonly EmulatorAdminApplication[],
    mode: EmulatorMode,
  ) {
    this.applications = new Map(applications.map((app) => [app.clientId, app]));
    this.adminApplications = new Map(adminApplications.map((app) => [app.integrationKey, app]));
    this.mode = mode;
  }

  /** The emulator's clock: real time plus the offset, in ms. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  setClockOffset(seconds: number): void {
    this.offsetMs = Math.round(seconds * 1000);
  }

  application(clientId: unknown): EmulatorApplication | undefined {
    return typeof clientId === 'string' ? this.applications.get(clientId) : undefined;
  }

  /** Creates (or replaces) the user from a validated spec. Enrolled users get a phone with Duo Mobile activated. */
  setUser(username: string, spec: EmulatedUser): UserRecord {
    const now = this.now();
    const described = describedDevice(spec);
    const enrolled = spec.enrolled ?? true;
    const record: UserRecord = {
      username,
      userId: stableId('DU', `user\0${username}`),
      result: spec.result ?? 'allow',
      reason: spec.reason,
      factor: spec.factor,
      status: spec.status ?? 'active',
      newUserPolicy: spec.newUserPolicy ?? 'require-enrollment',
      rememberedDevice: spec.rememberedDevice ?? false,
      trustedNetwork: spec.trustedNetwork ?? false,
      accessDevice: described,
      enrolled,
      phone: undefined,
      bypassCodes: [],
      created: now,
      lastLogin: undefined,
    };
    if (enrolled) {
      // The phone Duo Mobile runs on: the shorthand's phone when the sign-in comes from it, else an iPhone.
      const platform =
        spec.device?.platform ??
        (described && isPhone(described.device.platform) ? described.device.platform : 'iOS');
      this.enrollPhone(record, DEFAULT_PHONE, platform);
    }
    this.users.set(username, record);
    return record;
  }

  /** The record for `username`, created with the defaults (allow, enrolled) when never set. */
  user(username: string): UserRecord {
    return this.users.get(username) ?? this.setUser(username, {});
  }

  /** The user with this Admin API user_id, if the emulator knows them. */
  userById(userId: string): UserRecord | undefined {
    for (const user of this.users.values()) if (user.userId === userId) return user;
    return undefined;
  }

  /** The user whose phone has this phone_id, if any. */
  userByPhoneId(phoneId: string): UserRecord | undefined {
    for (const user of this.users.values()) if (user.phone?.id === phoneId) return user;
    return undefined;
  }

  /** Records a phone with Duo Mobile activated on it; the user is enrolled from now on. */
  enrollPhone(user: UserRecord, display: string, platform: PhonePlatform): PhoneRecord {
    const number = e164(display);
    const phone: PhoneRecord = {
      id:
        user.phone && user.phone.number === number
          ? user.phone.id
          : stableId('DP', `phone\0${user.username}\0${number}`),
      display,
      number,
      platform,
      activated: true,
      lastSeen: this.now(),
    };
    user.phone = phone;
    user.enrolled = true;
    return phone;
  }

  /** The user's access device with its trust decided now (Duo Mobile must be activated for a phone to vouch). */
  accessSnapshot(user: UserRecord): AccessDeviceSnapshot | undefined {
    if (!user.accessDevice) return undefined;
    return snapshotDevice(user.username, user.accessDevice, {
      duoMobileActivated: user.enrolled && user.phone?.activated === true,
    });
  }

  /** Uses one bypass code of `user`; false when it is unknown, used up or expired (expired codes are dropped). */
  useBypassCode(user: UserRecord, code: string): boolean {
    const now = this.now();
    user.bypassCodes = user.bypassCodes.filter(
      (entry) => entry.expiresAt === undefined || entry.expiresAt > now,
    );
    const entry = user.bypassCodes.find((candidate) => candidate.code === code);
    if (!entry) return false;
    entry.remaining -= 1;
    if (entry.remaining <= 0) user.bypassCodes = user.bypassCodes.filter((candidate) => candidate !== entry);
    return true;
  }

  /** Remembers a client assertion's jti until it expires; false when it was seen before (a replay). */
  rememberJti(clientId: string, jti: string, expiresAtMs: number): boolean {
    const now = this.now();
    for (const [key, expiry] of this.seenJti) if (expiry < now) this.seenJti.delete(key);
    const key = `${clientId}\0${jti}`;
    if (this.seenJti.has(key)) return false;
    this.seenJti.set(key, expiresAtMs);
    return true;
  }

  storeCode(code: string, issued: IssuedCode): void {
    const now = this.now();
    for (const [key, entry] of this.codes) {
      if (now - entry.issuedAt > CODE_LIFETIME_MS + CODE_MEMORY_MS) this.codes.delete(key);
    }
    this.codes.set(code, issued);
  }

  storePrompt(prompt: PromptTransaction): void {
    const now = this.now();
    for (const [key, entry] of this.prompts) {
      if (now - entry.createdAt > PROMPT_LIFETIME_MS) this.forgetPrompt(key, entry);
    }
    this.prompts.set(prompt.id, prompt);
  }

  /** The live prompt with this id, or undefined when unknown, finished or expired. */
  prompt(id: unknown): PromptTransaction | undefined {
    if (typeof id !== 'string') return undefined;
    const prompt = this.prompts.get(id);
    if (!prompt) return undefined;
    const age = this.now() - prompt.createdAt;
    if (age > PROMPT_LIFETIME_MS || age < -PROMPT_LIFETIME_MS) {
      this.forgetPrompt(id, prompt);
      return undefined;
    }
    return prompt;
  }

  /** Ends a prompt, remembering where it came from for the page a late visit (the back button) gets. */
  finishPrompt(prompt: PromptTransaction): void {
    this.forgetPrompt(prompt.id, prompt);
  }

  /** The application (origin and name) of a prompt that ended or expired recently, for its dead-end page. */
  finishedApp(id: unknown): { origin: string; appName: string | undefined } | undefined {
    if (typeof id !== 'string') return undefined;
    const entry = this.finished.get(id);
    if (!entry) return undefined;
    if (Math.abs(this.now() - entry.at) > FINISHED_MEMORY_MS) {
      this.finished.delete(id);
      return undefined;
    }
    return { origin: entry.origin, appName: entry.appName };
  }

  /** Remembers the redirect origin a client used in a validly signed request. */
  rememberOrigin(clientId: string, origin: string): void {
    this.knownOrigins.set(clientId, origin);
  }

  /** The origin this client's signed requests last redirected to. */
  knownOrigin(clientId: unknown): string | undefined {
    return typeof clientId === 'string' ? this.knownOrigins.get(clientId) : undefined;
  }

  count(endpoint: 'health' | 'authorize' | 'token'): void {
    this.counts[endpoint] += 1;
  }

  /** Appends to the log; callers pass only non-secret fields (never codes, states, assertions or tokens). */
  record(entry: Omit<EmulatorLogEntry, 'at'>): void {
    const clean: { -readonly [K in keyof EmulatorLogEntry]: EmulatorLogEntry[K] } = {
      endpoint: entry.endpoint,
      outcome: entry.outcome,
      at: this.now(),
    };
    if (entry.clientId !== undefined) clean.clientId = entry.clientId.slice(0, 64);
    if (entry.username !== undefined) clean.username = entry.username.slice(0, 256);
    if (entry.redirectUri !== undefined) clean.redirectUri = entry.redirectUri.slice(0, 1024);
    this.entries.push(Object.freeze(clean));
    if (this.entries.length > MAX_LOG_ENTRIES) this.entries.splice(0, this.entries.length - MAX_LOG_ENTRIES);
  }

  /** A frozen snapshot of the log. */
  logSnapshot(): readonly EmulatorLogEntry[] {
    return Object.freeze([...this.entries]);
  }

  /** "Sends" a text message: it lands in the outbox tests and the example app read. */
  sendSms(to: string, body: string): void {
    this.outbox.push(Object.freeze({ to, body, at: this.now() }));
    if (this.outbox.length > MAX_SMS) this.outbox.splice(0, this.outbox.length - MAX_SMS);
  }

  /** A frozen snapshot of the SMS outbox. */
  smsSnapshot(): readonly EmulatorSms[] {
    return Object.freeze([...this.outbox]);
  }

  /** A random code of `length` characters from an unambiguous alphabet. */
  randomCode(length: number): string {
    const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    let code = '';
    for (const byte of randomBytes(length)) code += alphabet[byte % alphabet.length];
    return code;
  }

  private forgetPrompt(id: string, prompt: PromptTransaction): void {
    this.prompts.delete(id);
    const now = this.now();
    for (const [key, entry] of this.finished)
      if (now - entry.at > FINISHED_MEMORY_MS) this.finished.delete(key);
    this.finished.set(id, {
      origin: new URL(prompt.login.redirectUri).origin,
      appName: prompt.login.app.name,
      at: now,
    });
  }
}

/** E.164 from what a user typed: "+1 734-555-0100" → "+17345550100"; no + means a US number, as Duo assumes. */
function e164(display: string): string {
  const digits = display.replace(/\D/g, '');
  return display.trim().startsWith('+') ? `+${digits}` : `+1${digits}`;
}
