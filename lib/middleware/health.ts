// Duo health per tenant application: success cached briefly, failures never cached, concurrent checks shared.

import { createHash } from 'node:crypto';
import type { DuoAdapter } from '../duo/adapter';
import { DuoMfaError } from '../errors';
import type { DuoCredentials } from '../policy/types';
import type { MfaLogger } from './events';

/** How long a successful health check is trusted. */
export const HEALTH_CACHE_MS = 30_000;
/** Clock difference with Duo worth warning operators about. */
export const SKEW_WARNING_MS = 30_000;
/** Clock difference beyond which Duo's tokens cannot be trusted (Duo's leeway): sign-in fails closed (S29). */
export const SKEW_LIMIT_MS = 60_000;

export class HealthMonitor {
  private readonly healthyUntil = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly adapter: DuoAdapter,
    private readonly logger: MfaLogger,
    private readonly now: () => number,
  ) {}

  /** Resolves when Duo answered healthy recently or answers now; rejects with the adapter's DuoMfaError. */
  ensure(credentials: DuoCredentials): Promise<void> {
    const key = keyOf(credentials);
    if ((this.healthyUntil.get(key) ?? 0) > this.now()) return Promise.resolve();
    let check = this.inFlight.get(key);
    if (!check) {
      check = this.check(key, credentials).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, check);
    }
    return check;
  }

  private async check(key: string, credentials: DuoCredentials): Promise<void> {
    this.healthyUntil.delete(key);
    const { skewMs } = await this.adapter.healthCheck(credentials);
    if (Math.abs(skewMs) > SKEW_LIMIT_MS) {
      this.logger.error(
        { apiHost: credentials.apiHost, skewSeconds: Math.round(skewMs / 1000) },
        "this server's clock differs from Duo's by more than 60 s: Duo sign-ins are refused until the clock is fixed (NTP)",
      );
      throw new DuoMfaError(
        'ERR_DUO_CLOCK_SKEW',
        `clock differs from Duo's by ${Math.round(skewMs / 1000)} s`,
        {
          details: { skewMs },
        },
      );
    }
    if (Math.abs(skewMs) > SKEW_WARNING_MS) {
      this.logger.warn(
        { apiHost: credentials.apiHost, skewSeconds: Math.round(skewMs / 1000) },
        "this server's clock differs from Duo's by more than 30 s; above 60 s every Duo sign-in will fail: fix the clock (NTP)",
      );
    }
    this.healthyUntil.set(key, this.now() + HEALTH_CACHE_MS);
  }
}

/**
 * One health entry per Duo application as configured, secret included: a tenant that copied another's client id
 * and host with a wrong secret never shares (and spoils) the other's cached or in-flight check.
 */
function keyOf(credentials: DuoCredentials): string {
  const secret = createHash('sha256').update(credentials.clientSecret).digest('base64url').slice(0, 16);
  return `${credentials.clientId}@${credentials.apiHost}#${secret}`;
}
