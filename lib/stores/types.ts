// What the middleware keeps outside the session: pending logins, challenge counts and device insight.

import type { TrustStatus } from '../duo/result';

/**
 * The subset of an ioredis client express-duo-mfa uses. Pass your `new Redis(...)` as the `redis` option;
 * configure it to fail fast when Redis is down (see the README: `enableOfflineQueue: false`, `commandTimeout`).
 */
export interface RedisLike {
  set(key: string, value: string, mode: 'PX', ttlMs: number): Promise<unknown>;
  getdel(key: string): Promise<string | null>;
  del(...keys: string[]): Promise<number>;
  eval(script: string, numberOfKeys: number, ...args: Array<string | number>): Promise<unknown>;
  xadd(key: string, ...args: Array<string | number>): Promise<unknown>;
  xrevrange(
    key: string,
    end: string,
    start: string,
    count: 'COUNT',
    n: number,
  ): Promise<Array<[string, string[]]>>;
}

/** A login that went to Duo and has not come back yet. Never holds the state itself, only its hash as key. */
export interface PendingRecord {
  /** Canonical host username (trimmed, lower-cased). */
  readonly username: string;
  /** The username sent to Duo as duo_uname, compared on return. */
  readonly duoUsername: string;
  readonly tenant: string;
  /** The Duo application that started it: the code must be exchanged with the same one (S24). */
  readonly clientId: string;
  /** Safe same-origin path to land on afterwards. */
  readonly returnTo: string;
  /** Epoch ms. */
  readonly startedAt: number;
  /** True for a step-up started by requireRecentMfa(). */
  readonly stepUp: boolean;
  /** A step-up that needs a live factor (requireRecent's freshFactor): Duo letting it through without one denies. */
  readonly requireFresh?: boolean;
}

/** One MFA outcome as recorded for device insight. */
export interface DeviceRecord {
  readonly at: number;
  readonly tenant: string;
  readonly username: string;
  /** allowed | denied | blocked (by the tenant's trusted-endpoint policy). */
  readonly outcome: 'allowed' | 'denied' | 'blocked';
  readonly trusted: TrustStatus;
  /** Why: Duo's reason, or the policy step that blocked. */
  readonly reason: string;
  readonly factor?: string;
  readonly epkey?: string;
  readonly hostname?: string;
  readonly ip?: string;
  readonly os?: string;
  readonly osVersion?: string;
  readonly browser?: string;
  readonly browserVersion?: string;
  /**
   * What vouched for the device when Duo reported it trusted: a management code such as `duo_mobile`,
   * `duo_desktop` or `ivanti` (DuoAuthResult.device.vouchedBy). Absent when not trusted or not reported.
   */
  readonly vouchedBy?: string;
  /** Whether the tenant's policy applied to this user (in scope of activation). */
  readonly policyActive: boolean;
  readonly policy: 'off' | 'monitor' | 'block';
}

/** A pending login to store when a challenge starts: its id (the state's hash), the record and how long it lives. */
export interface PendingLogin {
  readonly id: string;
  readonly record: PendingRecord;
  readonly ttlMs: number;
}

/**
 * Storage the middleware needs; a memory implementation serves one instance, Redis serves many. `owner` is the
 * hash of one user in one tenant: their challenge window and their pending logins live together (in Redis, under
 * one hash tag, so a Cluster serves each operation from one node).
 */
export interface MfaStore {
  /**
   * One more Duo challenge for `owner`, against a sliding window: when fewer than `limit` were started in the last
   * `windowMs`, logs this one and stores the pending login — one atomic step. Returns what this one makes (those in
   * the window plus this one); above `limit` it was refused, and nothing was logged or stored.
   */
  startChallenge(owner: string, windowMs: number, limit: number, pending: PendingLogin): Promise<number>;
  /**
   * Returns and removes the record in one atomic step, or undefined when absent or already taken. A record taken
   * leaves its `returnTo` behind for `landingTtlMs`, for landingOf().
   */
  takePending(owner: string, id: string, landingTtlMs: number): Promise<PendingRecord | undefined>;
  /**
   * Where a pending login taken in the last `landingTtlMs` was going (its `returnTo`): a repeated callback after
   * the sign-in succeeded lands there again (S18). Kept here, not in the session, which express-session hashes
   * and re-serialises on every request.
   */
  landingOf(owner: string, id: string): Promise<string | undefined>;
  deletePending(owner: string, id: string): Promise<void>;
  /**
   * Whether the pending login is still stored (not taken, not expired), without taking it: checked before a start
   * goes back to a prompt under way (S42), which is useless once the record is gone. Optional for stores written
   * before it existed: without it the session's word is taken.
   */
  hasPending?(owner: string, id: string): Promise<boolean>;
  /** Records one outcome for device insight (the Redis store writes them in batches, shortly after). */
  recordDevice(record: DeviceRecord): Promise<void>;
  /** Newest first, including records still waiting to be written. */
  deviceRecords(tenant: string, limit: number): Promise<DeviceRecord[]>;
  /** Writes what is still buffered; resolves when done (or failed: logged, never thrown). */
  flush(): Promise<void>;
}
