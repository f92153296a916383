// The duoProxy option at adapter level: every call to Duo tunnels through an HTTP CONNECT proxy (a loopback one
// here, with an access log), TLS to Duo stays end to end, proxy failures are classified (S44), and the proxy's
// credentials appear in no message.
import assert from 'node:assert/strict';
import type { LookupFunction } from 'node:net';
import { DuoAdapter } from '../../lib/duo/adapter';
import { generateCertificates } from '../../lib/emulator/certificates';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import { isDuoMfaError, type DuoMfaError, type DuoMfaErrorCode } from '../../lib/errors';
import { REDIRECT_URL, TEST_APP, followAuthorize } from '../helpers/duo';
import { startConnectProxy, type ConnectProxy } from '../helpers/connect-proxy';

const TIMEOUT_MS = 400;
const STATE = 'adapter-proxy-state-0123456789abcdef';
const USER = 'svc-duo-egress';
const PASSWORD = 'pr0xy-S3cret!';
/** Every form the credentials could leak in. */
const SECRETS = [
  USER,
  PASSWORD,
  encodeURIComponent(PASSWORD),
  Buffer.from(`${USER}:${PASSWORD}`).toString('base64'),
];

/** Every message along an error's chain (DuoMfaError → DuoException → axios → Node), plus its details. */
function everythingSaid(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth++) {
    const { message, stack, details, inner, cause } = current as Record<string, unknown>;
    parts.push(String(message), String(stack), JSON.stringify(details ?? null));
    current = inner ?? cause;
  }
  return parts.join('\n');
}

/** Resolves only when `name` is a literal IP: proves no call looked Duo's host name up itself (it went via the proxy). */
const noDirectLookups: LookupFunction = (hostname: string, _options: unknown, callback: unknown) => {
  const done = (typeof _options === 'function' ? _options : callback) as (...args: unknown[]) => void;
  process.nextTick(() =>
    done(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname })),
  );
};

describe('DuoAdapter through an outbound proxy (duoProxy)', () => {
  let emulator: DuoEmulator;
  let proxy: ConnectProxy;
  /** The emulator by a name (`localhost:port`) that only the proxy resolves for the adapter. */
  let apiHost: string;
  const said: string[] = [];
  const adapters: DuoAdapter[] = [];
  const adapter = (options: Partial<ConstructorParameters<typeof DuoAdapter>[0]> = {}) => {
    const made = new DuoAdapter({
      redirectUrl: REDIRECT_URL,
      timeoutMs: TIMEOUT_MS,
      ca: emulator.ca,
      proxy: proxy.url,
      lookup: noDirectLookups,
      ...options,
    });
    adapters.push(made);
    return made;
  };
  const credentials = () => ({ clientId: TEST_APP.clientId, clientSecret: TEST_APP.clientSecret, apiHost });
  const rejectsWith = async (promise: Promise<unknown>, code: DuoMfaErrorCode): Promise<DuoMfaError> => {
    let caught: DuoMfaError | undefined;
    await assert.rejects(promise, (error) => {
      assert.ok(isDuoMfaError(error), `not a DuoMfaError: ${String(error)}`);
      said.push(everythingSaid(error));
      assert.equal(error.code, code, error.message);
      caught = error;
      return true;
    });
    return caught!;
  };
  const codeFor = async (username: string) => {
    const direct = new DuoAdapter({ redirectUrl: REDIRECT_URL, ca: emulator.ca });
    try {
      const location = await followAuthorize(
        emulator,
        await direct.createAuthUrl(credentials(), username, STATE),
      );
      return location.searchParams.get('duo_code')!;
    } finally {
      direct.close();
    }
  };

  before(async () => {
    emulator = await startDuoEmulator({ applications: [TEST_APP], mode: 'auto' });
    apiHost = `localhost:${emulator.apiHost.split(':')[1]}`;
  });
  beforeEach(async () => {
    proxy = await startConnectProxy({ credentials: { username: USER, password: PASSWORD } });
  });
  afterEach(async () => {
    for (const made of adapters.splice(0)) made.close();
    await proxy.close();
    emulator.setFault(null);
  });
  after(async () => {
    await emulator.close();
    // Every message any test in this file captured: the credentials appear in none of them.
    assert.ok(said.length > 0, 'no error captured: the check below would prove nothing');
    for (const text of said)
      for (const secret of SECRETS) assert.ok(!text.includes(secret), `leaked in: ${text}`);
  });

  describe('when the proxy tunnels', () => {
    it('health check and token exchange both go through it (its access log shows them), and the sign-in completes', async () => {
      const duo = adapter();
      const before = { ...emulator.calls };
      const health = await duo.healthCheck(credentials());
      assert.ok(Math.abs(health.skewMs) < 2000);
      assert.deepEqual(proxy.log, [{ target: apiHost, authorization: true, status: 200 }]);

      const code = await codeFor('alice');
      // A fresh socket, so the exchange has to open its own tunnel (keep-alive would reuse the first one).
      duo.close();
      const result = await duo.exchange(credentials(), code, 'alice');
      assert.equal(result.username, 'alice');
      assert.equal(result.result, 'allow');
      assert.deepEqual(proxy.log, [
        { target: apiHost, authorization: true, status: 200 },
        { target: apiHost, authorization: true, status: 200 },
      ]);
      assert.equal(emulator.calls.health - before.health, 1);
      assert.equal(emulator.calls.token - before.token, 1);
    });

    it('keeps TLS end to end: a certificate not in duoTls.ca is ERR_DUO_TLS even though the tunnel opened', async () => {
      const error = await rejectsWith(
        adapter({ ca: (await generateCertificates()).caCert }).healthCheck(credentials()),
        'ERR_DUO_TLS',
      );
      assert.equal(error.details.tlsCode, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      assert.equal(proxy.log.at(-1)?.status, 200);
    });

    it('ignores HTTPS_PROXY from the environment: only duoProxy routes calls', async () => {
      const saved = process.env.HTTPS_PROXY;
      process.env.HTTPS_PROXY = 'http://127.0.0.1:1';
      try {
        await adapter().healthCheck(credentials());
        assert.equal(proxy.log.length, 1);
      } finally {
        if (saved === undefined) delete process.env.HTTPS_PROXY;
        else process.env.HTTPS_PROXY = saved;
      }
    });
  });

  describe('when the proxy fails', () => {
    it('S44 the proxy refusing the tunnel (403: not on its allow-list) is a misconfiguration, never an outage', async () => {
      proxy.setMode('forbid');
      const error = await rejectsWith(adapter().healthCheck(credentials()), 'ERR_DUO_PROXY_REFUSED');
      assert.equal(error.details.proxyStatus, 403);
      assert.match(error.message, /refused to open a tunnel to localhost:\d+ \(HTTP 403\)/);
      assert.match(error.message, /http:\/\/\*\*\*\*:\*\*\*\*@127\.0\.0\.1:\d+\//);
      // Not Duo refusing the code: the request never reached Duo.
      const exchange = await rejectsWith(
        adapter().exchange(credentials(), 'some-code', 'alice'),
        'ERR_DUO_PROXY_REFUSED',
      );
      assert.equal(exchange.details.proxyStatus, 403);
    });

    it('S44 a proxy that cannot reach Duo (502 for a host that does not exist) fails closed too', async () => {
      const error = await rejectsWith(
        adapter().healthCheck({ ...credentials(), apiHost: '127.0.0.1:1' }),
        'ERR_DUO_PROXY_REFUSED',
      );
      assert.equal(error.details.proxyStatus, 502);
    });

    it('S44 the proxy down (connection refused) is an outage: ERR_DUO_UNAVAILABLE', async () => {
      await proxy.close();
      const error = await rejectsWith(adapter().healthCheck(credentials()), 'ERR_DUO_UNAVAILABLE');
      assert.match(error.message, /^Duo health check failed: .*ECONNREFUSED/);
      assert.match(String(error.details.proxy), /^http:\/\/\*\*\*\*:\*\*\*\*@127\.0\.0\.1:\d+\/$/);
    });

    it('S44 the proxy hanging on CONNECT is ERR_DUO_TIMEOUT within timeoutMs, and the socket to it is closed', async () => {
      proxy.setMode('hang');
      const started = Date.now();
      const error = await rejectsWith(adapter().healthCheck(credentials()), 'ERR_DUO_TIMEOUT');
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= TIMEOUT_MS - 20 && elapsed < TIMEOUT_MS + 500, `gave up after ${elapsed} ms`);
      assert.match(
        error.message,
        /within 400 ms \(through the outbound proxy http:\/\/\*\*\*\*:\*\*\*\*@127/,
      );
      assert.equal(proxy.log.length, 1);
      for (let i = 0; i < 50 && proxy.openConnections() > 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(proxy.openConnections(), 0, 'the abandoned CONNECT still holds a socket to the proxy');
    });

    it('S44 wrong proxy credentials (407) are our misconfiguration: ERR_DUO_CONFIG, never an outage', async () => {
      const wrong = proxy.url.replace(encodeURIComponent(PASSWORD), 'not-the-password');
      const error = await rejectsWith(adapter({ proxy: wrong }).healthCheck(credentials()), 'ERR_DUO_CONFIG');
      assert.match(error.message, /refused our credentials \(HTTP 407 Proxy Authentication Required\)/);
      assert.match(error.message, /check the user and password in duoProxy/);
      assert.ok(!error.message.includes('not-the-password'));
      await rejectsWith(
        adapter({ proxy: wrong }).exchange(credentials(), 'some-code', 'alice'),
        'ERR_DUO_CONFIG',
      );
    });

    it('S44 a proxy host name that does not exist is ERR_DUO_CONFIG naming duoProxy, credentials masked', async () => {
      const error = await rejectsWith(
        adapter({
          proxy: `http://${USER}:${encodeURIComponent(PASSWORD)}@proxy.corp.invalid:3128`,
        }).healthCheck(credentials()),
        'ERR_DUO_CONFIG',
      );
      assert.equal(
        error.message,
        "The outbound proxy's host name proxy.corp.invalid does not exist (ENOTFOUND): check duoProxy " +
          '(http://****:****@proxy.corp.invalid:3128/)',
      );
    });
  });

  describe('when duoProxy is malformed', () => {
    const invalid: Array<[unknown, RegExp]> = [
      ['', /^duoProxy must be a proxy URL/],
      [3128, /^duoProxy must be a proxy URL .*\(got number\)$/],
      [['http://proxy:3128'], /\(got an array\)$/],
      ['proxy.corp:3128', /^duoProxy must be an http:\/\/ or https:\/\/ URL/],
      [`socks5://${USER}:${PASSWORD}@proxy:1080`, /got "socks5:\/\/\*\*\*\*:\*\*\*\*@proxy:1080"/],
      [
        `http://${USER}:${PASSWORD}@proxy:3128/path`,
        /without a path or query \(got "http:\/\/\*\*\*\*:\*\*\*\*@proxy:3128\/path"\)/,
      ],
      [
        `http://${USER}:${PASSWORD}@ bad host`,
        /^duoProxy is not a valid URL \(got "http:\/\/\*\*\*\*:\*\*\*\*@ bad host"\)/,
      ],
    ];
    for (const [value, pattern] of invalid) {
      it(`throws a TypeError naming duoProxy for ${JSON.stringify(value).replace(PASSWORD, '…')}`, () => {
        assert.throws(
          () => new DuoAdapter({ redirectUrl: REDIRECT_URL, proxy: value as string }),
          (error: unknown) => {
            assert.ok(error instanceof TypeError, String(error));
            assert.match(error.message, pattern);
            for (const secret of SECRETS) assert.ok(!error.message.includes(secret), error.message);
            return true;
          },
        );
      });
    }

    it('refuses duoTls.ca together with caPinning: false (they choose different roots)', () => {
      assert.throws(
        () => new DuoAdapter({ redirectUrl: REDIRECT_URL, ca: emulator.ca, caPinning: false }),
        /^TypeError: duoTls: give either ca .* or caPinning: false .*, not both$/,
      );
    });
  });
});
