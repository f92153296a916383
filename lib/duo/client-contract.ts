// The version gate for @duosecurity/duo_universal: not a version range, but "everything the adapter relies on
// is there and has the shape it expects". Checked once per process, before the first client is built.

import https from 'node:https';
import * as duoUniversal from '@duosecurity/duo_universal';
import { DuoMfaError } from '../errors';

/** The major version of @duosecurity/duo_universal this adapter speaks. A new major is refused (see docs/duo.md). */
export const SUPPORTED_CLIENT_MAJOR = 3;

/** What the adapter imports from the client package. A seam for the contract's own tests. */
export interface DuoClientModule {
  readonly Client: unknown;
  readonly DuoException: unknown;
  readonly constants: unknown;
}

/** The outcome of checking a client module against what the adapter relies on. */
export interface ClientContractReport {
  /** The client's version as its USER_AGENT states it, or undefined when that cannot be read. */
  readonly version: string | undefined;
  /** One line per broken expectation, naming exactly what is missing or different. Empty: the contract holds. */
  readonly problems: readonly string[];
}

/**
 * The internals the adapter depends on, checked without any network call: the exports, the constants and error
 * messages it compares, DuoException's `inner`, and a client's private axios instance (defaults.httpsAgent,
 * request and response interceptors), which is how timeouts, the CA and the proxy are applied.
 *
 * @example
 * ```ts
 * const { version, problems } = checkClientContract();
 * if (problems.length > 0) console.error(`duo_universal ${version}: ${problems.join('; ')}`);
 * ```
 */
export function checkClientContract(module: DuoClientModule = duoUniversal): ClientContractReport {
  const problems: string[] = [];
  const constants = (module.constants ?? {}) as Record<string, unknown>;
  if (typeof module.constants !== 'object' || module.constants === null)
    problems.push('the `constants` export is gone');

  const userAgent = constants.USER_AGENT;
  const version = typeof userAgent === 'string' ? /\/(\d+\.\d+\.\d+\S*)/.exec(userAgent)?.[1] : undefined;
  if (version === undefined) {
    problems.push('constants.USER_AGENT no longer reads "duo_universal_node/<version>"');
  } else if (Number(version.split('.')[0]) !== SUPPORTED_CLIENT_MAJOR) {
    problems.push(
      `version ${version} is a new major release (this adapter speaks ${SUPPORTED_CLIENT_MAJOR}.x): Duo marks breaking changes with a major`,
    );
  }

  for (const name of ['USERNAME_ERROR', 'JWT_DECODE_ERROR', 'MALFORMED_RESPONSE']) {
    const value = constants[name];
    if (typeof value !== 'string' || value === '')
      problems.push(`constants.${name} (an error message the adapter compares) is gone`);
  }
  const leeway = constants.JWT_LEEWAY;
  if (typeof leeway !== 'number' || !(leeway > 0)) problems.push('constants.JWT_LEEWAY (seconds) is gone');
  const pinned = constants.DUO_PINNED_CERT;
  if (typeof pinned !== 'string' || !pinned.includes('-----BEGIN CERTIFICATE-----')) {
    problems.push("constants.DUO_PINNED_CERT (Duo's pinned CA bundle) is gone");
  }

  const DuoException = module.DuoException;
  if (typeof DuoException !== 'function') {
    problems.push('the `DuoException` export is gone');
  } else {
    const inner = new Error('inner');
    let probe: unknown;
    try {
      probe = construct(DuoException, ['probe', inner]);
    } catch {
      probe = undefined;
    }
    if (!(probe instanceof Error) || (probe as { inner?: unknown }).inner !== inner) {
      problems.push(
        "DuoException no longer keeps the underlying error in `inner` (the adapter reads axios' answer there)",
      );
    }
  }

  const Client = module.Client;
  if (typeof Client !== 'function') {
    problems.push('the `Client` export is gone');
    return { version, problems };
  }
  const prototype = (Client as { prototype?: Record<string, unknown> }).prototype ?? {};
  for (const method of ['healthCheck', 'createAuthUrl', 'exchangeAuthorizationCodeFor2FAResult']) {
    if (typeof prototype[method] !== 'function') problems.push(`Client.prototype.${method} is gone`);
  }
  let client: unknown;
  try {
    client = construct(Client, [
      {
        clientId: 'DIAAAAAAAAAAAAAAAAAA',
        clientSecret: 'a'.repeat(40),
        apiHost: 'api-00000000.duosecurity.com',
        redirectUrl: 'https://localhost/duo/callback',
      },
    ]);
  } catch (error) {
    problems.push(
      `new Client({ clientId, clientSecret, apiHost, redirectUrl }) throws: ${error instanceof Error ? error.message : String(error)}`,
    );
    return { version, problems };
  }
  problems.push(...axiosProblems((client as { axios?: unknown }).axios));
  return { version, problems };
}

/**
 * What is missing from a client's private axios instance; empty when the adapter can configure it.
 *
 * @example
 * ```ts
 * axiosProblems((client as { axios?: unknown }).axios); // [] for the 3.0 client
 * ```
 */
export function axiosProblems(axios: unknown): string[] {
  if ((typeof axios !== 'object' && typeof axios !== 'function') || axios === null) {
    return ['client.axios (the private axios instance the adapter configures) is gone'];
  }
  const problems: string[] = [];
  const { defaults, interceptors } = axios as {
    defaults?: { httpsAgent?: unknown };
    interceptors?: { request?: { use?: unknown }; response?: { use?: unknown } };
  };
  if (typeof defaults !== 'object' || defaults === null) {
    problems.push('client.axios.defaults is gone');
  } else if (!(defaults.httpsAgent instanceof https.Agent)) {
    problems.push(
      'client.axios.defaults.httpsAgent is no longer an https.Agent (the adapter replaces it to apply duoTls, duoProxy and keep-alive)',
    );
  }
  if (typeof interceptors?.request?.use !== 'function') {
    problems.push(
      'client.axios.interceptors.request.use is gone (the adapter adds the per-call abort signal there)',
    );
  }
  if (typeof interceptors?.response?.use !== 'function') {
    problems.push(
      "client.axios.interceptors.response.use is gone (the adapter reads Duo's clock and FAIL codes there)",
    );
  }
  return problems;
}

let verdict: ClientContractReport | undefined;

/**
 * Throws ERR_DUO_CLIENT_INCOMPATIBLE, naming every broken expectation, unless the installed client keeps the
 * contract. The check runs once per process.
 *
 * @example
 * ```ts
 * assertClientContract(); // at DuoAdapter construction: a start-up error, never a request-time surprise
 * ```
 */
export function assertClientContract(): void {
  verdict ??= checkClientContract();
  if (verdict.problems.length === 0) return;
  throw clientIncompatible(verdict);
}

/**
 * The start-up error for a client that breaks the contract, with what to do about it.
 *
 * @example
 * ```ts
 * throw clientIncompatible(checkClientContract());
 * ```
 */
export function clientIncompatible(report: ClientContractReport): DuoMfaError {
  const installed = `@duosecurity/duo_universal ${report.version ?? '(unknown version)'}`;
  return new DuoMfaError(
    'ERR_DUO_CLIENT_INCOMPATIBLE',
    `${installed} is installed, but express-duo-mfa cannot use it: ${report.problems.join('; ')}. ` +
      `Install a ${SUPPORTED_CLIENT_MAJOR}.x release that keeps these (npm install @duosecurity/duo_universal@^${SUPPORTED_CLIENT_MAJOR}.0.0), ` +
      'or an express-duo-mfa release that supports this client (see docs/duo.md, "Client versions")',
    { details: { version: report.version, problems: [...report.problems] } },
  );
}

function construct(target: unknown, args: unknown[]): unknown {
  return Reflect.construct(target as new (...args: unknown[]) => unknown, args);
}
