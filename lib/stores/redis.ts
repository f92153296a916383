// Redis MfaStore (ioredis): pending logins taken with GETDEL, challenge windows counted atomically, device
// insight in a capped stream per tenant. Every command is bounded by a timeout and fails as ERR_STORE_UNAVAILABLE.

import { DuoMfaError } from '../errors';
import type { DeviceRecord, MfaStore, PendingRecord, RedisLike } from './types';

/** Approximate cap of each tenant's device stream (XADD MAXLEN ~). */
export const REDIS_DEVICE_RECORDS = 10_000;

const HIT_SCRIPT =
  "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n";

export class RedisStore implements MfaStore {
  constructor(
    private readonly redis: RedisLike,
    private readonly prefix: string,
    private readonly timeoutMs: number,
  ) {}

  async putPending(id: string, record: PendingRecord, ttlMs: number): Promise<void> {
    await this.run('set', () =>
      this.redis.set(this.key('pending', id), JSON.stringify(record), 'PX', Math.ceil(ttlMs)),
    );
  }

  async takePending(id: string): Promise<PendingRecord | undefined> {
    const raw = await this.run('getdel', () => this.redis.getdel(this.key('pending', id)));
    if (typeof raw !== 'string') return undefined;
    try {
      return JSON.parse(raw) as PendingRecord;
    } catch {
      return undefined;
    }
  }

  async deletePending(id: string): Promise<void> {
    await this.run('del', () => this.redis.del(this.key('pending', id)));
  }

  async hitChallenge(key: string, windowMs: number): Promise<number> {
    const count = await this.run('eval', () =>
      this.redis.eval(HIT_SCRIPT, 1, this.key('challenges', key), Math.ceil(windowMs)),
    );
    return Number(count);
  }

  async recordDevice(record: DeviceRecord): Promise<void> {
    const stream = this.key('devices', record.tenant);
    await this.run('xadd', () =>
      this.redis.xadd(stream, 'MAXLEN', '~', REDIS_DEVICE_RECORDS, '*', 'r', JSON.stringify(record)),
    );
  }

  async deviceRecords(tenant: string, limit: number): Promise<DeviceRecord[]> {
    const entries = await this.run('xrevrange', () =>
      this.redis.xrevrange(this.key('devices', tenant), '+', '-', 'COUNT', limit),
    );
    const records: DeviceRecord[] = [];
    for (const [, fields] of entries) {
      const index = fields.indexOf('r');
      const raw = index >= 0 ? fields[index + 1] : undefined;
      if (raw === undefined) continue;
      try {
        records.push(JSON.parse(raw) as DeviceRecord);
      } catch {
        // A foreign entry in our stream: skip it rather than fail the listing.
      }
    }
    return records;
  }

  private key(kind: string, id: string): string {
    return `${this.prefix}${kind}:${id}`;
  }

  private async run<T>(command: string, op: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new DuoMfaError(
              'ERR_STORE_UNAVAILABLE',
              `Redis did not answer ${command} within ${this.timeoutMs} ms`,
            ),
          ),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([op(), deadline]);
    } catch (error) {
      if (error instanceof DuoMfaError) throw error;
      throw new DuoMfaError(
        'ERR_STORE_UNAVAILABLE',
        `Redis ${command} failed: ${(error as Error)?.message ?? String(error)}`,
        {
          cause: error,
        },
      );
    } finally {
      clearTimeout(timer);
    }
  }
}
