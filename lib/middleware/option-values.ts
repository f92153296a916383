// Checks for one option value each: every problem is a TypeError naming the option and what is allowed.

import type { RedisLike } from '../stores/types';
import { parseDuration } from '../util/duration';
import type { MfaLogger } from './events';
import { safeReturnPath } from './return-path';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Throws the TypeError every option problem becomes. */
export function fail(message: string): never {
  throw new TypeError(`express-duo-mfa: ${message}`);
}

export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? value.slice(0, 80) + '…' : value);
  if (typeof value === 'function') return 'a function';
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

export function parseBaseUrl(value: unknown): string {
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

export function parseSitePath(name: string, value: unknown): string {
  if (typeof value !== 'string' || safeReturnPath(value, 'https://example.invalid') !== value) {
    fail(`option "${name}" must be a path on this site starting with "/" (got ${show(value)})`);
  }
  return value;
}

export function parseRoute(name: string, value: unknown, fallback: string): string {
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

export function parseIgnore(value: unknown): ReadonlyArray<string | RegExp> {
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

export function parseDurationOption(name: string, value: unknown, fallback: string): number {
  const ms = parseDuration(value ?? fallback);
  if (ms === undefined)
    fail(`option "${name}" must be milliseconds or a duration such as "15m" or "12h" (got ${show(value)})`);
  return ms;
}

export function parsePositiveInt(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    fail(`option "${name}" must be a whole number of milliseconds between 1 and ${max} (got ${show(value)})`);
  }
  return value;
}

export function parseString(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value === '')
    fail(`option "${name}" must be a non-empty string (got ${show(value)})`);
  return value;
}

export function optionalFunction<T>(name: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') fail(`option "${name}" must be a function (got ${show(value)})`);
  return value as T;
}

export function parseDuoTls(value: unknown): string | Buffer | ReadonlyArray<string | Buffer> | undefined {
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
  return ca as string | Buffer | ReadonlyArray<string | Buffer>;
}

export function parseRedis(value: unknown): RedisLike | undefined {
  if (value === undefined) return undefined;
  const client = value as Record<string, unknown> | null;
  const needed = ['set', 'getdel', 'del', 'eval', 'xadd', 'xrevrange'];
  const missing = needed.filter((method) => typeof client?.[method] !== 'function');
  if (missing.length > 0) {
    fail(`option "redis" must be an ioredis client (new Redis(...)); it lacks ${missing.join(', ')}`);
  }
  return value as RedisLike;
}

export function parseLogger(value: unknown): MfaLogger | undefined {
  if (value === undefined) return undefined;
  const logger = value as Record<string, unknown> | null;
  const missing = ['debug', 'info', 'warn', 'error'].filter((level) => typeof logger?.[level] !== 'function');
  if (missing.length > 0)
    fail(`option "logger" must be a pino-compatible logger; it lacks ${missing.join(', ')}`);
  return value as MfaLogger;
}
