// Advice on a valid policy (duo-mfa check): settings that load fine but probably do not do what was meant.

import { canonicalName } from '../util/names';
import { formatPath } from './issues';
import type { PolicyFile, PolicyFileTenant } from './schema';
import type { PolicyWarning } from './types';

/** A temporary bypass longer than this is probably a permanent exemption in disguise. */
export const MAX_BYPASS_MS = 7 * 24 * 3600_000;

/** At most this many overlap warnings per tenant; the rest are counted in one line. */
const MAX_OVERLAPS = 10;

/**
 * Warnings for a validated policy file, at time `now` (ms since epoch): people both included and excluded,
 * failmode open (and open with trusted endpoints "block", S43), risky trusted-endpoint roll-outs, long or expired
 * bypasses, an enforceFrom date in the past, inline secrets, settings that have no effect. Pure: no I/O.
 *
 * @example
 * ```ts
 * const result = validatePolicy(raw);
 * if (result.ok) for (const w of policyWarnings(result.file, Date.now())) console.log(`${w.path}: ${w.message}`);
 * ```
 */
export function policyWarnings(file: PolicyFile, now: number): PolicyWarning[] {
  const warnings: PolicyWarning[] = [];
  for (const [id, tenant] of Object.entries(file.tenants)) warnings.push(...tenantWarnings(id, tenant, now));
  return warnings;
}

/**
 * The warnings of one validated tenant (paths as in the single file: `tenants.<id>.…`).
 *
 * @example
 * ```ts
 * const result = validateTenant('acme', raw);
 * if (result.ok) tenantWarnings('acme', result.file, Date.now());
 * ```
 */
export function tenantWarnings(id: string, tenant: PolicyFileTenant, now: number): PolicyWarning[] {
  const at = (...path: (string | number)[]) => formatPath(['tenants', id, ...path]);
  const out: PolicyWarning[] = [];
  const { mfa, trustedEndpoints: te } = tenant;

  const included = new Set(mfa.staffIncluded.map(canonicalName));
  let overlaps = 0;
  mfa.staffExcluded.forEach((name, index) => {
    const username = canonicalName(name);
    if (!included.has(username)) return;
    overlaps++;
    if (overlaps > MAX_OVERLAPS) return;
    out.push({
      path: at('mfa', 'staffExcluded', index),
      message: `${JSON.stringify(username)} is in both staffIncluded and staffExcluded: staffExcluded wins, so they are never asked for Duo`,
    });
  });
  if (overlaps > MAX_OVERLAPS) {
    out.push({
      path: at('mfa', 'staffExcluded'),
      message: `…and ${overlaps - MAX_OVERLAPS} more people in both staffIncluded and staffExcluded`,
    });
  }

  mfa.temporaryBypass.forEach((bypass, index) => {
    const until = Date.parse(bypass.until);
    const who = JSON.stringify(canonicalName(bypass.username));
    if (until <= now) {
      out.push({
        path: at('mfa', 'temporaryBypass', index, 'until'),
        message: `the bypass for ${who} expired on ${bypass.until}: it has no effect any more — remove it`,
      });
    } else if (until - now > MAX_BYPASS_MS) {
      out.push({
        path: at('mfa', 'temporaryBypass', index, 'until'),
        message: `the bypass for ${who} lasts more than 7 days (until ${bypass.until}): temporary bypasses should be short (7 days at most)`,
      });
    }
  });

  if (tenant.failmode === 'open') {
    out.push({
      path: at('failmode'),
      message:
        '"open" lets staff in without Duo whenever Duo\'s health check fails — use "closed" unless availability matters more than the second factor',
    });
    if (te.policy === 'block' && te.activation !== 'disabled') {
      const whom = te.activation === 'all' ? 'everyone' : 'the test group';
      out.push({
        path: at('failmode'),
        message: `failmode "open" does not apply to users trusted endpoints "block" covers (${whom}): they are refused during a Duo outage, because fail-open never overrides device trust (SECURITY.md S43)`,
      });
    }
  }

  if (mfa.enforceFrom !== undefined && Date.parse(mfa.enforceFrom) <= now) {
    out.push({
      path: at('mfa', 'enforceFrom'),
      message: `${mfa.enforceFrom} is in the past: the grace period is over and Duo is required as usual — remove enforceFrom`,
    });
  }

  const envName = (suffix: string) =>
    `${id.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_${suffix}`.replace(/^(?=[0-9])/, '_');
  if (typeof tenant.duo.clientSecret === 'string') {
    out.push({
      path: at('duo', 'clientSecret'),
      message: `the secret is written in the file: read it from the environment instead, e.g. { "env": "${envName('DUO_CLIENT_SECRET')}" }`,
    });
  }
  if (typeof tenant.duo.adminApi?.secretKey === 'string') {
    out.push({
      path: at('duo', 'adminApi', 'secretKey'),
      message: `the secret is written in the file: read it from the environment instead, e.g. { "env": "${envName('DUO_ADMIN_SECRET_KEY')}" }`,
    });
  }

  const groupEmpty = te.testGroup.roles.length === 0 && te.testGroup.staff.length === 0;
  if (!mfa.enabled && te.policy !== 'off') {
    out.push({
      path: at('trustedEndpoints'),
      message: `policy "${te.policy}" has no effect while MFA is off for this tenant (mfa.enabled is false)`,
    });
  }
  if (te.policy === 'block' && te.activation === 'all') {
    out.push({
      path: at('trustedEndpoints', 'activation'),
      message:
        'policy "block" with activation "all": unknown devices will be denied — start with monitor or a test group',
    });
  }
  if (te.policy === 'block' && te.activation === 'disabled' && groupEmpty) {
    out.push({
      path: at('trustedEndpoints', 'testGroup'),
      message:
        'policy "block" is set but no test group is configured: add testGroup roles or staff and use activation "test-group" before "all"',
    });
  }
  if (te.activation === 'test-group' && groupEmpty) {
    out.push({
      path: at('trustedEndpoints', 'testGroup'),
      message: 'activation "test-group" with an empty test group applies trusted endpoints to no one',
    });
  }
  return out;
}
