// What a request knows about its MFA state: `req.duoMfa`, declared once for TypeScript users.

import type { DecisionCode } from '../policy/types';
import type { Verification } from './session';

/** `req.duoMfa`: set by the middleware on every gated request. */
export interface DuoMfaRequestState {
  /** True when the session holds a valid verification for this user and tenant. */
  readonly verified: boolean;
  /** True when the tenant's policy asks this user for Duo. */
  readonly required: boolean;
  /** Why (the policy decision, or not_signed_in / failopen). */
  readonly reason: { readonly code: DecisionCode | 'not_signed_in' | 'failopen'; readonly detail: string };
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
