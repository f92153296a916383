// express-duo-mfa/emulator: an offline HTTPS Duo (OIDC Auth API + Universal Prompt stand-in) that the
// unmodified @duosecurity/duo_universal client accepts, for tests, the example app and offline development.

import { isIP } from 'node:net';
import { generateCertificates } from './certificates';
import { assertClockOffset, assertMode, parseFault, parseOptions, parseUser } from './options';
import { createEmulatorServer } from './server';
import { EmulatorState } from './state';
import type { DuoEmulator, DuoEmulatorOptions, EmulatorCalls } from './types';

export type {
  DevicePlatform,
  DeviceTrust,
  DuoEmulator,
  DuoEmulatorOptions,
  EmulatedUser,
  EmulatorApplication,
  EmulatorCalls,
  EmulatorEndpoint,
  EmulatorFault,
  EmulatorLogEntry,
  EmulatorMode,
  HealthFault,
  TokenFault,
} from './types';

/**
 * Starts the Duo emulator and resolves once it listens. Every start makes a fresh CA (`ca`): trust it, e.g.
 * with `duoMfa({ duoTls: { ca: emulator.ca } })`, and use `apiHost` as the tenant's Duo apiHost.
 *
 * Options are validated up front (TypeError): `applications` (clientId of 20 characters, clientSecret of 40),
 * `mode` (`interactive` default, or `auto`), `port` (default 0), `host` (default 127.0.0.1).
 *
 * @example
 * ```ts
 * import { startDuoEmulator } from 'express-duo-mfa/emulator';
 *
 * const duo = await startDuoEmulator({
 *   applications: [{ clientId: 'DIABCDEFGHIJKLMNOPQR', clientSecret: 's'.repeat(40) }],
 *   mode: 'auto',
 * });
 * duo.setUser('alice', { result: 'allow', device: { platform: 'iOS', trusted: 'trusted' } });
 * duo.setFault({ health: 'hang' }); // … and duo.setFault(null) to clear it
 * console.log(duo.apiHost, duo.calls.token);
 * await duo.close();
 * ```
 */
export async function startDuoEmulator(options: DuoEmulatorOptions): Promise<DuoEmulator> {
  const resolved = parseOptions(options);
  const state = new EmulatorState(resolved.applications, resolved.mode);
  const host = resolved.host.trim();
  const certificates = generateCertificates({ extraNames: [host] });
  const { server, close } = createEmulatorServer(state, {
    key: certificates.serverKey,
    cert: certificates.serverCert,
  });

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
    close,
  });
}

/** The host clients should use: 127.0.0.1 for the default and wildcard addresses, `[v6]` for IPv6. */
function publicHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '127.0.0.1') return '127.0.0.1';
  return isIP(host) === 6 ? `[${host}]` : host;
}
