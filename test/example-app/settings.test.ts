// The example portal's editable MFA Settings over HTTP (supertest): the settings API mounted for the tenant's admins
// only (cross-site, stale and invalid changes refused), secrets encrypted with the secretsKey, Test configuration,
// the staff list's Duo accounts with Send reactivation and Issue bypass code (the tenant's Admin API application,
// against the emulator), and the grace period for a newly included person.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createApp, type PortalApp } from '../../example-app/app';
import { scriptDemoUsers } from '../../example-app/demo';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import type { AuditEvent } from '../../lib/index';
import { generateSecretsKey } from '../../lib/policy/index';
import { followAuthorize } from '../helpers/duo';
import {
  capturingLogger,
  EXAMPLE_DIR,
  exampleAdminApplications,
  exampleApplications,
  examplePolicy,
  PASSWORD,
} from './helpers';

type Agent = ReturnType<typeof request.agent>;

const ORIGIN = 'http://127.0.0.1:3000';
const SECRETS_KEY = generateSecretsKey();

describe('example portal: editable MFA Settings, the settings API and staff recovery (HTTP)', () => {
  let emulator: DuoEmulator;
  let dir: string;
  let file: string;
  let portal: PortalApp;
  let events: AuditEvent[];
  let logs: string[];
  const opened: PortalApp[] = [];

  const open = (options: Parameters<typeof createApp>[0] = {}): PortalApp => {
    const captured = capturingLogger();
    logs = captured.logs;
    const created = createApp({
      policy: file,
      baseUrl: ORIGIN,
      duoTls: { ca: emulator.ca },
      sessionSecret: 'settings-test-session-secret',
      secretsKey: SECRETS_KEY,
      logger: captured.logger,
      onEvent: (event) => events.push(event),
      ...options,
    });
    opened.push(created);
    return created;
  };

  /** Password, then (when the policy asks) Duo in the emulator's auto mode: a signed-in agent. */
  async function signedIn(tenant: string, username: string, app: PortalApp = portal): Promise<Agent> {
    const agent = request.agent(app);
    await agent.post('/login').type('form').send({ tenant, username, password: PASSWORD }).expect(303);
    const first = await agent.get('/').set('Accept', 'text/html');
    if (first.status === 303) {
      const callback = await followAuthorize(emulator, first.headers.location!);
      await agent
        .get(callback.pathname + callback.search)
        .set('Accept', 'text/html')
        .expect(303);
      await agent.get('/').set('Accept', 'text/html').expect(200);
    } else assert.equal(first.status, 200);
    return agent;
  }

  /** The settings API as the page's script calls it (same origin, JSON). */
  const apiGet = (agent: Agent, tenant: string) =>
    agent
      .get(`/admin/mfa/api/${tenant}`)
      .set('Accept', 'application/json')
      .set('Sec-Fetch-Site', 'same-origin');
  const apiPatch = (agent: Agent, tenant: string, version: string, body: unknown) =>
    agent
      .patch(`/admin/mfa/api/${tenant}`)
      .set('Origin', ORIGIN)
      .set('Sec-Fetch-Site', 'same-origin')
      .set('If-Match', `"${version}"`)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(body));
  const staffPost = (agent: Agent, username: string, action: 'reactivate' | 'bypass-code') =>
    agent
      .post(`/admin/mfa-settings/staff/${username}/${action}`)
      .set('Origin', ORIGIN)
      .set('Sec-Fetch-Site', 'same-origin')
      .set('Accept', 'application/json')
      .set('Content-Type', 'application/json')
      .send('{}');

  before(async () => {
    emulator = await startDuoEmulator({
      applications: exampleApplications(),
      adminApplications: exampleAdminApplications(),
      mode: 'auto',
    });
    scriptDemoUsers(emulator);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'portal-settings-'));
    file = join(dir, 'duo-mfa.json');
    writeFileSync(file, `${JSON.stringify(examplePolicy(emulator.apiHost), null, 2)}\n`);
    events = [];
    portal = open();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(logs.slice(-20).join('\n'));
    for (const p of opened.splice(0)) p.close();
    rmSync(dir, { recursive: true, force: true });
  });
  after(async () => {
    await emulator.close();
  });

  it('serves the page editable for a policy file: the form with its version, saved through the settings API by a same-origin module script', async () => {
    const alice = await signedIn('acme', 'alice');
    const page = await alice.get('/admin/mfa-settings').expect(200);
    const { version } = (await apiGet(alice, 'acme').expect(200)).body;
    assert.match(
      page.text,
      new RegExp(`data-version="${version}" data-api="/admin/mfa/api/acme" data-editable="true"`),
    );
    assert.match(page.text, /<fieldset id="settings-fields">/);
    assert.match(page.text, /<script type="module" src="\/assets\/mfa-settings\.mjs"><\/script>/);
    assert.doesNotMatch(page.text, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script (the CSP forbids it)');
    assert.match(
      page.headers['content-security-policy']!,
      /script-src 'self'; connect-src 'self'|script-src 'self'.*connect-src 'self'/,
    );
    const script = await request(portal).get('/assets/mfa-settings.mjs').expect(200);
    assert.match(script.headers['content-type']!, /text\/javascript/);
    assert.match(script.text, /'If-Match': `"\$\{version\}"`/);
    // The script is not linted or type-checked (it runs in browsers): at least it must parse, even where the
    // browser tests are skipped.
    const checked = spawnSync(
      process.execPath,
      ['--check', join(EXAMPLE_DIR, 'public', 'mfa-settings.mjs')],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(checked.status, 0, checked.stderr);
  });

  it("saves a change through the settings API: written to the file, in force at the next sign-in, audited with the admin's name", async () => {
    const alice = await signedIn('acme', 'alice');
    const read = await apiGet(alice, 'acme').expect(200);
    assert.equal(read.headers.etag, `"${read.body.version}"`);
    assert.deepEqual(read.body.settings.duo.clientSecret, { set: true });
    const saved = await apiPatch(alice, 'acme', read.body.version, { mfa: { enabled: false } }).expect(200);
    assert.notEqual(saved.body.version, read.body.version);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).tenants.acme.mfa.enabled, false);
    const changed = events.filter((e) => e.type === 'settings.changed');
    assert.deepEqual(
      changed.map((e) => [e.tenant, e.actor, e.fields]),
      [['acme', 'alice@acme', ['mfa.enabled']]],
    );

    const authorizeBefore = emulator.calls.authorize;
    for (const username of ['dana', 'carol']) {
      const agent = await signedIn('acme', username);
      const home = await agent.get('/').expect(200);
      assert.match(home.text, /Duo not required: MFA is turned off for tenant &quot;acme&quot;/, username);
    }
    assert.equal(emulator.calls.authorize, authorizeBefore, 'no one was sent to Duo');
    const page = await alice.get('/admin/mfa-settings').expect(200);
    assert.match(page.text, /<input type="checkbox" role="switch" id="mfa-enabled"(?![^>]*checked)[^>]*>/);
  });

  it('lets an admin manage their own organization only: another tenant answers 403 and stays unchanged; a non-admin gets neither the page nor the API', async () => {
    const before = readFileSync(file);
    const alice = await signedIn('acme', 'alice');
    const globex = await apiGet(alice, 'globex').expect(403);
    assert.equal(globex.body.code, 'ERR_FORBIDDEN');
    await apiPatch(alice, 'globex', 'anything', { mfa: { enabled: true } }).expect(403);
    await alice
      .post('/admin/mfa/api/globex/test')
      .set('Origin', ORIGIN)
      .set('Content-Type', 'application/json')
      .send('{}')
      .expect(403);
    assert.deepEqual(readFileSync(file), before, 'the file is byte for byte unchanged');

    const carol = await signedIn('acme', 'carol');
    assert.doesNotMatch((await carol.get('/').expect(200)).text, /nav-admin|mfa-settings/);
    await carol.get('/admin/mfa-settings').set('Accept', 'text/html').expect(403);
    assert.equal((await apiGet(carol, 'acme').expect(403)).body.code, 'ERR_FORBIDDEN');
    await apiPatch(carol, 'acme', 'anything', { mfa: { enabled: false } }).expect(403);
    const staff = await carol.get('/admin/mfa-settings/staff').set('Accept', 'application/json').expect(403);
    assert.equal(staff.body.error, 'forbidden');
    await staffPost(carol, 'grace', 'bypass-code').expect(403);

    await request(portal).get('/admin/mfa/api/acme').set('Accept', 'application/json').expect(401);
    assert.deepEqual(readFileSync(file), before);
    assert.equal(events.filter((e) => e.type === 'settings.changed').length, 0);
  });

  it('refuses a change another site sends, a stale version (409) and an invalid edit (422: every problem with its path, the file unchanged)', async () => {
    const alice = await signedIn('acme', 'alice');
    const { version } = (await apiGet(alice, 'acme').expect(200)).body;
    const before = readFileSync(file);

    const foreign = await apiPatch(alice, 'acme', version, { mfa: { enabled: false } })
      .set('Origin', 'http://evil.example')
      .expect(403);
    assert.equal(foreign.body.message, 'cross-site requests are refused');
    await apiPatch(alice, 'acme', version, { mfa: { enabled: false } })
      .set('Sec-Fetch-Site', 'cross-site')
      .expect(403);
    await alice
      .patch('/admin/mfa/api/acme')
      .set('If-Match', `"${version}"`)
      .type('form')
      .send({ mfa: 'x' })
      .expect(415);
    await alice
      .patch('/admin/mfa/api/acme')
      .set('Content-Type', 'application/json')
      .send('{"mfa":{"enabled":false}}')
      .expect(428);

    const stale = await apiPatch(alice, 'acme', '0123456789ab', { mfa: { enabled: false } }).expect(409);
    assert.equal(stale.body.code, 'ERR_SETTINGS_CONFLICT');
    assert.equal(stale.body.currentVersion, version);

    const invalid = await apiPatch(alice, 'acme', version, {
      challengeLimit: 500,
      mfa: {
        staffExcluded: ['kiosk-1', ' '],
        temporaryBypass: [{ username: 'nora', until: '2030-01-01T00:00:00Z', reason: ' ' }],
      },
    }).expect(422);
    assert.equal(invalid.body.code, 'ERR_POLICY_INVALID');
    assert.deepEqual(invalid.body.issues.map((issue: { path: string }) => issue.path).sort(), [
      'challengeLimit',
      'mfa.staffExcluded[1]',
      'mfa.temporaryBypass[0].reason',
    ]);
    assert.deepEqual(readFileSync(file), before, 'nothing written');
  });

  it('stores a new client secret encrypted with the secretsKey, never shows it, and keeps loading the file', async () => {
    const alice = await signedIn('acme', 'alice');
    const { version } = (await apiGet(alice, 'acme').expect(200)).body;
    const secret = 'NEWSECRET-pasted-from-duo-00000000000001';
    assert.equal(secret.length, 40);
    const saved = await apiPatch(alice, 'acme', version, { duo: { clientSecret: secret } }).expect(200);
    assert.deepEqual(saved.body.settings.duo.clientSecret, { set: true });
    const text = readFileSync(file, 'utf8');
    assert.doesNotMatch(text, /NEWSECRET/);
    assert.match(JSON.parse(text).tenants.acme.duo.clientSecret.encrypted, /^v1:[A-Za-z0-9_-]+$/);

    const page = await alice.get('/admin/mfa-settings').expect(200);
    assert.doesNotMatch(page.text, /NEWSECRET|policy-refused/, 'the page opens the file with the same key');
    assert.match(page.text, /<span class="secret-state set">set<\/span> — leave empty to keep it/);
    assert.doesNotMatch([...logs, JSON.stringify(events)].join('\n'), /NEWSECRET/);
  });

  it('refuses to store a secret without a secretsKey, naming it, and writes nothing', async () => {
    const saved = process.env.DUO_MFA_SECRETS_KEY;
    delete process.env.DUO_MFA_SECRETS_KEY;
    try {
      const keyless = open({ secretsKey: undefined });
      const alice = await signedIn('acme', 'alice', keyless);
      const { version } = (await apiGet(alice, 'acme').expect(200)).body;
      const before = readFileSync(file);
      const refused = await apiPatch(alice, 'acme', version, {
        duo: { clientSecret: 'x'.repeat(40) },
      }).expect(422);
      assert.equal(refused.body.code, 'ERR_SECRETS_KEY_MISSING');
      assert.deepEqual(readFileSync(file), before);
    } finally {
      if (saved !== undefined) process.env.DUO_MFA_SECRETS_KEY = saved;
    }
  });

  it('Test configuration: the saved application works and says the clock skew; wrong credentials say what failed', async () => {
    const alice = await signedIn('acme', 'alice');
    const test = (body: unknown) =>
      alice
        .post('/admin/mfa/api/acme/test')
        .set('Origin', ORIGIN)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(body))
        .expect(200);
    const saved = await test({});
    assert.equal(saved.body.ok, true);
    assert.equal(typeof saved.body.skewMs, 'number');

    emulator.setClockOffset(90); // Duo's clock 90 s ahead of this server's
    try {
      const skewed = await test({});
      assert.ok(Math.abs(skewed.body.skewMs + 90_000) < 5000, `skew ${skewed.body.skewMs} ms`);
    } finally {
      emulator.setClockOffset(0);
    }

    const { duo } = (await apiGet(alice, 'acme').expect(200)).body.settings;
    const wrong = await test({
      duo: { clientId: duo.clientId, apiHost: duo.apiHost, clientSecret: 'W'.repeat(40) },
    });
    assert.deepEqual([wrong.body.ok, wrong.body.code], [false, 'ERR_DUO_CREDENTIALS']);
    const nowhere = await test({
      duo: { clientId: duo.clientId, apiHost: '127.0.0.1:1', clientSecret: 'W'.repeat(40) },
    });
    assert.deepEqual([nowhere.body.ok, nowhere.body.code], [false, 'ERR_DUO_UNAVAILABLE']);
  });

  it("lists each person's Duo account through the Admin API: enrolled, not enrolled, not in Duo", async () => {
    const alice = await signedIn('acme', 'alice');
    const res = await alice.get('/admin/mfa-settings/staff').set('Accept', 'application/json').expect(200);
    const states = Object.fromEntries(
      res.body.staff.map((view: { username: string; state: string }) => [view.username, view.state]),
    );
    assert.deepEqual(
      [states.alice, states.frank, states.nora, states.carol],
      ['enrolled', 'enrolled', 'not-enrolled', 'not-in-duo'],
    );
    assert.equal(res.body.staff.length, 10, 'every Acme staff member, no one else');
    const frank = res.body.staff.find((view: { username: string }) => view.username === 'frank');
    assert.match(frank.detail, /^Apple iPhone 15 \(Apple iOS\): Duo Mobile activated; /);
    assert.ok(events.some((e) => e.type === 'staff.status' && e.actor === 'alice@acme'));
  });

  it('Send reactivation: Duo texts the new activation link, the old activation stops working, audited — the link never logged', async () => {
    const alice = await signedIn('acme', 'alice');
    const texts = emulator.sms.length;
    const sent = await staffPost(alice, 'erin', 'reactivate').expect(200);
    assert.equal(sent.body.sentBySms, true);
    assert.equal(sent.body.activationUrl, undefined, 'texted: no link to pass on');
    assert.match(sent.body.expires, /^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC$/);
    const sms = emulator.sms.slice(texts);
    const link = /https:\/\/\S+\/activate\/\S+/.exec(sms.map((m) => m.body).join('\n'))?.[0];
    assert.ok(link, 'an activation link went out by SMS');

    const list = await alice.get('/admin/mfa-settings/staff').set('Accept', 'application/json').expect(200);
    assert.equal(
      list.body.staff.find((view: { username: string }) => view.username === 'erin').state,
      'not-enrolled',
    );
    const audited = events.filter((e) => e.type === 'staff.reactivated');
    assert.deepEqual(
      audited.map((e) => [e.username, e.actor, e.sentBySms]),
      [['erin', 'alice@acme', true]],
    );
    assert.doesNotMatch([...logs, JSON.stringify(events)].join('\n'), /\/activate\//);
  });

  it('Issue bypass code: one code valid for an hour, shown to the admin once, never logged', async () => {
    const alice = await signedIn('acme', 'alice');
    const issued = await staffPost(alice, 'ivan', 'bypass-code').expect(200);
    assert.equal(issued.body.codes.length, 1);
    const [code] = issued.body.codes as string[];
    assert.match(code!, /^\d{9}$/);
    const validFor = Date.parse(issued.body.expiresAt) - Date.now();
    assert.ok(validFor > 3500_000 && validFor <= 3600_000, `valid for ${validFor} ms`);
    assert.equal(issued.headers['cache-control'], 'no-store');
    const audited = events.filter((e) => e.type === 'staff.bypass_issued');
    assert.deepEqual(
      audited.map((e) => [e.username, e.actor, e.count]),
      [['ivan', 'alice@acme', 1]],
    );
    assert.doesNotMatch([...logs, JSON.stringify(events)].join('\n'), new RegExp(code!));
  });

  it('says what Duo answered when recovery cannot be done: no phone yet (409), someone of another organization (404), no Admin API application (Globex)', async () => {
    const alice = await signedIn('acme', 'alice');
    const noPhone = await staffPost(alice, 'nora', 'reactivate').expect(409);
    assert.equal(noPhone.body.code, 'ERR_ADMIN_API_NO_PHONE');
    assert.equal(noPhone.body.title, 'This person has no phone Duo can reactivate');
    assert.match(noPhone.body.advice, /bypass code/);
    await staffPost(alice, 'gina', 'bypass-code').expect(404);
    await staffPost(alice, 'nobody', 'reactivate').expect(404);

    const gina = await signedIn('globex', 'gina');
    const list = await gina.get('/admin/mfa-settings/staff').set('Accept', 'application/json').expect(200);
    assert.equal(list.body.problem.code, 'ERR_ADMIN_API_NOT_CONFIGURED');
    assert.equal(list.body.problem.title, 'No Duo Admin API application is configured');
  });

  it('asks an admin Duo protects for a recent Duo approval before a change (step-up): 401 mfa_required and nothing changed; the page itself goes through Duo; an admin of a tenant with MFA off is not asked', async () => {
    const strict = open({ recentDuo: { page: 1, changes: 1 } });
    const alice = await signedIn('acme', 'alice', strict);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const document = await apiGet(alice, 'acme').expect(200); // reading is not a change
    const bytes = readFileSync(file, 'utf8');
    const refused = await apiPatch(alice, 'acme', document.body.version, {
      mfa: { staffExcluded: ['dana'] },
    }).expect(401);
    assert.equal(refused.body.error, 'mfa_required');
    assert.match(refused.body.location, /^\/duo\/start\?.*stepUp=1/);
    assert.equal(readFileSync(file, 'utf8'), bytes);
    const test = await alice
      .post('/admin/mfa/api/acme/test')
      .set('Origin', ORIGIN)
      .set('Sec-Fetch-Site', 'same-origin')
      .expect(401);
    assert.equal(test.body.error, 'mfa_required');
    const texts = emulator.sms.length;
    assert.equal((await staffPost(alice, 'dana', 'reactivate').expect(401)).body.error, 'mfa_required');
    assert.equal((await staffPost(alice, 'dana', 'bypass-code').expect(401)).body.error, 'mfa_required');
    assert.equal(emulator.sms.length, texts);
    assert.equal(
      events.filter((e) => e.type === 'settings.changed' || e.type.startsWith('staff.r')).length,
      0,
    );
    assert.equal(events.filter((e) => e.type === 'staff.bypass_issued').length, 0);
    // Opening MFA Settings is a page: it goes through Duo and lands back on it.
    const page = await alice.get('/admin/mfa-settings').set('Accept', 'text/html').expect(303);
    const callback = await followAuthorize(emulator, page.headers.location!);
    const landed = await alice
      .get(callback.pathname + callback.search)
      .set('Accept', 'text/html')
      .expect(303);
    assert.equal(landed.headers.location, '/admin/mfa-settings');

    // Globex has MFA off: its admin has no Duo approval to renew, and is not sent to Duo.
    const gina = await signedIn('globex', 'gina', strict);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await gina.get('/admin/mfa-settings').set('Accept', 'text/html').expect(200);
    const globex = await apiGet(gina, 'globex').expect(200);
    await apiPatch(gina, 'globex', globex.body.version, { mfa: { staffExcluded: ['kiosk-1'] } }).expect(200);
  });

  it('takes the recovery buttons from the page only: another site, or a form post, changes nothing in Duo', async () => {
    const alice = await signedIn('acme', 'alice');
    const texts = emulator.sms.length;
    await staffPost(alice, 'mia', 'reactivate').set('Origin', 'http://evil.example').expect(403);
    const crossSite = await staffPost(alice, 'mia', 'reactivate')
      .set('Sec-Fetch-Site', 'cross-site')
      .expect(403);
    assert.equal(crossSite.body.error, 'cross_site');
    await alice
      .post('/admin/mfa-settings/staff/mia/bypass-code')
      .set('Origin', ORIGIN)
      .type('form')
      .send({ x: '1' })
      .expect(415);
    assert.equal(emulator.sms.length, texts);
    assert.equal(events.filter((e) => e.type.startsWith('staff.') && e.type !== 'staff.status').length, 0);
  });

  it('grace period: a newly included person may choose "Remind me later" before enforceFrom (the page posts with Origin: null); after the date, Duo', async () => {
    const alice = await signedIn('acme', 'alice');
    const { version } = (await apiGet(alice, 'acme').expect(200)).body;
    const inAWeek = new Date(Date.now() + 7 * 86400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const saved = await apiPatch(alice, 'acme', version, {
      mfa: { rolesIncluded: ['admin', 'finance', 'sales'], enforceFrom: inAWeek },
    }).expect(200);

    const nora = request.agent(portal);
    await nora
      .post('/login')
      .type('form')
      .send({ tenant: 'acme', username: 'nora', password: PASSWORD })
      .expect(303);
    const offer = await nora.get('/').set('Accept', 'text/html').expect(200);
    assert.match(offer.text, /Set up two-factor sign-in/);
    assert.match(offer.text, /id="duo-remind-later"/);
    const token = /name="token" value="([^"]+)"/.exec(offer.text)?.[1];
    assert.ok(token);
    const later = await nora
      .post('/duo/start')
      .set('Origin', 'null') // the middleware's pages send no referrer: browsers say "null"
      .set('Sec-Fetch-Site', 'same-origin')
      .type('form')
      .send({ token, choice: 'later' })
      .expect(303);
    assert.equal(later.headers.location, '/');
    const dashboard = await nora.get('/').set('Accept', 'text/html').expect(200);
    assert.match(dashboard.text, /Duo set-up postponed: you chose “Remind me later”/);
    assert.ok(events.some((e) => e.type === 'mfa.deferred' && e.username === 'nora'));
    const settings = await alice.get('/admin/mfa-settings').expect(200);
    assert.match(settings.text, /Nora Sales.*grace period.*may choose “Remind me later” until/s);

    const yesterday = new Date(Date.now() - 86400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await apiPatch(alice, 'acme', saved.body.version, { mfa: { enforceFrom: yesterday } }).expect(200);
    const now = await nora.get('/').set('Accept', 'text/html').expect(303);
    assert.equal(new URL(now.headers.location!).host, emulator.apiHost, 'after the date: Duo');
  });
});
