// Redis MfaStore (ioredis): a challenge logged (sliding window) and its pending login stored in one script,
// pending logins taken with GETDEL in a script that also keeps where they were going, device insight written in
// batches to a capped stream per tenant. Every command is bounded by a timeout and fails as
// ERR_STORE_UNAVAILABLE. A user's keys share a hash tag, so a Cluster serves each command from one node.

import { DuoMfaError } from '../errors';
import type { DeviceRecord, MfaStore, PendingLogin, PendingRecord, RedisLike } from './types';

/** Approximate cap of each tenant's device stream (XADD MAXLEN ~). */
export const REDIS_DEVICE_RECORDS = 10_000;

/**
 * KEYS: challenge log (a sorted set: each challenge's start time), pending login. ARGV: now ms, window ms, limit,
 * record JSON, record TTL ms, challenge id. A sliding window: challenges older than the window are dropped, and
 * this one is logged (with its pending login) only while fewer than `limit` remain; a refused one is not logged.
 */
const START_SCRIPT = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
local n = redis.call('ZCARD', KEYS[1]) + 1
if n <= tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[6])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
end
return n`;

/**
 * KEYS: pending login, its landing. ARGV: landing TTL ms. GETDEL, and the record's returnTo kept for landingOf() —
 * one round trip, as GETDEL alone was.
 */
const TAKE_SCRIPT = `
local v = redis.call('GETDEL', KEYS[1])
if v then
  local ok, r = pcall(cjson.decode, v)
  if ok and type(r) == 'table' and type(r.returnTo) == 'string' then
    redis.call('SET', KEYS[2], r.returnTo, 'PX', ARGV[1])
  end
end
return v`;

/** GET for one key, through the EVAL every RedisLike has. */
const GET_SCRIPT = "return redis.call('GET', KEYS[1])";

/** KEYS: a tenant's device stream. ARGV: cap, then one JSON record each. */
const DEVICES_SCRIPT = `
for i = 2, #ARGV do redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'r', ARGV[i]) end
return #ARGV - 1`;

/** EXISTS for one key, through the EVAL every RedisLike has. */
const EXISTS_SCRIPT = "return redis.call('EXISTS', KEYS[1])";

/** Device records wait at most this long before they are written (one script per tenant). */
const DEVICE_FLUSH_MS = 100;
/** …or until this many are waiting. */
const DEVICE_BATCH = 64;

/** Options of the Redis store beyond the client. */
export interface RedisStoreOptions {
  /** Where a failed batch of device records is reported (they are written after the response). */
  readonly onDeviceError?: (error: unknown, count: number) => void;
  /** The clock challenges are logged by (the middleware's `now`). Default Date.now. */
  readonly now?: () => number;
}

export class RedisStore implements MfaStore {
  /** Device records waiting to be written, per tenant. */
  private deviceQueue = new Map<string, DeviceRecord[]>();
  private queued = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: RedisLike,
    private readonly prefix: string,
    private readonly timeoutMs: number,
    private readonly options: RedisStoreOptions = {},
  ) {}

  async startChallenge(
    owner: string,
    windowMs: number,
    limit: number,
    pending: PendingLogin,
  ): Promise<number> {
    const count = await this.run('eval', () =>
      this.redis.eval(
        START_SCRIPT,
        2,
        // A sorted set since the window slides (the fixed window's counters were "challenges" strings).
        this.ownerKey('challenge-log', owner),
        this.pendingKey(owner, pending.id),
        Math.floor((this.options.now ?? Date.now)()),
        Math.ceil(windowMs),
        limit,
        JSON.stringify(pending.record),
        Math.ceil(pending.ttlMs),
        pending.id,
      ),
    );
    return Number(count);
  }

  async takePending(owner: string, id: string, landingTtlMs: number): Promise<PendingRecord | undefined> {
    const raw = await this.run('eval', () =>
      this.redis.eval(
        TAKE_SCRIPT,
        2,
        this.pendingKey(owner, id),
        this.landingKey(owner, id),
        Math.ceil(landingTtlMs),
      ),
    );
    if (typeof raw !== 'string') return undefined;
    try {
      return JSON.parse(raw) as PendingRecord;
    } catch {
      return undefined;
    }
  }

  async landingOf(owner: string, id: string): Promise<string | undefined> {
    const raw = await this.run('eval', () => this.redis.eval(GET_SCRIPT, 1, this.landingKey(owner, id)));
    return typeof raw === 'string' ? raw : undefined;
  }

  async hasPending(owner: string, id: string): Promise<boolean> {
    // EVAL rather than EXISTS: RedisLike (the option's public type) asks for no more commands than before.
    const key = this.pendingKey(owner, id);
    return (await this.run('exists', () => this.redis.eval(EXISTS_SCRIPT, 1, key))) === 1;
  }

  async deletePending(owner: string, id: string): Promise<void> {
    await this.run('del', () => this.redis.del(this.pendingKey(owner, id)));
  }

  /**
   * Queues the record: records are written shortly after the response (at most 100 ms, or 64 at a time), one
   * script per tenant, so a login pays no round trip for device insight. A crash loses at most the queued ones:
   * device insight is a record, not a gate, and every outcome is also in the audit events.
   */
  recordDevice(record: DeviceRecord): Promise<void> {
    let list = this.deviceQueue.get(record.tenant);
    if (!list) this.deviceQueue.set(record.tenant, (list = []));
    list.push(record);
    this.queued += 1;
    if (this.queued >= DEVICE_BATCH) void this.flush();
    else this.flushTimer ??= setTimeout(() => void this.flush(), DEVICE_FLUSH_MS).unref();
    return Promise.resolve();
  }

  flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const batches = [...this.deviceQueue];
    this.deviceQueue = new Map();
    this.queued = 0;
    const write = this.flushing.then(() =>
      Promise.all(
        batches.map(([tenant, records]) =>
          this.run('eval', () =>
            this.redis.eval(
              DEVICES_SCRIPT,
              1,
              this.key('devices', tenant),
              REDIS_DEVICE_RECORDS,
              ...records.map((record) => JSON.stringify(record)),
            ),
          ).catch((error: unknown) => this.options.onDeviceError?.(error, records.length)),
        ),
      ).then(() => undefined),
    );
    this.flushing = write;
    return write;
  }

  async deviceRecords(tenant: string, limit: number): Promise<DeviceRecord[]> {
    await this.flush();
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

  /** A key of one user's (owner's): the `{owner}` hash tag puts all of them in one Cluster slot. */
  private ownerKey(kind: string, owner: string): string {
    return `${this.prefix}${kind}:{${owner}}`;
  }

  private pendingKey(owner: string, id: string): string {
    return `${this.ownerKey('pending', owner)}:${id}`;
  }

  private landingKey(owner: string, id: string): string {
    return `${this.ownerKey('landed', owner)}:${id}`;
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
