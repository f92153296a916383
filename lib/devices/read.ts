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
