// In-memory MfaStore: one app instance only. Expired entries are swept lazily, so no timer is ever left behind.
// Device records can also be appended to a file (NDJSON) that `duo-mfa devices --file` reads.

import { appendFile } from 'node:fs/promises';
import type { DeviceRecord, MfaStore, PendingLogin, PendingRecord } from './types';

const SWEEP_EVERY = 256;

/** Keeps at most this many device records per tenant (oldest dropped first). */
export const MEMORY_DEVICE_RECORDS = 10_000;

export class MemoryStore implements MfaStore {
  private readonly pending = new Map<string, { record: PendingRecord; expiresAt: number }>();
  /** Where taken pending logins were going, for landingOf(). */
  private readonly landings = new Map<string, { returnTo: string; expiresAt: number }>();
  /** Each owner's challenges in the sliding window: start times, oldest first, and when the newest leaves it. */
  private readonly challenges = new Map<string, { starts: number[]; expiresAt: number }>();
  private readonly devices = new Map<string, DeviceRecord[]>();
  private writes = 0;
  /** Appends to the device log run one after another, so lines never interleave. */
  private deviceLog: Promise<void> = Promise.resolve();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly deviceLogFile?: string,
  ) {}

  startChallenge(owner: string, windowMs: number, limit: number, pending: PendingLogin): Promise<number> {
    this.sweep();
    const now = this.now();
    const starts = (this.challenges.get(owner)?.starts ?? []).filter((at) => at > now - windowMs);
    const count = starts.length + 1;
    if (count <= limit) {
      starts.push(now);
      this.pending.set(pendingKey(owner, pending.id), {
        record: pending.record,
        expiresAt: now + pending.ttlMs,
      });
    }
    if (starts.length === 0) this.challenges.delete(owner);
    else this.challenges.set(owner, { starts, expiresAt: starts.at(-1)! + windowMs });
    return Promise.resolve(count);
  }

  takePending(owner: string, id: string, landingTtlMs: number): Promise<PendingRecord | undefined> {
    const key = pendingKey(owner, id);
    const entry = this.pending.get(key);
    this.pending.delete(key); // synchronous get-and-delete: atomic within one process
    const now = this.now();
    if (!entry || entry.expiresAt <= now) return Promise.resolve(undefined);
    this.sweep();
    this.landings.set(key, { returnTo: entry.record.returnTo, expiresAt: now + landingTtlMs });
    return Promise.resolve(entry.record);
  }

  landingOf(owner: string, id: string): Promise<string | undefined> {
    const entry = this.landings.get(pendingKey(owner, id));
    return Promise.resolve(entry && entry.expiresAt > this.now() ? entry.returnTo : undefined);
  }

  hasPending(owner: string, id: string): Promise<boolean> {
    const entry = this.pending.get(pendingKey(owner, id));
    return Promise.resolve(entry !== undefined && entry.expiresAt > this.now());
  }

  deletePending(owner: string, id: string): Promise<void> {
    this.pending.delete(pendingKey(owner, id));
    return Promise.resolve();
  }

  recordDevice(record: DeviceRecord): Promise<void> {
    let list = this.devices.get(record.tenant);
    if (!list) this.devices.set(record.tenant, (list = []));
    list.push(record);
    if (list.length > MEMORY_DEVICE_RECORDS * 1.1) list.splice(0, list.length - MEMORY_DEVICE_RECORDS);
    const file = this.deviceLogFile;
    if (file === undefined) return Promise.resolve();
    const line = JSON.stringify(record) + '\n';
    const write = this.deviceLog.then(() => appendFile(file, line, { mode: 0o600 }));
    this.deviceLog = write.catch(() => undefined);
    return write;
  }

  deviceRecords(tenant: string, limit: number): Promise<DeviceRecord[]> {
    const list = this.devices.get(tenant) ?? [];
    return Promise.resolve(list.slice(Math.max(0, list.length - limit)).reverse());
  }

  flush(): Promise<void> {
    return this.deviceLog;
  }

  private sweep(): void {
    if (++this.writes % SWEEP_EVERY !== 0) return;
    const now = this.now();
    for (const [id, entry] of this.pending) if (entry.expiresAt <= now) this.pending.delete(id);
    for (const [id, entry] of this.landings) if (entry.expiresAt <= now) this.landings.delete(id);
    for (const [key, entry] of this.challenges) if (entry.expiresAt <= now) this.challenges.delete(key);
  }
}

function pendingKey(owner: string, id: string): string {
  return `${owner}\0${id}`;
}
