// Device insight outside a running middleware: from Redis (the per-tenant stream) or from a device log file.

import { readFile } from 'node:fs/promises';
import { RedisStore } from '../stores/redis';
import type { DeviceRecord, RedisLike } from '../stores/types';
import { summarizeDevices, type DeviceSummary } from './insight';

export interface ReadDeviceInsightOptions {
  readonly tenant: string;
  /** An ioredis client connected to the Redis the middleware writes to. */
  readonly redis?: RedisLike;
  /** The middleware's `redisPrefix`. Default `duo-mfa:`. */
  readonly redisPrefix?: string;
  /** The middleware's `deviceLogFile` (NDJSON), for apps without Redis. */
  readonly file?: string;
  /** Keep only devices whose epkey, hostname, IP or id contains this (case-insensitive). */
  readonly search?: string;
  /** How many recent MFA outcomes to read. Default 10,000. */
  readonly limit?: number;
}

/**
 * Lists the access devices seen for a tenant — their trust status, last seen and by whom — newest first.
 *
 * @example
 * ```ts
 * const devices = await readDeviceInsight({ tenant: 'acme', redis });
 * const synced = (await readDeviceInsight({ tenant: 'acme', redis, search: 'EP3NOQXW3A8Y5JKGVUUV' })).length > 0;
 * ```
 */
export async function readDeviceInsight(options: ReadDeviceInsightOptions): Promise<DeviceSummary[]> {
  const limit = options.limit ?? 10_000;
  let records: DeviceRecord[];
  if (options.redis) {
    records = await new RedisStore(options.redis, options.redisPrefix ?? 'duo-mfa:', 5000).deviceRecords(
      options.tenant,
      limit,
    );
  } else if (options.file !== undefined) {
    records = parseDeviceLog(await readFile(options.file, 'utf8'), options.tenant, limit);
  } else {
    throw new TypeError('readDeviceInsight needs { redis } or { file }');
  }
  return summarizeDevices(records, options.search);
}

/** The one ioredis command listing needs (SCAN with MATCH and COUNT), so any client with it will do. */
export interface RedisScanner {
  scan(
    cursor: string,
    match: 'MATCH',
    pattern: string,
    count: 'COUNT',
    n: number,
  ): Promise<[string, string[]]>;
}

/** At most this many SCAN round trips when listing tenants (each returns up to 500 keys). */
const MAX_SCANS = 2_000;

/**
 * The tenants that have device records, sorted: from the Redis keys `<prefix>devices:<tenant>`, or from the
 * device log file. What `duo-mfa devices` lists when asked about a tenant with none (a typo, usually).
 *
 * @example
 * ```ts
 * await listDeviceTenants({ file: './device-log.ndjson' }); // ['acme', 'globex']
 * ```
 */
export async function listDeviceTenants(options: {
  readonly redis?: RedisScanner;
  readonly redisPrefix?: string;
  readonly file?: string;
}): Promise<string[]> {
  const tenants = new Set<string>();
  if (options.redis) {
    const prefix = `${options.redisPrefix ?? 'duo-mfa:'}devices:`;
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let cursor = '0';
    for (let round = 0; round < MAX_SCANS; round++) {
      const [next, keys] = await options.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      for (const key of keys)
        if (key.startsWith(prefix) && key.length > prefix.length) tenants.add(key.slice(prefix.length));
      cursor = next;
      if (cursor === '0') break;
    }
  } else if (options.file !== undefined) {
    for (const line of (await readFile(options.file, 'utf8')).split('\n')) {
      if (line.trim() === '') continue;
      try {
        const record: unknown = JSON.parse(line);
        const tenant = (record as { tenant?: unknown } | null)?.tenant;
        if (typeof tenant === 'string' && tenant !== '') tenants.add(tenant);
      } catch {
        // A torn or foreign line: not a tenant.
      }
    }
  } else {
    throw new TypeError('listDeviceTenants needs { redis } or { file }');
  }
  return [...tenants].sort();
}

/** The tenant's records from a device log (one JSON object per line), newest first; bad lines are skipped. */
export function parseDeviceLog(text: string, tenant: string, limit: number): DeviceRecord[] {
  const records: DeviceRecord[] = [];
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0 && records.length < limit; i--) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    try {
      const record = JSON.parse(line) as DeviceRecord;
      if (record && record.tenant === tenant && typeof record.at === 'number') records.push(record);
    } catch {
      // A torn last line (the app was writing) or foreign text: skip it.
    }
  }
  return records;
}
