// S-foundation: the adapter relies on private parts of @duosecurity/duo_universal; these fail loudly on an upgrade.
import assert from 'node:assert/strict';
import https from 'node:https';
import { Client, constants } from '@duosecurity/duo_universal';
import { DuoAdapter, SUPPORTED_CLIENT_VERSION } from '../../lib/duo/adapter';

const credentials = {
  clientId: 'DIABCDEFGHIJKLMNOPQR',
  clientSecret: 'a'.repeat(40),
  apiHost: '127.0.0.1:1',
};

describe('Duo adapter contract with @duosecurity/duo_universal', () => {
  it('is the 3.0.x client this adapter was written for', () => {
    const version = constants.USER_AGENT.split('/')[1];
    assert.match(String(version), SUPPORTED_CLIENT_VERSION);
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

  it('installs its own agent and a per-call abort signal on every client it builds', async () => {
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
      assert.equal((axios.defaults.httpsAgent as https.Agent).options.ca, 'x');
      assert.equal((axios.defaults.httpsAgent as https.Agent).options.keepAlive, true);
      // One request interceptor (the abort signal) and one response interceptor (Duo's clock, FAIL codes).
      assert.equal(axios.interceptors.request.handlers.filter(Boolean).length, 1);
      assert.equal(axios.interceptors.response.handlers.filter(Boolean).length, 1);
    } finally {
      adapter.close();
    }
  });
});
