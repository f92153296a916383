// Audit events: one shape, sent to onEvent and the logger; never secrets, codes, states, tokens or session ids.

import type { Request } from 'express';

/** A pino-compatible logger: the methods express-duo-mfa calls. */
export interface MfaLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type AuditEventType =
  | 'mfa.started'
  | 'mfa.succeeded'
  | 'mfa.denied'
  | 'mfa.failed'
  | 'mfa.failopen'
  | 'mfa.bypassed'
  | 'mfa.deferred'
  | 'device.untrusted'
  | 'staff.status'
  | 'staff.reactivated'
  | 'staff.bypass_issued'
  | 'settings.changed'
  | 'policy.reloaded'
  | 'policy.invalid';

/** An audit event as delivered to `onEvent`. Type-specific fields sit beside the common ones. */
export interface AuditEvent {
  readonly type: AuditEventType;
  /** ISO time. */
  readonly at: string;
  readonly tenant?: string | undefined;
  readonly username?: string | undefined;
  readonly ip?: string | undefined;
  readonly requestId?: string | undefined;
  /** mfa.denied / mfa.failed / mfa.bypassed: why. */
  readonly reason?: string;
  /** DuoMfaError code, when one caused the event. */
  readonly code?: string;
  readonly [field: string]: unknown;
}

const LEVEL: Record<AuditEventType, 'debug' | 'info' | 'warn' | 'error'> = {
  'mfa.started': 'info',
  'mfa.succeeded': 'info',
  'mfa.denied': 'warn',
  'mfa.failed': 'warn',
  'mfa.failopen': 'warn',
  'mfa.bypassed': 'debug',
  'mfa.deferred': 'info',
  'device.untrusted': 'warn',
  'staff.status': 'info',
  'staff.reactivated': 'warn',
  'staff.bypass_issued': 'warn',
  'settings.changed': 'warn',
  'policy.reloaded': 'info',
  'policy.invalid': 'error',
};

/** Sends events to the logger and to onEvent; a throwing onEvent is logged, never propagated. */
export class EventSink {
  constructor(
    private readonly logger: MfaLogger,
    private readonly onEvent: ((event: AuditEvent) => void) | undefined,
    private readonly now: () => number,
  ) {}

  /** Emits an event about this request's user, logged at the type's level unless `level` says otherwise. */
  emit(
    type: AuditEventType,
    req: Request | undefined,
    who: { tenant?: string | undefined; username?: string | undefined },
    fields: Record<string, unknown> = {},
    level: 'debug' | 'info' | 'warn' | 'error' = LEVEL[type],
  ): void {
    const event: AuditEvent = {
      type,
      at: new Date(this.now()).toISOString(),
      tenant: who.tenant,
      username: who.username,
      ip: req ? clientIp(req) : undefined,
      requestId: req ? requestId(req) : undefined,
      ...fields,
    };
    this.logger[level]({ event }, type);
    if (!this.onEvent) return;
    try {
      // An async onEvent's rejection is caught too: never an unhandled rejection that could end the process.
      const result: unknown = this.onEvent(event);
      if (isThenable(result)) result.then(undefined, (error: unknown) => this.handlerThrew(error, type));
    } catch (error) {
      this.handlerThrew(error, type);
    }
  }

  private handlerThrew(error: unknown, eventType: AuditEventType): void {
    this.logger.error(
      { err: errorSummary(error), eventType },
      'onEvent handler threw; the event was still logged',
    );
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

/** The client IP as Express computes it (honours the host app's `trust proxy` setting only). */
function clientIp(req: Request): string | undefined {
  return typeof req.ip === 'string' ? req.ip : undefined;
}

function requestId(req: Request): string | undefined {
  const id = (req as { id?: unknown }).id ?? req.headers['x-request-id'];
  if (typeof id === 'string' && /^[\w\-.:]{1,128}$/.test(id)) return id;
  if (typeof id === 'number') return String(id);
  return undefined;
}

/** An error reduced to what is safe to log: name, code and message (messages never carry secrets here). */
export function errorSummary(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { message: String(error) };
}
