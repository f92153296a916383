// What the callback keeps of the device Duo reported: a record for device insight, and a small summary in the
// session's verification.

import { withVersion } from '../devices/insight';
import type { DuoAuthResult } from '../duo/result';
import type { DeviceRecord, PendingRecord } from '../stores/types';
import { errorSummary } from './events';
import type { MfaInstance } from './instance';
import type { Verification } from './session';

/** Records one Duo outcome for device insight. A failure to record is logged, never blocks or allows anyone. */
export async function recordDevice(
  instance: MfaInstance,
  record: PendingRecord,
  result: DuoAuthResult,
  outcome: DeviceRecord['outcome'],
  reason: string,
  trustedEndpoints: { policy: DeviceRecord['policy']; active: boolean },
): Promise<void> {
  const d = result.device;
  const entry: DeviceRecord = {
    at: instance.config.now(),
    tenant: record.tenant,
    username: record.username,
    outcome,
    trusted: d.trusted,
    reason,
    policy: trustedEndpoints.policy,
    policyActive: trustedEndpoints.active,
    ...(result.factor ? { factor: result.factor } : {}),
    ...(d.epkey ? { epkey: d.epkey } : {}),
    ...(d.vouchedBy ? { vouchedBy: d.vouchedBy } : {}),
    ...(d.hostname ? { hostname: d.hostname } : {}),
    ...(d.ip ? { ip: d.ip } : {}),
    ...(d.os ? { os: d.os } : {}),
    ...(d.osVersion ? { osVersion: d.osVersion } : {}),
    ...(d.browser ? { browser: d.browser } : {}),
    ...(d.browserVersion ? { browserVersion: d.browserVersion } : {}),
  };
  try {
    await instance.store.recordDevice(entry);
  } catch (error) {
    // Device insight is a record, not a gate: losing one entry must not block or allow anyone.
    instance.logger.warn(
      { err: errorSummary(error), tenant: record.tenant },
      'could not record device insight',
    );
  }
}

/** The device as the session's verification keeps it (and `req.duoMfa.device` shows it). */
export function deviceSummary(result: DuoAuthResult): NonNullable<Verification['device']> {
  const d = result.device;
  return {
    trusted: d.trusted,
    ...(d.os ? { os: withVersion(d.os, d.osVersion) } : {}),
    ...(d.browser ? { browser: withVersion(d.browser, d.browserVersion) } : {}),
    ...(d.hostname ? { hostname: d.hostname } : {}),
    ...(d.epkey ? { epkey: d.epkey } : {}),
  };
}
