// Plain-words explanations for people who meet an error page: Duo's deny reasons and our own error codes.

import type { DuoMfaErrorCode } from '../errors';

/** Duo Trusted Endpoints deny reasons (auth_context.reason): all shown on the "device not trusted" page. */
export const DEVICE_DENY_REASONS: Readonly<Record<string, string>> = {
  endpoint_is_not_trusted: 'Duo reports that this device is not one your organization trusts.',
  endpoint_is_not_in_management_system:
    'This device is not enrolled in your organization’s device management system (MDM).',
  could_not_determine_if_endpoint_was_trusted: 'Duo could not check whether this device is trusted.',
  no_duo_certificate_present: 'This device does not have your organization’s Duo device certificate.',
  endpoint_failed_google_verification: 'This device failed Google’s endpoint verification.',
  invalid_management_certificate_collection_state:
    'The device management certificate on this device could not be read.',
};

/** Other Duo deny reasons worth their own words. */
export const DENY_REASONS: Readonly<Record<string, string>> = {
  user_marked_fraud: 'The sign-in request was reported as fraudulent from your phone.',
  no_response: 'The push was not answered in time.',
  user_cancelled: 'The sign-in was cancelled.',
  user_denied: 'The sign-in request was denied from your phone.',
  deny_unenrolled_user: 'Your account is not enrolled in Duo yet, and your organization requires it.',
  locked_out: 'Your Duo account is locked after too many failed attempts.',
  user_disabled: 'Your Duo account is disabled.',
  denied_by_policy: 'Your organization’s Duo policy does not allow this sign-in.',
  location_restricted: 'Sign-ins from your current location are not allowed.',
  platform_restricted: 'Sign-ins from this type of device or operating system are not allowed.',
  version_restricted: 'This browser or operating system version is not allowed.',
  out_of_date: 'Your browser, operating system or Duo Mobile app is out of date.',
  no_screen_lock: 'Your phone needs a screen lock before it can be used with Duo.',
  rooted_device: 'Your phone appears to be rooted or jailbroken, which your organization does not allow.',
  no_disk_encryption: 'This device needs disk encryption turned on.',
  invalid_passcode: 'The passcode was not valid.',
};

/** What the person can do next, per error code. */
export const WHAT_TO_DO: Partial<Record<DuoMfaErrorCode, string>> = {
  ERR_DUO_UNAVAILABLE:
    'Duo, the sign-in verification service, cannot be reached right now. Please try again in a few minutes.',
  ERR_DUO_TIMEOUT:
    'Duo, the sign-in verification service, is not answering right now. Please try again in a few minutes.',
  ERR_DUO_CREDENTIALS:
    'Sign-in verification is misconfigured for your organization. Please tell your administrator.',
  ERR_DUO_CODE_REJECTED: 'Please sign in again.',
  ERR_DUO_TOKEN_INVALID: 'Please sign in again. If this keeps happening, contact your administrator.',
  ERR_DUO_CLOCK_SKEW: 'Please tell your administrator: this server’s clock needs fixing (NTP).',
  ERR_DUO_USERNAME_MISMATCH: 'Please sign in again with your own account.',
  ERR_DUO_DENIED: 'If you did not start this sign-in, tell your administrator. Otherwise, sign in again.',
  ERR_DUO_DEVICE_UNTRUSTED:
    'Use a device your organization manages, or enroll this device (install Duo Mobile / your organization’s device management), or contact your administrator.',
  ERR_DUO_CALLBACK_ERROR: 'Please sign in again. If this keeps happening, contact your administrator.',
  ERR_DUO_CALLBACK_INVALID: 'Please sign in again from the start.',
  ERR_DUO_NO_PENDING_LOGIN:
    'This sign-in link was already used or belongs to another browser. Please sign in again.',
  ERR_DUO_STATE_MISMATCH: 'Please sign in again from the start, in this browser.',
  ERR_DUO_STATE_EXPIRED: 'More than 10 minutes passed. Please sign in again.',
  ERR_DUO_USERNAME_INVALID:
    'Your username contains characters or a length that cannot be used with Duo. Please contact your administrator.',
  ERR_DUO_UNKNOWN_TENANT:
    'Your organization has not been set up for sign-in. Please contact your administrator.',
  ERR_DUO_CHALLENGE_LIMIT:
    'Too many verification requests were sent to your phone. Wait 15 minutes before trying again; if you did not ask for them, tell your administrator.',
  ERR_STORE_UNAVAILABLE: 'Sign-in is temporarily unavailable. Please try again in a minute.',
  ERR_SESSION_SAVE_FAILED: 'Your sign-in could not be saved. Please try again in a minute.',
  ERR_SESSION_MISSING: 'Sign-in is temporarily unavailable. Please try again in a minute.',
};

/** Duo's callback `error` values, in plain words; anything else is shown as a generic error. */
export const CALLBACK_ERRORS: Readonly<Record<string, string>> = {
  access_denied: 'Duo denied the sign-in.',
  invalid_request: 'Duo could not process the sign-in request.',
  unauthorized_client: 'This application is not allowed to use Duo.',
  server_error: 'Duo had a problem completing the sign-in.',
  temporarily_unavailable: 'Duo is temporarily unavailable.',
};
