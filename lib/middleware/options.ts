// The one place that reads duoMfa() options: validates them once and returns a frozen, fully defaulted config.

import type { Worker } from 'node:worker_threads';
import type { Request } from 'express';
import { parseSecretsKey, type SecretsKey } from '../policy/secrets';
import type { RedisLike } from '../stores/types';
import { didYouMean } from '../util/names';
import type { AuditEvent, MfaLogger } from './events';
import {
  fail,
  optionalFunction,
  parseBaseUrl,
  parseDuoTls,
  parseDurationOption,
  parseIgnore,
  parseLogger,
  parsePositiveInt,
  parseRedis,
  parseRoute,
  parseSitePath,
  parseString,
  show,
} from './option-values';

/** The user the host app signed in with its password, as `getUser` returns it. */
export interface MfaUser {
  /** The host app's username (compared case-insensitively after trimming). */
  username: string;
  /** The tenant (customer) id, exactly as written in the policy file; defaultTenant applies when absent. */
  tenant?: string | undefined;
  /** The user's roles in the host app, matched against rolesIncluded and testGroup.roles. */
  roles?: readonly string[] | undefined;
}

/** Options of `duoMfa()`. Only `policy` and `baseUrl` are required. */
export interface DuoMfaOptions {
  /**
   * The policy: a path to the admin JSON file, or to a directory of `<tenantId>.json` files (both watched, reloaded
   * tenant by tenant), `redisPolicy(redis)` (shared by every instance), or the already-parsed object (read-only).
   */
  policy: string | object;
  /**
   * The key that encrypts client secrets written through the settings API and opens `{ "encrypted": "v1:…" }`
   * secrets: 32 random bytes in base64 (`openssl rand -base64 32`); several, comma-separated and the encrypting
   * one first, while rotating. Default `process.env.DUO_MFA_SECRETS_KEY`. Without one, setting a secret through
   * the settings API is refused and a tenant holding an encrypted secret is unavailable.
   */
  secretsKey?: string;
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
   * Send every call to Duo (health check, token exchange, Admin API) through this HTTP CONNECT proxy, e.g.
   * `http://user:password@proxy.internal:3128`. `duoTls` and `duoTimeoutMs` still apply end to end; the proxy
   * refusing or not answering counts as a Duo outage, wrong proxy credentials as a misconfiguration. Its
   * credentials never appear in logs, events or errors. `HTTPS_PROXY` is not read. Default: direct.
   */
  duoProxy?: string;
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
}

/**
 * Seams for tests, kept out of the options users write: the clock and the environment `{ "env": "NAME" }`
 * secrets are read from. Only reachable through the internal `createDuoMfa()` (lib/middleware/index.ts).
 */
export interface TestingHooks {
  /** The clock (ms since epoch). Default `Date.now`. */
  readonly now?: () => number;
  /** Environment used to resolve `{ "env": "NAME" }` secrets. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Starts the policy file's worker thread (one that fails: the main-thread fallback and its warning). */
  readonly startPolicyWorker?: () => Worker;
}

export type { MfaLogger } from './events';

/** Duo's CA override as `duoTls.ca` gives it. */
export type DuoCa = string | Buffer | ReadonlyArray<string | Buffer>;

export interface MfaConfig {
  readonly policy: string | object;
  readonly secretsKey: SecretsKey | undefined;
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
  readonly duoCa: DuoCa | undefined;
  readonly duoProxy: string | undefined;
  readonly redis: RedisLike | undefined;
  readonly redisPrefix: string;
  readonly redisTimeoutMs: number;
  readonly deviceLogFile: string | undefined;
  readonly logger: MfaLogger | undefined;
  readonly onEvent: ((event: AuditEvent) => void) | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => number;
  /** TestingHooks.startPolicyWorker, when given. */
  readonly startPolicyWorker?: () => Worker;
}

const KNOWN_OPTIONS = [
  'policy',
  'baseUrl',
  'secretsKey',
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
  'duoProxy',
  'redis',
  'redisPrefix',
  'redisTimeoutMs',
  'deviceLogFile',
  'logger',
  'onEvent',
] as const satisfies ReadonlyArray<keyof DuoMfaOptions>;

/** Default getUser: passport's `req.user`, else `req.session.user`. */
function defaultGetUser(req: Request): MfaUser | undefined {
  const fromPassport = (req as { user?: unknown }).user;
  if (fromPassport !== undefined && fromPassport !== null) return fromPassport as MfaUser;
  const session = (req as unknown as { session?: Record<string, unknown> }).session;
  return (session?.user ?? undefined) as MfaUser | undefined;
}

/**
 * Validates options once, at start-up. Every problem is a TypeError naming the option and what is allowed.
 */
export function parseOptions(input: unknown, hooks: TestingHooks = {}): MfaConfig {
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
    secretsKey: parseSecretsKeyOption(options.secretsKey, hooks.env ?? process.env),
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
    duoProxy: options.duoProxy === undefined ? undefined : parseString('duoProxy', options.duoProxy, ''),
    redis: parseRedis(options.redis),
    redisPrefix: parseString('redisPrefix', options.redisPrefix, 'duo-mfa:'),
    redisTimeoutMs: parsePositiveInt('redisTimeoutMs', options.redisTimeoutMs, 2000, 60_000),
    deviceLogFile:
      options.deviceLogFile === undefined
        ? undefined
        : parseString('deviceLogFile', options.deviceLogFile, ''),
    logger: parseLogger(options.logger),
    onEvent: optionalFunction<(event: AuditEvent) => void>('onEvent', options.onEvent),
    env: hooks.env ?? process.env,
    now: hooks.now ?? Date.now,
    ...(hooks.startPolicyWorker ? { startPolicyWorker: hooks.startPolicyWorker } : {}),
  });
}

/** `secretsKey`, else DUO_MFA_SECRETS_KEY: checked now, so a malformed key is a start-up error naming it. */
function parseSecretsKeyOption(value: unknown, env: NodeJS.ProcessEnv): SecretsKey | undefined {
  if (value !== undefined) {
    try {
      return parseSecretsKey(value as string, 'option "secretsKey"');
    } catch (error) {
      fail((error as Error).message.replace(/^express-duo-mfa: /, ''));
    }
  }
  try {
    return parseSecretsKey(env.DUO_MFA_SECRETS_KEY, 'DUO_MFA_SECRETS_KEY');
  } catch (error) {
    fail((error as Error).message.replace(/^express-duo-mfa: /, ''));
  }
}
