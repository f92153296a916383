// Device insight: groups recorded MFA outcomes into the access devices seen, their trust status, last seen and users.

import type { TrustStatus } from '../duo/result';
import type { DeviceRecord } from '../stores/types';

/** One access device as admins see it (what Duo's Device Insight / Endpoints pages show). */
export interface DeviceSummary {
  /** Duo's endpoint key when reported, else the hostname, else "os / browser @ ip". */
  readonly id: string;
  readonly epkey?: string;
  readonly hostname?: string;
  readonly os?: string;
  readonly browser?: string;
  readonly lastIp?: string;
  /** The trust status Duo reported the last time the device was seen. */
  readonly trusted: TrustStatus;
  /**
   * What vouched for it the last time it was seen trusted (`duo_mobile`, `duo_desktop`, `ivanti`, …; see
   * managerName() for the names people know them by). Absent when it was not trusted then, or Duo did not say.
   */
  readonly vouchedBy?: string;
  readonly lastSeen: string;
  readonly firstSeen: string;
  /** Canonical usernames that signed in from it, most recent first. */
  readonly users: readonly string[];
  readonly outcomes: { readonly allowed: number; readonly denied: number; readonly blocked: number };
}

/**
 * Groups records (newest first, as stores return them) into devices, newest first. With `search`, keeps the
 * devices whose epkey, hostname, IP or id contains it (case-insensitive): the "has this device synced?" look-up.
 *
 * @example summarizeDevices(await store.deviceRecords('acme', 1000), 'EP3NOQ')
 */
export function summarizeDevices(records: readonly DeviceRecord[], search?: string): DeviceSummary[] {
  const byId = new Map<string, { summary: Mutable<DeviceSummary>; users: Set<string> }>();
  for (const record of records) {
    const id = deviceId(record);
    let entry = byId.get(id);
    if (!entry) {
      entry = {
        users: new Set(),
        summary: {
          id,
          ...(record.epkey ? { epkey: record.epkey } : {}),
          ...(record.hostname ? { hostname: record.hostname } : {}),
          ...(record.os ? { os: withVersion(record.os, record.osVersion) } : {}),
          ...(record.browser ? { browser: withVersion(record.browser, record.browserVersion) } : {}),
          ...(record.ip ? { lastIp: record.ip } : {}),
          trusted: record.trusted,
          ...(record.trusted === 'trusted' && isManagementCode(record.vouchedBy)
            ? { vouchedBy: record.vouchedBy }
            : {}),
          lastSeen: new Date(record.at).toISOString(),
          firstSeen: new Date(record.at).toISOString(),
          users: [],
          outcomes: { allowed: 0, denied: 0, blocked: 0 },
        },
      };
      byId.set(id, entry);
    }
    entry.summary.firstSeen = new Date(record.at).toISOString();
    entry.users.add(record.username);
    const outcomes = entry.summary.outcomes as { allowed: number; denied: number; blocked: number };
    outcomes[record.outcome] += 1;
  }
  const needle = search?.trim().toLowerCase();
  const summaries: DeviceSummary[] = [];
  for (const { summary, users } of byId.values()) {
    summary.users = [...users];
    if (
      needle &&
      ![summary.id, summary.epkey, summary.hostname, summary.lastIp].some((v) =>
        v?.toLowerCase().includes(needle),
      )
    ) {
      continue;
    }
    summaries.push(summary);
  }
  return summaries;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A management code as Duo results carry it; records come from files people can edit, so check before showing. */
function isManagementCode(value: unknown): value is string {
  return typeof value === 'string' && /^[a-z0-9][a-z0-9_-]{0,63}$/.test(value);
}

function deviceId(record: DeviceRecord): string {
  if (record.epkey) return record.epkey;
  if (record.hostname) return record.hostname;
  return `${record.os ?? 'unknown OS'} / ${record.browser ?? 'unknown browser'} @ ${record.ip ?? 'unknown IP'}`;
}

/** "iOS 17.4", or just the name when Duo reported no version. */
export function withVersion(name: string, version: string | undefined): string {
  return version ? `${name} ${version}` : name;
}
