// express-duo-mfa/emulator: an offline HTTPS Duo (OIDC Auth API + Universal Prompt stand-in + the Admin API calls
// staff onboarding uses) that the unmodified Duo clients accept, for tests, the example app and offline work.

import { isIP } from 'node:net';
import { installAdminApi } from './admin';
import { createEmulatorCa as makeCa, generateCertificates } from './certificates';
import { assertClockOffset, assertMode, parseFault, parseOptions, parseUser } from './options';
import { createEmulatorServer } from './server';
import { EmulatorState } from './state';
import type { DuoEmulator, DuoEmulatorOptions, EmulatorCalls, EmulatorCertificateAuthority } from './types';

export type {
  DeviceManager,
  DevicePlatform,
  DeviceTrust,
  DuoEmulator,
  DuoEmulatorOptions,
  EmulatedAccessDevice,
  EmulatedUser,
  EmulatorAdminApplication,
  EmulatorApplication,
  EmulatorCalls,
  EmulatorCertificateAuthority,
  EmulatorEndpoint,
  EmulatorFault,
  EmulatorLogEntry,
  EmulatorMode,
  EmulatorSms,
  HealthFault,
  NewUserPolicy,
  PhonePlatform,
  TokenFault,
  UserStatus,
} from './types';

/**
 * Makes a certificate authority for the emulator (EC P-256, valid for five years). Save both PEMs and pass them
 * to `startDuoEmulator({ certificateAuthority })` so everything that trusts the CA keeps working across restarts.
 *
 * @example
 * ```ts
 * import { createEmulatorCa, startDuoEmulator } from 'express-duo-mfa/emulator';
 *
 * const ca = existsSync('ca.json') ? JSON.parse(readFileSync('ca.json', 'utf8')) : await createEmulatorCa();
 * writeFileSync('ca.json', JSON.stringify(ca), { mode: 0o600 });
 * const duo = await startDuoEmulator({ applications, certificateAuthority: ca });
 * ```
 */
export async function createEmulatorCa(): Promise<EmulatorCertificateAuthority> {
  return makeCa();
}

/**
 * Starts the Duo emulator and resolves once it listens. Trust its CA (`ca`), e.g. with
 * `duoMfa({ duoTls: { ca: emulator.ca } })`, and use `apiHost` as the tenant's Duo apiHost. The CA is fresh at
 * every start unless `certificateAuthority` hands back a saved one.
 *
 * Options are validated up front (TypeError): `applications` (clientId of 20 characters, clientSecret of 40),
 * `adminApplications` (integrationKey of 20, secretKey of 40), `mode` (`interactive` default, or `auto`),
 * `port` (default 0), `host` (default 127.0.0.1), `certificateAuthority` (`{ cert, key }` from createEmulatorCa).
 *
 * @example
 * ```ts
 * import { startDuoEmulator } from 'express-duo-mfa/emulator';
 *
 * const duo = await startDuoEmulator({
 *   applications: [{ clientId: 'DIABCDEFGHIJKLMNOPQR', clientSecret: 's'.repeat(40) }],
 *   mode: 'auto',
 * });
 * duo.setUser('alice', { accessDevice: { platform: 'Windows', managedBy: 'duo_desktop' } });
 * duo.setUser('bob', { rememberedDevice: true });
 * duo.setFault({ health: 'hang' }); // … and duo.setFault(null) to clear it
 * console.log(duo.apiHost, duo.calls.token);
 * await duo.close();
 * ```
 */
export async function startDuoEmulator(options: DuoEmulatorOptions): Promise<DuoEmulator> {
  const resolved = parseOptions(options);
  const state = new EmulatorState(resolved.applications, resolved.adminApplications, resolved.mode);
  const host = resolved.host.trim();
  const certificates = await generateCertificates({
    extraNames: [host],
    ...(resolved.certificateAuthority ? { ca: resolved.certificateAuthority } : {}),
  });
  const { server, close } = createEmulatorServer(
    state,
    { key: certificates.serverKey, cert: certificates.serverCert },
    [(app) => installAdminApi(app, state)],
  );

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(resolved.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : resolved.port;
  const apiHost = `${publicHost(host)}:${port}`;
  state.hosts = [...new Set([apiHost, `127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`])];

  // A read-only live view of the counters: reads see current values, writes throw (strict mode).
  const calls: EmulatorCalls = new Proxy(state.counts, {
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });

  return Object.freeze({
    url: `https://${apiHost}`,
    apiHost,
    ca: certificates.caCert,
    setUser(username: string, spec?: Parameters<DuoEmulator['setUser']>[1]) {
      state.setUser(username, parseUser(username, spec));
    },
    setFault(fault: Parameters<DuoEmulator['setFault']>[0]) {
      state.fault = parseFault(fault);
    },
    setMode(mode: Parameters<DuoEmulator['setMode']>[0]) {
      assertMode(mode, 'setMode(mode): mode');
      state.mode = mode;
    },
    setClockOffset(seconds: number) {
      assertClockOffset(seconds);
      state.setClockOffset(seconds);
    },
    calls,
    get log() {
      return state.logSnapshot();
    },
    get sms() {
      return state.smsSnapshot();
    },
    close,
  });
}

/** The host clients should use: 127.0.0.1 for the default and wildcard addresses, `[v6]` for IPv6. */
function publicHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '127.0.0.1') return '127.0.0.1';
  return isIP(host) === 6 ? `[${host}]` : host;
}
