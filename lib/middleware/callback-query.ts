// The callback request's own input: Duo's query checked before anything is looked up (S10), the pending login
// found in constant time, and the SameSite=Strict bounce URL (S33).

import { timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { singleParam } from './return-path';
import type { PendingRef } from './session';

const STATE_PATTERN = /^[A-Za-z0-9_-]{22,1024}$/;
const CODE_PATTERN = /^[\x21-\x7e]{1,1024}$/;
const ERROR_PATTERN = /^[a-z_]{1,64}$/;
/** Query marker of the SameSite=Strict bounce: the repeated request is not bounced again. */
export const BOUNCE_PARAM = 'duo_mfa_bounce';

export interface CallbackQuery {
  readonly state: string;
  readonly code?: string;
  readonly error?: string;
  readonly errorDescription?: string;
}

/** Validates the callback query: single strings of sane size and charset, exactly one of code or error. */
export function parseQuery(query: Request['query']): CallbackQuery | undefined {
  const state = singleParam(query.state);
  const code = query.duo_code === undefined ? undefined : singleParam(query.duo_code);
  const error = query.error === undefined ? undefined : singleParam(query.error);
  const description =
    query.error_description === undefined ? undefined : singleParam(query.error_description);
  if (state === undefined || !STATE_PATTERN.test(state)) return undefined;
  if (query.duo_code !== undefined && (code === undefined || !CODE_PATTERN.test(code))) return undefined;
  if (query.error !== undefined && (error === undefined || !ERROR_PATTERN.test(error))) return undefined;
  if (query.error_description !== undefined && description === undefined) return undefined;
  if ((code === undefined) === (error === undefined)) return undefined;
  return {
    state,
    ...(code !== undefined ? { code } : {}),
    ...(error !== undefined ? { error, errorDescription: description?.slice(0, 300) } : {}),
  };
}

/** Finds the pending login whose id equals `id`, comparing every entry in constant time. */
export function findPending(
  pending: Record<string, PendingRef>,
  id: string,
): [string, PendingRef] | undefined {
  let found: [string, PendingRef] | undefined;
  for (const [key, ref] of Object.entries(pending)) if (safeEqual(key, id)) found = [key, ref];
  return found;
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The callback URL repeated from our own origin, marked so it is not bounced again. */
export function bounceUrl(callbackPath: string, query: Request['query']): string {
  const params = new URLSearchParams();
  for (const key of ['state', 'duo_code', 'error', 'error_description']) {
    const value = singleParam(query[key]);
    if (value !== undefined) params.set(key, value);
  }
  params.set(BOUNCE_PARAM, '1');
  return `${callbackPath}?${params.toString()}`;
}
