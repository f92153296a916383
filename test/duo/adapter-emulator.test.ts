// The real @duosecurity/duo_universal client, through DuoAdapter, against the emulator: the whole flow, and
// every validation and fault seen as the DuoMfaError code the middleware acts on.
import assert from 'node:assert/strict';
import { DuoAdapter } from '../../lib/duo/adapter';
import { isDuoMfaError, type DuoMfaError, type DuoMfaErrorCode } from '../../lib/errors';
import { startDuoEmulator, type DuoEmulator, type TokenFault } from '../../lib/emulator/index';
import { OTHER_APP, REDIRECT_URL, TEST_APP, emulatorRequest, followAuthorize } from '../helpers/duo';

const TIMEOUT_MS = 400;
const STATE = 'adapter-emulator-state-0123456789ab';

/** Resolves when `promise` rejects with a DuoMfaError of `code`; returns the error. */
async function rejectsWith(promise: Promise<unknown>, code: DuoMfaErrorCode) {
  let caught: unknown;
  await assert.rejects(promise, (error) => {
    caught = error;
    assert.ok(isDuoMfaError(error), `not a DuoMfaError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
  return caught as DuoMfaError;
}

function liveHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) {
    if (type === 'TCPSocketWrap' || type === 'TLSWrap' || type === 'Timeout' || type === 'TCPServerWrap') {
      counts[type] = (counts[type] ?? 0) + 1;
    }
  }
  return counts;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('DuoAdapter with the Duo emulator', () => {
  let emulator: DuoEmulator;
  let adapter: DuoAdapter;
  const credentials = (app: { clientId: string; clientSecret: string } = TEST_APP) => ({
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    apiHost: emulator.apiHost,
  });
  /** createAuthUrl → the emulator (auto mode) → the duo_code it redirects back with. */
  const authorize = async (username: string, on: DuoAdapter = adapter, app = TEST_APP) => {
    const location = await followAuthorize(
      emulator,
      await on.createAuthUrl(credentials(app), username, STATE),
    );
    assert.equal(location.searchParams.get('state'), STATE);
    const code = location.searchParams.get('duo_code');
    assert.ok(code, `no duo_code in ${location.href}`);
    return code;
  };

  before(async () => {
    emulator = await startDuoEmulator({ applications: [TEST_APP, OTHER_APP], mode: 'auto' });
  });
  after(() => emulator.close());
  beforeEach(() => {
    // A fresh adapter per test: it remembers the last skew per host, which would leak between tests.
    adapter = new DuoAdapter({ redirectUrl: REDIRECT_URL, timeoutMs: TIMEOUT_MS, ca: emulator.ca });
  });
  afterEach(() => {
    adapter.close();
    emulator.setFault(null);
    emulator.setClockOffset(0);
  });

  describe('when everything is right', () => {
    it('completes health check → auth URL → authorize → exchange with the expected claims', async () => {
      const health = await adapter.healthCheck(credentials());
      assert.ok(Math.abs(health.skewMs) < 2000, `skew ${health.skewMs}`);
      const result = await adapter.exchange(credentials(), await authorize('alice'), 'alice');
      assert.equal(result.username, 'alice');
      assert.equal(result.result, 'allow');
      assert.equal(result.status, 'allow');
      assert.equal(result.reason, 'user_approved');
      assert.equal(result.factor, 'duo_push');
      assert.match(result.txid, /^[0-9a-f-]{36}$/);
      assert.ok(Math.abs(result.authTime - Date.now() / 1000) < 5);
      assert.equal(result.device.trusted, 'unknown');
      assert.deepEqual(emulator.log.at(-1)?.outcome, 'ok:allow');
    });

    it('reports the access device’s trust, platform and epkey when the user has a device', async () => {
      emulator.setUser('dana', { device: { platform: 'Android', trusted: 'trusted' }, factor: 'duo_push' });
      const result = await adapter.exchange(credentials(), await authorize('dana'), 'dana');
      assert.equal(result.device.trusted, 'trusted');
      assert.equal(result.device.os, 'Android');
      assert.match(String(result.device.epkey), /^EP[A-Z0-9]{18}$/);
    });

    it('serves two applications, each with its own secret', async () => {
      const result = await adapter.exchange(
        credentials(OTHER_APP),
        await authorize('alice', adapter, OTHER_APP),
        'alice',
      );
      assert.equal(result.username, 'alice');
    });
  });

  describe('when a validation fails', () => {
    it('a wrong secret fails the health check as ERR_DUO_CREDENTIALS (a misconfiguration, not an outage)', async () => {
      const wrong = { ...TEST_APP, clientSecret: OTHER_APP.clientSecret };
      const error = await rejectsWith(adapter.healthCheck(credentials(wrong)), 'ERR_DUO_CREDENTIALS');
      assert.match(error.message, /40002/);
      assert.equal(error.details.duoCode, 40002);
    });

    it('a wrong secret fails the exchange as ERR_DUO_CODE_REJECTED', async () => {
      const code = await authorize('alice');
      const wrong = { ...TEST_APP, clientSecret: OTHER_APP.clientSecret };
      const error = await rejectsWith(
        adapter.exchange(credentials(wrong), code, 'alice'),
        'ERR_DUO_CODE_REJECTED',
      );
      assert.equal(error.details.httpStatus, 400);
    });

    it('a reused code is ERR_DUO_CODE_REJECTED', async () => {
      const code = await authorize('alice');
      await adapter.exchange(credentials(), code, 'alice');
      const error = await rejectsWith(
        adapter.exchange(credentials(), code, 'alice'),
        'ERR_DUO_CODE_REJECTED',
      );
      assert.match(error.message, /invalid_grant/);
    });

    it('a code exchanged with another redirect_uri is ERR_DUO_CODE_REJECTED', async () => {
      const code = await authorize('alice');
      const other = new DuoAdapter({
        redirectUrl: 'https://other.example.test/duo/callback',
        timeoutMs: TIMEOUT_MS,
        ca: emulator.ca,
      });
      try {
        const error = await rejectsWith(
          other.exchange(credentials(), code, 'alice'),
          'ERR_DUO_CODE_REJECTED',
        );
        assert.match(error.message, /invalid_grant/);
      } finally {
        other.close();
      }
    });

    it('an unknown code (invalid_grant) is ERR_DUO_CODE_REJECTED', async () => {
      await rejectsWith(adapter.exchange(credentials(), 'no-such-code', 'alice'), 'ERR_DUO_CODE_REJECTED');
    });

    it('a client assertion that looks expired to Duo (its clock 400 s ahead) is ERR_DUO_CLOCK_SKEW, not a rejected code', async () => {
      const code = await authorize('alice');
      emulator.setClockOffset(400);
      const error = await rejectsWith(adapter.exchange(credentials(), code, 'alice'), 'ERR_DUO_CLOCK_SKEW');
      assert.ok(
        Math.abs(Number(error.details.skewMs) + 400_000) < 2000,
        `skew ${String(error.details.skewMs)}`,
      );
      assert.equal(emulator.log.at(-1)?.outcome, 'invalid_client:expired');
      await rejectsWith(adapter.healthCheck(credentials()), 'ERR_DUO_CLOCK_SKEW');
    });

    it('a tampered request JWT gets Duo’s error page, never a redirect', async () => {
      const url = new URL(await adapter.createAuthUrl(credentials(), 'alice', STATE));
      const [header, , signature] = url.searchParams.get('request')!.split('.');
      const claims = {
        ...JSON.parse(Buffer.from(url.searchParams.get('request')!.split('.')[1]!, 'base64url').toString()),
        duo_uname: 'mallory',
      };
      url.searchParams.set(
        'request',
        `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`,
      );
      const res = await emulatorRequest(emulator, 'GET', url.pathname + url.search);
      assert.equal(res.status, 400);
      assert.equal(res.headers.location, undefined);
      assert.match(res.body, /Invalid request/);
    });

    it('a clock offset of +600 s after a health check is ERR_DUO_CLOCK_SKEW on exchange', async () => {
      const health = await adapter.healthCheck(credentials());
      assert.ok(Math.abs(health.skewMs) < 2000);
      const code = await authorize('alice');
      emulator.setClockOffset(600);
      const error = await rejectsWith(adapter.exchange(credentials(), code, 'alice'), 'ERR_DUO_CLOCK_SKEW');
      assert.match(error.message, /clock differs from Duo's by -(599|600|601) s/);
    });

    it('a clock within the 60 s leeway changes nothing', async () => {
      emulator.setClockOffset(-30);
      await adapter.healthCheck(credentials());
      const result = await adapter.exchange(credentials(), await authorize('alice'), 'alice');
      assert.equal(result.result, 'allow');
    });
  });

  describe('when a fault is injected', () => {
    it('health down (503) is ERR_DUO_UNAVAILABLE', async () => {
      emulator.setFault({ health: 'down' });
      await rejectsWith(adapter.healthCheck(credentials()), 'ERR_DUO_UNAVAILABLE');
    });

    it('health error (stat FAIL) is ERR_DUO_UNAVAILABLE', async () => {
      emulator.setFault({ health: 'error' });
      await rejectsWith(adapter.healthCheck(credentials()), 'ERR_DUO_UNAVAILABLE');
    });

    it('health hang is ERR_DUO_TIMEOUT within timeoutMs (+ a small margin)', async () => {
      emulator.setFault({ health: 'hang' });
      const started = Date.now();
      await rejectsWith(adapter.healthCheck(credentials()), 'ERR_DUO_TIMEOUT');
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= TIMEOUT_MS - 20 && elapsed < TIMEOUT_MS + 500, `gave up after ${elapsed} ms`);
    });

    it('health slow within timeoutMs still succeeds; slower is ERR_DUO_TIMEOUT', async () => {
      emulator.setFault({ health: 'slow', delayMs: 50 });
      await adapter.healthCheck(credentials());
      emulator.setFault({ health: 'slow', delayMs: TIMEOUT_MS * 10 });
      await rejectsWith(adapter.healthCheck(credentials()), 'ERR_DUO_TIMEOUT');
    });

    it('token hang is ERR_DUO_TIMEOUT within timeoutMs (+ a small margin)', async () => {
      const code = await authorize('alice');
      emulator.setFault({ token: 'hang' });
      const started = Date.now();
      await rejectsWith(adapter.exchange(credentials(), code, 'alice'), 'ERR_DUO_TIMEOUT');
      assert.ok(Date.now() - started < TIMEOUT_MS + 500);
    });

    it('token error (500) is ERR_DUO_UNAVAILABLE', async () => {
      const code = await authorize('alice');
      emulator.setFault({ token: 'error' });
      const error = await rejectsWith(adapter.exchange(credentials(), code, 'alice'), 'ERR_DUO_UNAVAILABLE');
      assert.equal(error.details.httpStatus, 500);
    });

    const invalidTokens: TokenFault[] = [
      'bad-signature',
      'wrong-audience',
      'wrong-issuer',
      'expired',
      'alg-none',
      'alg-hs256',
      'missing-claims',
      'not-bearer',
      'missing-id-token',
    ];
    for (const fault of invalidTokens) {
      it(`token ${fault} is ERR_DUO_TOKEN_INVALID`, async () => {
        const code = await authorize('alice');
        emulator.setFault({ token: fault });
        await rejectsWith(adapter.exchange(credentials(), code, 'alice'), 'ERR_DUO_TOKEN_INVALID');
      });
    }

    // KNOWN ADAPTER BUG (lib/duo/adapter.ts exchangeError, not this emulator's to fix): once any response showed
    // more than 60 s of skew, every ERR_JWT_CLAIM_VALIDATION_FAILED (a wrong iss or aud too, not only iat/nbf)
    // is reported as ERR_DUO_CLOCK_SKEW. A valid token at the same skew is accepted, so "fix the clock" is wrong.
    // Unskip once timeClaim looks at the jose error's `claim` ('exp' | 'iat' | 'nbf').
    it('token wrong-issuer is ERR_DUO_TOKEN_INVALID even when Duo’s clock is 120 s ahead', async () => {
      emulator.setClockOffset(120);
      const code = await authorize('alice');
      emulator.setFault({ token: 'wrong-issuer' });
      await rejectsWith(adapter.exchange(credentials(), code, 'alice'), 'ERR_DUO_TOKEN_INVALID');
    });

    it('token wrong-username is ERR_DUO_USERNAME_MISMATCH', async () => {
      const code = await authorize('alice');
      emulator.setFault({ token: 'wrong-username' });
      await rejectsWith(adapter.exchange(credentials(), code, 'alice'), 'ERR_DUO_USERNAME_MISMATCH');
    });

    it('token deny is ERR_DUO_DENIED with Duo’s reason in details', async () => {
      const code = await authorize('alice');
      emulator.setFault({ token: 'deny' });
      const error = await rejectsWith(adapter.exchange(credentials(), code, 'alice'), 'ERR_DUO_DENIED');
      assert.equal(error.details.reason, 'user_marked_fraud');
      assert.equal(error.details.status, 'deny');
    });

    it('a user scripted to deny by Trusted Endpoints is ERR_DUO_DENIED with that reason', async () => {
      emulator.setUser('erin', {
        result: 'deny',
        reason: 'endpoint_is_not_trusted',
        device: { platform: 'iOS', trusted: 'not trusted' },
      });
      const error = await rejectsWith(
        adapter.exchange(credentials(), await authorize('erin'), 'erin'),
        'ERR_DUO_DENIED',
      );
      assert.equal(error.details.reason, 'endpoint_is_not_trusted');
      assert.equal((error.details.result as { device: { trusted: string } }).device.trusted, 'not trusted');
    });
  });

  describe('when Duo hangs', () => {
    it('the adapter gives up within duoTimeoutMs (+ a small margin), leaving no open sockets', async () => {
      adapter.close();
      await settle();
      const baseline = liveHandles();
      const own = await startDuoEmulator({ applications: [TEST_APP], mode: 'auto' });
      const hangAdapter = new DuoAdapter({ redirectUrl: REDIRECT_URL, timeoutMs: TIMEOUT_MS, ca: own.ca });
      const creds = {
        clientId: TEST_APP.clientId,
        clientSecret: TEST_APP.clientSecret,
        apiHost: own.apiHost,
      };
      try {
        await hangAdapter.healthCheck(creds); // a keep-alive socket now exists
        own.setFault({ health: 'hang', token: 'hang' });
        const started = Date.now();
        await Promise.all([
          rejectsWith(hangAdapter.healthCheck(creds), 'ERR_DUO_TIMEOUT'),
          rejectsWith(hangAdapter.healthCheck(creds), 'ERR_DUO_TIMEOUT'),
          rejectsWith(hangAdapter.exchange(creds, 'some-code', 'alice'), 'ERR_DUO_TIMEOUT'),
        ]);
        const elapsed = Date.now() - started;
        assert.ok(elapsed < TIMEOUT_MS + 500, `gave up after ${elapsed} ms`);
      } finally {
        hangAdapter.close();
        await own.close();
      }
      await settle();
      const after = liveHandles();
      for (const type of ['TCPSocketWrap', 'TLSWrap', 'Timeout', 'TCPServerWrap']) {
        assert.ok(
          (after[type] ?? 0) <= (baseline[type] ?? 0),
          `${type}: ${after[type]} after, ${baseline[type] ?? 0} before`,
        );
      }
    });
  });
});
