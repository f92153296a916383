// S44 at adapter level: every way the way to Duo can fail, classified as an outage (the tenant's failmode may
// apply) or as a misconfiguration / someone on the path (never fails open). Real sockets on loopback only.
import assert from 'node:assert/strict';
import dns from 'node:dns';
import https from 'node:https';
import net, { type LookupFunction } from 'node:net';
import { DuoAdapter } from '../../lib/duo/adapter';
import { generateCertificates } from '../../lib/emulator/certificates';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import { isDuoMfaError, type DuoMfaError, type DuoMfaErrorCode } from '../../lib/errors';
import { REDIRECT_URL, TEST_APP, followAuthorize } from '../helpers/duo';

const TIMEOUT_MS = 400;
const STATE = 'adapter-network-state-0123456789abcd';

/** What the middleware does with a health-check failure: only these two codes may fail open. */
const OUTAGE_CODES: readonly DuoMfaErrorCode[] = ['ERR_DUO_UNAVAILABLE', 'ERR_DUO_TIMEOUT'];

async function rejectsWith(promise: Promise<unknown>, code: DuoMfaErrorCode): Promise<DuoMfaError> {
  let caught: DuoMfaError | undefined;
  await assert.rejects(promise, (error) => {
    assert.ok(isDuoMfaError(error), `not a DuoMfaError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    caught = error;
    return true;
  });
  return caught!;
}

/** A DNS look-up that answers every name with `address`, or fails every name with `code`. */
function fakeLookup(answer: { address: string } | { code: string }): LookupFunction {
  return (hostname: string, options: unknown, callback: unknown) => {
    const done = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
    process.nextTick(() => {
      if ('code' in answer) {
        done(
          Object.assign(new Error(`getaddrinfo ${answer.code} ${hostname}`), { code: answer.code, hostname }),
        );
      } else if (all) {
        done(null, [{ address: answer.address, family: 4 }]);
      } else {
        done(null, answer.address, 4);
      }
    });
  };
}

/** A loopback server for one misbehaviour; returns its `host:port` and a close function. */
async function listen(
  server: net.Server,
): Promise<{ apiHost: string; port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    apiHost: `127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('DuoAdapter: only a real outage may fail open (S44)', () => {
  let emulator: DuoEmulator;
  const adapters: DuoAdapter[] = [];
  const adapter = (options: Partial<ConstructorParameters<typeof DuoAdapter>[0]> = {}) => {
    const made = new DuoAdapter({
      redirectUrl: REDIRECT_URL,
      timeoutMs: TIMEOUT_MS,
      ca: emulator.ca,
      ...options,
    });
    adapters.push(made);
    return made;
  };
  const credentials = (apiHost = emulator.apiHost) => ({
    clientId: TEST_APP.clientId,
    clientSecret: TEST_APP.clientSecret,
    apiHost,
  });

  before(async () => {
    emulator = await startDuoEmulator({ applications: [TEST_APP], mode: 'auto' });
  });
  afterEach(() => {
    for (const made of adapters.splice(0)) made.close();
    emulator.setFault(null);
  });
  after(() => emulator.close());

  describe('when TLS verification fails (fail closed: ERR_DUO_TLS)', () => {
    it('S44 an emulator whose certificate is not signed by duoTls.ca is ERR_DUO_TLS naming TLS and the fix', async () => {
      const stranger = (await generateCertificates()).caCert;
      const error = await rejectsWith(adapter({ ca: stranger }).healthCheck(credentials()), 'ERR_DUO_TLS');
      assert.equal(error.details.tlsCode, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      assert.match(error.message, /TLS certificate for 127\.0\.0\.1:\d+ could not be verified/);
      assert.match(error.message, /duoTls\.ca/);
      assert.match(error.message, /TLS-inspecting proxy/);
      assert.match(error.message, /emulator's CA/);
      assert.ok(!OUTAGE_CODES.includes(error.code));
    });

    it('S44 the emulator against Duo’s pinned CAs (no duoTls.ca) is ERR_DUO_TLS', async () => {
      const pinned = new DuoAdapter({ redirectUrl: REDIRECT_URL, timeoutMs: TIMEOUT_MS });
      adapters.push(pinned);
      const error = await rejectsWith(pinned.healthCheck(credentials()), 'ERR_DUO_TLS');
      assert.equal(error.details.tlsCode, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    });

    it('S44 caPinning: false verifies against Node’s default CAs, which do not know the emulator: ERR_DUO_TLS', async () => {
      const system = new DuoAdapter({ redirectUrl: REDIRECT_URL, timeoutMs: TIMEOUT_MS, caPinning: false });
      adapters.push(system);
      await rejectsWith(system.healthCheck(credentials()), 'ERR_DUO_TLS');
    });

    it('S44 an expired certificate is ERR_DUO_TLS (CERT_HAS_EXPIRED)', async () => {
      const old = await generateCertificates({ now: new Date(Date.now() - 60 * 24 * 3600_000) });
      const server = await listen(
        https.createServer({ key: old.serverKey, cert: old.serverCert }, (_req, res) => res.end('{}')),
      );
      try {
        const error = await rejectsWith(
          adapter({ ca: old.caCert }).healthCheck(credentials(server.apiHost)),
          'ERR_DUO_TLS',
        );
        assert.equal(error.details.tlsCode, 'CERT_HAS_EXPIRED');
      } finally {
        await server.close();
      }
    });

    it('S44 a certificate for another name is ERR_DUO_TLS (ERR_TLS_CERT_ALTNAME_INVALID)', async () => {
      const port = emulator.apiHost.split(':')[1];
      const error = await rejectsWith(
        adapter({ lookup: fakeLookup({ address: '127.0.0.1' }) }).healthCheck(
          credentials(`api-12345678.duosecurity.test:${port}`),
        ),
        'ERR_DUO_TLS',
      );
      assert.equal(error.details.tlsCode, 'ERR_TLS_CERT_ALTNAME_INVALID');
    });

    it('S44 something that does not speak TLS on the apiHost port is ERR_DUO_TLS naming apiHost', async () => {
      const plain = await listen(
        net.createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')),
      );
      try {
        const error = await rejectsWith(adapter().healthCheck(credentials(plain.apiHost)), 'ERR_DUO_TLS');
        assert.match(error.message, /No TLS session with Duo at 127\.0\.0\.1:\d+ could be set up/);
        assert.match(String(error.details.tlsCode), /^(EPROTO|ERR_SSL_)/);
        assert.match(error.message, /check apiHost/);
      } finally {
        await plain.close();
      }
    });

    it('S44 the token exchange reports the same ERR_DUO_TLS (the sign-in is denied either way)', async () => {
      const good = adapter();
      const location = await followAuthorize(
        emulator,
        await good.createAuthUrl(credentials(), 'alice', STATE),
      );
      const code = location.searchParams.get('duo_code')!;
      const error = await rejectsWith(
        adapter({ ca: (await generateCertificates()).caCert }).exchange(credentials(), code, 'alice'),
        'ERR_DUO_TLS',
      );
      assert.match(error.message, /during the token exchange/);
    });
  });

  describe('when the host name does not exist (fail closed: ERR_DUO_HOST_NOT_FOUND)', () => {
    it('S44 ENOTFOUND for apiHost is ERR_DUO_HOST_NOT_FOUND naming apiHost', async () => {
      const error = await rejectsWith(
        adapter({ lookup: fakeLookup({ code: 'ENOTFOUND' }) }).healthCheck(
          credentials('api-1234567.duosecurity.com'),
        ),
        'ERR_DUO_HOST_NOT_FOUND',
      );
      assert.equal(
        error.message,
        "Duo's host name api-1234567.duosecurity.com does not exist (ENOTFOUND): check apiHost in the policy " +
          '(the API hostname of the Duo application, e.g. api-12345678.duosecurity.com)',
      );
      assert.equal(error.details.apiHost, 'api-1234567.duosecurity.com');
    });

    it('S44 a .invalid host through the real resolver: ENOTFOUND → ERR_DUO_HOST_NOT_FOUND, EAI_AGAIN → outage', async () => {
      const host = 'api-00000000.duosecurity.invalid';
      // RFC 6761 makes .invalid never resolve; what this machine's resolver says decides the expected code.
      const resolver = await new Promise<string | undefined>((resolve) =>
        dns.lookup(host, (error) => resolve(error?.code)),
      );
      assert.ok(resolver === 'ENOTFOUND' || resolver === 'EAI_AGAIN', `resolver said ${resolver}`);
      await rejectsWith(
        adapter().healthCheck(credentials(host)),
        resolver === 'ENOTFOUND' ? 'ERR_DUO_HOST_NOT_FOUND' : 'ERR_DUO_UNAVAILABLE',
      );
    });

    it('S44 a temporary resolver failure (EAI_AGAIN) is an outage: ERR_DUO_UNAVAILABLE', async () => {
      const error = await rejectsWith(
        adapter({ lookup: fakeLookup({ code: 'EAI_AGAIN' }) }).healthCheck(
          credentials('api-12345678.duosecurity.com'),
        ),
        'ERR_DUO_UNAVAILABLE',
      );
      assert.match(error.message, /^Duo health check failed: .*EAI_AGAIN/);
    });

    it('S44 the token exchange reports ERR_DUO_HOST_NOT_FOUND too', async () => {
      await rejectsWith(
        adapter({ lookup: fakeLookup({ code: 'ENOTFOUND' }) }).exchange(
          credentials('api-1234567.duosecurity.com'),
          'some-code',
          'alice',
        ),
        'ERR_DUO_HOST_NOT_FOUND',
      );
    });
  });

  describe('when Duo is down (an outage: the tenant’s failmode applies)', () => {
    it('S44 a refused connection (closed port) is ERR_DUO_UNAVAILABLE', async () => {
      const closed = await listen(net.createServer());
      await closed.close();
      const error = await rejectsWith(
        adapter().healthCheck(credentials(closed.apiHost)),
        'ERR_DUO_UNAVAILABLE',
      );
      assert.match(error.message, /^Duo health check failed: .*ECONNREFUSED/);
    });

    it('S44 a connection reset before any answer is ERR_DUO_UNAVAILABLE', async () => {
      const resetting = await listen(net.createServer((socket) => socket.resetAndDestroy()));
      try {
        await rejectsWith(adapter().healthCheck(credentials(resetting.apiHost)), 'ERR_DUO_UNAVAILABLE');
      } finally {
        await resetting.close();
      }
    });

    it('S44 a server that accepts and never answers is ERR_DUO_TIMEOUT within timeoutMs', async () => {
      const silent = await listen(net.createServer(() => undefined));
      try {
        const started = Date.now();
        await rejectsWith(adapter().healthCheck(credentials(silent.apiHost)), 'ERR_DUO_TIMEOUT');
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= TIMEOUT_MS - 20 && elapsed < TIMEOUT_MS + 500, `gave up after ${elapsed} ms`);
      } finally {
        await silent.close();
      }
    });

    it('S44 Duo answering 503 is ERR_DUO_UNAVAILABLE; a FAIL with a 5xxxx code too', async () => {
      emulator.setFault({ health: 'down' });
      await rejectsWith(adapter().healthCheck(credentials()), 'ERR_DUO_UNAVAILABLE');
      emulator.setFault({ health: 'error' });
      await rejectsWith(adapter().healthCheck(credentials()), 'ERR_DUO_UNAVAILABLE');
    });
  });
});
