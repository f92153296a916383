// In-memory MfaStore: one app instance only. Expired entries are swept lazily, so no timer is ever left behind.
// Device records can also be appended to a file (NDJSON) that `duo-mfa devices --file` reads.

import { appendFile } from 'node:fs/promises';
import type { DeviceRecord, MfaStore, PendingRecord } from './types';

const SWEEP_EVERY = 256;

/** Keeps at most this many device records per tenant (oldest dropped first). */
export const MEMORY_DEVICE_RECORDS = 10_000;

export class MemoryStore implements MfaStore {
  private readonly pending = new Map<string, { record: PendingRecord; expiresAt: number }>();
  private readonly challenges = new Map<string, { count: number; resetAt: number }>();
  private readonly devices = new Map<string, DeviceRecord[]>();
  private writes = 0;
  /** Appends to the device log run one after another, so lines never interleave. */
  private deviceLog: Promise<void> = Promise.resolve();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly deviceLogFile?: string,
  ) {}

  putPending(id: string, record: PendingRecord, ttlMs: number): Promise<void> {
    this.sweep();
    this.pending.set(id, { record, expiresAt: this.now() + ttlMs });
    return Promise.resolve();
  }

  takePending(id: string): Promise<PendingRecord | undefined> {
    const entry = this.pending.get(id);
    this.pending.delete(id); // synchronous get-and-delete: atomic within one process
    return Promise.resolve(entry && entry.expiresAt > this.now() ? entry.record : undefined);
  }

  deletePending(id: string): Promise<void> {
    this.pending.delete(id);
    return Promise.resolve();
  }

  hitChallenge(key: string, windowMs: number): Promise<number> {
    this.sweep();
    const now = this.now();
    const entry = this.challenges.get(key);
    if (!entry || entry.resetAt <= now) {
      this.challenges.set(key, { count: 1, resetAt: now + windowMs });
      return Promise.resolve(1);
    }
    entry.count += 1;
    return Promise.resolve(entry.count);
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

  private sweep(): void {
    if (++this.writes % SWEEP_EVERY !== 0) return;
    const now = this.now();
    for (const [id, entry] of this.pending) if (entry.expiresAt <= now) this.pending.delete(id);
    for (const [key, entry] of this.challenges) if (entry.resetAt <= now) this.challenges.delete(key);
  }
}
