// Public types of the offline Duo emulator: its options, scripted users, injectable faults and what it reports.

/** How the emulator answers a valid authorize request. */
export type EmulatorMode = 'interactive' | 'auto';

/** One Duo application (a "Web SDK" app in Duo's admin panel) the emulator knows. */
export interface EmulatorApplication {
  /** Exactly 20 characters, as the Duo client requires (e.g. `DI` + 18 upper-case letters or digits). */
  readonly clientId: string;
  /** Exactly 40 characters. Signs every JWT exchanged with this application. */
  readonly clientSecret: string;
  /** Shown on the prompt pages and reported as `auth_context.application.name`. */
  readonly name?: string;
}

export interface DuoEmulatorOptions {
  /** The applications that may use the emulator (at least one). */
  readonly applications: readonly EmulatorApplication[];
  /** `interactive` (default) shows prompt pages; `auto` redirects back at once with the scripted outcome. */
  readonly mode?: EmulatorMode;
  /** TCP port; default 0 (a free port, read it back from `url` / `apiHost`). */
  readonly port?: number;
  /** Interface to listen on; default `127.0.0.1`. Also named in the server certificate. */
  readonly host?: string;
}

export type DevicePlatform = 'iOS' | 'Android';
export type DeviceTrust = 'trusted' | 'not trusted' | 'unknown';

/**
 * How the emulator treats one Duo username (matched exactly as Duo receives it in `duo_uname`). Users never
 * set behave as `{ result: 'allow', enrolled: true }`.
 */
export interface EmulatedUser {
  /**
   * The outcome once the user approves (interactive) or at once (auto). Default `allow`. `deny` issues a code
   * whose id_token says deny, as Duo does. `error` sends Duo's error redirect instead of a code
   * (`redirect_uri?error=access_denied&error_description=…&state=…`).
   */
  readonly result?: 'allow' | 'deny' | 'error';
  /** False: the interactive prompt walks through enrollment first (auto mode enrolls silently). Default true. */
  readonly enrolled?: boolean;
  /** The access device as Duo's Trusted Endpoints / device health check sees it. Default: none reported. */
  readonly device?: { readonly platform: DevicePlatform; readonly trusted: DeviceTrust };
  /**
   * Overrides `auth_context.reason` (and, for `result: 'error'`, the `error_description`). Defaults:
   * `user_approved` for allow, `user_marked_fraud` for deny in auto mode, `denied_by_policy` when the user
   * approved in the interactive prompt but the scripted result is deny.
   */
  readonly reason?: string;
  /** Overrides `auth_context.factor`. Default `duo_push`. */
  readonly factor?: string;
}

export type HealthFault = 'down' | 'error' | 'refused' | 'hang' | 'slow';

export type TokenFault =
  | 'error'
  | 'hang'
  | 'slow'
  | 'bad-signature'
  | 'wrong-username'
  | 'wrong-audience'
  | 'wrong-issuer'
  | 'expired'
  | 'deny'
  | 'alg-none'
  | 'alg-hs256'
  | 'missing-claims'
  | 'not-bearer'
  | 'missing-id-token';

/**
 * Failure injected into the health check and/or token endpoint until cleared with `setFault(null)`.
 *
 * - health `down`: 503 with a load balancer's HTML body; `error`: 200 with Duo's `stat: "FAIL"` body (code 50000);
 *   `refused`: 401 with Duo's `invalid_client` FAIL body (code 40002), as for a disabled or deleted application;
 *   `hang`: accepts the request and never answers; `slow`: answers normally after `delayMs`.
 * - token `error`: 500; `hang` / `slow` as above; the others return a 200 whose id_token (or envelope) is
 *   tampered in the named way (`deny` is a validly signed token that says deny).
 */
export interface EmulatorFault {
  readonly health?: HealthFault;
  readonly token?: TokenFault;
  /** Delay for `slow` faults, in ms. Default 2000. */
  readonly delayMs?: number;
}

export type EmulatorEndpoint = 'health' | 'authorize' | 'token';

/** Requests received per endpoint (every request, valid or not). Live: read the fields when needed. */
export interface EmulatorCalls {
  readonly health: number;
  readonly authorize: number;
  readonly token: number;
}

/** One request as the emulator saw it. Never carries secrets, assertions, codes, states or tokens. */
export interface EmulatorLogEntry {
  readonly endpoint: EmulatorEndpoint;
  readonly clientId?: string;
  readonly username?: string;
  readonly redirectUri?: string;
  /** `ok`, `redirect:allow`, `prompt`, `invalid_client:…`, `invalid_grant:…`, `fault:hang`, … */
  readonly outcome: string;
  /** Emulator clock (ms since epoch, including the clock offset). */
  readonly at: number;
}

/** A running emulator, as resolved by `startDuoEmulator()`. */
export interface DuoEmulator {
  /** `https://127.0.0.1:<port>` (or the `host` option when it names one specific interface). */
  readonly url: string;
  /** What the Duo client takes as `apiHost`: `127.0.0.1:<port>`. */
  readonly apiHost: string;
  /** PEM of the CA that signed the server certificate (fresh at each start): trust it to reach the emulator. */
  readonly ca: string;
  /** Scripts how the emulator treats `username` from now on (replaces any previous spec). */
  setUser(username: string, spec?: EmulatedUser): void;
  /** Injects failures until called again; `null` clears them. */
  setFault(fault: EmulatorFault | null): void;
  setMode(mode: EmulatorMode): void;
  /** Runs the emulator's clock this many seconds ahead of the real clock (negative: behind). */
  setClockOffset(seconds: number): void;
  /** Live request counters. */
  readonly calls: EmulatorCalls;
  /** A snapshot of what happened so far (a new frozen array at each read). */
  readonly log: readonly EmulatorLogEntry[];
  /** Stops listening, drops every connection (hanging ones included) and clears every timer. */
  close(): Promise<void>;
}
