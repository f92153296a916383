// What a request knows about its MFA state: `req.duoMfa`, declared once for TypeScript users.

import type { DecisionCode } from '../policy/types';
import type { Verification } from './session';

/** `req.duoMfa`: set by the middleware on every gated request. */
export interface DuoMfaRequestState {
  /** True when the session holds a valid verification for this user and tenant. */
  readonly verified: boolean;
  /** True when the tenant's policy asks this user for Duo. */
  readonly required: boolean;
  /** Why (the policy decision, or not_signed_in / failopen / grace_period: "Remind me later" chosen). */
  readonly reason: {
    readonly code: DecisionCode | 'not_signed_in' | 'failopen' | 'grace_period';
    readonly detail: string;
  };
  /** How the verification was obtained: "duo", or "failopen" while Duo was down. */
  readonly via?: 'duo' | 'failopen' | undefined;
  /** When the verification happened (epoch ms). */
  readonly verifiedAt?: number | undefined;
  /** The factor Duo used (duo_push, passcode…). */
  readonly factor?: string | undefined;
  /** The access device as Duo reported it at verification, with its trust status. */
  readonly device?: Verification['device'] | undefined;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The MFA state express-duo-mfa computed for this request. */
      duoMfa?: DuoMfaRequestState;
    }
  }
}

/**
 * The object behind `req.duoMfa`: plain read-only fields, plus (invisible to JSON, `deepStrictEqual` and
 * spreading) the duoMfa() instance that made it, which the standalone `requireRecentMfa()` uses.
 */
export class RequestState<Owner> implements DuoMfaRequestState {
  readonly verified: boolean;
  readonly required: boolean;
  readonly reason: DuoMfaRequestState['reason'];
  readonly via: DuoMfaRequestState['via'];
  readonly verifiedAt: number | undefined;
  readonly factor: string | undefined;
  readonly device: DuoMfaRequestState['device'];
  readonly #owner: Owner;

  constructor(
    owner: Owner,
    state: Pick<DuoMfaRequestState, 'verified' | 'required' | 'reason'>,
    verification?: Verification,
  ) {
    this.#owner = owner;
    this.verified = state.verified;
    this.required = state.required;
    this.reason = state.reason;
    this.via = verification?.via;
    this.verifiedAt = verification?.at;
    this.factor = verification?.factor;
    this.device = verification?.device;
    Object.freeze(this);
  }

  /** The instance that computed `state`, when it is a RequestState made by one. */
  static ownerOf<T>(state: unknown): T | undefined {
    return state instanceof RequestState && #owner in state ? (state.#owner as T) : undefined;
  }
}
