// The one place that reads duoMfa() options: validates them once and returns a frozen, fully defaulted config.

import type { Request } from 'express';
import type { RedisLike } from '../stores/types';
import { didYouMean } from '../util/names';
import { parseDuration } from '../util/duration';
import { safeReturnPath } from './return-path';
import type { AuditEvent } from './events';

/** The user the host app signed in with its password, as `getUser` returns it. */
export interface MfaUser {
  /** The host app's username (compared case-insensitively after trimming). */
  username: string;
  /** The tenant (customer) id, exactly as written in the policy file; defaultTenant applies when absent. */
  tenant?: string | undefined;
  /** The user's roles in the host app, matched against rolesIncluded and testGroup.roles. */
  roles?: readonly string[] | undefined;
}

/** A pino-compatible logger: the methods express-duo-mfa calls. */
export interface MfaLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Options of `duoMfa()`. Only `policy` and `baseUrl` are required. */
export interface DuoMfaOptions {
  /** Path to the admin policy JSON file (watched and hot-reloaded), or the already-parsed object. */
  policy: string | object;
  /**
   * Public origin of the host app, e.g. `https://portal.example.com`. The redirect_uri sent to Duo is built from
   * it alone, never from request headers. `http:` is accepted only for localhost, 127.0.0.1 and ::1.
   */
  baseUrl: string;
  /** Route mounted for Duo's redirect back. Default `/duo/callback`. */
  callbackPath?: string;
  /** Route that starts Duo for API clients (the `location` of a 401 `mfa_required`). Default `/duo/start`. */
  startPath?: string;
  /** Returns the signed-in user, or undefined before the password login. Default `req.user ?? req.session.user`. */
  getUser?: (req: Request) => MfaUser | null | undefined;
  /** The username Duo knows this person by. Default: the username trimmed and lower-cased. */
  toDuoUsername?: (user: MfaUser) => string;
  /** Paths never gated (string prefixes or RegExps): login, logout, static files. Default none. */
  ignore?: ReadonlyArray<string | RegExp>;
  /** Where to land when there is no safe return path. Default `/`. */
  afterLoginPath?: string;
  /**
   * The host app's sign-out endpoint (POST). When set, error pages offer a "Sign out" button next to "Back to
   * sign-in", so a denied user can leave instead of being sent to Duo again. Default: none.
   */
  signOutPath?: string;
  /** How long one Duo verification lasts in a session: ms or '15m', '12h'. Default '12h'. */
  maxAge?: number | string;
  /** How long a fail-open pass lasts when Duo is down and the tenant's failmode is open. Default '5m'. */
  failOpenMaxAge?: number | string;
  /** Timeout for every call to Duo (health check and token exchange), ms. Default 5000. */
  duoTimeoutMs?: number;
  /** Trust this CA for Duo instead of the client's pinned CAs (TLS-inspecting proxies, the emulator). */
  duoTls?: { ca: string | Buffer | ReadonlyArray<string | Buffer> };
  /**
   * An ioredis client: pending logins (taken atomically with GETDEL), challenge counts and device insight live
   * there, shared by every app instance. Without it, in memory (one instance only).
   */
  redis?: RedisLike;
  /** Prefix of every Redis key written. Default `duo-mfa:`. */
  redisPrefix?: string;
  /** Upper bound for each Redis command issued by the middleware, ms. Default 2000. */
  redisTimeoutMs?: number;
  /**
   * Without `redis`: also append every device record (NDJSON) to this file, for `duo-mfa devices --file`.
   * Default: device insight lives in memory only.
   */
  deviceLogFile?: string;
  /** Where structured logs go. Default: a pino logger named express-duo-mfa. */
  logger?: MfaLogger;
  /** Called with every audit event. Exceptions it throws are logged, never break a request. */
  onEvent?: (event: AuditEvent) => void;
  /** Environment used to resolve `{ "env": "NAME" }` secrets in the policy file. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** The clock (ms since epoch). For tests. */
  now?: () => number;
}

export interface MfaConfig {
  readonly policy: string | object;
  readonly origin: string;
  readonly redirectUrl: string;
  readonly callbackPath: string;
  readonly startPath: string;
  readonly getUser: (req: Request) => MfaUser | null | undefined;
  readonly toDuoUsername: ((user: MfaUser) => string) | undefined;
  readonly ignore: ReadonlyArray<string | RegExp>;
  readonly afterLoginPath: string;
  readonly signOutPath: string | undefined;
  readonly maxAgeMs: number;
  readonly failOpenMaxAgeMs: number;
  readonly duoTimeoutMs: number;
  readonly duoCa: string | Buffer | ReadonlyArray<string | Buffer> | undefined;
  readonly redis: RedisLike | undefined;
  readonly redisPrefix: string;
  readonly redisTimeoutMs: number;
  readonly deviceLogFile: string | undefined;
  readonly logger: MfaLogger | undefined;
  readonly onEvent: ((event: AuditEvent) => void) | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => number;
}

const KNOWN_OPTIONS = [
  'policy',
  'baseUrl',
  'callbackPath',
  'startPath',
  'getUser',
  'toDuoUsername',
  'ignore',
  'afterLoginPath',
  'signOutPath',
  'maxAge',
  'failOpenMaxAge',
  'duoTimeoutMs',
  'duoTls',
  'redis',
  'redisPrefix',
  'redisTimeoutMs',
  'deviceLogFile',
  'logger',
  'onEvent',
  'env',
  'now',
] as const satisfies ReadonlyArray<keyof DuoMfaOptions>;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Default getUser: passport's `req.user`, else `req.session.user`. */
function defaultGetUser(req: Request): MfaUser | undefined {
  const fromPassport = (req as { user?: unknown }).user;
  if (fromPassport !== undefined && fromPassport !== null) return fromPassport as MfaUser;
  const session = (req as unknown as { session?: Record<string, unknown> }).session;
  return (session?.user ?? undefined) as MfaUser | undefined;
}

function fail(message: string): never {
  throw new TypeError(`express-duo-mfa: ${message}`);
}

/**
 * Validates options once, at start-up. Every problem is a TypeError naming the option and what is allowed.
 */
export function parseOptions(input: unknown): MfaConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    fail(
      'duoMfa(options) needs an options object, e.g. duoMfa({ policy: "./duo-mfa.json", baseUrl: "https://app.example.com" })',
    );
  }
  const options = input as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!(KNOWN_OPTIONS as readonly string[]).includes(key)) {
      const hint = didYouMean(key, KNOWN_OPTIONS);
      fail(
        `unknown option "${key}"${hint ? ` — did you mean "${hint}"?` : ''} (known options: ${KNOWN_OPTIONS.join(', ')})`,
      );
    }
  }

  const policy = options.policy;
  if (
    !(typeof policy === 'string' && policy.trim() !== '') &&
    !(typeof policy === 'object' && policy !== null)
  ) {
    fail('option "policy" is required: a path to the policy JSON file, or the parsed policy object');
  }

  const origin = parseBaseUrl(options.baseUrl);
  const callbackPath = parseRoute('callbackPath', options.callbackPath, '/duo/callback');
  const startPath = parseRoute('startPath', options.startPath, '/duo/start');
  if (callbackPath === startPath) fail('options "callbackPath" and "startPath" must differ');

  const afterLoginPath = options.afterLoginPath ?? '/';
  if (
    typeof afterLoginPath !== 'string' ||
    !afterLoginPath.startsWith('/') ||
    afterLoginPath.startsWith('//')
  ) {
    fail(
      `option "afterLoginPath" must be a path on this site starting with "/" (got ${show(afterLoginPath)})`,
    );
  }

  return Object.freeze({
    policy,
    origin,
    redirectUrl: origin + callbackPath,
    callbackPath,
    startPath,
    getUser: optionalFunction<MfaConfig['getUser']>('getUser', options.getUser) ?? defaultGetUser,
    toDuoUsername: optionalFunction<(user: MfaUser) => string>('toDuoUsername', options.toDuoUsername),
    ignore: parseIgnore(options.ignore),
    afterLoginPath,
    signOutPath:
      options.signOutPath === undefined ? undefined : parseSitePath('signOutPath', options.signOutPath),
    maxAgeMs: parseDurationOption('maxAge', options.maxAge, '12h'),
    failOpenMaxAgeMs: parseDurationOption('failOpenMaxAge', options.failOpenMaxAge, '5m'),
    duoTimeoutMs: parsePositiveInt('duoTimeoutMs', options.duoTimeoutMs, 5000, 120_000),
    duoCa: parseDuoTls(options.duoTls),
    redis: parseRedis(options.redis),
    redisPrefix: parseString('redisPrefix', options.redisPrefix, 'duo-mfa:'),
    redisTimeoutMs: parsePositiveInt('redisTimeoutMs', options.redisTimeoutMs, 2000, 60_000),
    deviceLogFile:
      options.deviceLogFile === undefined
        ? undefined
        : parseString('deviceLogFile', options.deviceLogFile, ''),
    logger: parseLogger(options.logger),
    onEvent: optionalFunction<(event: AuditEvent) => void>('onEvent', options.onEvent),
    env: (options.env as NodeJS.ProcessEnv | undefined) ?? process.env,
    now: optionalFunction<() => number>('now', options.now) ?? Date.now,
  });
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? value.slice(0, 80) + '…' : value);
  if (typeof value === 'function') return 'a function';
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

function parseBaseUrl(value: unknown): string {
  const example = 'e.g. "https://portal.example.com"';
  if (typeof value !== 'string' || value === '')
    fail(`option "baseUrl" is required: the public origin of your app, ${example}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(`option "baseUrl" must be an absolute URL, ${example} (got ${show(value)})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    fail(`option "baseUrl" must use https (got ${show(value)})`);
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    fail(
      `option "baseUrl" must use https; http is allowed only for localhost, 127.0.0.1 and ::1 (got ${show(value)})`,
    );
  }
  if (
    url.username ||
    url.password ||
    url.search ||
    url.hash ||
    (url.pathname !== '/' && url.pathname !== '')
  ) {
    fail(
      `option "baseUrl" must be an origin only — scheme, host and port, no path, query or credentials, ${example} (got ${show(value)})`,
    );
  }
  return url.origin;
}

function parseSitePath(name: string, value: unknown): string {
  if (typeof value !== 'string' || safeReturnPath(value, 'https://example.invalid') !== value) {
    fail(`option "${name}" must be a path on this site starting with "/" (got ${show(value)})`);
  }
  return value;
}

function parseRoute(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'string' ||
    !/^\/[A-Za-z0-9\-._~/]*$/.test(value) ||
    value.startsWith('//') ||
    value.length > 200
  ) {
    fail(`option "${name}" must be a plain path such as "${fallback}" (got ${show(value)})`);
  }
  return value.length > 1 && value.endsWith('/') ? value.slice(0, -1) : value;
}

function parseIgnore(value: unknown): ReadonlyArray<string | RegExp> {
  if (value === undefined) return Object.freeze([]);
  if (!Array.isArray(value))
    fail(`option "ignore" must be an array of path prefixes or RegExps (got ${show(value)})`);
  const entries = value.map((entry: unknown, index) => {
    if (entry instanceof RegExp) return entry;
    if (typeof entry === 'string' && entry.startsWith('/')) return entry;
    return fail(
      `option "ignore[${index}]" must be a path prefix starting with "/" or a RegExp (got ${show(entry)})`,
    );
  });
  return Object.freeze(entries);
}

function parseDurationOption(name: string, value: unknown, fallback: string): number {
  const ms = parseDuration(value ?? fallback);
  if (ms === undefined)
    fail(`option "${name}" must be milliseconds or a duration such as "15m" or "12h" (got ${show(value)})`);
  return ms;
}

function parsePositiveInt(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    fail(`option "${name}" must be a whole number of milliseconds between 1 and ${max} (got ${show(value)})`);
  }
  return value;
}

function parseString(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value === '')
    fail(`option "${name}" must be a non-empty string (got ${show(value)})`);
  return value;
}

function optionalFunction<T>(name: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') fail(`option "${name}" must be a function (got ${show(value)})`);
  return value as T;
}

function parseDuoTls(value: unknown): MfaConfig['duoCa'] {
  if (value === undefined) return undefined;
  const ca: unknown =
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>).ca : undefined;
  const isPem = (v: unknown) =>
    (typeof v === 'string' && v.includes('BEGIN CERTIFICATE')) || Buffer.isBuffer(v);
  if (!(isPem(ca) || (Array.isArray(ca) && ca.length > 0 && ca.every(isPem)))) {
    fail(
      'option "duoTls" must be { ca: "<PEM certificate(s)>" } (a string or Buffer containing BEGIN CERTIFICATE, or an array of them)',
    );
  }
  return ca as MfaConfig['duoCa'];
}

function parseRedis(value: unknown): RedisLike | undefined {
  if (value === undefined) return undefined;
  const client = value as Record<string, unknown> | null;
  const needed = ['set', 'getdel', 'del', 'eval', 'xadd', 'xrevrange'];
  const missing = needed.filter((method) => typeof client?.[method] !== 'function');
  if (missing.length > 0) {
    fail(`option "redis" must be an ioredis client (new Redis(...)); it lacks ${missing.join(', ')}`);
  }
  return value as RedisLike;
}

function parseLogger(value: unknown): MfaLogger | undefined {
  if (value === undefined) return undefined;
  const logger = value as Record<string, unknown> | null;
  const missing = ['debug', 'info', 'warn', 'error'].filter((level) => typeof logger?.[level] !== 'function');
  if (missing.length > 0)
    fail(`option "logger" must be a pino-compatible logger; it lacks ${missing.join(', ')}`);
  return value as MfaLogger;
}
