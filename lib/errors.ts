// The one error class of express-duo-mfa: a stable `code` callers match on, the HTTP `status` it answers with.

/**
 * Every code express-duo-mfa can raise, with the HTTP status it answers with, a short title and what the person
 * who meets it can do (both shown on the default error page, and there for host apps that render their own).
 * docs/errors.md lists the same table; a test keeps the two in step.
 */
export const ERROR_CODES = {
  // Set-up (thrown at start-up, never at request time)
  ERR_DUO_CONFIG: {
    status: 500,
    title: 'Duo is not configured correctly',
    advice: 'Sign-in verification is misconfigured. Please tell your administrator.',
  },
  ERR_DUO_CLIENT_INCOMPATIBLE: {
    status: 500,
    title: 'Unsupported Duo client version',
    advice: 'Sign-in verification is misconfigured. Please tell your administrator.',
  },
  ERR_POLICY_INVALID: {
    status: 500,
    title: 'The MFA policy file is invalid',
    advice: 'Sign-in settings are invalid. Please tell your administrator.',
  },
  ERR_SESSION_MISSING: {
    status: 503,
    title: 'Sign-in is temporarily unavailable',
    advice: 'Sign-in is temporarily unavailable. Please try again in a minute.',
  },
  // Anything unexpected (a bug, a throwing callback): never dressed up as an outage of something else
  ERR_INTERNAL: {
    status: 500,
    title: 'Something went wrong',
    advice: 'Please try again. If this keeps happening, tell your administrator.',
  },

  // Duo availability (before the redirect: the tenant's failmode applies)
  ERR_DUO_UNAVAILABLE: {
    status: 503,
    title: 'Duo is unavailable',
    advice:
      'Duo, the sign-in verification service, cannot be reached right now. Please try again in a few minutes.',
  },
  ERR_DUO_TIMEOUT: {
    status: 503,
    title: 'Duo did not answer in time',
    advice:
      'Duo, the sign-in verification service, is not answering right now. Please try again in a few minutes.',
  },
  // Our own misconfiguration found by the health check: always closed, never the tenant's failmode
  ERR_DUO_CREDENTIALS: {
    status: 503,
    title: 'Duo refused this application’s credentials',
    advice: 'Sign-in verification is misconfigured for your organization. Please tell your administrator.',
  },
  ERR_DUO_TLS: {
    status: 503,
    title: 'Duo’s certificate could not be verified',
    advice:
      'Sign-in verification is misconfigured for your organization, or the connection to Duo is being intercepted. Please tell your administrator.',
  },
  ERR_DUO_PROXY_REFUSED: {
    status: 503,
    title: 'The outbound proxy refused to connect to Duo',
    advice:
      'Sign-in verification is misconfigured for your organization (Duo’s address, or the network’s proxy). Please tell your administrator.',
  },
  ERR_DUO_HOST_NOT_FOUND: {
    status: 503,
    title: 'Duo’s host name does not exist',
    advice:
      'Sign-in verification is misconfigured for your organization (Duo’s address is wrong). Please tell your administrator.',
  },

  // After the redirect: always denied
  ERR_DUO_CODE_REJECTED: {
    status: 401,
    title: 'Duo did not accept this sign-in',
    advice: 'Please sign in again.',
  },
  ERR_DUO_TOKEN_INVALID: {
    status: 401,
    title: 'Duo’s answer could not be verified',
    advice: 'Please sign in again. If this keeps happening, contact your administrator.',
  },
  ERR_DUO_CLOCK_SKEW: {
    status: 503,
    title: 'This server’s clock is wrong',
    advice: 'Please tell your administrator: this server’s clock needs fixing (NTP).',
  },
  ERR_DUO_USERNAME_MISMATCH: {
    status: 401,
    title: 'Duo verified a different user',
    advice: 'Please sign in again with your own account.',
  },
  ERR_DUO_DENIED: {
    status: 403,
    title: 'Duo denied this sign-in',
    advice: 'If you did not start this sign-in, tell your administrator. Otherwise, sign in again.',
  },
  ERR_DUO_FRESH_FACTOR_REQUIRED: {
    status: 403,
    title: 'This action needs a fresh Duo verification',
    advice:
      'Duo let this sign-in through without asking you (a remembered device or a bypass), which is not enough for this action. Ask your administrator if this keeps happening.',
  },
  ERR_DUO_DEVICE_UNTRUSTED: {
    status: 403,
    title: 'This device is not trusted by your organization',
    advice:
      'Use a device your organization manages, or enroll this device (install Duo Mobile / your organization’s device management), or contact your administrator.',
  },
  ERR_DUO_CALLBACK_ERROR: {
    status: 403,
    title: 'Duo reported an error',
    advice: 'Please sign in again. If this keeps happening, contact your administrator.',
  },

  // The callback request itself
  ERR_DUO_CALLBACK_INVALID: {
    status: 400,
    title: 'This sign-in link is not valid',
    advice: 'Please sign in again from the start.',
  },
  ERR_DUO_NO_PENDING_LOGIN: {
    status: 400,
    title: 'No sign-in is in progress',
    advice: 'This sign-in link was already used or belongs to another browser. Please sign in again.',
  },
  ERR_DUO_STATE_MISMATCH: {
    status: 400,
    title: 'This sign-in link does not match your session',
    advice: 'Please sign in again from the start, in this browser.',
  },
  ERR_DUO_STATE_EXPIRED: {
    status: 400,
    title: 'This sign-in took too long',
    advice: 'More than 10 minutes passed. Please sign in again.',
  },

  // Gate decisions
  ERR_DUO_MFA_REQUIRED: {
    status: 401,
    title: 'Two-factor authentication required',
    advice: 'Please sign in first.',
  },
  ERR_DUO_USERNAME_INVALID: {
    status: 400,
    title: 'This account cannot use two-factor sign-in',
    advice:
      'Your username contains characters or a length that cannot be used with Duo. Please contact your administrator.',
  },
  ERR_DUO_UNKNOWN_TENANT: {
    status: 403,
    title: 'Your organization is not set up for sign-in',
    advice: 'Your organization has not been set up for sign-in. Please contact your administrator.',
  },
  ERR_DUO_CHALLENGE_LIMIT: {
    status: 429,
    title: 'Too many sign-in attempts',
    advice:
      'Too many verification requests were sent to your phone. Wait 15 minutes before trying again; if you did not ask for them, tell your administrator.',
  },
  ERR_DUO_START_REFUSED: {
    status: 403,
    title: 'This sign-in request did not come from this site',
    advice: 'Open this site directly (not from a link on another site) and sign in again.',
  },
  ERR_POLICY_UNAVAILABLE: {
    status: 503,
    title: 'Your organization’s sign-in settings cannot be loaded',
    advice:
      'Your organization’s sign-in settings cannot be loaded right now. Please try again in a minute; if this keeps happening, tell your administrator.',
  },

  // Tenant self-service settings (mfa.settings / updateSettings / settingsRouter)
  ERR_SETTINGS_CONFLICT: {
    status: 409,
    title: 'Someone else changed these settings first',
    advice: 'Reload the settings to see the latest version, then make your change again.',
  },
  ERR_SETTINGS_READ_ONLY: {
    status: 405,
    title: 'These settings cannot be changed here',
    advice:
      'These settings come from a fixed configuration: ask whoever operates this application to change them.',
  },
  ERR_SETTINGS_REQUEST_INVALID: {
    status: 400,
    title: 'This settings request is not valid',
    advice: 'Send the change as JSON from this application’s own pages.',
  },
  ERR_SETTINGS_TEST_LIMIT: {
    status: 429,
    title: 'Too many configuration tests',
    advice: 'Wait a minute, then press Test configuration again.',
  },
  ERR_SECRETS_KEY_MISSING: {
    status: 422,
    title: 'Secrets cannot be stored without a secretsKey',
    advice: 'Ask whoever operates this application to configure a secretsKey (DUO_MFA_SECRETS_KEY).',
  },
  ERR_FORBIDDEN: {
    status: 403,
    title: 'You may not manage this organization’s settings',
    advice: 'Ask an administrator of your organization.',
  },

  // Duo Admin API (staff status, reactivation, bypass codes)
  ERR_ADMIN_API_NOT_CONFIGURED: {
    status: 409,
    title: 'No Duo Admin API application is configured',
    advice: 'Add a Duo Admin API application to your organization’s MFA settings first.',
  },
  ERR_ADMIN_API_CREDENTIALS: {
    status: 502,
    title: 'Duo refused the Admin API credentials',
    advice: 'Check the Admin API integration key, secret key and API hostname in your MFA settings.',
  },
  ERR_ADMIN_API_PERMISSION: {
    status: 502,
    title: 'The Duo Admin API application lacks a permission',
    advice:
      'In the Duo Admin Panel, give the Admin API application the permission it needs (see the documentation).',
  },
  ERR_ADMIN_API_USER_NOT_FOUND: {
    status: 404,
    title: 'This person is not in Duo',
    advice: 'Check the username, or add this person in Duo first.',
  },
  ERR_ADMIN_API_NO_PHONE: {
    status: 409,
    title: 'This person has no phone Duo can reactivate',
    advice: 'They will enroll a phone at their next Duo sign-in; a bypass code can help them in meanwhile.',
  },
  ERR_ADMIN_API_RATE_LIMITED: {
    status: 429,
    title: 'Duo is rate limiting Admin API calls',
    advice: 'Wait a minute and try again.',
  },
  ERR_ADMIN_API_UNAVAILABLE: {
    status: 503,
    title: 'The Duo Admin API is unavailable',
    advice: 'Duo cannot be reached right now. Please try again in a few minutes.',
  },

  // Stores
  ERR_STORE_UNAVAILABLE: {
    status: 503,
    title: 'Sign-in is temporarily unavailable',
    advice: 'Sign-in is temporarily unavailable. Please try again in a minute.',
  },
  ERR_SESSION_SAVE_FAILED: {
    status: 503,
    title: 'Your session could not be saved',
    advice: 'Your sign-in could not be saved. Please try again in a minute.',
  },
} as const satisfies Record<string, { status: number; title: string; advice: string }>;

export type DuoMfaErrorCode = keyof typeof ERROR_CODES;

export interface DuoMfaErrorOptions {
  /** The underlying error, kept for logs (never shown to end users). */
  cause?: unknown;
  /**
   * Structured, non-secret facts for the caller (e.g. Duo's deny reason, a policy problem list). `explanation`,
   * when present, is plain text for people (it may quote Duo's own words): escape it when you render it.
   */
  details?: Record<string, unknown>;
  /** Answer with this status instead of the code's usual one (e.g. 405 for a wrong method). */
  status?: number;
}

/**
 * The error every part of express-duo-mfa throws or passes to `next()`. Match on `code`, not on `message`. A
 * failure at request time reaches your error handler mounted after `duoMfa()`; without one (or when yours
 * calls `next(err)`), the middleware's own page answers.
 *
 * @example
 * ```ts
 * app.use((err, req, res, next) => {
 *   if (!isDuoMfaError(err)) return next(err);
 *   res.status(err.status).render('error', { title: err.title, advice: err.advice, code: err.code });
 * });
 * ```
 */
export class DuoMfaError extends Error {
  override readonly name = 'DuoMfaError';
  readonly code: DuoMfaErrorCode;
  /** HTTP status the middleware answers with for this error. */
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: DuoMfaErrorCode, message: string, options: DuoMfaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? ERROR_CODES[code].status;
    this.details = Object.freeze({ ...options.details });
  }

  /** A short title for people, e.g. "Duo is unavailable". */
  get title(): string {
    return ERROR_CODES[this.code].title;
  }

  /** What the person who meets this error can do next, in plain words. */
  get advice(): string {
    return ERROR_CODES[this.code].advice;
  }
}

/** True when `value` is a DuoMfaError, optionally with one of `codes` (works across duplicate installs). */
export function isDuoMfaError(value: unknown, ...codes: DuoMfaErrorCode[]): value is DuoMfaError {
  if (!(value instanceof Error) || value.name !== 'DuoMfaError') return false;
  const code = (value as { code?: unknown }).code;
  if (typeof code !== 'string' || !(code in ERROR_CODES)) return false;
  return codes.length === 0 || codes.includes(code as DuoMfaErrorCode);
}
