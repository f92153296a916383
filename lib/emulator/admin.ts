// The Duo Admin API calls staff onboarding and recovery use, served from the emulator's users: user lookup, phones,
// Duo Mobile (re)activation by link or SMS, bypass codes; plus the activation link and QR pages those answers
// point at. Every /admin request must carry Duo's signature (admin-signature.ts).

import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { randomInt } from 'node:crypto';
import { verifyAdminSignature } from './admin-signature';
import { activationSvg, renderDeadEndPage } from './pages';
import { MAX_BODY_BYTES } from './params';
import { htmlReply, jsonReply, send, type Reply } from './reply';
import type { EmulatorState, PhoneRecord, UserRecord } from './state';

/** Duo's default and longest activation validity (valid_secs). */
const DEFAULT_ACTIVATION_SECS = 86_400;
const MAX_ACTIVATION_SECS = 7_776_000;
const MAX_BYPASS_CODES_PER_USER = 100;
const ACTIVATION_PATH = '/activate/';
const INSTALL_PATH = '/install';
const QR_PATH = '/frame/qr';

/** Parameters of one signed Admin API request, after its signature was checked. */
interface AdminCall {
  readonly params: ReadonlyMap<string, string>;
  /** The host name the request was signed for: links in answers use it. */
  readonly host: string;
}

type AdminHandler = (call: AdminCall, req: Request) => Reply;

/**
 * Mounts the Admin API (`/admin/v1/...`) and the pages its answers link to (`/activate/<code>`, `/frame/qr`,
 * `/install`) on the emulator's Express app.
 *
 * @example
 * ```ts
 * createEmulatorServer(state, tls, [(app) => installAdminApi(app, state)]);
 * ```
 */
export function installAdminApi(app: Express, state: EmulatorState): void {
  const router = express.Router({ caseSensitive: true, strict: true });
  const body = [
    express.urlencoded({ extended: false, limit: MAX_BODY_BYTES }),
    express.json({
      limit: MAX_BODY_BYTES,
      // Signature version 5 hashes the exact bytes sent.
      verify: (req, _res, buffer) => {
        (req as Request & { rawJson?: Buffer }).rawJson = Buffer.from(buffer);
      },
    }),
    express.raw({ type: () => true, limit: MAX_BODY_BYTES }),
  ].map(answeringBodyErrors);
  const route = (method: 'GET' | 'POST' | 'DELETE', path: string, handler: AdminHandler) => {
    router.all(path, ...body, (req, res) => {
      const call = authenticate(state, req, res);
      if (!call) return;
      answer(res, req.method === method ? handler(call, req) : fail(405, 40501, 'Method not allowed'));
    });
  };

  route('GET', '/v1/users', (call) => {
    const username = call.params.get('username');
    if (username !== undefined) {
      const user = state.users.get(username);
      return ok(user ? [userObject(user)] : []);
    }
    const users = [...state.users.values()];
    const limit = integer(call.params.get('limit'), 100, 1, 300);
    const offset = integer(call.params.get('offset'), 0, 0, Number.MAX_SAFE_INTEGER);
    if (limit === undefined) return invalid('limit');
    if (offset === undefined) return invalid('offset');
    const page = users.slice(offset, offset + limit).map((user) => userObject(user));
    const metadata: Record<string, number> = { total_objects: users.length };
    if (offset + limit < users.length) metadata.next_offset = offset + limit;
    if (offset > 0) metadata.prev_offset = Math.max(0, offset - limit);
    return jsonReply(200, { stat: 'OK', response: page, metadata });
  });

  route('GET', '/v1/users/:user_id', (_call, req) => {
    const user = state.userById(String(req.params.user_id));
    return user ? ok(userObject(user)) : notFound();
  });

  route('GET', '/v1/users/:user_id/phones', (_call, req) => {
    const user = state.userById(String(req.params.user_id));
    if (!user) return notFound();
    return ok(user.phone ? [phoneObject(user.phone)] : []);
  });

  route('DELETE', '/v1/users/:user_id/phones/:phone_id', (_call, req) => {
    const user = state.userById(String(req.params.user_id));
    if (!user) return notFound();
    // Duo answers OK whether or not the phone was associated; the user is no longer enrolled without it.
    if (user.phone?.id === req.params.phone_id) {
      user.phone = undefined;
      user.enrolled = false;
      dropActivations(state, String(req.params.phone_id));
    }
    return ok('');
  });

  route('GET', '/v1/phones/:phone_id', (_call, req) => {
    const owner = state.userByPhoneId(String(req.params.phone_id));
    if (!owner?.phone) return notFound();
    return ok({ ...phoneObject(owner.phone), users: [userSummary(owner)] });
  });

  route('POST', '/v1/users/:user_id/bypass_codes', (call, req) => {
    const user = state.userById(String(req.params.user_id));
    if (!user) return notFound();
    return issueBypassCodes(state, user, call.params);
  });

  route('POST', '/v1/phones/:phone_id/activation_url', (call, req) => {
    const owner = state.userByPhoneId(String(req.params.phone_id));
    if (!owner?.phone) return notFound();
    const activation = startActivation(state, owner, owner.phone, call);
    if ('status' in activation) return activation;
    const response: Record<string, unknown> = {
      activation_barcode: activation.barcode,
      activation_url: activation.url,
      valid_secs: activation.validSecs,
    };
    if (activation.install) response.installation_url = `https://${call.host}${INSTALL_PATH}`;
    return ok(response);
  });

  route('POST', '/v1/phones/:phone_id/send_sms_activation', (call, req) => {
    const owner = state.userByPhoneId(String(req.params.phone_id));
    if (!owner?.phone) return notFound();
    const activationTemplate =
      call.params.get('activation_msg') ?? 'To activate the Duo Mobile app, click this link: <acturl>';
    if (!activationTemplate.includes('<acturl>')) return invalid('activation_msg');
    const installTemplate =
      call.params.get('installation_msg') ??
      'Welcome to Duo! To install the Duo Mobile app, click this link: <insturl>';
    if (!installTemplate.includes('<insturl>')) return invalid('installation_msg');
    const activation = startActivation(state, owner, owner.phone, call);
    if ('status' in activation) return activation;
    const response: Record<string, unknown> = {
      activation_barcode: activation.barcode,
      activation_msg: activationTemplate.replaceAll('<acturl>', activation.url),
      valid_secs: activation.validSecs,
    };
    if (activation.install) {
      response.installation_msg = installTemplate.replaceAll(
        '<insturl>',
        `https://${call.host}${INSTALL_PATH}`,
      );
      state.sendSms(owner.phone.number, String(response.installation_msg));
    }
    state.sendSms(owner.phone.number, String(response.activation_msg));
    return ok(response);
  });

  // Anything else under /admin: Duo's 404 once the request is shown to be signed.
  router.use(...body, (req, res) => {
    const call = authenticate(state, req, res);
    if (call) answer(res, notFound());
  });
  app.use('/admin', router);

  app.get(`${ACTIVATION_PATH}:code`, (req, res) => send(res, activate(state, String(req.params.code))));
  app.get(QR_PATH, (req, res) => {
    const value = new URLSearchParams(req.originalUrl.split('?')[1] ?? '').get('value') ?? '';
    send(res, {
      status: 200,
      headers: {
        'content-type': 'image/svg+xml',
        'cache-control': 'no-store',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
        'x-content-type-options': 'nosniff',
      },
      body: activationSvg(value.slice(0, 512)),
    });
  });
  app.get(INSTALL_PATH, (_req, res) =>
    send(
      res,
      htmlReply(200, (nonce) =>
        renderDeadEndPage(nonce, {
          title: 'Install Duo Mobile',
          message:
            'Emulator stand-in: install Duo Mobile from the App Store or Google Play, then open your activation link.',
        }),
      ),
    ),
  );
}

/** A body parser whose failures answer Duo-style JSON (413 too large, 400 unreadable) instead of the app's 500. */
function answeringBodyErrors(parser: RequestHandler): RequestHandler {
  return (req, res, next) => {
    void parser(req, res, (error?: unknown) => {
      if (error === undefined || error === null) return next();
      const type = (error as { type?: unknown }).type;
      if (type === 'request.aborted') return void res.destroy();
      if (type === 'entity.too.large' || type === 'parameters.too.many') {
        return answer(res, fail(413, 41301, 'Request body too large'));
      }
      return answer(
        res,
        fail(400, 40002, 'Invalid request parameters', 'the request body could not be read'),
      );
    });
  };
}

/** Checks the signature; answers Duo's 401 itself and returns undefined when it does not hold. */
function authenticate(state: EmulatorState, req: Request, res: Response): AdminCall | undefined {
  const queryText = req.originalUrl.includes('?')
    ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1)
    : '';
  const query = [...new URLSearchParams(queryText)] as Array<[string, string]>;
  const rawJson = (req as Request & { rawJson?: Buffer }).rawJson;
  const form = req.is('application/x-www-form-urlencoded') ? formEntries(req.body) : undefined;
  const path = req.originalUrl.split('?')[0] ?? '';
  const check = verifyAdminSignature(
    { method: req.method, path, headers: req.headers, query, form, jsonBody: rawJson },
    state.adminApplications,
    state.hosts,
    state.now(),
  );
  if (!check.ok) {
    const integrationKey = /^Basic (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const ikey = integrationKey
      ? Buffer.from(integrationKey, 'base64').toString('utf8').split(':')[0]
      : undefined;
    state.record({
      endpoint: 'admin',
      ...(ikey ? { clientId: ikey.slice(0, 64) } : {}),
      outcome: `${check.code}:${check.why}`,
    });
    answer(res, fail(401, check.code, check.message, check.detail));
    return undefined;
  }
  const params = new Map<string, string>();
  const bodyMethod = ['POST', 'PUT', 'PATCH'].includes(req.method);
  const source = bodyMethod ? (form ?? jsonEntries(req.body)) : query;
  for (const [name, value] of source) if (!params.has(name)) params.set(name, value);
  state.record({
    endpoint: 'admin',
    clientId: check.app.integrationKey,
    outcome: `${req.method} ${adminRoute(path)}`,
  });
  return { params, host: check.host };
}

/** `/admin/v1/users/DU…/bypass_codes` → `/admin/v1/users/:user_id/bypass_codes`: ids stay out of the log. */
function adminRoute(path: string): string {
  return path
    .replace(/\/DU[A-Z0-9]{18}/g, '/:user_id')
    .replace(/\/DP[A-Z0-9]{18}/g, '/:phone_id')
    .slice(0, 128);
}

/** POST bypass_codes: Duo's count / codes / preserve_existing / reuse_count / valid_secs, answering the codes. */
function issueBypassCodes(
  state: EmulatorState,
  user: UserRecord,
  params: ReadonlyMap<string, string>,
): Reply {
  const countText = params.get('count');
  const codesText = params.get('codes');
  if (countText !== undefined && codesText !== undefined)
    return invalid('count', 'count and codes cannot both be given');
  const reuseCount = integer(params.get('reuse_count'), 1, 0, 1_000_000);
  if (reuseCount === undefined) return invalid('reuse_count');
  const validSecs = integer(params.get('valid_secs'), 0, 0, 100 * 365 * 86_400);
  if (validSecs === undefined) return invalid('valid_secs');
  const preserve = params.get('preserve_existing');
  if (preserve !== undefined && preserve !== 'true' && preserve !== 'false')
    return invalid('preserve_existing');
  let codes: string[];
  if (codesText !== undefined) {
    codes = codesText.split(',').map((code) => code.trim());
    if (codes.length === 0 || codes.length > 10 || !codes.every((code) => /^\d{6,16}$/.test(code))) {
      return invalid('codes');
    }
    if (new Set(codes).size !== codes.length) return invalid('codes', 'codes must not repeat');
  } else {
    const count = integer(countText, 10, 1, 10);
    if (count === undefined) return invalid('count', 'count must be from 1 to 10');
    codes = [];
    while (codes.length < count) {
      const code = String(randomInt(1e9)).padStart(9, '0');
      if (!codes.includes(code) && !user.bypassCodes.some((entry) => entry.code === code)) codes.push(code);
    }
  }
  const existing = preserve === 'true' ? user.bypassCodes : [];
  if (existing.some((entry) => codes.includes(entry.code)))
    return invalid('codes', 'a code already exists for this user');
  if (existing.length + codes.length > MAX_BYPASS_CODES_PER_USER) {
    return invalid('count', `a user may have at most ${MAX_BYPASS_CODES_PER_USER} bypass codes`);
  }
  const expiresAt = validSecs === 0 ? undefined : state.now() + validSecs * 1000;
  user.bypassCodes = [
    ...existing,
    ...codes.map((code) => ({ code, remaining: reuseCount === 0 ? Infinity : reuseCount, expiresAt })),
  ];
  return ok(codes);
}

interface StartedActivation {
  readonly url: string;
  readonly barcode: string;
  readonly validSecs: number;
  readonly install: boolean;
}

/**
 * A new Duo Mobile activation for `phone`: the old activation stops working at once (the phone is no longer
 * activated and its user no longer enrolled, so the next sign-in walks through enrollment again) until the new
 * link is opened.
 */
function startActivation(
  state: EmulatorState,
  user: UserRecord,
  phone: PhoneRecord,
  call: AdminCall,
): StartedActivation | Reply {
  const validSecs = integer(call.params.get('valid_secs'), DEFAULT_ACTIVATION_SECS, 1, MAX_ACTIVATION_SECS);
  if (validSecs === undefined) return invalid('valid_secs');
  const install = call.params.get('install') ?? '0';
  if (install !== '0' && install !== '1') return invalid('install');
  dropActivations(state, phone.id);
  phone.activated = false;
  user.enrolled = false;
  const code = state.randomCode(20);
  state.activations.set(code, {
    code,
    username: user.username,
    phoneId: phone.id,
    expiresAt: state.now() + validSecs * 1000,
  });
  return {
    url: `https://${call.host}${ACTIVATION_PATH}${code}`,
    barcode: `https://${call.host}${QR_PATH}?value=${encodeURIComponent(`duo://${code}`)}`,
    validSecs,
    install: install === '1',
  };
}

/** `GET /activate/<code>`: the phone opened its activation link; Duo Mobile is activated once per link. */
function activate(state: EmulatorState, code: string): Reply {
  const activation = state.activations.get(code);
  state.activations.delete(code);
  const user = activation ? state.users.get(activation.username) : undefined;
  if (
    !activation ||
    !user?.phone ||
    user.phone.id !== activation.phoneId ||
    activation.expiresAt < state.now()
  ) {
    return htmlReply(400, (nonce) =>
      renderDeadEndPage(nonce, {
        title: 'This activation link has expired',
        message:
          'The link is unknown, already used, or replaced by a newer one. Ask your administrator for a new one.',
      }),
    );
  }
  user.phone.activated = true;
  user.phone.lastSeen = state.now();
  user.enrolled = true;
  return htmlReply(200, (nonce) =>
    renderDeadEndPage(nonce, {
      title: 'Duo Mobile is activated',
      message: `Duo Mobile on ${user.phone?.display ?? 'this phone'} is ready to approve sign-ins for ${user.username}.`,
    }),
  );
}

function dropActivations(state: EmulatorState, phoneId: string): void {
  for (const [key, entry] of state.activations) if (entry.phoneId === phoneId) state.activations.delete(key);
}

/** A user as Duo's Admin API returns it (the fields it documents; groups and tokens empty in the emulator). */
function userObject(user: UserRecord): Record<string, unknown> {
  return {
    alias1: null,
    alias2: null,
    alias3: null,
    alias4: null,
    aliases: {},
    created: Math.floor(user.created / 1000),
    desktoptokens: [],
    email: user.username.includes('@') ? user.username : '',
    enable_auto_prompt: true,
    firstname: '',
    groups: [],
    is_enrolled: user.enrolled,
    last_directory_sync: null,
    last_login: user.lastLogin === undefined ? null : Math.floor(user.lastLogin / 1000),
    lastname: '',
    lockout_reason: user.status === 'locked out' ? 'Failed Attempts' : null,
    notes: '',
    phones: user.phone ? [phoneObject(user.phone)] : [],
    realname: '',
    status: user.status,
    tokens: [],
    u2ftokens: [],
    user_id: user.userId,
    username: user.username,
    webauthncredentials: [],
  };
}

function userSummary(user: UserRecord): Record<string, unknown> {
  return { user_id: user.userId, username: user.username, realname: '', email: '', status: user.status };
}

/** A phone as Duo's Admin API returns it. */
function phoneObject(phone: PhoneRecord): Record<string, unknown> {
  const ios = phone.platform === 'iOS';
  return {
    activated: phone.activated,
    capabilities: phone.activated ? ['auto', 'push', 'sms', 'phone', 'mobile_otp'] : ['auto', 'sms', 'phone'],
    encrypted: phone.activated ? 'Encrypted' : '',
    extension: '',
    fingerprint: phone.activated ? 'Configured' : '',
    last_seen: phone.lastSeen === undefined ? '' : new Date(phone.lastSeen).toISOString().slice(0, 19),
    model: ios ? 'Apple iPhone 15' : 'Google Pixel 8',
    name: '',
    number: phone.number,
    phone_id: phone.id,
    platform: ios ? 'Apple iOS' : 'Google Android',
    postdelay: null,
    predelay: null,
    screenlock: phone.activated ? 'Locked' : '',
    sms_passcodes_sent: false,
    tampered: phone.activated ? 'Not Tampered' : '',
    type: 'Mobile',
  };
}

function ok(response: unknown): Reply {
  return jsonReply(200, { stat: 'OK', response });
}

function fail(status: number, code: number, message: string, detail?: string): Reply {
  return jsonReply(status, {
    stat: 'FAIL',
    code,
    message,
    ...(detail === undefined ? {} : { message_detail: detail }),
  });
}

function notFound(): Reply {
  return fail(404, 40401, 'Resource not found');
}

function invalid(parameter: string, detail: string = parameter): Reply {
  return fail(400, 40002, 'Invalid request parameters', detail);
}

function answer(res: Response, reply: Reply): void {
  send(res, reply);
}

/** A decimal integer parameter within bounds; `fallback` when absent; undefined when invalid. */
function integer(text: string | undefined, fallback: number, min: number, max: number): number | undefined {
  if (text === undefined) return fallback;
  if (!/^\d{1,16}$/.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}

function formEntries(body: unknown): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return entries;
  for (const [name, value] of Object.entries(body)) {
    for (const item of Array.isArray(value) ? value : [value])
      if (typeof item === 'string') entries.push([name, item]);
  }
  return entries;
}

function jsonEntries(body: unknown): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return entries;
  for (const [name, value] of Object.entries(body)) {
    if (typeof value === 'string') entries.push([name, value]);
    else if (typeof value === 'number' || typeof value === 'boolean') entries.push([name, String(value)]);
  }
  return entries;
}
