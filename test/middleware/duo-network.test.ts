// Reaching Duo from the middleware: through an outbound CONNECT proxy (duoProxy), and failing closed — whatever
// the tenant's failmode — when Duo's certificate cannot be verified (S44).

import assert from 'node:assert/strict';
import { createEmulatorCa, startDuoEmulator } from '../../lib/emulator/index';
import { ALL_APPS, createTestApp, eventsOf, type TestApp } from '../helpers/app';
import { startConnectProxy, type ConnectProxy } from '../helpers/connect-proxy';
import { agentFor, completeMfa, login } from '../helpers/flow';

type Emulator = Awaited<ReturnType<typeof startDuoEmulator>>;

const PROXY_USER = { username: 'svc-duo', password: 'pr0xy-Secret-value' };

describe('the middleware reaching Duo', () => {
  let emulator: Emulator;
  let proxy: ConnectProxy;
  let t: TestApp | undefined;

  before(async () => {
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
    proxy = await startConnectProxy({ credentials: PROXY_USER });
  });
  after(async () => {
    await proxy.close();
    await emulator.close();
  });
  afterEach(() => {
    t?.close();
    t = undefined;
    proxy.setMode('tunnel');
  });

  describe('through an outbound proxy (duoProxy)', () => {
    it('completes a login with the health check and the token call going through the proxy', async () => {
      t = createTestApp({ emulator, options: { duoProxy: proxy.url } });
      const before = proxy.log.length;
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      const callback = await completeMfa(agent, emulator);
      assert.equal(callback.status, 303);
      assert.equal(callback.headers.location, '/private');
      const tunnels = proxy.log.slice(before);
      assert.ok(tunnels.length >= 1, 'the proxy saw the calls');
      assert.ok(
        tunnels.every(
          (entry) => entry.target === emulator.apiHost && entry.authorization && entry.status === 200,
        ),
        JSON.stringify(tunnels),
      );
      const [health] = emulator.log.filter((entry) => entry.endpoint === 'health').slice(-1);
      const [token] = emulator.log.filter((entry) => entry.endpoint === 'token').slice(-1);
      assert.ok(health && token, 'both calls reached Duo');
      assert.equal(eventsOf(t.events, 'mfa.succeeded').length, 1);
    });

    it('S44 a proxy refusing the tunnel fails closed even in a fail-open tenant, and never logs its credentials', async () => {
      t = createTestApp({ emulator, options: { duoProxy: proxy.url } });
      proxy.setMode('forbid');
      const agent = agentFor(t.app);
      await login(agent, { username: 'gina', tenant: 'globex' }); // globex: failmode open
      const res = await agent.get('/private').set('Accept', 'text/html');
      assert.equal(res.status, 503);
      assert.match(res.text, /ERR_DUO_PROXY_REFUSED/);
      assert.equal(eventsOf(t.events, 'mfa.failopen').length, 0);
      const everything = [...t.logs, JSON.stringify(t.events), res.text].join('\n');
      assert.ok(!everything.includes(PROXY_USER.password), 'the proxy password leaked');
      assert.ok(!everything.includes(PROXY_USER.username), 'the proxy user name leaked');
    });

    it('answers 503 with failmode closed when the proxy is down (an outage)', async () => {
      const down = await startConnectProxy();
      const url = down.url;
      await down.close();
      t = createTestApp({ emulator, options: { duoProxy: url } });
      const agent = agentFor(t.app);
      await login(agent, { username: 'alice', roles: ['admin'] });
      const res = await agent.get('/private').set('Accept', 'text/html');
      assert.equal(res.status, 503);
      assert.match(res.text, /ERR_DUO_UNAVAILABLE/);
    });

    it('refuses an unusable duoProxy at start-up, naming the option without its credentials', () => {
      assert.throws(
        () => createTestApp({ emulator, options: { duoProxy: 'ftp://user:hunter2@proxy:21' } }),
        (error: unknown) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, /duoProxy/);
          assert.doesNotMatch(error.message, /hunter2/);
          return true;
        },
      );
    });
  });

  it('S44 a Duo certificate not signed by duoTls.ca fails closed in a fail-open tenant, naming TLS', async () => {
    const stranger = await createEmulatorCa();
    t = createTestApp({ emulator, options: { duoTls: { ca: stranger.cert } } });
    const agent = agentFor(t.app);
    await login(agent, { username: 'gina', tenant: 'globex' }); // globex: failmode open
    const res = await agent.get('/private').set('Accept', 'text/html');
    assert.equal(res.status, 503);
    assert.match(res.text, /ERR_DUO_TLS/);
    assert.match(res.text, /certificate could not be verified/);
    assert.equal(eventsOf(t.events, 'mfa.failopen').length, 0);
    assert.equal(eventsOf(t.events, 'mfa.failed').at(-1)?.code, 'ERR_DUO_TLS');
    await agent.get('/api/data').expect(401);
    // The same tenant with the right CA and Duo down does fail open: the difference is the kind of failure.
    t.close();
    t = createTestApp({ emulator });
    emulator.setFault({ health: 'down' });
    try {
      const open = agentFor(t.app);
      await login(open, { username: 'gina', tenant: 'globex' });
      await open.get('/private').set('Accept', 'text/html').expect(200);
      assert.equal(eventsOf(t.events, 'mfa.failopen').length, 1);
    } finally {
      emulator.setFault(null);
    }
  });
});
