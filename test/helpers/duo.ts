// Test helpers for the Duo emulator: fixed credentials, HTTPS requests that trust the emulator's CA, client
// assertions and authorize URLs made by hand, and a driver for the interactive prompt pages.

import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import { base64url } from 'jose';
import type { DuoEmulator } from '../../lib/emulator/index';
import { readBody } from './body';

/** Algorithms tests forge tokens with: HS512 (what Duo uses), and HS256 / none for tokens that must be refused. */
export type JwtAlgorithm = 'HS512' | 'HS256' | 'none';

/**
 * A compact JWS signed now (synchronously, so test tables can build requests inline), with jose's base64url and
 * node's HMAC: HS512 by default, HS256 or `none` to forge refused tokens; `header` adds or overrides header
 * fields (e.g. `{ alg: 'RS256' }` over an HMAC signature).
 */
export function signJwt(
  claims: Record<string, unknown>,
  secret: string,
  options: { alg?: JwtAlgorithm; header?: Record<string, unknown> } = {},
): string {
  const alg = options.alg ?? 'HS512';
  const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
  const input = `${encode({ alg, typ: 'JWT', ...options.header })}.${encode(claims)}`;
  if (alg === 'none') return `${input}.`;
  const mac = createHmac(alg === 'HS512' ? 'sha512' : 'sha256', secret)
    .update(input)
    .digest();
  return `${input}.${base64url.encode(mac)}`;
}

export interface TestApplication {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly name: string;
}

/** A Duo application for tests: client id of 20 characters, secret of 40. */
export const TEST_APP: TestApplication = Object.freeze({
  clientId: 'DITESTAPPLICATION001',
  clientSecret: 'test-secret-0123456789abcdefghijklmnopqr',
  name: 'Test Portal',
});
/** A second application, for mix-up and wrong-client cases. */
export const OTHER_APP: TestApplication = Object.freeze({
  clientId: 'DIOTHERAPPLICATION02',
  clientSecret: 'other-secret-0123456789abcdefghijklmnopq',
  name: 'Other Portal',
});

/** The redirect_uri tests use (nothing listens there: the emulator only redirects to it). */
export const REDIRECT_URL = 'https://app.example.test/duo/callback';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export type EmulatorLike = Pick<DuoEmulator, 'url' | 'ca' | 'apiHost'>;

export interface EmulatorResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
}

export interface EmulatorRequestOptions {
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string>;
  /** Raw body (with `headers['content-type']`), for multipart or malformed bodies. */
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Abort after this many ms (the promise rejects). Default 10 000. */
  timeoutMs?: number;
}

/**
 * One HTTPS request to the emulator, trusting only its CA, on a fresh connection (no keep-alive, so nothing
 * is left open). `path` may be a path (`/oauth/v1/token?x=1`) or a full URL on the emulator.
 */
export function emulatorRequest(
  emulator: Pick<DuoEmulator, 'url' | 'ca'>,
  method: string,
  path: string,
  options: EmulatorRequestOptions = {},
): Promise<EmulatorResponse> {
  const url = new URL(path, emulator.url);
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Buffer | undefined = options.body;
  if (options.form) {
    body = new URLSearchParams(options.form).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  }
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method, headers, ca: emulator.ca, agent: false, timeout: options.timeoutMs ?? 10_000 },
      (res) => {
        readBody(res).then(
          ({ text, json }) =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json }),
          reject,
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * GETs an authorize URL (as a browser would, trusting the emulator's CA) and returns where Duo sent the browser:
 * the redirect Location as a URL. Fails the test when the emulator answers anything but a redirect.
 */
export async function followAuthorize(
  emulator: Pick<DuoEmulator, 'ca'>,
  authUrl: string | URL,
): Promise<URL> {
  const url = new URL(authUrl);
  const res = await emulatorRequest({ url: url.origin, ca: emulator.ca }, 'GET', url.pathname + url.search);
  assert.ok(
    res.status === 302 || res.status === 303,
    `expected the emulator to redirect, got ${res.status}: ${res.body.slice(0, 300)}`,
  );
  const location = res.headers.location;
  assert.equal(typeof location, 'string', 'redirect without a Location header');
  return new URL(location as string, url);
}

/** A client assertion as the Duo client makes it, with claims and header overridable to forge bad ones. */
export function clientAssertion(
  app: { clientId: string; clientSecret: string },
  audience: string,
  options: {
    claims?: Record<string, unknown>;
    omit?: string[];
    alg?: JwtAlgorithm;
    secret?: string;
    /** Seconds added to the real clock for iat/exp. */
    skewSeconds?: number;
  } = {},
): string {
  const now = Math.round(Date.now() / 1000) + (options.skewSeconds ?? 0);
  const claims: Record<string, unknown> = {
    iss: app.clientId,
    sub: app.clientId,
    aud: audience,
    jti: randomBytes(18).toString('hex'),
    iat: now,
    exp: now + 300,
    ...options.claims,
  };
  for (const key of options.omit ?? []) delete claims[key];
  return signJwt(claims, options.secret ?? app.clientSecret, { alg: options.alg ?? 'HS512' });
}

/** A health check form for `app`. */
export function healthForm(
  emulator: Pick<DuoEmulator, 'apiHost'>,
  app: { clientId: string; clientSecret: string },
  assertion: Parameters<typeof clientAssertion>[2] = {},
): Record<string, string> {
  return {
    client_id: app.clientId,
    client_assertion: clientAssertion(app, `https://${emulator.apiHost}/oauth/v1/health_check`, assertion),
  };
}

/** A token request form for `app`, as the Duo client sends it. */
export function tokenForm(
  emulator: Pick<DuoEmulator, 'apiHost'>,
  app: { clientId: string; clientSecret: string },
  code: string,
  options: { redirectUri?: string; assertion?: Parameters<typeof clientAssertion>[2] } = {},
): Record<string, string> {
  return {
    grant_type: 'authorization_code',
    code,
    redirect_uri: options.redirectUri ?? REDIRECT_URL,
    client_id: app.clientId,
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: clientAssertion(app, `https://${emulator.apiHost}/oauth/v1/token`, options.assertion),
  };
}

/** The authorize request JWT claims the Duo client signs (override or omit to forge bad ones). */
export function authorizeClaims(
  emulator: Pick<DuoEmulator, 'apiHost'>,
  app: { clientId: string },
  username: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    response_type: 'code',
    scope: 'openid',
    exp: Math.round(Date.now() / 1000) + 300,
    client_id: app.clientId,
    redirect_uri: REDIRECT_URL,
    state: randomBytes(18).toString('hex'),
    duo_uname: username,
    iss: app.clientId,
    aud: `https://${emulator.apiHost}`,
    use_duo_code_attribute: true,
    ...overrides,
  };
}

/** An authorize URL path+query carrying `claims` signed with `secret` (default: the app's). */
export function authorizePath(
  app: { clientId: string; clientSecret: string },
  claims: Record<string, unknown>,
  options: { secret?: string; alg?: JwtAlgorithm; query?: Record<string, string> } = {},
): string {
  const request = signJwt(claims, options.secret ?? app.clientSecret, { alg: options.alg ?? 'HS512' });
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: app.clientId,
    request,
    redirect_uri: typeof claims.redirect_uri === 'string' ? claims.redirect_uri : REDIRECT_URL,
    scope: 'openid',
    ...options.query,
  });
  return `/oauth/v1/authorize?${query.toString()}`;
}

/** Runs the auto-mode authorize for `username` and returns the code and state from the redirect. */
export async function issueCode(
  emulator: EmulatorLike,
  app: { clientId: string; clientSecret: string },
  username: string,
  redirectUri = REDIRECT_URL,
): Promise<{ code: string; state: string; location: URL }> {
  const claims = authorizeClaims(emulator, app, username, { redirect_uri: redirectUri });
  const location = await followAuthorize(emulator, new URL(authorizePath(app, claims), emulator.url));
  const code = location.searchParams.get('duo_code');
  assert.ok(code, `no duo_code in ${location.href}`);
  return { code, state: String(claims.state), location };
}

// ---- The interactive prompt, driven over HTTP ----

export interface PromptPage {
  /** Where the page was fetched from (a full URL on the emulator). */
  url: URL;
  status: number;
  headers: EmulatorResponse['headers'];
  html: string;
}

export interface ParsedForm {
  action: string;
  method: string;
  /** Hidden inputs and inputs with a value attribute. */
  fields: Record<string, string>;
  /** Submit buttons by id: their name and value. */
  buttons: Record<string, { name: string; value: string }>;
  /** Ids of the text, tel and radio inputs. */
  inputs: Array<{ id: string; name: string; type: string; value: string }>;
}

/** Reads the forms of an emulator page (its own, regular markup: attribute order is not assumed). */
export function parseForms(html: string): ParsedForm[] {
  const forms: ParsedForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const attrs = attributes(match[1] ?? '');
    const inner = match[2] ?? '';
    const form: ParsedForm = {
      action: attrs.action ?? '',
      method: (attrs.method ?? 'get').toLowerCase(),
      fields: {},
      buttons: {},
      inputs: [],
    };
    for (const input of inner.matchAll(/<input\b([^>]*)>/g)) {
      const a = attributes(input[1] ?? '');
      const type = (a.type ?? 'text').toLowerCase();
      if (type === 'hidden' && a.name) form.fields[a.name] = a.value ?? '';
      else form.inputs.push({ id: a.id ?? '', name: a.name ?? '', type, value: a.value ?? '' });
    }
    for (const button of inner.matchAll(/<button\b([^>]*)>/g)) {
      const a = attributes(button[1] ?? '');
      if (a.id && (a.type ?? 'submit') === 'submit' && a.disabled === undefined) {
        form.buttons[a.id] = { name: a.name ?? '', value: a.value ?? '' };
      }
    }
    forms.push(form);
  }
  return forms;
}

function attributes(source: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const match of source.matchAll(/([a-zA-Z-]+)(?:="([^"]*)")?/g)) {
    result[(match[1] ?? '').toLowerCase()] = decodeEntities(match[2] ?? '');
  }
  return result;
}

function decodeEntities(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** GETs a prompt page (path or URL on the emulator). */
export async function getPage(
  emulator: Pick<DuoEmulator, 'url' | 'ca'>,
  where: string | URL,
): Promise<PromptPage> {
  const url = new URL(where, emulator.url);
  const res = await emulatorRequest(emulator, 'GET', url.pathname + url.search);
  return { url, status: res.status, headers: res.headers, html: res.body };
}

/**
 * Clicks the button `buttonId` on `page`: posts its form with the hidden fields, the button's name/value and
 * `extra` fields (e.g. `{ phone: '+1 734 555 0100' }`). Returns the emulator's answer (usually a 303).
 */
export async function clickButton(
  emulator: Pick<DuoEmulator, 'url' | 'ca'>,
  page: PromptPage,
  buttonId: string,
  extra: Record<string, string> = {},
): Promise<EmulatorResponse> {
  const form = parseForms(page.html).find((candidate) => candidate.buttons[buttonId]);
  assert.ok(form, `no button #${buttonId} on the page: ${page.html.slice(0, 400)}`);
  const button = form.buttons[buttonId]!;
  assert.equal(form.method, 'post');
  const target = new URL(form.action, page.url);
  return emulatorRequest(emulator, 'POST', target.pathname + target.search, {
    form: { ...form.fields, [button.name]: button.value, ...extra },
  });
}

/**
 * Clicks `buttonId` and follows the emulator's redirect: the next prompt page, or (`done`) the redirect back to
 * the application as a URL.
 */
export async function clickAndFollow(
  emulator: Pick<DuoEmulator, 'url' | 'ca'>,
  page: PromptPage,
  buttonId: string,
  extra: Record<string, string> = {},
): Promise<{ page: PromptPage; done?: undefined } | { page?: undefined; done: URL }> {
  const res = await clickButton(emulator, page, buttonId, extra);
  assert.equal(res.status, 303, `#${buttonId} answered ${res.status}: ${res.body.slice(0, 300)}`);
  const location = new URL(String(res.headers.location), page.url);
  if (location.origin !== new URL(emulator.url).origin) return { done: location };
  return { page: await getPage(emulator, location) };
}

/** Opens the prompt for an authorize URL in interactive mode: follows the 303 to the first page. */
export async function openPrompt(
  emulator: Pick<DuoEmulator, 'url' | 'ca'>,
  authUrl: string | URL,
): Promise<PromptPage> {
  const url = new URL(authUrl, emulator.url);
  const res = await emulatorRequest(emulator, 'GET', url.pathname + url.search);
  assert.equal(res.status, 303, `authorize answered ${res.status}: ${res.body.slice(0, 300)}`);
  return getPage(emulator, String(res.headers.location));
}

/** Walks the enrollment pages (phone number, platform, install, activation) up to the push page. */
export async function enroll(
  emulator: Pick<DuoEmulator, 'url' | 'ca'>,
  first: PromptPage,
  options: { phone?: string; platform?: 'iOS' | 'Android' } = {},
): Promise<PromptPage> {
  let page = first;
  const step = async (buttonId: string, extra: Record<string, string> = {}) => {
    const next = await clickAndFollow(emulator, page, buttonId, extra);
    assert.ok(next.page, `#${buttonId} left the prompt`);
    page = next.page;
  };
  await step('enroll-start');
  await step('enroll-mobile');
  await step('enroll-phone-continue', { phone: options.phone ?? '+1 734-555-0199' });
  await step('enroll-platform-continue', { platform: options.platform ?? 'iOS' });
  await step('enroll-installed');
  await step('enroll-activate-continue');
  return page;
}

/**
 * From the push page: "Send me a Push", then Approve, Deny or Report fraud (and the device check's Continue when
 * shown).
 */
export async function pushAndAnswer(
  emulator: Pick<DuoEmulator, 'url' | 'ca'>,
  authPage: PromptPage,
  answer: 'approve' | 'deny' | 'report-fraud',
): Promise<URL> {
  const pushed = await clickAndFollow(emulator, authPage, 'send-push');
  assert.ok(pushed.page, 'send-push left the prompt');
  let next = await clickAndFollow(emulator, pushed.page, answer);
  if (next.page && next.page.html.includes('id="device-continue"')) {
    next = await clickAndFollow(emulator, next.page, 'device-continue');
  }
  assert.ok(
    next.done,
    `expected the redirect back to the application, got a page: ${next.page?.html.slice(0, 300)}`,
  );
  return next.done;
}

// ---- The Duo Admin API, through the real @duosecurity/duo_api client ----

/** The part of @duosecurity/duo_api 1.5's Client the tests use (the package ships no types). */
interface DuoApiClient {
  jsonApiCall(
    method: string,
    path: string,
    params: Record<string, string>,
    callback: (body: any) => void,
  ): void;
}
interface DuoApiModule {
  Client: new (ikey: string, skey: string, host: string, sigVersion?: number) => DuoApiClient;
  SIGNATURE_VERSION_2: number;
  SIGNATURE_VERSION_5: number;
}
const duoApi = createRequire(__filename)('@duosecurity/duo_api') as DuoApiModule;

/** An Admin API application for tests: integration key of 20 characters, secret key of 40. */
export const ADMIN_APP = Object.freeze({
  integrationKey: 'DIADMINAPPLICATION01',
  secretKey: 'admin-secret-0123456789abcdefghijklmnopq',
  name: 'Staff onboarding',
});

/**
 * Calls the emulator's Admin API with the unmodified @duosecurity/duo_api client (signature version 2 by default,
 * or 5). duo_api 1.5 cannot be pointed at another CA or port: it passes Duo's pinned CAs as `ca` and the apiHost
 * as `host` (which Node would resolve as a name, port included) straight to `https.request`. So, for the length
 * of the call only, `https.request` is wrapped to send requests for the emulator's apiHost to its host and port
 * and trust its CA. Nothing the client signs or sends (Host and Date headers, path, body) is changed.
 */
export async function adminApiCall(
  emulator: Pick<DuoEmulator, 'apiHost' | 'ca'>,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  params: Record<string, string> = {},
  options: { app?: { integrationKey: string; secretKey: string }; signatureVersion?: 2 | 5 } = {},
): Promise<any> {
  const app = options.app ?? ADMIN_APP;
  const version = options.signatureVersion === 5 ? duoApi.SIGNATURE_VERSION_5 : duoApi.SIGNATURE_VERSION_2;
  const client = new duoApi.Client(app.integrationKey, app.secretKey, emulator.apiHost, version);
  const original = https.request;
  const at = emulator.apiHost.lastIndexOf(':');
  const hostname = emulator.apiHost.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(emulator.apiHost.slice(at + 1));
  const redirected = ((options: https.RequestOptions, callback?: (res: IncomingMessage) => void) => {
    const target =
      options.host === emulator.apiHost
        ? { ...options, host: undefined, hostname, port, ca: emulator.ca, agent: false as const }
        : options;
    return original(target, callback);
  }) as typeof https.request;
  https.request = redirected;
  try {
    return await new Promise((resolve) => client.jsonApiCall(method, path, params, resolve));
  } finally {
    https.request = original;
  }
}
