// A small stand-in for Duo's Admin API over HTTPS on loopback, until the emulator serves it: verifies each
// request's signature with @duosecurity/duo_api's own signing code and answers Duo's documented bodies for the
// calls staff recovery makes (users by name, SMS activation, activation link, bypass codes).

import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { generateCertificates } from '../../../lib/emulator/certificates';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { sign } = require('@duosecurity/duo_api/lib/duo_sig') as {
  sign(
    ikey: string,
    skey: string,
    method: string,
    host: string,
    path: string,
    params: object,
    date: string,
  ): string;
};

export interface FakeAdminApplication {
  readonly integrationKey: string;
  readonly secretKey: string;
  /** Admin API permissions: "Grant read resource", "Grant write resource". Both by default. */
  readonly read?: boolean;
  readonly write?: boolean;
}

/** A phone as Duo's Admin API returns it (the fields the client reads). */
export interface FakePhone {
  phone_id: string;
  number: string;
  type: 'Mobile' | 'Landline' | 'Tablet' | 'Unknown';
  platform: string;
  model: string;
  activated: boolean;
  capabilities: string[];
  last_seen: string;
  /** Test knob: Duo refuses to text this phone (400), although it lists SMS. */
  refusesSms?: boolean;
}

export interface FakeUser {
  user_id: string;
  username: string;
  status: string;
  is_enrolled: boolean;
  last_login: number | null;
  phones: FakePhone[];
}

export type FakeAdminFault = 'rate-limited' | 'down' | 'error' | 'hang';

export interface FakeAdminCall {
  readonly method: string;
  readonly path: string;
  readonly params: Record<string, string>;
  /** `ok`, or the failure Duo answered (`40103` …, `fault:…`). */
  readonly outcome: string;
}

export interface FakeAdminApi {
  readonly apiHost: string;
  readonly ca: string;
  readonly calls: FakeAdminCall[];
  /** Texts Duo "sent": phone id and the message (which holds the activation link). */
  readonly sms: Array<{ phoneId: string; message: string }>;
  readonly users: Map<string, FakeUser>;
  setFault(fault: FakeAdminFault | null): void;
  close(): Promise<void>;
}

/** Duo's error body. */
function failBody(code: number, message: string, detail?: string) {
  return { stat: 'FAIL', code, message, ...(detail === undefined ? {} : { message_detail: detail }) };
}

/**
 * Starts the fake on 127.0.0.1 (port 0), with its own CA.
 *
 * @example
 * ```ts
 * const admin = await startFakeAdminApi({ applications: [ADMIN_APP], users: [dana] });
 * new DuoAdminApi({ ca: admin.ca }).staffStatus({ ...ADMIN_APP, apiHost: admin.apiHost }, 'dana');
 * ```
 */
export async function startFakeAdminApi(options: {
  applications: readonly FakeAdminApplication[];
  users: readonly FakeUser[];
  /** Duo's clock (ms), to check the Date header. */
  now?: () => number;
}): Promise<FakeAdminApi> {
  const certificates = await generateCertificates();
  const now = options.now ?? Date.now;
  const users = new Map(options.users.map((user) => [user.user_id, structuredClone(user)]));
  const calls: FakeAdminCall[] = [];
  const sms: Array<{ phoneId: string; message: string }> = [];
  let fault: FakeAdminFault | null = null;
  const sockets = new Set<Socket>();

  const server = https.createServer(
    { key: certificates.serverKey, cert: certificates.serverCert },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'https://fake');
        const method = req.method ?? 'GET';
        const form =
          method === 'GET' ? url.searchParams : new URLSearchParams(Buffer.concat(chunks).toString());
        const params = Object.fromEntries(form);
        const record = (outcome: string) => calls.push({ method, path: url.pathname, params, outcome });
        const reply = (
          status: number,
          body: unknown,
          outcome: string,
          headers: Record<string, string> = {},
        ) => {
          record(outcome);
          res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
        };
        const ok = (response: unknown) => reply(200, { stat: 'OK', response }, 'ok');

        switch (fault) {
          case 'hang':
            return record('fault:hang');
          case 'down':
            record('fault:down');
            return res
              .writeHead(503, { 'content-type': 'text/html' })
              .end('<html>503 Service Unavailable</html>');
          case 'error':
            return reply(500, failBody(50000, 'Internal server error'), 'fault:error');
          case 'rate-limited':
            return reply(429, failBody(42901, 'Too Many Requests'), 'fault:rate-limited', {
              'retry-after': '17',
            });
        }

        // Authentication exactly as Duo documents it: Basic ikey:hex(HMAC-SHA512(canonical request)).
        const date = req.headers.date;
        const authorization = req.headers.authorization ?? '';
        if (!authorization.startsWith('Basic '))
          return reply(401, failBody(40101, 'Missing request credentials'), '40101');
        if (typeof date !== 'string')
          return reply(401, failBody(40104, 'Missing required Date header'), '40104');
        const ikey = Buffer.from(authorization.slice(6), 'base64').toString().split(':')[0] ?? '';
        const app = options.applications.find((candidate) => candidate.integrationKey === ikey);
        if (!app)
          return reply(401, failBody(40102, 'Invalid integration key in request credentials'), '40102');
        const expected = Buffer.from(
          sign(app.integrationKey, app.secretKey, method, req.headers.host ?? '', url.pathname, params, date),
        );
        const given = Buffer.from(authorization);
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
          return reply(401, failBody(40103, 'Invalid signature in request credentials'), '40103');
        }
        if (Math.abs(now() - Date.parse(date)) > 300_000) {
          return reply(401, failBody(40105, 'Request date is too far from the current time'), '40105');
        }
        const write = method !== 'GET';
        if ((write && app.write === false) || (!write && app.read === false)) {
          return reply(403, failBody(40301, 'Access forbidden'), '40301');
        }

        const parts = url.pathname.split('/').filter(Boolean); // admin, v1, …
        const notFound = () => reply(404, failBody(40401, 'Resource not found'), '40401');
        const invalid = (detail: string) =>
          reply(400, failBody(40002, 'Invalid request parameters', detail), '40002');
        const validSecs = Number(params.valid_secs ?? 86400);

        if (method === 'GET' && url.pathname === '/admin/v1/users') {
          const wanted = (params.username ?? '').toLowerCase();
          return ok([...users.values()].filter((user) => user.username.toLowerCase() === wanted));
        }
        if (method === 'POST' && parts[2] === 'phones' && parts.length === 5) {
          const phone = [...users.values()]
            .flatMap((user) => user.phones)
            .find((p) => p.phone_id === parts[3]);
          if (!phone) return notFound();
          if (phone.type === 'Unknown' || phone.platform === 'Unknown') return invalid('platform');
          if (parts[4] === 'send_sms_activation') {
            if (!phone.capabilities.includes('sms') || phone.refusesSms) return invalid('phone');
            const link = `https://m-fake.duosecurity.test/android/${randomBytes(10).toString('hex')}`;
            phone.activated = false;
            sms.push({
              phoneId: phone.phone_id,
              message: `To activate the Duo Mobile app, click this link: ${link}`,
            });
            return ok({
              activation_barcode: 'https://fake/frame/qr?value=duo%3A%2F%2Fcode',
              activation_msg: `To activate the Duo Mobile app, click this link: ${link}`,
              installation_msg:
                'Welcome to Duo! To install the Duo Mobile app, click this link: https://m-fake/',
              valid_secs: validSecs,
            });
          }
          if (parts[4] === 'activation_url') {
            phone.activated = false;
            return ok({
              activation_barcode: 'https://fake/frame/qr?value=duo%3A%2F%2Fcode',
              activation_url: `https://m-fake.duosecurity.test/iphone/${randomBytes(10).toString('hex')}`,
              valid_secs: validSecs,
            });
          }
        }
        if (method === 'POST' && parts[2] === 'users' && parts[4] === 'bypass_codes' && parts.length === 5) {
          if (!users.has(parts[3] ?? '')) return notFound();
          const count = Number(params.count ?? 10);
          if (!Number.isInteger(count) || count < 1 || count > 10) return invalid('count');
          return ok(Array.from({ length: count }, () => String(randomInt(100_000_000, 999_999_999))));
        }
        return notFound();
      });
    },
  );
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    apiHost: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    ca: certificates.caCert,
    calls,
    sms,
    users,
    setFault: (next) => {
      fault = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A phone with Duo's usual fields; override what the test needs. */
export function fakePhone(overrides: Partial<FakePhone> = {}): FakePhone {
  return {
    phone_id: `DP${randomBytes(9).toString('hex').toUpperCase()}`,
    number: '+15555550100',
    type: 'Mobile',
    platform: 'Google Android',
    model: 'Pixel 8',
    activated: true,
    capabilities: ['auto', 'push', 'sms', 'phone', 'mobile_otp'],
    last_seen: '2026-05-04T09:12:30',
    ...overrides,
  };
}
