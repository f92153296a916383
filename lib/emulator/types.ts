// Public types of the offline Duo emulator: its options, scripted users and their access devices, injectable
// faults, the Admin API applications it serves, and what it reports.

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

/** One Duo Admin API application: requests signed with its secret key are served by the emulator's Admin API. */
export interface EmulatorAdminApplication {
  /** Exactly 20 characters (Duo's integration keys are `DI` + 18 upper-case letters or digits). */
  readonly integrationKey: string;
  /** Exactly 40 characters. Signs every Admin API request (HMAC, Duo's canonical request). */
  readonly secretKey: string;
  /** For the log and error messages only. */
  readonly name?: string;
}

/** A certificate authority as PEM strings, as `createEmulatorCa()` makes it. */
export interface EmulatorCertificateAuthority {
  /** PEM certificate (`-----BEGIN CERTIFICATE-----`): what clients trust. */
  readonly cert: string;
  /** PEM private key (PKCS#8, unencrypted): what signs each start's server certificate. Keep it private. */
  readonly key: string;
}

export interface DuoEmulatorOptions {
  /** The applications that may use the emulator (at least one). */
  readonly applications: readonly EmulatorApplication[];
  /** Duo Admin API applications whose signed requests `/admin/v1/...` answers. Default: none (the Admin API refuses). */
  readonly adminApplications?: readonly EmulatorAdminApplication[];
  /** `interactive` (default) shows prompt pages; `auto` redirects back at once with the scripted outcome. */
  readonly mode?: EmulatorMode;
  /** TCP port; default 0 (a free port, read it back from `url` / `apiHost`). */
  readonly port?: number;
  /** Interface to listen on; default `127.0.0.1`. Also named in the server certificate. */
  readonly host?: string;
  /**
   * A CA saved from `createEmulatorCa()`: it signs this start's server certificate, so anything that trusts it
   * (a browser, a CA file on disk) keeps working across restarts. Default: a fresh CA at every start.
   */
  readonly certificateAuthority?: EmulatorCertificateAuthority;
}

/** Platforms an access device can have. iOS and Android are phones; the others are desktops and laptops. */
export type DevicePlatform = 'iOS' | 'Android' | 'Windows' | 'macOS' | 'Linux' | 'ChromeOS';
/** The phone platforms (where Duo Mobile runs). */
export type PhonePlatform = 'iOS' | 'Android';
export type DeviceTrust = 'trusted' | 'not trusted' | 'unknown';

/**
 * What vouches for an access device in Duo's Trusted Endpoints:
 * - `duo_mobile`: Duo Mobile activated on that same phone (phones only: it vouches for the phone's own browser);
 * - `duo_desktop`: Duo Desktop on a Windows, macOS or Linux computer registered with Duo;
 * - a device-management integration Duo checks by the identifier it has synced (desktops) or through Duo Mobile
 *   (phones): `ivanti` (Ivanti Neurons for MDM), `ivanti_epmm` (Ivanti Endpoint Manager Mobile, formerly
 *   MobileIron Core), `intune` (Microsoft Intune), `jamf` (Jamf Pro), `workspace_one` (Omnissa Workspace ONE),
 *   `google_workspace` (Google Workspace), `active_directory` (Active Directory domain-joined), `generic`
 *   (Trusted Endpoints Generic: identifiers uploaded through Duo's Device API).
 */
export type DeviceManager =
  | 'duo_mobile'
  | 'duo_desktop'
  | 'ivanti'
  | 'ivanti_epmm'
  | 'intune'
  | 'jamf'
  | 'workspace_one'
  | 'google_workspace'
  | 'active_directory'
  | 'generic';

/** The access device: the computer or phone whose browser signs in (not the phone that approves the push). */
export interface EmulatedAccessDevice {
  readonly platform: DevicePlatform;
  /** What manages (and may vouch for) the device. Absent: an unmanaged device, never trusted. */
  readonly managedBy?: DeviceManager;
  /**
   * For a desktop managed by a device-management integration: whether that integration has synced the device's
   * identifier to Duo. Default false (not synced yet: not trusted). Ignored for Duo Mobile and Duo Desktop.
   */
  readonly identifierSynced?: boolean;
  /** False: the device fails the policy's device checks (e.g. an outdated OS), so it is not trusted. Default true. */
  readonly compliant?: boolean;
  /** Reported as `access_device.hostname` (desktops; null for phones when not given). */
  readonly hostname?: string;
  /** Reported as `access_device.os_version`. Default: a recent version of the platform. */
  readonly osVersion?: string;
  /** Reported as `access_device.epkey` (`EP` + 18 characters). Default: stable per user and device. */
  readonly epkey?: string;
  /** Disk encryption, firewall and password as Duo Desktop reports them. Default: all true when Duo Desktop runs. */
  readonly health?: {
    readonly encryption?: boolean;
    readonly firewall?: boolean;
    readonly password?: boolean;
  };
  /** Reported as `access_device.security_agents` (what Duo Desktop detected). Default: `[]` with Duo Desktop. */
  readonly securityAgents?: readonly { readonly name: string; readonly version?: string }[];
}

/** Duo user statuses (Admin API `status`). */
export type UserStatus = 'active' | 'bypass' | 'disabled' | 'locked out';

/** Duo's "New User policy" for users who are not enrolled. */
export type NewUserPolicy = 'require-enrollment' | 'allow' | 'deny';

/**
 * How the emulator treats one Duo username (matched exactly as Duo receives it in `duo_uname`). Users never
 * set behave as `{ result: 'allow', enrolled: true }`. Setting a user replaces everything known about them
 * (phone, bypass codes), as deleting and re-creating them in Duo would.
 */
export interface EmulatedUser {
  /**
   * The outcome once the user completes a factor (interactive) or at once (auto). Default `allow`. `deny` issues a
   * code whose id_token says deny, as Duo does. `error` sends Duo's error redirect instead of a code
   * (`redirect_uri?error=access_denied&error_description=…&state=…`).
   */
  readonly result?: 'allow' | 'deny' | 'error';
  /** False: the interactive prompt walks through enrollment first (auto mode enrolls silently). Default true. */
  readonly enrolled?: boolean;
  /**
   * What Duo does with this user while not enrolled (Duo's New User policy): `require-enrollment` (default: the
   * enrollment pages), `allow` (in without a factor: reason `allow_unenrolled_user`), `deny` (reason
   * `deny_unenrolled_user`).
   */
  readonly newUserPolicy?: NewUserPolicy;
  /**
   * Duo's user status. `bypass`: in without a factor (reason `bypass_user`); `disabled` / `locked out`: denied
   * (reasons `user_disabled` / `locked_out`). Default `active`.
   */
  readonly status?: UserStatus;
  /** This browser is remembered by Duo's policy: in without a factor (factor and reason `remembered_device`). */
  readonly rememberedDevice?: boolean;
  /** The sign-in comes from an authorized network: in without a factor (factor and reason `trusted_network`). */
  readonly trustedNetwork?: boolean;
  /** The access device, as Duo's Trusted Endpoints and Duo Desktop see it. Default: none reported. */
  readonly accessDevice?: EmulatedAccessDevice;
  /**
   * Whether a Trusted Endpoints management integration is active for this user in Duo. False: Duo cannot say
   * (`trusted_endpoint_status` "unknown") whatever the device. Default true when an access device is given.
   */
  readonly trustedEndpoints?: boolean;
  /**
   * Shorthand kept from the first version: the sign-in comes from the browser of this phone, whose trust is
   * given directly (`trusted`: Duo Mobile vouches for it; `not trusted`: unmanaged; `unknown`: no Trusted
   * Endpoints integration). Not together with `accessDevice`.
   */
  readonly device?: { readonly platform: PhonePlatform; readonly trusted: DeviceTrust };
  /**
   * Overrides `auth_context.reason` (and, for `result: 'error'`, the `error_description`). Defaults:
   * `user_approved` for allow, `user_marked_fraud` for deny in auto mode, `denied_by_policy` when the user
   * approved in the interactive prompt but the scripted result is deny.
   */
  readonly reason?: string;
  /** Overrides `auth_context.factor`. Default `duo_push` (or what the path taken implies). */
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

export type EmulatorEndpoint = 'health' | 'authorize' | 'token' | 'admin';

/** Requests received per OIDC endpoint (every request, valid or not). Live: read the fields when needed. */
export interface EmulatorCalls {
  readonly health: number;
  readonly authorize: number;
  readonly token: number;
}

/** One request as the emulator saw it. Never carries secrets, assertions, codes, states, tokens or links. */
export interface EmulatorLogEntry {
  readonly endpoint: EmulatorEndpoint;
  readonly clientId?: string;
  readonly username?: string;
  readonly redirectUri?: string;
  /** `ok`, `redirect:allow`, `prompt`, `invalid_client:…`, `invalid_grant:…`, `fault:hang`, `40103:…`, … */
  readonly outcome: string;
  /** Emulator clock (ms since epoch, including the clock offset). */
  readonly at: number;
}

/** A text message the emulator "sent" (Admin API send_sms_activation): the emulated phone's inbox. */
export interface EmulatorSms {
  /** The phone number, E.164. */
  readonly to: string;
  readonly body: string;
  /** Emulator clock, ms. */
  readonly at: number;
}

/** A running emulator, as resolved by `startDuoEmulator()`. */
export interface DuoEmulator {
  /** `https://127.0.0.1:<port>` (or the `host` option when it names one specific interface). */
  readonly url: string;
  /** What the Duo clients take as `apiHost` (Web SDK and Admin API alike): `127.0.0.1:<port>`. */
  readonly apiHost: string;
  /** PEM of the CA that signed the server certificate (the saved one, or fresh at each start): trust it. */
  readonly ca: string;
  /** Scripts how the emulator treats `username` from now on (replaces any previous spec, phone and codes). */
  setUser(username: string, spec?: EmulatedUser): void;
  /** Injects failures until called again; `null` clears them. */
  setFault(fault: EmulatorFault | null): void;
  setMode(mode: EmulatorMode): void;
  /** Runs the emulator's clock this many seconds ahead of the real clock (negative: behind). */
  setClockOffset(seconds: number): void;
  /** Live request counters of the OIDC endpoints. */
  readonly calls: EmulatorCalls;
  /** A snapshot of what happened so far (a new frozen array at each read). */
  readonly log: readonly EmulatorLogEntry[];
  /** Text messages sent by the Admin API (activation by SMS), oldest first (a new frozen array at each read). */
  readonly sms: readonly EmulatorSms[];
  /** Stops listening, drops every connection (hanging ones included) and clears every timer. */
  close(): Promise<void>;
}
