// The emulator's memory: applications, scripted users, pending prompts, issued codes, seen jtis, the clock,
// faults, counters and the request log. Expiry is checked on use, so nothing here holds a timer.

import type {
  DevicePlatform,
  EmulatedUser,
  EmulatorApplication,
  EmulatorEndpoint,
  EmulatorFault,
  EmulatorLogEntry,
  EmulatorMode,
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
  readonly device: EmulatedUser['device'];
  /** The phone Duo pushed to (auth_device.name). */
  readonly authDeviceName: string;
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

/** A user as the emulator treats them now: the spec with defaults, plus what enrollment recorded. */
export interface UserRecord {
  readonly result: 'allow' | 'deny' | 'error';
  readonly reason: string | undefined;
  readonly factor: string | undefined;
  readonly device: EmulatedUser['device'];
  enrolled: boolean;
  phone: string | undefined;
  phonePlatform: DevicePlatform | undefined;
}

export type PromptStep =
  | 'enroll-welcome'
  | 'enroll-method'
  | 'enroll-phone'
  | 'enroll-platform'
  | 'enroll-install'
  | 'enroll-activate'
  | 'auth'
  | 'pushed'
  | 'device-check';

/** One interactive prompt in progress, keyed by a random id carried in its pages' forms. */
export interface PromptTransaction {
  readonly id: string;
  readonly login: PendingLogin;
  readonly createdAt: number;
  step: PromptStep;
  phone: string | undefined;
  platform: DevicePlatform | undefined;
  activationCode: string | undefined;
  /** Shown on the next page (e.g. "enter a valid phone number"). */
  notice: string | undefined;
  justEnrolled: boolean;
}

/** Codes are exchangeable for this long (Duo's exact lifetime is undocumented; 60 s is a fair model). */
export const CODE_LIFETIME_MS = 60_000;
/** Prompts left unfinished for this long are forgotten. */
export const PROMPT_LIFETIME_MS = 10 * 60_000;
/** Duo's clock leeway for JWT time claims, both ways. */
export const LEEWAY_SECONDS = 60;

const MAX_LOG_ENTRIES = 10_000;
/** Used codes are remembered a while after expiry so a replay is told apart from garbage in the log. */
const CODE_MEMORY_MS = 10 * 60_000;

/**
 * Mutable state shared by the emulator's handlers. Not exported from the package: `startDuoEmulator()` wraps it.
 *
 * @example
 * ```ts
 * const state = new EmulatorState(applications, 'auto');
 * state.setUser('alice', { result: 'deny' });
 * state.now(); // ms, real clock + offset
 * ```
 */
export class EmulatorState {
  readonly applications: ReadonlyMap<string, EmulatorApplication>;
  mode: EmulatorMode;
  fault: EmulatorFault | null = null;
  /** `https://` + each of these is an accepted audience; set once listening. */
  hosts: readonly string[] = [];
  readonly counts = { health: 0, authorize: 0, token: 0 };
  readonly users = new Map<string, UserRecord>();
  readonly codes = new Map<string, IssuedCode>();
  readonly prompts = new Map<string, PromptTransaction>();
  private readonly seenJti = new Map<string, number>();
  private readonly entries: EmulatorLogEntry[] = [];
  private offsetMs = 0;

  constructor(applications: readonly EmulatorApplication[], mode: EmulatorMode) {
    this.applications = new Map(applications.map((app) => [app.clientId, app]));
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

  setUser(username: string, spec: EmulatedUser): UserRecord {
    const record: UserRecord = {
      result: spec.result ?? 'allow',
      reason: spec.reason,
      factor: spec.factor,
      device: spec.device ? { platform: spec.device.platform, trusted: spec.device.trusted } : undefined,
      enrolled: spec.enrolled ?? true,
      phone: undefined,
      phonePlatform: undefined,
    };
    this.users.set(username, record);
    return record;
  }

  /** The record for `username`, created with the defaults (allow, enrolled) when never set. */
  user(username: string): UserRecord {
    return this.users.get(username) ?? this.setUser(username, {});
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
      if (now - entry.createdAt > PROMPT_LIFETIME_MS) this.prompts.delete(key);
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
      this.prompts.delete(id);
      return undefined;
    }
    return prompt;
  }

  count(endpoint: EmulatorEndpoint): void {
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
}
