// The names of what can vouch for an access device in Duo's Trusted Endpoints, as people read them.

/** Display names of the management codes a Duo result may carry (see docs/emulator.md, "Access devices"). */
const MANAGER_NAMES: Readonly<Record<string, string>> = {
  duo_mobile: 'Duo Mobile',
  duo_desktop: 'Duo Desktop',
  ivanti: 'Ivanti Neurons for MDM',
  ivanti_epmm: 'Ivanti Endpoint Manager Mobile',
  intune: 'Microsoft Intune',
  jamf: 'Jamf Pro',
  workspace_one: 'Omnissa Workspace ONE',
  google_workspace: 'Google Workspace',
  active_directory: 'Active Directory (domain-joined)',
  generic: 'Trusted Endpoints Generic (Device API)',
};

/**
 * The name people know a management code by (`ivanti` → "Ivanti Neurons for MDM"); an unknown code is shown as
 * it came, since Duo may add integrations.
 *
 * @example
 * ```ts
 * managerName('duo_desktop'); // 'Duo Desktop'
 * managerName('kandji'); // 'kandji'
 * ```
 */
export function managerName(code: string): string {
  return Object.prototype.hasOwnProperty.call(MANAGER_NAMES, code) ? MANAGER_NAMES[code]! : code;
}
