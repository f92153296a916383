// S-foundation: the adapter relies on private parts and behaviours of @duosecurity/duo_universal. The gate is
// "the contract holds", not a version range; these tests fail loudly, naming the broken piece, when a client
// upgrade changes anything the adapter relies on.
import assert from 'node:assert/strict';
import https from 'node:https';
import { Client, DuoException, constants } from '@duosecurity/duo_universal';
import { DuoAdapter, SUPPORTED_CLIENT_VERSION } from '../../lib/duo/adapter';
import {
  SUPPORTED_CLIENT_MAJOR,
  checkClientContract,
  clientIncompatible,
  type DuoClientModule,
} from '../../lib/duo/client-contract';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import { isDuoMfaError } from '../../lib/errors';
import { REDIRECT_URL, TEST_APP, followAuthorize } from '../helpers/duo';

const credentials = {
  clientId: 'DIABCDEFGHIJKLMNOPQR',
  clientSecret: 'a'.repeat(40),
  apiHost: '127.0.0.1:1',
};

/** The installed module with some parts replaced: how a future client release could look. */
function variant(changes: {
  version?: string;
  constants?: Record<string, unknown>;
  Client?: unknown;
  DuoException?: unknown;
}): DuoClientModule {
  return {
    Client: 'Client' in changes ? changes.Client : Client,
    DuoException: 'DuoException' in changes ? changes.DuoException : DuoException,
    constants: {
      ...constants,
      ...(changes.version ? { USER_AGENT: `duo_universal_node/${changes.version}` } : {}),
      ...changes.constants,
    },
  };
}

/** A Client subclass whose instances hold `axios` as given (or none). */
function clientWithAxios(axios: unknown): unknown {
  return class extends Client {
    constructor(options: ConstructorParameters<typeof Client>[0]) {
      super(options);
      (this as unknown as { axios: unknown }).axios = axios;
    }
  };
}

describe('Duo adapter contract with @duosecurity/duo_universal', () => {
  describe('the installed client', () => {
    it(`is a ${SUPPORTED_CLIENT_MAJOR}.x client whose contract holds (every problem is listed when not)`, () => {
      const report = checkClientContract();
      assert.deepEqual(
        report.problems,
        [],
        `the installed client breaks the contract:\n${report.problems.join('\n')}`,
      );
      assert.match(String(report.version), SUPPORTED_CLIENT_VERSION);
      assert.equal(constants.USER_AGENT, `duo_universal_node/${report.version}`);
    });

    it('keeps a private axios instance whose httpsAgent pins Duo CAs (what the adapter replaces)', () => {
      const client = new Client({ ...credentials, redirectUrl: 'https://app.example/duo/callback' });
      const axios = (client as any).axios;
      assert.ok(axios, 'client.axios is gone: the adapter cannot apply duoTimeoutMs or duoTls.ca');
      assert.ok(
        axios.defaults.httpsAgent instanceof https.Agent,
        'client.axios.defaults.httpsAgent is not an https.Agent',
      );
      assert.equal(axios.defaults.httpsAgent.options.ca, constants.DUO_PINNED_CERT);
      assert.equal(typeof axios.interceptors.request.use, 'function');
      assert.equal(typeof axios.interceptors.response.use, 'function');
    });

    it('uses the documented client methods and error messages', () => {
      for (const method of ['healthCheck', 'createAuthUrl', 'exchangeAuthorizationCodeFor2FAResult']) {
        assert.equal(
          typeof (Client.prototype as any)[method],
          'function',
          `Client.prototype.${method} is gone`,
        );
      }
      assert.equal(constants.USERNAME_ERROR, 'The username is invalid');
      assert.equal(constants.JWT_DECODE_ERROR, 'Error decoding JWT');
      assert.equal(constants.MALFORMED_RESPONSE, 'Result missing expected data');
      assert.equal(constants.JWT_LEEWAY, 60);
    });

    it('installs its own agent, no environment proxy and a per-call abort signal on every client it builds', async () => {
      const adapter = new DuoAdapter({
        redirectUrl: 'https://app.example/duo/callback',
        timeoutMs: 200,
        ca: 'x',
      });
      try {
        const url = await adapter.createAuthUrl(credentials, 'alice', 'a'.repeat(36));
        assert.match(url, /^https:\/\/127\.0\.0\.1:1\/oauth\/v1\/authorize\?/);
        const client = (adapter as any).clients.values().next().value;
        const axios = client.axios;
        // duoTls.ca is parsed once into a TLS context every connection shares (not re-parsed per connection).
        const agentOptions = (axios.defaults.httpsAgent as https.Agent).options;
        assert.ok(agentOptions.secureContext?.context, 'no shared TLS context for duoTls.ca');
        assert.equal(agentOptions.rejectUnauthorized, true);
        assert.equal((axios.defaults.httpsAgent as https.Agent).options.keepAlive, true);
        assert.equal(axios.defaults.proxy, false);
        // One request interceptor (the abort signal) and one response interceptor (Duo's clock, FAIL codes).
        assert.equal(axios.interceptors.request.handlers.filter(Boolean).length, 1);
        assert.equal(axios.interceptors.response.handlers.filter(Boolean).length, 1);
      } finally {
        adapter.close();
      }
    });
  });

  describe('the gate (what a future release would meet)', () => {
    it('accepts a later 3.x release that keeps the contract', () => {
      assert.deepEqual(checkClientContract(variant({ version: '3.1.0' })), {
        version: '3.1.0',
        problems: [],
      });
      assert.deepEqual(checkClientContract(variant({ version: '3.14.2' })).problems, []);
    });

    it('refuses a new major even when its shape looks the same, saying so', () => {
      assert.deepEqual(checkClientContract(variant({ version: '4.0.0' })).problems, [
        'version 4.0.0 is a new major release (this adapter speaks 3.x): Duo marks breaking changes with a major',
      ]);
    });

    it('names each missing piece exactly', () => {
      const cases: Array<[Parameters<typeof variant>[0], string[]]> = [
        [
          { Client: clientWithAxios(undefined) },
          ['client.axios (the private axios instance the adapter configures) is gone'],
        ],
        [
          {
            Client: clientWithAxios({
              defaults: {},
              interceptors: { request: { use() {} }, response: { use() {} } },
            }),
          },
          [
            'client.axios.defaults.httpsAgent is no longer an https.Agent (the adapter replaces it to apply duoTls, duoProxy and keep-alive)',
          ],
        ],
        [
          { Client: clientWithAxios({ defaults: { httpsAgent: new https.Agent() }, interceptors: {} }) },
          [
            'client.axios.interceptors.request.use is gone (the adapter adds the per-call abort signal there)',
            "client.axios.interceptors.response.use is gone (the adapter reads Duo's clock and FAIL codes there)",
          ],
        ],
        [
          { constants: { USERNAME_ERROR: undefined, JWT_LEEWAY: '60' } },
          [
            'constants.USERNAME_ERROR (an error message the adapter compares) is gone',
            'constants.JWT_LEEWAY (seconds) is gone',
          ],
        ],
        [
          { DuoException: class extends Error {} },
          [
            "DuoException no longer keeps the underlying error in `inner` (the adapter reads axios' answer there)",
          ],
        ],
        [
          { constants: { USER_AGENT: 'duo-node' } },
          ['constants.USER_AGENT no longer reads "duo_universal_node/<version>"'],
        ],
        [
          {
            Client: class {
              constructor() {
                throw new Error('apiHost must be a duosecurity.com host');
              }
            },
          },
          [
            'Client.prototype.healthCheck is gone',
            'Client.prototype.createAuthUrl is gone',
            'Client.prototype.exchangeAuthorizationCodeFor2FAResult is gone',
            'new Client({ clientId, clientSecret, apiHost, redirectUrl }) throws: apiHost must be a duosecurity.com host',
          ],
        ],
      ];
      for (const [changes, problems] of cases) {
        assert.deepEqual(checkClientContract(variant(changes)).problems, problems);
      }
    });

    it('turns a broken contract into ERR_DUO_CLIENT_INCOMPATIBLE listing every problem and what to do', () => {
      const error = clientIncompatible(
        checkClientContract(variant({ version: '4.0.0', Client: clientWithAxios(undefined) })),
      );
      assert.ok(isDuoMfaError(error, 'ERR_DUO_CLIENT_INCOMPATIBLE'));
      assert.match(
        error.message,
        /^@duosecurity\/duo_universal 4\.0\.0 is installed, but express-duo-mfa cannot use it: /,
      );
      assert.match(error.message, /version 4\.0\.0 is a new major release/);
      assert.match(
        error.message,
        /client\.axios \(the private axios instance the adapter configures\) is gone/,
      );
      assert.match(error.message, /npm install @duosecurity\/duo_universal@\^3\.0\.0/);
      assert.match(error.message, /docs\/duo\.md/);
      assert.equal((error.details.problems as string[]).length, 2);
    });
  });

  describe('behaviour the adapter relies on (the real client against the emulator)', () => {
    let emulator: DuoEmulator;
    const creds = () => ({ ...TEST_APP, apiHost: emulator.apiHost, redirectUrl: REDIRECT_URL });
    /** A raw client whose agent trusts the emulator, as the adapter sets it up. */
    const rawClient = (overrides: Partial<ReturnType<typeof creds>> = {}) => {
      const client = new Client({ ...creds(), ...overrides });
      (client as any).axios.defaults.httpsAgent = new https.Agent({ ca: emulator.ca });
      return client;
    };
    const failure = async (promise: Promise<unknown>) => {
      try {
        await promise;
      } catch (error) {
        return error as DuoException & { inner?: any };
      }
      assert.fail('expected the client to throw');
    };

    before(async () => {
      emulator = await startDuoEmulator({ applications: [TEST_APP], mode: 'auto' });
    });
    after(() => emulator.close());

    it('sends its requests through axios.defaults.httpsAgent (a CA only that agent trusts gets through)', async () => {
      const data = (await rawClient().healthCheck()) as { stat?: string };
      assert.equal(data.stat, 'OK');
    });

    it("lets the response interceptor see Duo's FAIL answer (200 FAIL) and keeps axios' error for a 4xx in `inner`", async () => {
      const client = rawClient({ clientSecret: 'b'.repeat(40) });
      const seen: Array<{ status: number; code: unknown }> = [];
      (client as any).axios.interceptors.response.use(
        (response: any) => (seen.push({ status: response.status, code: response.data?.code }), response),
        (error: Error & { response?: any }) => {
          seen.push({ status: error.response?.status, code: error.response?.data?.code });
          throw error;
        },
      );
      const refused = await failure(client.healthCheck());
      assert.ok(refused instanceof DuoException, String(refused));
      assert.deepEqual(seen, [{ status: 200, code: 40002 }]);
      const rejected = await failure(
        rawClient().exchangeAuthorizationCodeFor2FAResult('no-such-code', 'alice'),
      );
      assert.ok(rejected instanceof DuoException, String(rejected));
      assert.equal(rejected.inner?.response?.status, 400);
      assert.equal(rejected.inner?.response?.data?.error, 'invalid_grant');
    });

    it('keeps the socket error code on `inner` (what the outage/misconfiguration classification reads)', async () => {
      const refused = await failure(rawClient({ apiHost: '127.0.0.1:1' }).healthCheck());
      assert.equal(refused.inner?.code, 'ECONNREFUSED');
      const untrusted = new Client(creds());
      (untrusted as any).axios.defaults.httpsAgent = new https.Agent({ ca: constants.DUO_PINNED_CERT });
      assert.equal((await failure(untrusted.healthCheck())).inner?.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    });

    it('throws USERNAME_ERROR for a token naming someone else, and JWT_DECODE_ERROR with jose’s code for an expired one', async () => {
      const client = rawClient();
      const code = async () =>
        (
          await followAuthorize(emulator, await client.createAuthUrl('alice', 'c'.repeat(36)))
        ).searchParams.get('duo_code')!;
      emulator.setFault({ token: 'wrong-username' });
      assert.equal(
        (await failure(client.exchangeAuthorizationCodeFor2FAResult(await code(), 'alice'))).message,
        constants.USERNAME_ERROR,
      );
      emulator.setFault({ token: 'expired' });
      const expired = await failure(client.exchangeAuthorizationCodeFor2FAResult(await code(), 'alice'));
      assert.equal(expired.message, constants.JWT_DECODE_ERROR);
      assert.equal(expired.inner?.code, 'ERR_JWT_EXPIRED');
      emulator.setFault(null);
    });
  });
});
