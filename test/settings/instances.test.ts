// Settings changed on one instance are in force on another within a second (a Redis policy shared by both), and two
// admins saving the same version at once never lose an update silently: one 200, one 409 (S48).

import assert from 'node:assert/strict';
import express from 'express';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { startDuoEmulator } from '../../lib/emulator/index';
import { redisPolicy } from '../../lib/index';
import { importPolicy } from '../../lib/policy/redis';
import { ALL_APPS, createTestApp, testPolicy, type TestApp } from '../helpers/app';
import { agentFor, login } from '../helpers/flow';
import { connectRedis, redisOrSkip, uniquePrefix } from '../helpers/redis';

type Emulator = Awaited<ReturnType<typeof startDuoEmulator>>;

describe('settings across instances sharing a Redis policy (S48)', function () {
  this.timeout(30_000);
  let emulator: Emulator;
  let admin: Redis;
  let clients: Redis[] = [];
  let prefix: string;
  let a: TestApp;
  let b: TestApp;

  before(async function () {
    admin = await redisOrSkip(this);
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
  });
  after(async () => {
    await emulator?.close();
    await admin?.quit();
  });
  beforeEach(async () => {
    prefix = uniquePrefix('settings').replace(/:$/, '');
    const { tenants, ...head } = testPolicy(emulator.apiHost);
    await importPolicy(admin, prefix, head, new Map(Object.entries(tenants)));
    clients = [await connectRedis(), await connectRedis()];
    const instance = (redis: Redis) =>
      createTestApp({ emulator, policy: redisPolicy(redis, { prefix, checkIntervalMs: 500 }) });
    a = instance(clients[0]!);
    b = instance(clients[1]!);
  });
  afterEach(async () => {
    a.close();
    b.close();
    await Promise.all(clients.map((client) => client.quit()));
    const keys = await admin.keys(`{${prefix}}*`);
    if (keys.length > 0) await admin.del(...keys);
  });

  it('an update through instance A is decided on instance B within 1 s', async () => {
    const agent = agentFor(b.app);
    await login(agent, { username: 'dana', tenant: 'acme' });
    await agent.get('/private').set('Accept', 'text/html').expect(303); // B has acme in force: Duo for dana
    const { version } = await a.mfa.settings('acme');
    const changed = Date.now();
    await a.mfa.updateSettings(
      'acme',
      { mfa: { staffExcluded: ['dana'] } },
      { actor: 'alice@acme', version },
    );
    let status = 0;
    while (Date.now() - changed < 1000) {
      status = (await agent.get('/private').set('Accept', 'text/html')).status;
      if (status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(status, 200, 'B still asked dana for Duo a second after the change');
  });

  it('explain says a tenant not loaded yet is not loaded (not "not in the policy"), and decides it once mfa.settings() read it', async () => {
    const before = a.mfa.explain({ username: 'dana', tenant: 'acme' });
    assert.equal(before.reason.code, 'unknown_tenant');
    assert.match(before.reason.detail, /"acme" is not loaded yet.*mfa\.settings/);
    assert.equal(before.required, true, 'never "not required" for a tenant it could not decide');
    await a.mfa.settings('acme');
    // Once the source has read the list of tenants, one not in it is said to be so.
    const listed = Date.now();
    while (!a.mfa.tenants().includes('acme') && Date.now() - listed < 2000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.match(
      a.mfa.explain({ username: 'dana', tenant: 'nope' }).reason.detail,
      /"nope" is not in the policy/,
    );
    const after = a.mfa.explain({ username: 'dana', tenant: 'acme' });
    assert.notEqual(after.reason.code, 'unknown_tenant');
    assert.equal(after.required, true);
  });

  it('two admins saving the same version at once: exactly one 200 and one 409, nothing lost silently', async () => {
    const router = (t: TestApp) => {
      const app = express();
      app.use('/admin/mfa', t.mfa.settingsRouter({ authorize: () => true, actor: () => 'admin' }));
      return app;
    };
    const { version } = await a.mfa.settings('acme');
    const patch = (app: express.Express, body: object) =>
      request(app).patch('/admin/mfa/acme').set('If-Match', `"${version}"`).send(body);
    const answers = await Promise.all([
      patch(router(a), { failmode: 'open' }),
      patch(router(b), { challengeLimit: 3 }),
    ]);
    assert.deepEqual(answers.map((res) => res.status).sort(), [200, 409]);
    const stored = await a.mfa.settings('acme');
    const winner = answers.find((res) => res.status === 200)!;
    assert.equal(stored.version, winner.body.version);
    const settings = stored.settings as Record<string, unknown>;
    // The winner's change is stored, the loser's is not (it was told 409 and must reload).
    assert.ok((settings.failmode === 'open') !== (settings.challengeLimit === 3));
  });
});
