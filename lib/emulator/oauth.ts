// Duo's OIDC endpoints as the emulator answers them: health check, authorize and token, validating what
// real Duo validates (client assertions, the signed authorize request, single-use codes bound to client and
// redirect_uri).

import type { FormParams } from './params';
import { finishLogin, outcomeFor, shortcutFor } from './grants';
import { decodeJwtUnverified, verifyJwt } from './jwt';
import { renderDeadEndPage } from './pages';
import { startPrompt } from './prompt';
import { htmlReply, jsonReply, textReply, type Reply } from './reply';
import {
  CODE_LIFETIME_MS,
  DEFAULT_PHONE,
  LEEWAY_SECONDS,
  type EmulatorState,
  type PendingLogin,
} from './state';
import { tokenResponse } from './tokens';
import type { EmulatorApplication, TokenFault } from './types';

export const HEALTH_PATH = '/oauth/v1/health_check';
export const AUTHORIZE_PATH = '/oauth/v1/authorize';
export const TOKEN_PATH = '/oauth/v1/token';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const INVALID_ASSERTION = 'The provided client_assertion was invalid.';
const INVALID_GRANT =
  'The provided authorization grant or refresh token is invalid, expired, revoked, does not match the redirection URI.';
const ISS_MISMATCH = 'The `iss` claim must match the supplied client_id';

/** One parsed request, as the handlers see it. */
export interface RequestContext {
  readonly method: string;
  readonly path: string;
  /** Query parameters, plus the form body's for POST requests. */
  readonly params: FormParams;
  readonly remoteAddress: string;
  readonly userAgent: string;
}

type AssertionCheck =
  | { readonly ok: true; readonly app: EmulatorApplication; readonly host: string }
  | {
      readonly ok: false;
      readonly why: string;
      readonly detail: string;
      readonly clientId: string | undefined;
    };

/**
 * `POST /oauth/v1/health_check`: `200 {"stat":"OK","response":{"timestamp"}}` for a valid client assertion,
 * otherwise `200 {"stat":"FAIL","code":40002,"message":"invalid_client",…}` like Duo.
 *
 * @example
 * ```ts
 * const reply = await handleHealth(state, context);
 * ```
 */
export async function handleHealth(state: EmulatorState, context: RequestContext): Promise<Reply> {
  if (context.method !== 'POST') return methodNotAllowed(state, 'health', 'POST');
  const check = await checkClientAssertion(state, context.params, HEALTH_PATH);
  const timestamp = state.nowSeconds();
  if (!check.ok) {
    state.record(withClient({ endpoint: 'health', outcome: `invalid_client:${check.why}` }, check.clientId));
    return jsonReply(200, {
      stat: 'FAIL',
      code: 40002,
      message: 'invalid_client',
      message_detail: check.detail,
      timestamp,
    });
  }
  state.record({ endpoint: 'health', clientId: check.app.clientId, outcome: 'ok' });
  return jsonReply(200, { stat: 'OK', response: { timestamp } });
}

/**
 * `GET /oauth/v1/authorize`: validates the signed request; an invalid one gets Duo's error page (400, never a
 * redirect). A valid one is redirected back at once (auto mode) or sent to the prompt (interactive mode).
 *
 * @example
 * ```ts
 * const reply = await handleAuthorize(state, context); // 302 to redirect_uri?duo_code=…&state=… in auto mode
 * ```
 */
export async function handleAuthorize(state: EmulatorState, context: RequestContext): Promise<Reply> {
  if (context.method !== 'GET') return methodNotAllowed(state, 'authorize', 'GET');
  const parsed = await parseAuthorizeRequest(state, context);
  if (!parsed.ok) {
    const entry: { endpoint: 'authorize'; outcome: string; clientId?: string; username?: string } = {
      endpoint: 'authorize',
      outcome: `invalid_request:${parsed.why}`,
    };
    if (parsed.clientId !== undefined) entry.clientId = parsed.clientId;
    if (parsed.username !== undefined) entry.username = parsed.username;
    state.record(entry);
    const app = state.application(parsed.clientId);
    return htmlReply(400, (nonce) =>
      renderDeadEndPage(nonce, {
        title: 'Invalid request',
        message: parsed.detail,
        appOrigin: parsed.appOrigin ?? state.knownOrigin(parsed.clientId),
        appName: app?.name,
      }),
    );
  }
  const login = parsed.login;
  state.rememberOrigin(login.app.clientId, new URL(login.redirectUri).origin);
  const user = state.user(login.username);
  if (state.mode === 'auto') {
    const shortcut = shortcutFor(user);
    if (shortcut) return finishLogin(state, login, shortcut, 302);
    // Auto mode enrolls users silently, as if they had walked through the enrollment pages.
    if (!user.enrolled)
      state.enrollPhone(user, user.phone?.display ?? DEFAULT_PHONE, user.phone?.platform ?? 'iOS');
    return finishLogin(state, login, outcomeFor(user, 'auto'), 302);
  }
  return startPrompt(state, login, user);
}

/**
 * `POST /oauth/v1/token`: exchanges a single-use code (< 60 s old, same client, same redirect_uri) for an HS512
 * id_token, after checking the client assertion. Accepts urlencoded, multipart and query-string parameters.
 * A tampering token fault in `state.fault` shapes the success answer.
 *
 * @example
 * ```ts
 * const reply = await handleToken(state, context);
 * ```
 */
export async function handleToken(state: EmulatorState, context: RequestContext): Promise<Reply> {
  if (context.method !== 'POST') return methodNotAllowed(state, 'token', 'POST');
  const { params } = context;
  const sentClientId = params.get('client_id');
  const sentRedirect = params.get('redirect_uri');
  const fail = (status: number, error: string, description: string, why: string, username?: string) => {
    const entry: {
      endpoint: 'token';
      outcome: string;
      clientId?: string;
      username?: string;
      redirectUri?: string;
    } = { endpoint: 'token', outcome: `${error}:${why}` };
    if (sentClientId !== undefined) entry.clientId = sentClientId;
    if (username !== undefined) entry.username = username;
    if (sentRedirect !== undefined) entry.redirectUri = sentRedirect;
    state.record(entry);
    return jsonReply(status, { error, error_description: description });
  };

  const fields = [
    'grant_type',
    'code',
    'redirect_uri',
    'client_id',
    'client_assertion_type',
    'client_assertion',
  ];
  const ambiguous = fields.find((name) => params.isAmbiguous(name));
  if (ambiguous)
    return fail(400, 'invalid_request', `The ${ambiguous} parameter was given more than once.`, 'ambiguous');

  const grantType = params.get('grant_type');
  if (grantType === undefined)
    return fail(400, 'invalid_request', 'Missing grant_type.', 'missing_grant_type');
  if (grantType !== 'authorization_code') {
    return fail(
      400,
      'unsupported_grant_type',
      'The authorization grant type is not supported by the authorization server.',
      'grant_type',
    );
  }
  if (params.get('client_assertion_type') !== JWT_BEARER) {
    return fail(400, 'invalid_client', 'The provided client_assertion_type was invalid.', 'assertion_type');
  }
  const check = await checkClientAssertion(state, params, TOKEN_PATH);
  if (!check.ok) return fail(400, 'invalid_client', check.detail, check.why);

  const code = params.get('code');
  if (code === undefined || code === '') return fail(400, 'invalid_request', 'Missing code.', 'missing_code');
  const issued = state.codes.get(code);
  if (!issued) return fail(400, 'invalid_grant', INVALID_GRANT, 'unknown_code');
  const username = issued.login.username;
  if (issued.used) return fail(400, 'invalid_grant', INVALID_GRANT, 'code_reused', username);
  // Any presentation by an authenticated client burns the code, as RFC 6749 §10.5 recommends.
  issued.used = true;
  const age = state.now() - issued.issuedAt;
  if (age >= CODE_LIFETIME_MS || age < -LEEWAY_SECONDS * 1000) {
    return fail(400, 'invalid_grant', INVALID_GRANT, 'code_expired', username);
  }
  if (issued.login.app.clientId !== check.app.clientId) {
    return fail(400, 'invalid_grant', INVALID_GRANT, 'other_client', username);
  }
  if (sentRedirect !== issued.login.redirectUri) {
    return fail(400, 'invalid_grant', INVALID_GRANT, 'redirect_uri_mismatch', username);
  }

  const fault = tamperFault(state.fault?.token);
  state.record({
    endpoint: 'token',
    clientId: check.app.clientId,
    username,
    redirectUri: issued.login.redirectUri,
    outcome: fault ? `ok:fault:${fault}` : `ok:${issued.auth.result}`,
  });
  return jsonReply(
    200,
    await tokenResponse({ issued, issuerHost: check.host, now: state.nowSeconds(), fault }),
  );
}

/**
 * Checks a client assertion the way Duo does: HS512 with the client's secret (no other algorithm), iss = sub =
 * the client id (and = `client_id` when sent), aud = this endpoint's URL on a host the emulator answers for,
 * exp not passed and iat not ahead (60 s leeway, emulator clock), jti present and never seen before.
 */
async function checkClientAssertion(
  state: EmulatorState,
  params: FormParams,
  path: string,
): Promise<AssertionCheck> {
  const sentClientId = params.get('client_id');
  const fail = (why: string, detail = INVALID_ASSERTION): AssertionCheck => ({
    ok: false,
    why,
    detail,
    clientId: sentClientId,
  });
  if (params.isAmbiguous('client_id') || params.isAmbiguous('client_assertion')) return fail('ambiguous');
  const assertion = params.get('client_assertion');
  if (assertion === undefined || assertion === '') return fail('missing_assertion');
  // Clients that omit client_id (Java) are identified by the assertion's iss, then verified with its secret.
  const claimedId = sentClientId ?? decodeJwtUnverified(assertion)?.claims.iss;
  const app = state.application(claimedId);
  if (!app) return fail('unknown_client', 'The provided client_id is invalid.');
  const verified = await verifyJwt(assertion, app.clientSecret);
  if (!verified.valid) return fail(verified.reason);
  const claims = verified.claims;
  if (claims.iss !== app.clientId)
    return fail('iss', sentClientId === undefined ? INVALID_ASSERTION : ISS_MISMATCH);
  if (claims.sub !== app.clientId) return fail('sub');
  const host = audienceHost(state, claims.aud, path);
  if (host === undefined) return fail('aud');
  const now = state.nowSeconds();
  const exp = numericClaim(claims.exp);
  if (exp === undefined || now > exp + LEEWAY_SECONDS) return fail('expired');
  const iat = numericClaim(claims.iat);
  if (claims.iat !== undefined && (iat === undefined || iat > now + LEEWAY_SECONDS)) return fail('iat');
  const jti = claims.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) return fail('jti');
  if (!state.rememberJti(app.clientId, jti, (exp + LEEWAY_SECONDS) * 1000)) return fail('jti_reused');
  return { ok: true, app, host };
}

type AuthorizeParse =
  | { readonly ok: true; readonly login: PendingLogin }
  | {
      readonly ok: false;
      readonly why: string;
      readonly detail: string;
      readonly clientId?: string | undefined;
      readonly username?: string | undefined;
      /** The application's origin, from a validly signed redirect_uri: where the error page links back to. */
      readonly appOrigin?: string | undefined;
    };

/** Validates an authorize request: the query, then the request JWT's signature and claims. */
async function parseAuthorizeRequest(state: EmulatorState, context: RequestContext): Promise<AuthorizeParse> {
  const { params } = context;
  const names = ['response_type', 'client_id', 'request', 'redirect_uri', 'scope'];
  const ambiguous = names.find((name) => params.isAmbiguous(name));
  if (ambiguous)
    return { ok: false, why: 'ambiguous', detail: `The ${ambiguous} parameter was given more than once.` };
  const clientId = params.get('client_id');
  const fail = (why: string, detail: string, username?: unknown): AuthorizeParse => ({
    ok: false,
    why,
    detail,
    clientId,
    username: typeof username === 'string' && username !== '' ? username : undefined,
  });
  const app = state.application(clientId);
  if (!app) return fail('unknown_client', 'Invalid client_id: this application is not known to Duo.');
  if (params.get('response_type') !== 'code')
    return fail('response_type', 'The response_type must be "code".');
  if (!hasOpenidScope(params.get('scope'))) return fail('scope', 'The scope must include "openid".');
  const redirectUri = params.get('redirect_uri');
  if (redirectUri === undefined || redirectUri === '') return fail('redirect_uri', 'Missing redirect_uri.');
  const verified = await verifyJwt(params.get('request'), app.clientSecret);
  if (!verified.valid) {
    return fail(
      `request_${verified.reason}`,
      'The request parameter is not a valid JWT signed by this application.',
    );
  }
  const claims = verified.claims;
  const username = claims.duo_uname;
  // The application signed this redirect_uri, so the error page may link back to its origin.
  const signedOrigin =
    typeof claims.redirect_uri === 'string' && isRedirectUrl(claims.redirect_uri)
      ? new URL(claims.redirect_uri).origin
      : undefined;
  const claimFail = (why: string, detail: string): AuthorizeParse => ({
    ok: false,
    why,
    detail,
    clientId,
    username: typeof username === 'string' && username !== '' ? username : undefined,
    appOrigin: signedOrigin,
  });
  if (claims.response_type !== 'code')
    return claimFail('claim_response_type', 'The request JWT response_type must be "code".');
  if (!hasOpenidScope(claims.scope))
    return claimFail('claim_scope', 'The request JWT scope must include "openid".');
  if (claims.client_id !== app.clientId)
    return claimFail('claim_client_id', 'The request JWT client_id does not match.');
  if (claims.iss !== app.clientId)
    return claimFail('claim_iss', 'The request JWT iss does not match the client_id.');
  if (audienceHost(state, claims.aud, '') === undefined) {
    return claimFail('claim_aud', 'The request JWT aud is not this Duo API host.');
  }
  const exp = numericClaim(claims.exp);
  if (exp === undefined || state.nowSeconds() > exp + LEEWAY_SECONDS) {
    return claimFail('expired', 'The request has expired.');
  }
  if (claims.redirect_uri !== redirectUri) {
    return claimFail('redirect_uri_mismatch', 'The redirect_uri does not match the signed request.');
  }
  if (!isRedirectUrl(redirectUri))
    return claimFail('redirect_uri_invalid', 'The redirect_uri is not a valid URL.');
  const stateValue = claims.state;
  if (typeof stateValue !== 'string' || stateValue.length < 22 || stateValue.length > 1024) {
    return claimFail('state', 'The state must be between 22 and 1024 characters long.');
  }
  if (typeof username !== 'string' || username === '') return claimFail('duo_uname', 'Missing duo_uname.');
  const useDuoCode = booleanClaim(claims.use_duo_code_attribute);
  if (useDuoCode === null)
    return claimFail('use_duo_code_attribute', 'use_duo_code_attribute must be a boolean.');
  const nonce = claims.nonce;
  if (nonce !== undefined && (typeof nonce !== 'string' || nonce.length > 1024)) {
    return claimFail('nonce', 'The nonce must be a string.');
  }
  return {
    ok: true,
    login: {
      app,
      redirectUri,
      state: stateValue,
      username,
      nonce,
      useDuoCode: useDuoCode ?? false,
      accessIp: context.remoteAddress,
      userAgent: context.userAgent,
    },
  };
}

/** The token faults that shape the answer (the server handles error, hang and slow before this point). */
function tamperFault(fault: TokenFault | undefined): TokenFault | undefined {
  return fault === 'error' || fault === 'hang' || fault === 'slow' ? undefined : fault;
}

/** The `host:port` of an accepted audience `https://<host><path>`, or undefined. Arrays may hold it. */
function audienceHost(state: EmulatorState, aud: unknown, path: string): string | undefined {
  const candidates = Array.isArray(aud) ? aud : [aud];
  for (const candidate of candidates) {
    if (typeof candidate !== 'string') continue;
    const host = state.hosts.find((name) => candidate === `https://${name}${path}`);
    if (host !== undefined) return host;
  }
  return undefined;
}

/** A NumericDate: a finite number, or a string of digits (some clients send claims as strings). */
function numericClaim(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d{1,12}(\.\d+)?$/.test(value)) return Number(value);
  return undefined;
}

/** true / false (or their strings); undefined when absent; null when anything else. */
function booleanClaim(value: unknown): boolean | undefined | null {
  if (value === undefined) return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return null;
}

function hasOpenidScope(scope: unknown): boolean {
  return typeof scope === 'string' && scope.split(' ').includes('openid');
}

function isRedirectUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hash === '' && url.username === '';
  } catch {
    return false;
  }
}

function methodNotAllowed(
  state: EmulatorState,
  endpoint: 'health' | 'authorize' | 'token',
  allow: string,
): Reply {
  state.record({ endpoint, outcome: 'method_not_allowed' });
  return textReply(405, 'Method not allowed', { allow });
}

function withClient<T extends object>(entry: T, clientId: string | undefined): T & { clientId?: string } {
  return clientId === undefined ? entry : { ...entry, clientId };
}
