// The only code that touches @duosecurity/duo_universal: one client per tenant credentials, a timeout on
// every call, an optional CA in place of the pinned ones, an optional outbound proxy, typed results and
// DuoMfaError codes that tell an outage (the tenant's failmode applies) from a misconfiguration (never fails open).

import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { Client, DuoException, constants } from '@duosecurity/duo_universal';
import { DuoMfaError } from '../errors';
import type { DuoCredentials } from '../policy/types';
import {
  assertClientContract,
  axiosProblems,
  clientIncompatible,
  SUPPORTED_CLIENT_MAJOR,
} from './client-contract';
import { readAuthResult, type DuoAuthResult } from './result';
import {
  classifyTransportError,
  proxyConfigError,
  transportFor,
  type DuoConnectOptions,
  type DuoTransport,
} from './transport';

export type { DuoAuthResult, AccessDevice, TrustStatus } from './result';

/**
 * The Duo client versions this adapter accepts: any 3.x whose internals keep the contract
 * (`checkClientContract()` in ./client-contract decides; a new major is refused).
 */
export const SUPPORTED_CLIENT_VERSION = new RegExp(`^${SUPPORTED_CLIENT_MAJOR}\\.\\d+\\.\\d+`);

/** Duo clients kept (one per application and secret); the least recently used goes beyond this. */
const MAX_CLIENTS = 256;

/** Duo allows 60 s of clock difference on the tokens it issues and accepts. */
const JWT_LEEWAY_MS = constants.JWT_LEEWAY * 1000;

export interface DuoAdapterOptions extends DuoConnectOptions {
  /** The redirect_uri every client sends: baseUrl + callbackPath. */
  redirectUrl: string;
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
    defaults: { httpsAgent?: unknown; timeout?: number; proxy?: unknown };
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
  /** The status the outbound proxy answered our CONNECT with, when it refused: the request never reached Duo. */
  proxyStatus?: number;
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
  /** The Node request it answers (axios keeps it): tells a proxy's refusal from Duo's answer. */
  request?: unknown;
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
  private readonly transport: DuoTransport;
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
    // A start-up error naming what is missing, never a request-time surprise after a client upgrade.
    assertClientContract();
    this.redirectUrl = options.redirectUrl;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.now = options.now ?? Date.now;
    // One keep-alive agent shared by every tenant's client; free sockets are unref'd by Node. No socket cap:
    // a call queued behind a cap would spend its duoTimeoutMs waiting here and be reported as Duo's timeout.
    // Throws a TypeError naming duoProxy / duoTls for a malformed proxy URL or contradictory TLS options.
    this.transport = transportFor(options, {
      pinnedCa: constants.DUO_PINNED_CERT,
      callSignal: () => this.callContext.getStore()?.signal,
    });
  }

  /**
   * Checks that Duo answers for these credentials. Only an outage throws ERR_DUO_UNAVAILABLE or ERR_DUO_TIMEOUT
   * (refused or reset connections, timeouts, Duo's 5xx, the proxy refusing or hanging): the tenant's failmode
   * applies. Everything that points at a misconfiguration or someone on the path throws another code and must
   * never fail open (S44): ERR_DUO_TLS (certificate not verified), ERR_DUO_HOST_NOT_FOUND (apiHost does not
   * exist), ERR_DUO_CREDENTIALS (Duo refused them), ERR_DUO_CLOCK_SKEW, ERR_DUO_CONFIG (the proxy refused our
   * credentials, or its host does not exist).
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
        const onTheWay = this.transportError('health check', credentials, error, context);
        if (onTheWay) return onTheWay;
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
        return new DuoMfaError('ERR_DUO_UNAVAILABLE', `Duo health check failed: ${this.describe(error)}`, {
          cause: error,
          details: { apiHost: credentials.apiHost, ...this.proxyDetails() },
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
      (error, context) => this.exchangeError(credentials, error, context),
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
    this.transport.close();
  }

  /**
   * The misconfigurations and interceptions seen on the way to Duo, as the error that says what to fix; a proxy
   * refusing the tunnel is an outage. Undefined for anything else (Duo answered, or a plain outage).
   */
  private transportError(
    what: 'health check' | 'token exchange',
    credentials: DuoCredentials,
    error: unknown,
    context: CallContext,
  ): DuoMfaError | undefined {
    const failure = classifyTransportError(error, context.proxyStatus);
    if (!failure) return undefined;
    const { apiHost } = credentials;
    const proxy = this.transport.proxyLabel;
    const details = { apiHost, ...this.proxyDetails() };
    switch (failure.kind) {
      case 'tls':
        if (failure.handshake) {
          return new DuoMfaError(
            'ERR_DUO_TLS',
            `No TLS session with Duo at ${apiHost} could be set up for the ${what} (${failure.code}: ${tlsReason(error)}): ` +
              `check apiHost (Duo's API host name, e.g. api-12345678.duosecurity.com, on port 443)` +
              (proxy ? ` and that the proxy passes the connection through untouched` : ''),
            { cause: error, details: { ...details, tlsCode: failure.code } },
          );
        }
        return new DuoMfaError(
          'ERR_DUO_TLS',
          `Duo's TLS certificate for ${apiHost} could not be verified during the ${what} (${failure.code}: ${tlsReason(error)}). ` +
            'This is never treated as an outage: if a TLS-inspecting proxy sits between this server and Duo, trust its CA with ' +
            "duoTls.ca; against the local Duo emulator, trust the emulator's CA (duoTls.ca); otherwise someone may be " +
            'intercepting the connection',
          { cause: error, details: { ...details, tlsCode: failure.code } },
        );
      case 'host_not_found':
        if (proxy) return proxyConfigError(this.transport, 'host_not_found', details, error);
        return new DuoMfaError(
          'ERR_DUO_HOST_NOT_FOUND',
          `Duo's host name ${hostOf(apiHost)} does not exist (ENOTFOUND): check apiHost in the policy ` +
            '(the API hostname of the Duo application, e.g. api-12345678.duosecurity.com)',
          { cause: error, details },
        );
      case 'proxy_auth':
        return proxyConfigError(this.transport, 'proxy_auth', details, error);
      case 'proxy_refused':
        // Only a gateway timeout says Duo did not answer; a proxy refusing the tunnel otherwise (403: not on its
        // allow-list; 502/503: a host that does not exist, a refused destination) may be a mistyped apiHost or a
        // proxy policy, so it never counts as the outage that lets a fail-open tenant in (S44).
        if (failure.status === 504) {
          return new DuoMfaError(
            'ERR_DUO_UNAVAILABLE',
            `Duo ${what} failed: the outbound proxy ${proxy ?? ''} could not reach ${apiHost} in time (HTTP 504)`,
            { cause: error, details: { ...details, proxyStatus: 504 } },
          );
        }
        return new DuoMfaError(
          'ERR_DUO_PROXY_REFUSED',
          `Duo ${what} failed: the outbound proxy ${proxy ?? ''} refused to open a tunnel to ${apiHost} (HTTP ${failure.status}): ` +
            "check apiHost in the policy and the proxy's allow-list",
          { cause: error, details: { ...details, proxyStatus: failure.status } },
        );
      case 'network':
        return undefined;
    }
  }

  private proxyDetails(): { proxy?: string } {
    return this.transport.proxyLabel === undefined ? {} : { proxy: this.transport.proxyLabel };
  }

  /** A one-line reason with the proxy's credentials removed, whatever library wrote it. */
  private describe(error: unknown): string {
    return this.transport.redact(describe(error));
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
    const context = this.callContext.getStore();
    // The proxy's own answer to our CONNECT (403, 407, 502 …) is replayed as a response: it is not Duo's.
    const proxyStatus = this.transport.proxyRefusal(response?.request);
    if (proxyStatus !== undefined) {
      if (context) context.proxyStatus = proxyStatus;
      return;
    }
    this.observeClock(apiHost, response);
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
    if (client) {
      // Most recently used last: the oldest is the one dropped when the cache is full.
      this.clients.delete(key);
      this.clients.set(key, client);
      return client;
    }
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
    internals.axios.defaults.httpsAgent = this.transport.agent;
    // Only duoProxy routes calls: axios would otherwise honour HTTPS_PROXY from the environment and swap our agent
    // (and with it the CA and the proxy) for its own.
    internals.axios.defaults.proxy = false;
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
    // Bounded: credentials rotate, and "Test configuration" tries ones that are never saved.
    if (this.clients.size > MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value!);
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
    const proxy = this.transport.proxyLabel;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(
          new DuoMfaError(
            'ERR_DUO_TIMEOUT',
            `Duo did not answer the ${what} within ${this.timeoutMs} ms${proxy ? ` (through the outbound proxy ${proxy})` : ''}`,
            { details: { timeoutMs: this.timeoutMs, ...this.proxyDetails() } },
          ),
        );
      }, this.timeoutMs);
    });
    this.callsInFlight += 1;
    try {
      return await Promise.race([this.callContext.run(context, run), deadline]);
    } catch (error) {
      if (error instanceof DuoMfaError) throw error;
      throw this.withPlainCause(onError(error, context));
    } finally {
      clearTimeout(timer);
      if (--this.callsInFlight === 0) this.callContext.disable();
    }
  }
  /**
   * The failure with its cause reduced to name, code and message: the HTTP client's own error holds the request it
   * sent — the client assertion and Duo's code in the form body — and a host's error handler may inspect or log
   * the whole chain (S34).
   */
  private withPlainCause(failure: DuoMfaError): DuoMfaError {
    const cause = failure.cause;
    if (cause === undefined) return failure;
    const plain = new Error(this.describe(cause));
    plain.name = cause instanceof Error ? cause.name : 'Error';
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') Object.assign(plain, { code });
    Object.defineProperty(failure, 'cause', { value: plain, configurable: true, writable: true });
    return failure;
  }

  private exchangeError(credentials: DuoCredentials, error: unknown, context: CallContext): DuoMfaError {
    const inner = error instanceof DuoException ? error.inner : undefined;
    const message = this.transport.redact(error instanceof Error ? error.message : String(error));
    const skew = this.skewBeyondLeeway(credentials.apiHost);
    const skewed = skew !== undefined;
    const clockSkew = () => this.clockSkewError(skew ?? 0, error);

    if (message === constants.USERNAME_ERROR) return usernameMismatch(error);
    // After the redirect every failure denies anyway; the code still tells the operator what to fix.
    const onTheWay = this.transportError('token exchange', credentials, error, context);
    if (onTheWay) return onTheWay;
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
        `Duo's id_token was rejected: ${this.describe(error)}${hint}`,
        {
          cause: error,
          details: { check: typeof joseCode === 'string' ? joseCode : message },
        },
      );
    }
    return new DuoMfaError('ERR_DUO_UNAVAILABLE', `Duo token exchange failed: ${this.describe(error)}`, {
      cause: error,
      details: { ...(httpStatus === undefined ? {} : { httpStatus }), ...this.proxyDetails() },
    });
  }
}

/**
 * The private axios instance the adapter configures. The process-wide contract check already looked at one
 * client; this guards each client built afterwards, naming what is missing.
 */
function clientInternals(client: Client): ClientInternals {
  const axios = (client as unknown as { axios?: unknown }).axios;
  const problems = axiosProblems(axios);
  if (problems.length > 0) {
    throw clientIncompatible({ version: constants.USER_AGENT.split('/')[1], problems });
  }
  return { axios: axios as ClientInternals['axios'] };
}

/** `api-1.duosecurity.com` from `api-1.duosecurity.com:443` (and `[::1]` from `[::1]:8443`). */
function hostOf(apiHost: string): string {
  return apiHost.replace(/:\d+$/, '');
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
    return oneLine(`${error.message}${code}`);
  }
  if (error instanceof Error) return oneLine(error.message);
  return oneLine(String(error));
}

/** What Node or OpenSSL said about a TLS failure, without OpenSSL's file and line noise. */
function tlsReason(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  if (error instanceof DuoException && error.inner instanceof Error) message = error.inner.message;
  return oneLine(/routines:[^:]*:([^:]+)/.exec(message)?.[1] ?? message);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
