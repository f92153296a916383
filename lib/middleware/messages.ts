// Plain-words explanations of what Duo reported, for people who meet an error page (advice per error code lives
// with the codes in lib/errors.ts).

/** Duo Trusted Endpoints deny reasons (auth_context.reason): all shown on the "device not trusted" page. */
export const DEVICE_DENY_REASONS = wordsFor({
  endpoint_is_not_trusted: 'Duo reports that this device is not one your organization trusts.',
  endpoint_is_not_in_management_system:
    'This device is not enrolled in your organization’s device management system (MDM).',
  could_not_determine_if_endpoint_was_trusted: 'Duo could not check whether this device is trusted.',
  no_duo_certificate_present: 'This device does not have your organization’s Duo device certificate.',
  endpoint_failed_google_verification: 'This device failed Google’s endpoint verification.',
  invalid_management_certificate_collection_state:
    'The device management certificate on this device could not be read.',
});

/** Other Duo deny reasons worth their own words. */
export const DENY_REASONS = wordsFor({
  user_marked_fraud: 'The sign-in request was reported as fraudulent from your phone.',
  no_response: 'The push was not answered in time.',
  user_cancelled: 'The sign-in was cancelled.',
  user_denied: 'The sign-in request was denied from your phone.',
  user_mistake: 'You denied the sign-in request on your phone.',
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
});

/** Duo's callback `error` values, in plain words; anything else is shown as a generic error. */
export const CALLBACK_ERRORS = wordsFor({
  access_denied: 'Duo denied the sign-in.',
  invalid_request: 'Duo could not process the sign-in request.',
  unauthorized_client: 'This application is not allowed to use Duo.',
  server_error: 'Duo had a problem completing the sign-in.',
  temporarily_unavailable: 'Duo is temporarily unavailable.',
});

/**
 * A table of plain words looked up by a code that comes from outside (Duo's redirect, Duo's answer): no prototype,
 * so a code such as "constructor" or "__proto__" finds nothing rather than an object's own text.
 */
function wordsFor(entries: Record<string, string>): Readonly<Record<string, string | undefined>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, string>, entries));
}
