// Trusted Endpoints: what the tenant's device-trust policy does with the trust status Duo reported. Pure.

import type { TrustStatus } from '../duo/result';
import type { Decision } from '../policy/types';

export interface DeviceJudgement {
  /** False only when the tenant's policy is `block`, applies to this user, and the device is not trusted. */
  readonly allow: boolean;
  /** Emit `device.untrusted`: the policy applies (monitor or block) and the device is not trusted. */
  readonly untrusted: boolean;
  /** Which rule decided: the policy in force, or out_of_scope when activation does not cover this user. */
  readonly rule: 'off' | 'monitor' | 'block' | 'out_of_scope';
}

/**
 * Applies the tenant's trusted-endpoint policy to one successful Duo result.
 *
 * @example judgeDevice({ policy: 'block', active: true }, 'unknown') // { allow: false, untrusted: true, rule: 'block' }
 */
export function judgeDevice(
  trustedEndpoints: Decision['trustedEndpoints'],
  status: TrustStatus,
): DeviceJudgement {
  if (trustedEndpoints.policy === 'off') return { allow: true, untrusted: false, rule: 'off' };
  if (!trustedEndpoints.active) return { allow: true, untrusted: false, rule: 'out_of_scope' };
  const trusted = status === 'trusted';
  if (trustedEndpoints.policy === 'monitor') return { allow: true, untrusted: !trusted, rule: 'monitor' };
  return { allow: trusted, untrusted: !trusted, rule: 'block' };
}
