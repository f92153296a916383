// The only code that touches @duosecurity/duo_universal: one client per tenant credentials, a timeout on
// every call, an optional CA in place of the pinned ones, typed results and DuoMfaError codes.

import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import https from 'node:https';
import { Client, DuoException, constants } from '@duosecurity/duo_universal';
import { DuoMfaError } from '../errors';
import type { DuoCredentials } from '../policy/types';
import { readAuthResult, type DuoAuthResult } from './result';

export type { DuoAuthResult, AccessDevice, TrustStatus } from './result';

/** The Duo client version range this adapter was written and tested against. */
export const SUPPORTED_CLIENT_VERSION = /^3\.0\.\d+$/;

/** Duo allows 60 s of clock difference on the tokens it issues and accepts. */
const JWT_LEEWAY_MS = constants.JWT_LEEWAY * 1000;

export interface DuoAdapterOptions {
  /** The redirect_uri every client sends: baseUrl + callbackPath. */
  redirectUrl: string;
  /** Upper bound for each call to Duo (health check, token exchange). Default 5000 ms. */
  timeoutMs?: number;
  /** Trust this CA (PEM) for Duo instead of the client's pinned CAs: TLS-inspecting proxies, the emulator. */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** The clock, for skew detection (ms since epoch). */
  now?: () => number;
}

export interface DuoHealth {
  /** Duo's own time, ms since epoch. */
  readonly duoTime: number;
  /** Local clock minus Duo's clock, in ms (positive: this server runs ahead). */
  readonly skewMs: number;
}

/** What the adapter needs from the client beyond its public methods. Checked when a client is built. */
interface ClientInternals {
  axios: {
    defaults: { httpsAgent?: unknown; timeout?: number };
    interceptors: {
      request: { use(onFulfilled: (config: { signal?: unknown }) => unknown): number };
      response: {
        use(
          onFulfilled: (response: DuoHttpResponse) => unknown,
          onRejected: (error: unknown) => unknown,
        ): number;
      };
    };
  };
}

/** One Duo call: its abort signal in, Duo's in-band failure code (`stat: FAIL`) out. */
interface CallContext {
  readonly signal: AbortSignal;
  /** HTTP status of Duo's answer, when there was one. */
  httpStatus?: number;
  /** Duo's in-band failure code (`stat: "FAIL"`), e.g. 40002. */
  duoFailCode?: number;
}

/**
 * True when Duo itself answered and refused the request: an HTTP 4xx (except 408 and 429, which say "busy"), or
 * a FAIL body with a 4xxxx code. Anything else — no answer, TLS failure, 5xx, 5xxxx — is an outage.
 */
function usernameMismatch(cause?: unknown): DuoMfaError {
  return new DuoMfaError(
    'ERR_DUO_USERNAME_MISMATCH',
    'Duo verified a different user than the one who started',
    {
      cause,
      details: { reason: 'username_mismatch' },
    },
  );
}

function refusedByDuo(context: CallContext): boolean {
  const code = context.duoFailCode;
  if (code !== undefined) return code >= 40000 && code < 50000;
  const status = context.httpStatus;
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** What the adapter reads from any Duo HTTP response: its body timestamp and Date header (Duo's clock). */
interface DuoHttpResponse {
  status?: number;
  data?: unknown;
  headers?: Record<string, unknown> | { get?(name: string): unknown };
}

/**
 * Talks to Duo for every tenant. One instance per `duoMfa()` middleware.
 *
 * @example
 * ```ts
 * const duo = new DuoAdapter({ redirectUrl: 'https://portal.example.com/duo/callback', timeoutMs: 5000 });
 * await duo.healthCheck(credentials);
 * const url = await duo.createAuthUrl(credentials, 'alice', state);
 * const result = await duo.exchange(credentials, duoCode, 'alice'); // throws DuoMfaError on any failure
 * ```
 */
export class DuoAdapter {
  readonly timeoutMs: number;
  private readonly redirectUrl: string;
  private readonly agent: https.Agent;
  private readonly now: () => number;
  private readonly clients = new Map<string, Client>();
  /** Last measured skew per apiHost, to explain token failures caused by a wrong clock. */
  private readonly skewByHost = new Map<string, number>();
  /** Carries the current call's abort signal into the client's axios request, and what Duo answered back out. */
  private readonly callContext = new AsyncLocalStorage<CallContext>();
  /**
   * Duo calls in flight. When it drops to 0 the store is disabled: while any AsyncLocalStorage is enabled,
   * Node 20 runs an async hook for every promise and async resource of the whole process, which costs the
   * host app's other requests several microseconds each. `run()` enables it again for the next call.
   */
  private callsInFlight = 0;

  constructor(options: DuoAdapterOptions) {
    assertClientVersion();
    this.redirectUrl = options.redirectUrl;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.now = options.now ?? Date.now;
    // One keep-alive agent shared by every tenant's client; free sockets are unref'd by Node. No socket cap:
    // a call queued behind a cap would spend its duoTimeoutMs waiting here and be reported as Duo's timeout.
    this.agent = new https.Agent({
      ca:
        options.ca === undefined
          ? constants.DUO_PINNED_CERT
          : (options.ca as string | Buffer | Array<string | Buffer>),
      keepAlive: true,
    });
  }

  /**
   * Checks that Duo answers for these credentials. Throws ERR_DUO_UNAVAILABLE or ERR_DUO_TIMEOUT (an outage: the
   * tenant's failmode applies), ERR_DUO_CREDENTIALS or ERR_DUO_CLOCK_SKEW (our own misconfiguration: never fails open).
   */
  async healthCheck(credentials: DuoCredentials): Promise<DuoHealth> {
    const client = this.clientFor(credentials);
    const response = await this.call(
      'health check',
      () => client.healthCheck(),
      (error: unknown, context: CallContext) => {
        const skew = this.skewBeyondLeeway(credentials.apiHost);
        // A wrong local clock makes Duo refuse our client assertion: say so rather than "Duo is down" (S29).
        if (skew !== undefined) return this.clockSkewError(skew, error);
        // Duo answered and refused these credentials (an HTTP 4xx, or a 4xxxx code such as 40002 invalid_client):
        // a configuration error, not an outage, so it must never trigger a tenant's fail-open.
        if (refusedByDuo(context)) {
          const what = context.duoFailCode ?? `HTTP ${context.httpStatus}`;
          return new DuoMfaError(
            'ERR_DUO_CREDENTIALS',
            `Duo refused this application's credentials (${what}): check clientId, clientSecret and apiHost in the policy file`,
            {
              cause: error,
              details: {
                apiHost: credentials.apiHost,
                duoCode: context.duoFailCode,
                httpStatus: context.httpStatus,
              },
            },
          );
        }
        return new DuoMfaError('ERR_DUO_UNAVAILABLE', `Duo health check failed: ${describe(error)}`, {
          cause: error,
          details: { apiHost: credentials.apiHost },
        });
      },
    );
    const duoTime = Number(response.response?.timestamp) * 1000;
    const skewMs = Number.isFinite(duoTime)
      ? this.now() - duoTime
      : (this.skewByHost.get(credentials.apiHost) ?? 0);
    this.skewByHost.set(credentials.apiHost, skewMs);
    return { duoTime, skewMs };
  }

  /** The Universal Prompt URL for this user and state. No network call. */
  async createAuthUrl(credentials: DuoCredentials, duoUsername: string, state: string): Promise<string> {
    const client = this.clientFor(credentials);
    try {
      return await client.createAuthUrl(duoUsername, state);
    } catch (error) {
      throw new DuoMfaError('ERR_DUO_CONFIG', `Could not build the Duo prompt URL: ${describe(error)}`, {
        cause: error,
      });
    }
  }

  /**
   * Exchanges Duo's code for the verified result. Resolves only for `auth_result.status === "allow"` and the
   * same username; every other outcome throws a DuoMfaError (ERR_DUO_DENIED carries Duo's reason and the
   * access device in `details`).
   */
  async exchange(credentials: DuoCredentials, code: string, duoUsername: string): Promise<DuoAuthResult> {
    const client = this.clientFor(credentials);
    const token = await this.call(
      'token exchange',
      () => client.exchangeAuthorizationCodeFor2FAResult(code, duoUsername),
      (error) => this.exchangeError(credentials, error),
    );
    const result = readAuthResult(token);
    // The client already compares preferred_username; check again so a client change cannot open a hole.
    if (result.username !== duoUsername) throw usernameMismatch();
    if (result.status !== 'allow' || result.result !== 'allow') {
      throw new DuoMfaError('ERR_DUO_DENIED', `Duo denied the sign-in (${result.reason || result.status})`, {
        details: {
          reason: result.reason,
          status: result.status,
          factor: result.factor,
          txid: result.txid,
          result,
        },
      });
    }
    return result;
  }

  /** Closes the keep-alive sockets. Calls after close() still work but open new sockets. */
  close(): void {
    this.agent.destroy();
  }

  private clockSkewError(skewMs: number, cause: unknown): DuoMfaError {
    return new DuoMfaError(
      'ERR_DUO_CLOCK_SKEW',
      `Duo refused or could not be trusted because this server's clock differs from Duo's by ${Math.round(
        skewMs / 1000,
      )} s (more than the 60 s allowed): fix the clock (NTP)`,
      { cause, details: { skewMs } },
    );
  }

  /** The last clock skew measured against this Duo host, when it is beyond what Duo's tokens allow. */
  private skewBeyondLeeway(apiHost: string): number | undefined {
    const skew = this.skewByHost.get(apiHost);
    return skew !== undefined && Math.abs(skew) > JWT_LEEWAY_MS ? skew : undefined;
  }

  /** Notes what Duo answered, on success and error alike: its clock, and for this call the status and FAIL code. */
  private observeResponse(apiHost: string, response: DuoHttpResponse | undefined): void {
    this.observeClock(apiHost, response);
    const context = this.callContext.getStore();
    if (!context || !response) return;
    if (typeof response.status === 'number') context.httpStatus = response.status;
    const data = response.data as { stat?: unknown; code?: unknown } | undefined;
    if (data?.stat === 'FAIL' && typeof data.code === 'number') context.duoFailCode = data.code;
  }

  /** Records Duo's clock from a response: the body's timestamp when there is one, else the Date header. */
  private observeClock(apiHost: string, response: DuoHttpResponse | undefined): void {
    const data = response?.data as { timestamp?: unknown; response?: { timestamp?: unknown } } | undefined;
    const stamp = Number(data?.response?.timestamp ?? data?.timestamp);
    let duoMs = Number.isFinite(stamp) && stamp > 0 ? stamp * 1000 : NaN;
    if (Number.isNaN(duoMs)) {
      const headers = response?.headers as { get?(name: string): unknown; date?: unknown } | undefined;
      const date = typeof headers?.get === 'function' ? headers.get('date') : headers?.date;
      duoMs = typeof date === 'string' ? Date.parse(date) : NaN;
      // The Date header has 1 s resolution; only a clear difference counts.
      if (!Number.isNaN(duoMs) && Math.abs(this.now() - duoMs) < 2000) duoMs = this.now();
    }
    if (!Number.isNaN(duoMs)) this.skewByHost.set(apiHost, this.now() - duoMs);
  }

  private clientFor(credentials: DuoCredentials): Client {
    const key = [
      credentials.clientId,
      credentials.apiHost,
      createHash('sha256').update(credentials.clientSecret).digest('base64url'),
    ].join('\0');
    let client = this.clients.get(key);
    if (client) return client;
    try {
      client = new Client({
        clientId: credentials.clientId,
        clientSecret: credentials.clientSecret,
        apiHost: credentials.apiHost,
        redirectUrl: this.redirectUrl,
      });
    } catch (error) {
      throw new DuoMfaError(
        'ERR_DUO_CONFIG',
        `Duo credentials for client ${credentials.clientId.slice(0, 4)}… were refused by the Duo client: ${describe(error)}`,
        { cause: error },
      );
    }
    const internals = clientInternals(client);
    internals.axios.defaults.httpsAgent = this.agent;
    internals.axios.interceptors.request.use((config) => {
      const context = this.callContext.getStore();
      if (context) config.signal = context.signal;
      return config;
    });
    internals.axios.interceptors.response.use(
      (response) => {
        this.observeResponse(credentials.apiHost, response);
        return response;
      },
      (error: unknown) => {
        this.observeResponse(
          credentials.apiHost,
          (error as { response?: DuoHttpResponse } | undefined)?.response,
        );
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
    this.clients.set(key, client);
    return client;
  }

  /** Runs one Duo call with an abort signal and a hard deadline; maps failures through `onError`. */
  private async call<T>(
    what: string,
    run: () => Promise<T>,
    onError: (error: unknown, context: CallContext) => DuoMfaError,
  ): Promise<T> {
    const controller = new AbortController();
    const context: CallContext = { signal: controller.signal };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(
          new DuoMfaError('ERR_DUO_TIMEOUT', `Duo did not answer the ${what} within ${this.timeoutMs} ms`, {
            details: { timeoutMs: this.timeoutMs },
          }),
        );
      }, this.timeoutMs);
    });
    this.callsInFlight += 1;
    try {
      return await Promise.race([this.callContext.run(context, run), deadline]);
    } catch (error) {
      if (error instanceof DuoMfaError) throw error;
      throw onError(error, context);
    } finally {
      clearTimeout(timer);
      if (--this.callsInFlight === 0) this.callContext.disable();
    }
  }

  private exchangeError(credentials: DuoCredentials, error: unknown): DuoMfaError {
    const inner = error instanceof DuoException ? error.inner : undefined;
    const message = error instanceof Error ? error.message : String(error);
    const skew = this.skewBeyondLeeway(credentials.apiHost);
    const skewed = skew !== undefined;
    const clockSkew = () => this.clockSkewError(skew ?? 0, error);

    if (message === constants.USERNAME_ERROR) return usernameMismatch(error);
    const httpStatus = axiosStatus(inner);
    if (httpStatus !== undefined && httpStatus >= 400 && httpStatus < 500) {
      if (skewed) return clockSkew();
      return new DuoMfaError('ERR_DUO_CODE_REJECTED', `Duo refused the code exchange: ${message}`, {
        cause: error,
        details: { httpStatus },
      });
    }
    if (message === constants.JWT_DECODE_ERROR || message === constants.MALFORMED_RESPONSE) {
      const joseCode = (inner as { code?: unknown } | undefined)?.code;
      // Only time claims point at the clock; a wrong iss/aud is a bad token whatever the skew.
      const claim = (inner as { claim?: unknown } | undefined)?.claim;
      const timeClaim =
        joseCode === 'ERR_JWT_EXPIRED' ||
        (joseCode === 'ERR_JWT_CLAIM_VALIDATION_FAILED' &&
          (claim === 'iat' || claim === 'nbf' || claim === 'exp'));
      if (timeClaim && skewed) return clockSkew();
      const hint =
        joseCode === 'ERR_JWT_EXPIRED'
          ? ' (the token had expired; if this repeats, check that this server’s clock is right)'
          : '';
      return new DuoMfaError(
        'ERR_DUO_TOKEN_INVALID',
        `Duo's id_token was rejected: ${describe(error)}${hint}`,
        {
          cause: error,
          details: { check: typeof joseCode === 'string' ? joseCode : message },
        },
      );
    }
    return new DuoMfaError('ERR_DUO_UNAVAILABLE', `Duo token exchange failed: ${describe(error)}`, {
      cause: error,
      details: httpStatus === undefined ? {} : { httpStatus },
    });
  }
}

/** Fails loudly when the installed client is not one this adapter was written for. */
function assertClientVersion(): void {
  const version = constants.USER_AGENT.split('/')[1] ?? '';
  if (!SUPPORTED_CLIENT_VERSION.test(version)) {
    throw new DuoMfaError(
      'ERR_DUO_CLIENT_INCOMPATIBLE',
      `@duosecurity/duo_universal ${version || '(unknown version)'} is installed, but express-duo-mfa supports 3.0.x: ` +
        'install a supported version (npm install @duosecurity/duo_universal@~3.0.0)',
    );
  }
}

/** The private axios instance the adapter configures; any change in its shape is an incompatibility. */
function clientInternals(client: Client): ClientInternals {
  const axios = (client as unknown as Partial<ClientInternals>).axios;
  const ok =
    typeof axios === 'function' || typeof axios === 'object'
      ? typeof axios?.defaults === 'object' &&
        typeof axios?.interceptors?.request?.use === 'function' &&
        typeof axios?.interceptors?.response?.use === 'function'
      : false;
  if (!ok || !axios) {
    throw new DuoMfaError(
      'ERR_DUO_CLIENT_INCOMPATIBLE',
      'The installed @duosecurity/duo_universal client no longer exposes its axios instance, which express-duo-mfa ' +
        'needs to apply timeouts and the CA: install @duosecurity/duo_universal@~3.0.0',
    );
  }
  return { axios };
}

function axiosStatus(inner: unknown): number | undefined {
  const status = (inner as { response?: { status?: unknown } } | undefined)?.response?.status;
  return typeof status === 'number' ? status : undefined;
}

/** A one-line reason that never includes request bodies (which would carry assertions or codes). */
function describe(error: unknown): string {
  if (error instanceof DuoException) {
    const inner = error.inner as { code?: unknown; message?: unknown } | undefined;
    const code = typeof inner?.code === 'string' ? ` [${inner.code}]` : '';
    return `${error.message}${code}`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
