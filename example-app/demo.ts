// The demo's customers and staff: who can sign in, with which password, and which MFA rule each one shows.
// The rules themselves live in duo-mfa.json; this file only names the people the rules are about.

import type { DuoEmulator, EmulatedUser } from 'express-duo-mfa/emulator';
import type { StaffSeed } from './staff';

/** The portal's customers. Ids are the tenant ids of the MFA policy file. */
export const TENANTS: ReadonlyArray<{ readonly id: string; readonly name: string }> = [
  { id: 'acme', name: 'Acme Corp' },
  { id: 'globex', name: 'Globex' },
];

/** Every demo login uses this password (printed at start; the directory keeps only scrypt hashes of it). */
export const DEMO_PASSWORD = 'demo1234';

/** A demo login: the staff member, what they demonstrate, and how the offline Duo emulator treats them. */
export interface DemoLogin extends StaffSeed {
  readonly demonstrates: string;
  /** How the emulator behaves for this person (first-time enrollment, an untrusted device…). */
  readonly duo?: EmulatedUser;
}

export const DEMO_LOGINS: readonly DemoLogin[] = [
  {
    username: 'alice',
    tenant: 'acme',
    roles: ['admin'],
    name: 'Alice Admin',
    password: DEMO_PASSWORD,
    demonstrates: 'role "admin" is in rolesIncluded: Duo Push at sign-in; opens Admin Tools → MFA Settings',
  },
  {
    username: 'grace',
    tenant: 'acme',
    roles: ['finance'],
    name: 'Grace Finance',
    password: DEMO_PASSWORD,
    demonstrates: 'first-time enrollment: role "finance" is included and Duo has not enrolled her yet',
    duo: { enrolled: false },
  },
  {
    username: 'dana',
    tenant: 'acme',
    roles: ['support'],
    name: 'Dana Support',
    password: DEMO_PASSWORD,
    demonstrates:
      'staffIncluded: asked although her role is not (press Deny or Report fraud: the denied page, and she is signed out)',
  },
  {
    username: 'erin',
    tenant: 'acme',
    roles: ['finance', 'it'],
    name: 'Erin Payroll IT',
    password: DEMO_PASSWORD,
    demonstrates:
      'trusted-endpoints test group (role "it", monitor): signs in from her unmanaged laptop — "not trusted" although she approves on her phone; recorded, let in',
    // Duo Mobile on her phone vouches only for the phone's own browser: the laptop she signs in from is unmanaged.
    duo: { accessDevice: { platform: 'Windows', hostname: 'ERIN-HOME-PC' } },
  },
  {
    username: 'ivan',
    tenant: 'acme',
    roles: ['finance', 'it'],
    name: 'Ivan Payroll IT',
    password: DEMO_PASSWORD,
    demonstrates:
      'trusted-endpoints test group: signs in from a company laptop managed by Ivanti, its identifier synced to Duo — "trusted"',
    duo: {
      accessDevice: {
        platform: 'Windows',
        managedBy: 'ivanti',
        identifierSynced: true,
        hostname: 'LAPTOP-ACME-042',
      },
    },
  },
  {
    username: 'mia',
    tenant: 'acme',
    roles: ['finance', 'it'],
    name: 'Mia Payroll IT',
    password: DEMO_PASSWORD,
    demonstrates:
      'trusted-endpoints test group: signs in from her iPhone’s own browser, Duo Mobile activated on it — "trusted"',
    duo: { accessDevice: { platform: 'iOS', managedBy: 'duo_mobile' } },
  },
  {
    username: 'kiosk-1',
    tenant: 'acme',
    roles: ['kiosk'],
    name: 'Front-desk kiosk',
    password: DEMO_PASSWORD,
    demonstrates: 'staffExcluded: never asked for Duo',
  },
  {
    username: 'frank',
    tenant: 'acme',
    roles: ['finance'],
    name: 'Frank Finance',
    password: DEMO_PASSWORD,
    demonstrates:
      'temporaryBypass (new phone): not asked until the date in the file; alice can send him a Duo Mobile reactivation',
    // Enrolled in Duo (his old phone): what "Send reactivation" resets.
    duo: {},
  },
  {
    username: 'nora',
    tenant: 'acme',
    roles: ['sales'],
    name: 'Nora Sales',
    password: DEMO_PASSWORD,
    demonstrates:
      'newly included: not asked until alice adds role "sales"; with a grace period date ahead she may choose Remind me later',
    // New to Duo: once the grace period is over, her first Duo sign-in enrolls her phone.
    duo: { enrolled: false },
  },
  {
    username: 'carol',
    tenant: 'acme',
    roles: ['support'],
    name: 'Carol Support',
    password: DEMO_PASSWORD,
    demonstrates: 'in no list: not asked (rolesIncluded / staffIncluded name who is)',
  },
  {
    username: 'gina',
    tenant: 'globex',
    roles: ['admin'],
    name: 'Gina Admin',
    password: DEMO_PASSWORD,
    demonstrates: 'a tenant with MFA off: no one at Globex is asked; opens Globex’s MFA Settings',
  },
];

/**
 * Tells the offline emulator how to treat the demo staff (Duo usernames are the lower-cased usernames).
 *
 * @example
 * ```ts
 * const duo = await startDuoEmulator({ applications, mode: 'interactive' });
 * scriptDemoUsers(duo); // grace enrolls first; erin's laptop is "not trusted", ivan's and mia's devices "trusted"
 * ```
 */
export function scriptDemoUsers(emulator: Pick<DuoEmulator, 'setUser'>): void {
  for (const login of DEMO_LOGINS) {
    if (login.duo) emulator.setUser(login.username.toLowerCase(), login.duo);
  }
}
