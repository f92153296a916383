// Tenant self-service settings (S48): mfa.settings / updateSettings / testConnection and the settings router,
// against a policy file, with the emulator behind "Test configuration".

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type Request } from 'express';
import request from 'supertest';
import { startDuoEmulator } from '../../lib/emulator/index';
import { isDuoMfaError } from '../../lib/index';
import { generateSecretsKey } from '../../lib/policy/secrets';
import { ACME_APP, ALL_APPS, createTestApp, eventsOf, testPolicy, type TestApp } from '../helpers/app';
import { agentFor, login } from '../helpers/flow';

type Emulator = Awaited<ReturnType<typeof startDuoEmulator>>;

const NEW_SECRET = 'brand-new-secret-brand-new-secret-000042';
const ADMIN_APP = {
  integrationKey: 'DIADMINSETTINGS00001',
  secretKey: 'admin-api-secret-through-the-settings-01',
};

describe('tenant self-service settings (S48)', () => {
  let emulator: Emulator;
  let dir: string;
  let file: string;
  let t: TestApp;
  const secretsKey = generateSecretsKey();

  before(async () => {
    emulator = await startDuoEmulator({
      applications: ALL_APPS,
      adminApplications: [ADMIN_APP],
      mode: 'auto',
    });
  });
  after(async () => {
    await emulator.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'duo-mfa-settings-'));
    file = join(dir, 'duo-mfa.json');
    const policy: Record<string, any> = { $schema: './schema.json', ...testPolicy(emulator.apiHost) };
    policy.tenants.globex.duo.clientSecret = { env: 'GLOBEX_SECRET' };
    writeFileSync(file, JSON.stringify(policy, null, 2) + '\n');
    t = app({ secretsKey });
  });
  afterEach(() => {
    t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function app(options: { secretsKey?: string; now?: () => number } = {}): TestApp {
    return createTestApp({
      emulator,
      policy: file,
      options: {
        ...options,
        env: { GLOBEX_SECRET: ALL_APPS[1]!.clientSecret },
        ignore: ['/login', '/logout', '/public', '/admin/mfa'],
      },
    });
  }

  const onDisk = () => readFileSync(file, 'utf8');

  describe('mfa.settings', () => {
    it('returns the tenant as stored, every secret masked, an { env } reference as it is', async () => {
      const acme = await t.mfa.settings('acme');
      assert.equal(typeof acme.version, 'string');
      assert.equal(acme.version, t.mfa.tenantSettings('acme')?.policyVersion);
      assert.deepEqual((acme.settings!.duo as Record<string, unknown>).clientSecret, { set: true });
      assert.deepEqual((acme.settings!.mfa as Record<string, unknown>).rolesIncluded, ['admin', 'finance']);
      const globex = await t.mfa.settings('globex');
      assert.deepEqual((globex.settings!.duo as Record<string, unknown>).clientSecret, {
        env: 'GLOBEX_SECRET',
      });
      assert.ok(!JSON.stringify(acme).includes(ACME_APP.clientSecret));
      assert.equal(acme.inForce, true);
      assert.equal(acme.writable, true);
      assert.deepEqual(acme.problems, []);
      assert.deepEqual(await t.mfa.settings('nope'), {
        version: null,
        settings: null,
        writable: true,
        inForce: false,
        problems: [],
      });
    });

    it('says when the stored settings are not in force (a hand edit gone wrong) and why', async () => {
      const good = await t.mfa.settings('acme');
      const policy = JSON.parse(onDisk());
      policy.tenants.acme.mfa.enabld = true;
      writeFileSync(file, JSON.stringify(policy, null, 2) + '\n');
      let seen = await t.mfa.settings('acme');
      for (let i = 0; i < 100 && seen.problems.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        seen = await t.mfa.settings('acme');
      }
      assert.notEqual(seen.version, good.version);
      assert.equal(seen.inForce, false);
      assert.ok(
        seen.problems.some((problem) => /enabld/.test(`${problem.path} ${problem.message}`)),
        JSON.stringify(seen.problems),
      );
      // The last good version still decides sign-ins.
      assert.equal(t.mfa.tenantSettings('acme')?.policyVersion, good.version);
    });
  });

  describe('mfa.updateSettings', () => {
    it('applies a merge patch: the change is decided at the next request and audited without values', async () => {
      const before = await t.mfa.settings('acme');
      const agent = agentFor(t.app);
      await login(agent, { username: 'dana' });
      await agent.get('/private').set('Accept', 'text/html').expect(303); // asked for Duo
      const after = await t.mfa.updateSettings(
        'acme',
        { mfa: { enabled: false }, failmode: 'open' },
        { actor: 'alice@acme', version: before.version },
      );
      assert.notEqual(after.version, before.version);
      assert.equal((after.settings!.mfa as Record<string, unknown>).enabled, false);
      await agent.get('/private').set('Accept', 'text/html').expect(200);
      const [changed] = eventsOf(t.events, 'settings.changed');
      assert.equal(changed?.tenant, 'acme');
      assert.equal(changed?.actor, 'alice@acme');
      assert.deepEqual(changed?.fields, ['failmode', 'mfa.enabled']);
      // The file keeps its $schema, the other tenants and the { env } reference.
      const stored = JSON.parse(onDisk());
      assert.equal(stored.$schema, './schema.json');
      assert.deepEqual(stored.tenants.globex.duo.clientSecret, { env: 'GLOBEX_SECRET' });
      assert.equal(stored.tenants.acme.mfa.enabled, false);
    });

    it('refuses a stale version with ERR_SETTINGS_CONFLICT and writes nothing', async () => {
      const { version } = await t.mfa.settings('acme');
      await t.mfa.updateSettings('acme', { challengeLimit: 4 }, { actor: 'a', version });
      const bytes = onDisk();
      await assert.rejects(
        t.mfa.updateSettings('acme', { challengeLimit: 3 }, { actor: 'b', version }),
        (error: unknown) => isDuoMfaError(error, 'ERR_SETTINGS_CONFLICT'),
      );
      assert.equal(onDisk(), bytes);
    });

    it('refuses an invalid change with every problem’s path, and leaves the file byte for byte', async () => {
      const { version } = await t.mfa.settings('acme');
      const bytes = onDisk();
      await assert.rejects(
        t.mfa.updateSettings(
          'acme',
          { failmode: 'sometimes', challengeLimit: 0, mfa: { rolesInclude: ['x'] } },
          { actor: 'alice@acme', version },
        ),
        (error: unknown) => {
          assert.ok(isDuoMfaError(error, 'ERR_POLICY_INVALID'));
          const paths = (error.details.issues as Array<{ path: string }>).map((issue) => issue.path).sort();
          assert.deepEqual(paths, ['challengeLimit', 'failmode', 'mfa.rolesInclude']);
          return true;
        },
      );
      assert.equal(onDisk(), bytes);
      assert.equal(eventsOf(t.events, 'settings.changed').length, 0);
    });

    it('reports a refused secret together with every other problem of the result', async () => {
      const { version } = await t.mfa.settings('acme');
      const bytes = onDisk();
      await assert.rejects(
        t.mfa.updateSettings(
          'acme',
          { failmode: 'sometimes', challengeLimit: 0, duo: { clientSecret: 'too-short' } },
          { actor: 'alice@acme', version },
        ),
        (error: unknown) => {
          assert.ok(isDuoMfaError(error, 'ERR_POLICY_INVALID'));
          const issues = error.details.issues as Array<{ path: string; message: string }>;
          assert.deepEqual(issues.map((issue) => issue.path).sort(), [
            'challengeLimit',
            'duo.clientSecret',
            'failmode',
          ]);
          assert.ok(!JSON.stringify(issues).includes('too-short'), 'the refused secret is echoed');
          return true;
        },
      );
      assert.equal(onDisk(), bytes);
    });

    it('stores a new secret encrypted, never returns, logs or emits it', async () => {
      const { version } = await t.mfa.settings('acme');
      const result = await t.mfa.updateSettings(
        'acme',
        { duo: { clientSecret: NEW_SECRET } },
        { actor: 'alice@acme', version },
      );
      assert.deepEqual((result.settings!.duo as Record<string, unknown>).clientSecret, { set: true });
      const stored = JSON.parse(onDisk()).tenants.acme.duo.clientSecret;
      assert.match(stored.encrypted, /^v1:/);
      for (const place of [onDisk(), JSON.stringify(result), JSON.stringify(t.events), t.logs.join('\n')]) {
        assert.ok(!place.includes(NEW_SECRET), 'the new secret leaked');
      }
      assert.deepEqual(eventsOf(t.events, 'settings.changed')[0]?.fields, ['duo.clientSecret']);
      // The tenant compiles with the decrypted secret (it is in force).
      assert.equal(t.mfa.tenantSettings('acme')?.policyVersion, result.version);
    });

    it('stores an Admin API secret key encrypted too: masked, never leaked, and the Admin API works with it', async () => {
      const { version } = await t.mfa.settings('acme');
      const result = await t.mfa.updateSettings(
        'acme',
        { duo: { adminApi: { ...ADMIN_APP, apiHost: emulator.apiHost } } },
        { actor: 'alice@acme', version },
      );
      const adminApi = (result.settings!.duo as Record<string, any>).adminApi;
      assert.deepEqual(adminApi.secretKey, { set: true });
      assert.equal(adminApi.integrationKey, ADMIN_APP.integrationKey);
      const stored = JSON.parse(onDisk()).tenants.acme.duo.adminApi.secretKey;
      assert.match(stored.encrypted, /^v1:/);
      assert.deepEqual(eventsOf(t.events, 'settings.changed')[0]?.fields, ['duo.adminApi']);
      // In force with the decrypted key: Duo's Admin API (the emulator) accepts the signature it makes.
      const status = await t.mfa.staffStatus('acme', 'nobody-here', { actor: 'alice@acme' });
      assert.equal(status.found, false);
      const read = await t.mfa.settings('acme');
      for (const place of [
        onDisk(),
        JSON.stringify(result),
        JSON.stringify(read),
        JSON.stringify(t.events),
        t.logs.join('\n'),
      ]) {
        assert.ok(!place.includes(ADMIN_APP.secretKey), 'the Admin API secret key leaked');
      }
    });

    it('refuses a secret without a secretsKey, naming secretsKey, and writes nothing', async () => {
      t.close();
      t = app();
      const { version } = await t.mfa.settings('acme');
      const bytes = onDisk();
      await assert.rejects(
        t.mfa.updateSettings('acme', { duo: { clientSecret: NEW_SECRET } }, { actor: 'a', version }),
        (error: unknown) =>
          isDuoMfaError(error, 'ERR_SECRETS_KEY_MISSING') && /secretsKey/.test(error.message),
      );
      assert.equal(onDisk(), bytes);
    });

    it('refuses { env } from the API, and a new client id or API host without the secret entered again', async () => {
      const { version } = await t.mfa.settings('acme');
      for (const patch of [
        { duo: { clientSecret: { env: 'DATABASE_PASSWORD' } } },
        { duo: { apiHost: 'duo.attacker.example' } },
        { duo: { clientId: 'DIOTHEROTHEROTHER001' } },
      ]) {
        await assert.rejects(
          t.mfa.updateSettings('acme', patch, { actor: 'a', version }),
          (error: unknown) =>
            isDuoMfaError(error, 'ERR_POLICY_INVALID') &&
            (error.details.issues as Array<{ path: string }>)[0]?.path === 'duo.clientSecret',
        );
      }
      // With the secret entered again, the move is fine.
      const moved = await t.mfa.updateSettings(
        'acme',
        { duo: { apiHost: emulator.apiHost, clientSecret: ACME_APP.clientSecret } },
        { actor: 'a', version },
      );
      assert.ok(moved.version);
    });

    it('creates a tenant with version null, and refuses to create one twice', async () => {
      const created = await t.mfa.updateSettings(
        'hooli',
        {
          mfa: { enabled: true },
          duo: { clientId: 'DIHOOLIHOOLIHOOLI001', clientSecret: NEW_SECRET, apiHost: emulator.apiHost },
        },
        { actor: 'ops', version: null },
      );
      assert.ok(created.version);
      assert.ok(t.mfa.tenants().includes('hooli'));
      await assert.rejects(
        t.mfa.updateSettings('hooli', { mfa: { enabled: false } }, { actor: 'ops', version: null }),
        (error: unknown) => isDuoMfaError(error, 'ERR_SETTINGS_CONFLICT'),
      );
    });

    it('refuses changes to a policy given as a parsed object (ERR_SETTINGS_READ_ONLY)', async () => {
      const readOnly = createTestApp({ emulator });
      try {
        const { version } = await readOnly.mfa.settings('acme');
        await assert.rejects(
          readOnly.mfa.updateSettings('acme', { failmode: 'open' }, { actor: 'a', version }),
          (error: unknown) => isDuoMfaError(error, 'ERR_SETTINGS_READ_ONLY'),
        );
      } finally {
        readOnly.close();
      }
    });
  });

  describe('mfa.testConnection', () => {
    it('checks the saved Duo application, or one not yet saved, and says what failed', async () => {
      const saved = await t.mfa.testConnection('acme');
      assert.equal(saved.ok, true);
      assert.equal(typeof saved.skewMs, 'number');
      const wrong = await t.mfa.testConnection('acme', { clientSecret: 'x'.repeat(40) });
      assert.deepEqual([wrong.ok, wrong.code], [false, 'ERR_DUO_CREDENTIALS']);
      const elsewhere = await t.mfa.testConnection('acme', { apiHost: '127.0.0.1:1' });
      assert.equal(elsewhere.ok, false);
      assert.match(elsewhere.message ?? '', /enter the client secret/);
      assert.ok(!JSON.stringify([saved, wrong, elsewhere]).includes(ACME_APP.clientSecret));
    });
  });

  describe('hosts a tenant admin may name (no server-side request forgery)', () => {
    it('accepts only Duo’s own hosts for a new API hostname when the app trusts no CA of its own', async () => {
      t.close();
      t = createTestApp({
        emulator,
        policy: file,
        options: { secretsKey, env: { GLOBEX_SECRET: ALL_APPS[1]!.clientSecret }, duoTls: undefined },
      });
      const { version } = await t.mfa.settings('acme');
      for (const apiHost of ['10.0.0.1:6379', '127.0.0.1:22', 'metadata.internal']) {
        await assert.rejects(
          t.mfa.updateSettings(
            'acme',
            { duo: { apiHost, clientSecret: NEW_SECRET } },
            { actor: 'a', version },
          ),
          (error: unknown) =>
            isDuoMfaError(error, 'ERR_POLICY_INVALID') &&
            (error.details.issues as Array<{ path: string }>)[0]?.path === 'duo.apiHost',
        );
        const test = await t.mfa.testConnection('acme', { apiHost, clientSecret: NEW_SECRET });
        assert.equal(test.ok, false);
        assert.match(test.message ?? '', /Duo host/);
      }
      const duo = await t.mfa.updateSettings(
        'acme',
        { duo: { apiHost: 'api-12345678.duosecurity.com', clientSecret: NEW_SECRET } },
        { actor: 'a', version },
      );
      assert.ok(duo.version);
    });

    it('tells a failed test in plain words, without the network detail behind it', async () => {
      const refused = await t.mfa.testConnection('acme', {
        apiHost: '127.0.0.1:1',
        clientSecret: NEW_SECRET,
      });
      assert.equal(refused.ok, false);
      assert.equal(refused.code, 'ERR_DUO_UNAVAILABLE');
      assert.doesNotMatch(refused.message ?? '', /127\.0\.0\.1|ECONNREFUSED/);
    });
  });

  describe('the settings router', () => {
    let admin: express.Express;
    let allowed: boolean;

    beforeEach(() => {
      allowed = true;
      admin = express();
      admin.use(
        '/admin/mfa',
        t.mfa.settingsRouter({
          authorize: (_req: Request, tenant: string) => Promise.resolve(allowed && tenant === 'acme'),
          actor: () => 'alice@acme',
        }),
      );
    });

    it('GET answers the settings with an ETag; PATCH with If-Match changes them', async () => {
      const get = await request(admin).get('/admin/mfa/acme').expect(200);
      assert.equal(get.headers.etag, `"${get.body.version}"`);
      assert.equal(get.headers['cache-control'], 'no-store');
      const patch = await request(admin)
        .patch('/admin/mfa/acme')
        .set('If-Match', get.headers.etag)
        .set('Content-Type', 'application/merge-patch+json')
        .send(JSON.stringify({ mfa: { staffExcluded: ['kiosk-1', 'dana'] } }))
        .expect(200);
      assert.notEqual(patch.headers.etag, get.headers.etag);
      assert.deepEqual(patch.body.settings.mfa.staffExcluded, ['kiosk-1', 'dana']);
    });

    it('answers 403 when authorize refuses, for another tenant too, and writes nothing', async () => {
      const bytes = onDisk();
      await request(admin).get('/admin/mfa/globex').expect(403);
      allowed = false;
      const res = await request(admin)
        .patch('/admin/mfa/acme')
        .set('If-Match', '"x"')
        .send({ failmode: 'open' })
        .expect(403);
      assert.equal(res.body.code, 'ERR_FORBIDDEN');
      assert.equal(onDisk(), bytes);
    });

    it('refuses cross-site requests, non-JSON, oversized bodies, missing If-Match, stale and invalid changes', async () => {
      const bytes = onDisk();
      const { headers } = await request(admin).get('/admin/mfa/acme');
      const etag = headers.etag!;
      const patch = () => request(admin).patch('/admin/mfa/acme');
      await patch().set('Sec-Fetch-Site', 'cross-site').set('If-Match', etag).send({}).expect(403);
      await patch().set('Origin', 'https://evil.example').set('If-Match', etag).send({}).expect(403);
      await request(admin).get('/admin/mfa/acme').set('Sec-Fetch-Site', 'same-site').expect(403);
      await patch().set('If-Match', etag).set('Content-Type', 'text/plain').send('{}').expect(415);
      await patch()
        .set('If-Match', etag)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ note: 'x'.repeat(70_000) }))
        .expect(413);
      await patch()
        .set('If-Match', etag)
        .set('Content-Type', 'application/json')
        .send('{ broken')
        .expect(400);
      await patch().send({ failmode: 'open' }).expect(428);
      await patch().set('If-Match', '"stale"').send({ failmode: 'open' }).expect(409);
      const invalid = await patch().set('If-Match', etag).send({ failmode: 'sometimes' }).expect(422);
      assert.deepEqual(
        invalid.body.issues.map((issue: { path: string }) => issue.path),
        ['failmode'],
      );
      assert.equal(onDisk(), bytes);
    });

    it('answers 429 past ten tests a minute for one tenant, without calling Duo; other tenants and later minutes are not held back', async () => {
      let now = Date.now();
      t.close();
      t = app({ secretsKey, now: () => now });
      const router = t.mfa.settingsRouter({ authorize: () => true, actor: () => 'alice@acme' });
      const host = express().use('/admin/mfa', router);
      for (let i = 0; i < 10; i++) {
        const ok = await request(host).post('/admin/mfa/acme/test').expect(200);
        assert.equal(ok.body.ok, true);
      }
      const before = emulator.calls.health;
      const limited = await request(host).post('/admin/mfa/acme/test').expect(429);
      assert.equal(limited.body.code, 'ERR_SETTINGS_TEST_LIMIT');
      assert.match(limited.body.message, /10 tests a minute/);
      assert.equal(limited.headers['retry-after'], '60');
      assert.equal(emulator.calls.health, before, 'Duo was called past the limit');
      assert.equal((await request(host).post('/admin/mfa/globex/test').expect(200)).body.ok, true);
      now += 30_000;
      assert.equal(
        (await request(host).post('/admin/mfa/acme/test').expect(429)).headers['retry-after'],
        '30',
      );
      now += 30_000;
      assert.equal((await request(host).post('/admin/mfa/acme/test').expect(200)).body.ok, true);

      // Whatever names authorize lets a caller use, sixty tests a minute in all: Duo is not called past them.
      now += 60_000;
      for (let i = 0; i < 60; i++) {
        const res = await request(host).post(`/admin/mfa/name-${Math.floor(i / 10)}/test`);
        assert.notEqual(res.status, 429, `test ${i} was refused`);
      }
      const server = await request(host).post('/admin/mfa/name-9/test').expect(429);
      assert.match(server.body.message, /60 tests a minute on this server/);
      // A malformed request spends nothing.
      now += 60_000;
      for (let i = 0; i < 10; i++) {
        await request(host).post('/admin/mfa/acme/test').type('text/plain').send('x').expect(415);
      }
      assert.equal((await request(host).post('/admin/mfa/acme/test').expect(200)).body.ok, true);
    });

    it('never sends a secret back, and tests a configuration', async () => {
      const { headers } = await request(admin).get('/admin/mfa/acme');
      const set = await request(admin)
        .patch('/admin/mfa/acme')
        .set('If-Match', headers.etag!)
        .send({ duo: { clientSecret: ACME_APP.clientSecret } })
        .expect(200);
      assert.deepEqual(set.body.settings.duo.clientSecret, { set: true });
      assert.ok(!JSON.stringify(set.body).includes(ACME_APP.clientSecret));
      const test = await request(admin).post('/admin/mfa/acme/test').expect(200);
      assert.equal(test.body.ok, true);
      const wrong = await request(admin)
        .post('/admin/mfa/acme/test')
        .send({ duo: { clientSecret: 'y'.repeat(40) } })
        .expect(200);
      assert.equal(wrong.body.code, 'ERR_DUO_CREDENTIALS');
    });
  });
});
