// The one error class of express-duo-mfa: a stable `code` callers match on, the HTTP `status` it answers with.

/**
 * Every code express-duo-mfa can raise, with the HTTP status it answers with and a short title shown to
 * people on the error page. docs/errors.md lists the same table; a test keeps the two in step.
 */
export const ERROR_CODES = {
  // Set-up (thrown at start-up, never at request time)
  ERR_DUO_CONFIG: { status: 500, title: 'Duo is not configured correctly' },
  ERR_DUO_CLIENT_INCOMPATIBLE: { status: 500, title: 'Unsupported Duo client version' },
  ERR_POLICY_INVALID: { status: 500, title: 'The MFA policy file is invalid' },
  ERR_SESSION_MISSING: { status: 503, title: 'Sign-in is temporarily unavailable' },
  // Anything unexpected (a bug, a throwing callback): never dressed up as an outage of something else
  ERR_INTERNAL: { status: 500, title: 'Something went wrong' },

  // Duo availability (before the redirect: the tenant's failmode applies)
  ERR_DUO_UNAVAILABLE: { status: 503, title: 'Duo is unavailable' },
  ERR_DUO_TIMEOUT: { status: 503, title: 'Duo did not answer in time' },
  // Our own misconfiguration found by the health check: always closed, never the tenant's failmode
  ERR_DUO_CREDENTIALS: { status: 503, title: 'Duo refused this application’s credentials' },
  ERR_DUO_TLS: { status: 503, title: 'Duo’s certificate could not be verified' },
  ERR_DUO_HOST_NOT_FOUND: { status: 503, title: 'Duo’s host name does not exist' },

  // After the redirect: always denied
  ERR_DUO_CODE_REJECTED: { status: 401, title: 'Duo did not accept this sign-in' },
  ERR_DUO_TOKEN_INVALID: { status: 401, title: 'Duo’s answer could not be verified' },
  ERR_DUO_CLOCK_SKEW: { status: 503, title: 'This server’s clock is wrong' },
  ERR_DUO_USERNAME_MISMATCH: { status: 401, title: 'Duo verified a different user' },
  ERR_DUO_DENIED: { status: 403, title: 'Duo denied this sign-in' },
  ERR_DUO_DEVICE_UNTRUSTED: { status: 403, title: 'This device is not trusted by your organization' },
  ERR_DUO_CALLBACK_ERROR: { status: 403, title: 'Duo reported an error' },

  // The callback request itself
  ERR_DUO_CALLBACK_INVALID: { status: 400, title: 'This sign-in link is not valid' },
  ERR_DUO_NO_PENDING_LOGIN: { status: 400, title: 'No sign-in is in progress' },
  ERR_DUO_STATE_MISMATCH: { status: 400, title: 'This sign-in link does not match your session' },
  ERR_DUO_STATE_EXPIRED: { status: 400, title: 'This sign-in took too long' },

  // Gate decisions
  ERR_DUO_MFA_REQUIRED: { status: 401, title: 'Two-factor authentication required' },
  ERR_DUO_USERNAME_INVALID: { status: 400, title: 'This account cannot use two-factor sign-in' },
  ERR_DUO_UNKNOWN_TENANT: { status: 403, title: 'Your organization is not set up for sign-in' },
  ERR_DUO_CHALLENGE_LIMIT: { status: 429, title: 'Too many sign-in attempts' },
  ERR_DUO_START_REFUSED: { status: 403, title: 'This sign-in request did not come from this site' },
  ERR_POLICY_UNAVAILABLE: { status: 503, title: 'Your organization’s sign-in settings cannot be loaded' },

  // Tenant self-service settings (mfa.settings / updateSettings / settingsRouter)
  ERR_SETTINGS_CONFLICT: { status: 409, title: 'Someone else changed these settings first' },
  ERR_SETTINGS_READ_ONLY: { status: 405, title: 'These settings cannot be changed here' },
  ERR_SETTINGS_REQUEST_INVALID: { status: 400, title: 'This settings request is not valid' },
  ERR_SECRETS_KEY_MISSING: { status: 422, title: 'Secrets cannot be stored without a secretsKey' },
  ERR_FORBIDDEN: { status: 403, title: 'You may not manage this organization’s settings' },

  // Duo Admin API (staff status, reactivation, bypass codes)
  ERR_ADMIN_API_NOT_CONFIGURED: { status: 409, title: 'No Duo Admin API application is configured' },
  ERR_ADMIN_API_CREDENTIALS: { status: 502, title: 'Duo refused the Admin API credentials' },
  ERR_ADMIN_API_PERMISSION: { status: 502, title: 'The Duo Admin API application lacks a permission' },
  ERR_ADMIN_API_USER_NOT_FOUND: { status: 404, title: 'This person is not in Duo' },
  ERR_ADMIN_API_NO_PHONE: { status: 409, title: 'This person has no phone Duo can reactivate' },
  ERR_ADMIN_API_RATE_LIMITED: { status: 429, title: 'Duo is rate limiting Admin API calls' },
  ERR_ADMIN_API_UNAVAILABLE: { status: 503, title: 'The Duo Admin API is unavailable' },

  // Stores
  ERR_STORE_UNAVAILABLE: { status: 503, title: 'Sign-in is temporarily unavailable' },
  ERR_SESSION_SAVE_FAILED: { status: 503, title: 'Your session could not be saved' },
} as const satisfies Record<string, { status: number; title: string }>;

export type DuoMfaErrorCode = keyof typeof ERROR_CODES;

export interface DuoMfaErrorOptions {
  /** The underlying error, kept for logs (never shown to end users). */
  cause?: unknown;
  /** Structured, non-secret facts for the caller (e.g. Duo's deny reason, a policy problem list). */
  details?: Record<string, unknown>;
}

/**
 * The error every part of express-duo-mfa throws or passes to `next()`. Match on `code`, not on `message`.
 *
 * @example
 * ```ts
 * app.use((err, req, res, next) => {
 *   if (err instanceof DuoMfaError && err.code === 'ERR_STORE_UNAVAILABLE') return res.status(503).send('Try again');
 *   next(err);
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
    this.status = ERROR_CODES[code].status;
    this.details = Object.freeze({ ...options.details });
  }
}

/** True when `value` is a DuoMfaError, optionally with one of `codes` (works across duplicate installs). */
export function isDuoMfaError(value: unknown, ...codes: DuoMfaErrorCode[]): value is DuoMfaError {
  if (!(value instanceof Error) || value.name !== 'DuoMfaError') return false;
  const code = (value as { code?: unknown }).code;
  if (typeof code !== 'string' || !(code in ERROR_CODES)) return false;
  return codes.length === 0 || codes.includes(code as DuoMfaErrorCode);
}
