// Whether Duo really asked the person: remembered devices, bypass users and codes, trusted networks and allowed
// unenrolled users let a sign-in through without a live factor, which is not enough for a step-up.

/** `auth_context.factor` values (normalised) that mean no live authentication happened. */
const NOT_LIVE_FACTORS: ReadonlySet<string> = new Set([
  'remembered_device',
  'bypass_code',
  'bypass',
  'trusted_network',
  'not_available',
]);

/** `auth_context.reason` values that mean Duo let the sign-in through without asking. */
const NOT_LIVE_REASONS: ReadonlySet<string> = new Set([
  'remembered_device',
  'bypass_user',
  'allow_unenrolled_user',
  'allow_unenrolled_user_on_trusted_network',
  'allowed_by_policy',
  'trusted_network',
  'trusted_location',
]);

/** Duo writes factors as codes ("bypass_code") or words ("Bypass Code"): compare one form. */
function normal(value: string | undefined): string {
  return (value ?? '')
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

/**
 * True when the verification came from a live factor (a push approved, a passcode or call answered…). Unknown
 * factors (Duo also reports free text such as "WebAuthn Chrome Touch ID") count as live; only the documented ways
 * through without a factor do not.
 *
 * @example hasLiveFactor('duo_push', 'user_approved') // true
 * @example hasLiveFactor('remembered_device', 'remembered_device') // false
 */
export function hasLiveFactor(factor: string | undefined, reason: string | undefined): boolean {
  return !NOT_LIVE_FACTORS.has(normal(factor)) && !NOT_LIVE_REASONS.has(normal(reason));
}
