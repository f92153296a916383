// How express-duo-mfa reaches Duo: one agent (direct, or through an HTTP CONNECT proxy) with the CA and TLS rules
// applied end to end, and the classification of what went wrong on the way (S44: only an outage may fail open).

import type { ClientRequest } from 'node:http';
import https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { DuoMfaError } from '../errors';

/** The options https-proxy-agent's `connect` receives for one request (agent-base's type, not imported). */
type ConnectOptions = Parameters<HttpsProxyAgent<string>['connect']>[1];

/** A CA for Duo's certificate chain: one PEM, several, or a list. */
export type DuoCa = string | Buffer | ReadonlyArray<string | Buffer>;

/**
 * How calls to Duo connect, shared by the Auth API adapter and the Admin API client: the `duoTimeoutMs`, `duoTls`
 * and `duoProxy` options.
 */
export interface DuoConnectOptions {
  /** Upper bound for each call to Duo. Default 5000 ms (the `duoTimeoutMs` option). */
  timeoutMs?: number;
  /** Trust this CA (PEM) for Duo instead of Duo's pinned CAs: TLS-inspecting proxies, the emulator. */
  ca?: DuoCa;
  /**
   * `false`: verify Duo against Node's default CAs instead of the client's pinned bundle (Duo's own
   * `enableCAPinning: false`). Certificates are verified either way. Cannot be combined with `ca`.
   */
  caPinning?: boolean;
  /**
   * Every call to Duo goes through this HTTP CONNECT proxy (`http://user:password@proxy:3128`); `ca` and
   * `timeoutMs` still apply end to end. The `duoProxy` option. Its credentials never appear in any message.
   */
  proxy?: string;
  /** DNS look-up for connections to Duo (or to the proxy). Node's `dns.lookup` by default; tests inject one. */
  lookup?: LookupFunction;
  /** The clock (ms since epoch): clock-skew checks, the Admin API's signed Date header and expiry times. */
  now?: () => number;
}

export interface DuoTransportOptions {
  /** Trust this CA (PEM) for Duo instead of Duo's pinned CAs: TLS-inspecting proxies, the emulator. */
  ca?: DuoCa;
  /**
   * The CAs Duo pins (the installed client's bundle). Used when neither `ca` nor `caPinning: false` is given.
   */
  pinnedCa: string;
  /**
   * `false`: verify Duo's certificate against Node's default trust store instead of Duo's pinned bundle — Duo's
   * own `enableCAPinning: false`, for a CA transition the pinned bundle does not know yet. Verification itself is
   * never switched off. Cannot be combined with `ca`.
   */
  caPinning?: boolean;
  /** `http://[user:password@]host:port` of an HTTP CONNECT proxy every call to Duo goes through. */
  proxy?: string;
  /** DNS look-up for the connections this agent opens (tests; Node's `dns.lookup` by default). */
  lookup?: LookupFunction;
  /**
   * The abort signal of the call in progress (read when a connection is being opened). Through a proxy, a CONNECT
   * the proxy never answers is abandoned when it fires: Node gives an agent no other sign that a request it has
   * not yet got a socket for was given up. Requests made directly may pass `{ duoSignal }` in their options.
   */
  callSignal?: () => AbortSignal | undefined;
}

/** An agent for every call to Duo, plus what the adapter needs to read its failures. */
export interface DuoTransport {
  readonly agent: https.Agent;
  /** The proxy, credentials masked (`http://****:****@proxy:3128`), or undefined without one. */
  readonly proxyLabel: string | undefined;
  /** The proxy's host name, to tell its DNS failures from Duo's. */
  readonly proxyHost: string | undefined;
  /** The status the proxy answered a CONNECT with, when it was not 200 (the request never reached Duo). */
  proxyRefusal(request: unknown): number | undefined;
  /** Removes the proxy's credentials from a message, whatever form they took. */
  redact(text: string): string;
  /** Closes every keep-alive socket. */
  close(): void;
}

/** A parsed, validated `duoProxy`: where to connect, and the credentials kept apart from the URL. */
export interface ProxySettings {
  /** The proxy URL without credentials (safe to show). */
  readonly url: URL;
  /** The `Proxy-Authorization` header value, when the URL carried credentials. */
  readonly authorization: string | undefined;
  /** `http://****:****@proxy:3128` — the URL as it may appear in messages. */
  readonly label: string;
  /** Literal strings that must never appear in a message: password, base64 credentials. */
  readonly secrets: readonly string[];
}

/**
 * Validates a `duoProxy` URL. Throws a TypeError naming `optionName`, with the credentials masked.
 *
 * @example
 * ```ts
 * parseProxyUrl('http://svc:s3cret@proxy.corp:3128').label; // 'http://****:****@proxy.corp:3128/'
 * parseProxyUrl('socks5://proxy:1080'); // TypeError: duoProxy must be an http:// or https:// URL …
 * ```
 */
export function parseProxyUrl(value: unknown, optionName = 'duoProxy'): ProxySettings {
  const example = "such as 'http://proxy.example.com:3128' or 'http://user:password@proxy.example.com:3128'";
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`${optionName} must be a proxy URL ${example} (got ${describeValue(value)})`);
  }
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new TypeError(
      `${optionName} is not a valid URL (got ${JSON.stringify(maskRaw(value))}): use one ${example}`,
    );
  }
  const label = maskUrl(url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(
      `${optionName} must be an http:// or https:// URL of an HTTP CONNECT proxy (got ${JSON.stringify(label)}): use one ${example}`,
    );
  }
  if (url.hostname === '') {
    throw new TypeError(`${optionName} has no host name (got ${JSON.stringify(label)}): use one ${example}`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new TypeError(
      `${optionName} must be only scheme, credentials, host and port, without a path or query (got ${JSON.stringify(label)})`,
    );
  }
  const username = safeDecode(url.username);
  const password = safeDecode(url.password);
  const credentials = url.username !== '' || url.password !== '' ? `${username}:${password}` : undefined;
  const encoded = credentials === undefined ? undefined : Buffer.from(credentials).toString('base64');
  const bare = new URL(url.href);
  bare.username = '';
  bare.password = '';
  const secrets = [encoded, url.password, password, credentials, `${url.username}:${url.password}`].filter(
    (secret): secret is string => secret !== undefined && secret.length >= 3 && secret !== ':',
  );
  return {
    url: bare,
    authorization: encoded === undefined ? undefined : `Basic ${encoded}`,
    label,
    secrets: [...new Set(secrets)].sort((a, b) => b.length - a.length),
  };
}

/**
 * createDuoTransport() from the connect options the adapter and the Admin API client take (only those given).
 *
 * @example
 * ```ts
 * const transport = transportFor(options, { pinnedCa: constants.DUO_PINNED_CERT });
 * ```
 */
export function transportFor(
  options: DuoConnectOptions,
  base: Pick<DuoTransportOptions, 'pinnedCa' | 'callSignal'>,
): DuoTransport {
  return createDuoTransport({
    ...base,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    ...(options.caPinning === undefined ? {} : { caPinning: options.caPinning }),
    ...(options.proxy === undefined ? {} : { proxy: options.proxy }),
    ...(options.lookup === undefined ? {} : { lookup: options.lookup }),
  });
}

/**
 * Builds the agent every Duo call goes through. With `proxy`, requests tunnel through it (HTTP CONNECT) and the
 * TLS session to Duo is still end to end, verified with `ca` (or the pinned CAs).
 *
 * @example
 * ```ts
 * const transport = createDuoTransport({ pinnedCa: constants.DUO_PINNED_CERT, proxy: 'http://proxy:3128' });
 * https.get('https://api-12345678.duosecurity.com/...', { agent: transport.agent });
 * ```
 */
export function createDuoTransport(options: DuoTransportOptions): DuoTransport {
  if (options.caPinning === false && options.ca !== undefined) {
    throw new TypeError(
      'duoTls: give either ca (trust exactly this CA) or caPinning: false (trust Node’s default CAs), not both',
    );
  }
  // Verification is never optional: only which roots are trusted changes.
  const ca = options.ca ?? (options.caPinning === false ? undefined : options.pinnedCa);
  // The trusted roots are parsed once, into one TLS context every connection shares. Given as `ca`, Node would
  // parse them again for each new connection (about 5 ms for Duo's 15 pinned CAs on a small VM, on the event
  // loop) and put the whole bundle in the agent's pool key, built on every request.
  const tls: TlsSettings = {
    rejectUnauthorized: true,
    ...(ca === undefined
      ? {}
      : { secureContext: createSecureContext({ ca: ca as string | Buffer | Array<string | Buffer> }) }),
  };
  const lookup = options.lookup === undefined ? {} : { lookup: options.lookup };

  if (options.proxy === undefined) {
    const agent = new https.Agent({ ...tls, ...lookup, keepAlive: true });
    return {
      agent,
      proxyLabel: undefined,
      proxyHost: undefined,
      proxyRefusal: () => undefined,
      redact: (text) => text,
      close: () => agent.destroy(),
    };
  }

  const proxy = parseProxyUrl(options.proxy);
  const agent = new DuoProxyAgent(proxy, tls, lookup.lookup, options.callSignal);
  const redact = (text: string) => {
    let out = text;
    for (const secret of proxy.secrets) out = out.split(secret).join('****');
    return out;
  };
  return {
    agent,
    proxyLabel: proxy.label,
    proxyHost: proxy.url.hostname.replace(/^\[|\]$/g, ''),
    proxyRefusal: (request) => agent.refusalOf(request),
    redact,
    close: () => agent.destroy(),
  };
}

/** How every TLS session with Duo is verified: always, against these roots (Node's own when none are given). */
interface TlsSettings {
  readonly rejectUnauthorized: true;
  readonly secureContext?: SecureContext;
}

/**
 * https-proxy-agent with what Duo calls need on top: the CA applied to the TLS session with Duo (the library
 * only applies its options to the proxy connection), credentials sent as a header so they never sit in a URL
 * the library logs or emits, the CONNECT status remembered per request (a proxy's 403 is not Duo's), and a
 * CONNECT the proxy never answers abandoned with the request instead of holding a socket open.
 */
class DuoProxyAgent extends HttpsProxyAgent<string> {
  private readonly refusals = new WeakMap<object, number>();

  constructor(
    proxy: ProxySettings,
    private readonly tls: TlsSettings,
    lookup: LookupFunction | undefined,
    private readonly callSignal: (() => AbortSignal | undefined) | undefined,
  ) {
    super(proxy.url.href, {
      keepAlive: true,
      headers: proxy.authorization === undefined ? {} : { 'Proxy-Authorization': proxy.authorization },
      ...(lookup === undefined ? {} : { lookup }),
    });
  }

  refusalOf(request: unknown): number | undefined {
    return typeof request === 'object' && request !== null ? this.refusals.get(request) : undefined;
  }

  override connect(req: ClientRequest, opts: ConnectOptions): Promise<Socket> {
    const abandon = new AbortController();
    const signal = (opts as { duoSignal?: AbortSignal }).duoSignal ?? this.callSignal?.();
    const onAbort = () => abandon.abort();
    if (signal?.aborted) abandon.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    req.once('proxyConnect', (response: { statusCode?: number }) => {
      if (response.statusCode !== 200 && typeof response.statusCode === 'number') {
        this.refusals.set(req, response.statusCode);
      }
    });
    // The library opens the socket to the proxy synchronously from `connectOpts`: give this one socket the
    // request's abort signal, then restore the shared options before anything else can run.
    const shared = this.connectOpts;
    this.connectOpts = { ...shared, signal: abandon.signal };
    let pending: Promise<Socket>;
    try {
      pending = super.connect(req, { ...opts, ...this.tls });
    } finally {
      this.connectOpts = shared;
    }
    return pending.finally(() => signal?.removeEventListener('abort', onAbort));
  }
}

/** What went wrong between us and Duo, in the terms the fail-open decision needs. */
export type TransportFailure =
  /** Duo's certificate could not be verified, or TLS could not be negotiated: misconfiguration or interception. */
  | { readonly kind: 'tls'; readonly code: string; readonly handshake: boolean }
  /** A host name that does not exist (ENOTFOUND): a typo in apiHost (or in the proxy's host). */
  | { readonly kind: 'host_not_found'; readonly code: 'ENOTFOUND' }
  /** The proxy refused our credentials (407): our misconfiguration. */
  | { readonly kind: 'proxy_auth'; readonly status: 407 }
  /** The proxy answered the CONNECT with another status (403, 502, 503 …): Duo could not be reached through it. */
  | { readonly kind: 'proxy_refused'; readonly status: number }
  /** No connection, a reset, a temporary DNS failure: an outage. */
  | { readonly kind: 'network'; readonly code: string };

/** Node's certificate verification failures (OpenSSL's X509_V_ERR names) and its host name check. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

/** Connection-level failures that mean "Duo (or the way to it) is down right now". */
const OUTAGE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/**
 * Reads an error from a Duo call (the client's DuoException, axios' error, Node's socket error, in any nesting)
 * and says what kind of failure it was. Undefined when no transport failure is visible (e.g. Duo answered).
 *
 * @example
 * ```ts
 * classifyTransportError(Object.assign(new Error('unable to verify'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }));
 * // { kind: 'tls', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', handshake: false }
 * ```
 */
export function classifyTransportError(error: unknown, proxyStatus?: number): TransportFailure | undefined {
  if (proxyStatus === 407) return { kind: 'proxy_auth', status: 407 };
  if (proxyStatus !== undefined) return { kind: 'proxy_refused', status: proxyStatus };
  const codes = errorCodes(error);
  for (const code of codes) {
    if (CERTIFICATE_CODES.has(code) || code.startsWith('ERR_TLS_CERT_')) {
      return { kind: 'tls', code, handshake: false };
    }
  }
  for (const code of codes) {
    if (code.startsWith('ERR_SSL_') || code === 'EPROTO') return { kind: 'tls', code, handshake: true };
    if (code === 'ENOTFOUND') return { kind: 'host_not_found', code };
  }
  for (const code of codes) if (OUTAGE_CODES.has(code)) return { kind: 'network', code };
  return undefined;
}

/** Every string `code` along an error's chain (`inner` for DuoException, `cause` for axios and Node). */
function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth++) {
    const { code, inner, cause } = current as { code?: unknown; inner?: unknown; cause?: unknown };
    if (typeof code === 'string') codes.push(code);
    current = inner ?? cause;
  }
  return codes;
}

/** `http://****:****@host:port/` — the URL with any credentials masked. */
function maskUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.username !== '') copy.username = '****';
  if (copy.password !== '') copy.password = '****';
  return copy.href;
}

/** Masks `user:password@` in a string that did not even parse as a URL. */
function maskRaw(value: string): string {
  return value.replace(/\/\/[^/@]*@/, '//****:****@');
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}

/**
 * The outbound proxy itself is misconfigured — it refused our credentials (407), or its host name does not exist:
 * ERR_DUO_CONFIG, which never counts as a Duo outage (a fail-open tenant must not open because a proxy password was
 * rotated). `details` carries the masked proxy label; credentials never appear.
 *
 * @example
 * ```ts
 * throw proxyConfigError(transport, 'proxy_auth', { proxy: transport.proxyLabel }, error);
 * ```
 */
export function proxyConfigError(
  transport: DuoTransport,
  kind: 'proxy_auth' | 'host_not_found',
  details: Record<string, unknown>,
  cause?: unknown,
): DuoMfaError {
  const proxy = transport.proxyLabel ?? '';
  const withCause = cause === undefined ? {} : { cause };
  if (kind === 'proxy_auth') {
    return new DuoMfaError(
      'ERR_DUO_CONFIG',
      `The outbound proxy ${proxy} refused our credentials (HTTP 407 Proxy Authentication Required): ` +
        'check the user and password in duoProxy',
      { ...withCause, details: { ...details, proxyStatus: 407 } },
    );
  }
  return new DuoMfaError(
    'ERR_DUO_CONFIG',
    `The outbound proxy's host name ${transport.proxyHost} does not exist (ENOTFOUND): check duoProxy (${proxy})`,
    { ...withCause, details },
  );
}
