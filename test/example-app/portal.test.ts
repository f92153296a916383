// The example staff portal over HTTP (supertest): its pages, the password login (no user enumeration, session
// regenerated, safe return paths), Duo for required staff, the MFA Settings page following the policy file,
// logout, and store failures answered 503.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import request from 'supertest';
import {
  app as defaultApp,
  createApp,
  safeReturnPath,
  SESSION_COOKIE,
  type PortalApp,
} from '../../example-app/app';
import { scriptDemoUsers } from '../../example-app/demo';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import { followAuthorize } from '../helpers/duo';
import { capturingLogger, exampleApplications, examplePolicy, PASSWORD } from './helpers';

type Agent = ReturnType<typeof request.agent>;

const SECRET = 'example-app-test-secret';

function sessionCookieOf(res: request.Response): string | undefined {
  const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return cookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`))?.split(';')[0];
}

/** The values of a chip editor on the MFA Settings page, in order. */
function chipsIn(html: string, id: string): string[] {
  const start = html.indexOf(`<div class="chips-editor" id="${id}"`);
  assert.notEqual(start, -1, `no chip editor #${id}`);
  const list = html.slice(start, html.indexOf('</ul>', start));
  return [...list.matchAll(/<li class="chip" data-value="([^"]*)"/g)].map((m) => m[1]!);
}

/** Whether the form control with this id is checked (a checkbox or a radio button). */
function isChecked(html: string, id: string): boolean {
  const tag = new RegExp(`<input[^>]*\\bid="${id}"[^>]*>`).exec(html)?.[0];
  assert.ok(tag, `no input #${id}`);
  return /\schecked[\s>]/.test(tag);
}

function signIn(agent: Agent, tenant: string, username: string, extra: Record<string, string> = {}) {
  return agent
    .post('/login')
    .type('form')
    .send({ tenant, username, password: PASSWORD, ...extra });
}

describe('example staff portal (HTTP)', () => {
  let emulator: DuoEmulator;
  let portal: PortalApp;
  const opened: PortalApp[] = [];
  let logs: string[];

  const open = (options: Parameters<typeof createApp>[0] = {}): PortalApp => {
    const captured = capturingLogger();
    logs = captured.logs;
    const created = createApp({
      policy: examplePolicy(emulator.apiHost),
      baseUrl: 'http://127.0.0.1:3000',
      duoTls: { ca: emulator.ca },
      sessionSecret: SECRET,
      logger: captured.logger,
      ...options,
    });
    opened.push(created);
    return created;
  };

  before(async () => {
    emulator = await startDuoEmulator({ applications: exampleApplications(), mode: 'auto' });
    scriptDemoUsers(emulator);
  });
  beforeEach(() => {
    portal = open();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(logs.slice(-20).join('\n'));
    for (const p of opened.splice(0)) p.close();
  });
  after(async () => {
    await emulator.close();
  });

  describe('pages', () => {
    it('exports an Express app that does not listen, and createApp()', () => {
      assert.equal(typeof defaultApp, 'function');
      assert.equal(typeof defaultApp.listen, 'function');
      assert.equal(typeof defaultApp.mfa.tenantSettings, 'function');
      assert.equal(
        defaultApp.mfa.tenantSettings('acme')?.mfa.enabled,
        true,
        'the default app reads duo-mfa.json',
      );
    });

    it('renders the login page with a strict CSP, no-store and no external assets', async () => {
      const res = await request(portal).get('/login').expect(200);
      assert.match(res.headers['content-type']!, /text\/html/);
      assert.equal(res.headers['cache-control'], 'no-store');
      const csp = res.headers['content-security-policy']!;
      assert.match(csp, /default-src 'none'/);
      assert.match(
        csp,
        /form-action 'self' https:\/\/127\.0\.0\.1:\d+/,
        'the login redirect chain may reach Duo',
      );
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(res.text, /<form method="post" action="\/login"/);
      assert.match(
        res.text,
        /<option value="acme">Acme Corp<\/option><option value="globex">Globex<\/option>/,
      );
      assert.doesNotMatch(res.text, /(src|href)="(https?:)?\/\//, 'no external asset');
      await request(portal)
        .get('/assets/portal.css')
        .expect(200)
        .expect('content-type', /text\/css/);
      await request(portal)
        .get('/assets/mfa-settings.mjs')
        .expect(200)
        .expect('content-type', /javascript/);
    });

    it('sends a signed-out page navigation to the login page, keeping where it was going', async () => {
      const res = await request(portal)
        .get('/account/verification?tab=1')
        .set('Accept', 'text/html')
        .expect(303);
      assert.equal(res.headers.location, '/login?returnTo=%2Faccount%2Fverification%3Ftab%3D1');
      const login = await request(portal).get(res.headers.location).expect(200);
      assert.match(login.text, /name="returnTo" value="\/account\/verification\?tab=1"/);
      await request(portal)
        .get('/')
        .set('Accept', 'application/json')
        .expect(401, { error: 'not_signed_in' });
    });

    it('answers unknown pages with a 404 page', async () => {
      const res = await request(portal).get('/nope').set('Accept', 'text/html');
      // Signed out: the gate sends to login first; signed in (below), a 404 page.
      assert.equal(res.status, 303);
      const agent = request.agent(portal);
      await signIn(agent, 'acme', 'kiosk-1').expect(303);
      const missing = await agent.get('/nope').set('Accept', 'text/html').expect(404);
      assert.match(missing.text, /Page not found/);
    });
  });

  describe('password login', () => {
    it('refuses a wrong password and an unknown user with the same answer (no user enumeration)', async () => {
      const wrong = await request(portal)
        .post('/login')
        .type('form')
        .send({ tenant: 'acme', username: 'alice', password: 'wrong' })
        .expect(401);
      const unknownUser = await request(portal)
        .post('/login')
        .type('form')
        .send({ tenant: 'acme', username: 'alicia', password: PASSWORD })
        .expect(401);
      const otherTenant = await request(portal)
        .post('/login')
        .type('form')
        .send({ tenant: 'globex', username: 'alice', password: PASSWORD })
        .expect(401);
      for (const res of [wrong, unknownUser, otherTenant]) {
        assert.match(res.text, /Wrong organization, username or password\./);
        assert.equal(sessionCookieOf(res), undefined, 'no session for a failed login');
      }
      assert.equal(
        unknownUser.text.replace('alicia', 'alice'),
        wrong.text,
        'the same page but for the echoed name',
      );
    });

    it('refuses malformed credentials without an error page', async () => {
      for (const body of [
        {},
        { tenant: 'acme' },
        { tenant: 'acme', username: 'alice' },
        { tenant: 'acme', username: 'alice', password: '' },
        { tenant: 'acme', username: 'alice', password: 'x'.repeat(2000) },
        { tenant: ['acme', 'globex'], username: 'alice', password: PASSWORD },
      ]) {
        await request(portal).post('/login').type('form').send(body).expect(401);
      }
    });

    it('regenerates the session at login: the previous session id is useless afterwards', async () => {
      const agent = request.agent(portal);
      const first = await signIn(agent, 'acme', 'kiosk-1').expect(303);
      const firstCookie = sessionCookieOf(first)!;
      assert.ok(firstCookie);
      const second = await signIn(agent, 'acme', 'frank').expect(303);
      const secondCookie = sessionCookieOf(second)!;
      assert.ok(secondCookie);
      assert.notEqual(secondCookie, firstCookie);
      await request(portal).get('/').set('Cookie', firstCookie).set('Accept', 'text/html').expect(303);
      const page = await request(portal).get('/').set('Cookie', secondCookie).expect(200);
      assert.match(page.text, /Frank Finance/);
    });

    it('refuses a login form posted from another site (login CSRF)', async () => {
      for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1:3001']) {
        const res = await request(portal)
          .post('/login')
          .set('Origin', origin)
          .type('form')
          .send({ tenant: 'acme', username: 'kiosk-1', password: PASSWORD })
          .expect(403);
        assert.match(res.text, /Request refused/);
        assert.equal(sessionCookieOf(res), undefined);
      }
      await request(portal)
        .post('/login')
        .set('Origin', 'http://127.0.0.1:3000')
        .type('form')
        .send({ tenant: 'acme', username: 'kiosk-1', password: PASSWORD })
        .expect(303);
    });

    it('matches usernames case-insensitively after trimming, as the policy does', async () => {
      const agent = request.agent(portal);
      await signIn(agent, 'acme', '  Kiosk-1 ').expect(303);
      const page = await agent.get('/').expect(200);
      assert.match(page.text, /Front-desk kiosk/);
    });

    it('returns to same-origin paths only', async () => {
      const agent = request.agent(portal);
      const ok = await signIn(agent, 'acme', 'kiosk-1', { returnTo: '/account/verification?x=1' }).expect(
        303,
      );
      assert.equal(ok.headers.location, '/account/verification?x=1');
      for (const evil of [
        '//evil.example',
        '/\\evil.example',
        'https://evil.example/',
        'javascript:alert(1)',
        '/%0d%0aSet-Cookie:x',
        '/\tevil',
        '',
      ]) {
        const res = await signIn(request.agent(portal), 'acme', 'kiosk-1', { returnTo: evil }).expect(303);
        assert.ok(
          res.headers.location === '/' || res.headers.location!.startsWith('/%'),
          `${evil} → ${res.headers.location}`,
        );
        assert.ok(!res.headers.location!.startsWith('//'));
      }
      assert.equal(safeReturnPath('//evil.example'), '/');
      assert.equal(safeReturnPath('/\\evil.example'), '/');
      assert.equal(safeReturnPath(['/a']), '/');
      assert.equal(safeReturnPath('/logout'), '/');
      assert.equal(safeReturnPath('/reports?q=1'), '/reports?q=1');
    });
  });

  describe('signed in', () => {
    it('shows an exempt staff member the dashboard and why Duo was not required', async () => {
      const authorizeBefore = emulator.calls.authorize;
      const agent = request.agent(portal);
      await signIn(agent, 'acme', 'kiosk-1').expect(303);
      const page = await agent.get('/').expect(200);
      assert.equal(page.headers['cache-control'], 'no-store');
      assert.match(page.text, /id="private-data"/);
      assert.match(page.text, /Duo not required: &quot;kiosk-1&quot; is in staffExcluded/);
      const verification = await agent.get('/account/verification').expect(200);
      assert.match(verification.text, /You have not been asked for Duo in this session/);
      assert.equal(emulator.calls.authorize, authorizeBefore, 'Duo was not contacted');
    });

    it('sends required staff through Duo, then shows the factor and device trust of the verification', async () => {
      const agent = request.agent(portal);
      await signIn(agent, 'acme', 'erin', { returnTo: '/account/verification' }).expect(303);
      const toDuo = await agent.get('/account/verification').set('Accept', 'text/html').expect(303);
      const callback = await followAuthorize(emulator, toDuo.headers.location!);
      const done = await agent
        .get(callback.pathname + callback.search)
        .set('Accept', 'text/html')
        .expect(303);
      assert.equal(done.headers.location, '/account/verification');
      const page = await agent.get('/account/verification').expect(200);
      assert.match(page.text, /<td id="factor">duo_push<\/td>/);
      assert.match(page.text, /id="device-trust">not trusted</);
    });

    it('keeps Admin Tools → MFA Settings for admins, showing their own tenant only', async () => {
      const staff = request.agent(portal);
      await signIn(staff, 'acme', 'kiosk-1').expect(303);
      const refused = await staff.get('/admin/mfa-settings').expect(403);
      assert.match(refused.text, /Admin Tools are for administrators/);
      await staff.get('/admin/mfa-settings/revision').expect(403);

      const gina = request.agent(portal);
      await signIn(gina, 'globex', 'gina').expect(303);
      const page = await gina.get('/admin/mfa-settings').expect(200);
      assert.match(page.text, /MFA Settings — Globex/);
      assert.equal(isChecked(page.text, 'mfa-enabled'), false, 'the MFA slider is off');
      assert.doesNotMatch(page.text, /kiosk-1|DIACME/, 'nothing of another tenant');
      assert.doesNotMatch(page.text, /EMULATOR-ONLY/, 'no client secret');
      const revision = await gina.get('/admin/mfa-settings/revision').expect(200);
      assert.match(revision.body.revision, /^[0-9a-f]+:$/);
    });

    it('shows an admin who passed Duo every setting of the tenant', async () => {
      const alice = request.agent(portal);
      await signIn(alice, 'acme', 'alice').expect(303);
      const toDuo = await alice.get('/admin/mfa-settings').set('Accept', 'text/html').expect(303);
      const callback = await followAuthorize(emulator, toDuo.headers.location!);
      await alice
        .get(callback.pathname + callback.search)
        .set('Accept', 'text/html')
        .expect(303);
      const page = await alice.get('/admin/mfa-settings').expect(200);
      assert.equal(isChecked(page.text, 'mfa-enabled'), true);
      assert.deepEqual(chipsIn(page.text, 'roles-included'), ['admin', 'finance']);
      assert.deepEqual(chipsIn(page.text, 'staff-included'), ['dana']);
      assert.deepEqual(chipsIn(page.text, 'staff-excluded'), ['kiosk-1']);
      assert.deepEqual(chipsIn(page.text, 'te-roles'), ['it']);
      assert.deepEqual(chipsIn(page.text, 'te-staff'), ['erin']);
      assert.match(
        page.text,
        /<td data-label="Staff">frank<\/td>.*new phone, re-activation pending.*<td data-label="Status">active<\/td>/s,
      );
      assert.equal(isChecked(page.text, 'failmode-closed'), true);
      assert.equal(isChecked(page.text, 'failmode-open'), false);
      assert.match(page.text, /id="challenge-limit" class="narrow" value="20"/);
      assert.equal(isChecked(page.text, 'te-policy-monitor'), true);
      assert.equal(isChecked(page.text, 'te-activation-test-group'), true);
      assert.match(page.text, /id="duo-client-id" value="DIACMEDEMO0000000001"/);
      assert.match(page.text, /id="admin-integration-key" value="DIACMEADMINDEMO00001"/);
      assert.doesNotMatch(page.text, /EMULATOR-ONLY/, 'no client or Admin API secret, only that it is set');
      assert.equal((page.text.match(/<span class="secret-state set">set<\/span>/g) ?? []).length, 2);
      assert.match(page.text, /Carol Support.*not asked/s);
      // A policy given as an object cannot be written: the form is shown, disabled.
      assert.match(page.text, /<fieldset id="settings-fields" disabled>/);
      assert.match(page.text, /Read-only: this portal was given its policy as an object/);
    });

    it('escapes every text it shows', async () => {
      const xss = createApp({
        policy: examplePolicy(emulator.apiHost),
        duoTls: { ca: emulator.ca },
        sessionSecret: SECRET,
        logger: capturingLogger().logger,
        staff: [
          {
            username: 'mallory',
            tenant: 'globex',
            roles: ['<b>r</b>'],
            name: '<img src=x onerror=alert(1)>',
            password: PASSWORD,
          },
        ],
      });
      opened.push(xss);
      const agent = request.agent(xss);
      const failed = await agent
        .post('/login')
        .type('form')
        .send({ tenant: 'globex', username: '"><script>alert(1)</script>', password: 'x' })
        .expect(401);
      assert.doesNotMatch(failed.text, /<script>alert/);
      assert.match(failed.text, /&quot;&gt;&lt;script&gt;/);
      await signIn(agent, 'globex', 'mallory').expect(303);
      const page = await agent.get('/').expect(200);
      assert.doesNotMatch(page.text, /<img src=x|<b>r<\/b>/);
      assert.match(page.text, /&lt;img src=x onerror=alert\(1\)&gt;/);
    });
  });

  describe('MFA Settings follows the policy file', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'portal-policy-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    async function waitFor(agent: Agent, pattern: RegExp): Promise<string> {
      const deadline = Date.now() + 8000;
      for (;;) {
        const page = await agent.get('/admin/mfa-settings').expect(200);
        if (pattern.test(page.text)) return page.text;
        if (Date.now() > deadline)
          assert.fail(`the page never matched ${pattern}:\n${page.text.slice(0, 2000)}`);
        await new Promise((done) => setTimeout(done, 100));
      }
    }

    it('shows an edit of the JSON file at the next request (hot reload), and a refused edit', async () => {
      const file = join(dir, 'duo-mfa.json');
      const policy = examplePolicy(emulator.apiHost);
      writeFileSync(file, JSON.stringify(policy, null, 2));
      const watched = open({ policy: file });
      const gina = request.agent(watched);
      await signIn(gina, 'globex', 'gina').expect(303);
      const before = await gina.get('/admin/mfa-settings').expect(200);
      assert.equal(isChecked(before.text, 'failmode-closed'), true);
      assert.match(before.text, /Saving writes these settings to <code>duo-mfa\.json<\/code>/);
      assert.match(before.text, /<fieldset id="settings-fields">/, 'editable');
      const revisionBefore = (await gina.get('/admin/mfa-settings/revision').expect(200)).body.revision;

      policy.tenants.globex.failmode = 'open';
      policy.tenants.globex.mfa.staffExcluded = ['front-desk'];
      writeFileSync(file, JSON.stringify(policy, null, 2));
      const after = await waitFor(gina, /id="failmode-open" value="open" checked/);
      assert.deepEqual(chipsIn(after, 'staff-excluded'), ['front-desk']);
      // The open page learns it from its revision, which follows the policy in force (reloaded just after).
      const deadline = Date.now() + 8000;
      let revisionAfter = revisionBefore;
      while (revisionAfter === revisionBefore && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, 100));
        revisionAfter = (await gina.get('/admin/mfa-settings/revision').expect(200)).body.revision;
      }
      assert.notEqual(revisionAfter, revisionBefore);

      writeFileSync(file, '{ "tenants": { "globex": { "mfa": { "enabld": true } } } }');
      const refused = await waitFor(gina, /id="policy-refused"/);
      assert.match(refused, /The policy file <code>duo-mfa\.json<\/code> is not valid, so it was not loaded/);
      assert.match(
        refused,
        /<li><code>tenants\.globex\.mfa\.enabld<\/code>: unknown key — did you mean &quot;enabled&quot;\?<\/li>/,
      );
      assert.equal(isChecked(refused, 'failmode-open'), true, 'the last good policy stays in force');
    });

    it('clears the banner as soon as the file on disk is valid again, even with exactly the content in force', async () => {
      const file = join(dir, 'duo-mfa.json');
      const inForce = JSON.stringify(examplePolicy(emulator.apiHost), null, 2);
      writeFileSync(file, inForce);
      const watched = open({ policy: file });
      const gina = request.agent(watched);
      await signIn(gina, 'globex', 'gina').expect(303);
      const revision = async () => (await gina.get('/admin/mfa-settings/revision').expect(200)).body.revision;
      const clean = await revision();
      assert.match(clean, /^[0-9a-f]+:$/);
      const noBanner = /^(?![\s\S]*id="policy-refused")/;

      writeFileSync(file, '{ broken');
      const broken = await waitFor(gina, /id="policy-refused"/);
      assert.match(
        broken,
        /<li>line 1, column 3: expected a property name in double quotes but found &quot;b&quot; \(not valid JSON\)<\/li>/,
      );
      assert.doesNotMatch(broken, /\$:|<code>\$<\/code>/, 'no JSON-path jargon for the whole file');
      assert.match(broken, /since \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC/);
      assert.notEqual(await revision(), clean, 'the open page reloads to show the banner');

      writeFileSync(file, inForce); // exactly what is in force: the middleware has nothing to reload
      const restored = await waitFor(gina, noBanner);
      assert.equal(isChecked(restored, 'failmode-closed'), true);
      assert.equal(await revision(), clean, 'the open page reloads once more, without the banner');

      rmSync(file);
      const missing = await waitFor(gina, /id="policy-refused"/);
      assert.match(missing, /<li>the file does not exist<\/li>/);
      writeFileSync(file, inForce);
      await waitFor(gina, noBanner);
    });
  });

  describe('favicon, dates and Admin Tools', () => {
    it('serves /favicon.ico before and after sign-in (no 401 or 404 in the browser console), linked from every page', async () => {
      const signedOut = await request(portal).get('/favicon.ico').expect(200);
      assert.equal(signedOut.headers['content-type'], 'image/x-icon');
      assert.deepEqual([...(signedOut.body as Buffer).subarray(0, 4)], [0, 0, 1, 0], 'an ICO file');
      const agent = request.agent(portal);
      await signIn(agent, 'acme', 'alice').expect(303); // password done, Duo not yet: the favicon is not gated
      await agent.get('/favicon.ico').expect(200).expect('content-type', 'image/x-icon');
      const login = await request(portal).get('/login').expect(200);
      assert.match(login.text, /<link rel="icon" href="\/favicon\.ico"/);
    });

    it('writes dates for people as "30 Jun 2030, 00:00 UTC", in the bypass list and in the policy\'s explanations', async () => {
      const dated = open({
        policy: examplePolicy(emulator.apiHost, (policy) => {
          policy.tenants.acme.mfa.temporaryBypass[0].until = '2030-06-30T00:00:00Z';
        }),
      });
      const frank = request.agent(dated);
      await signIn(frank, 'acme', 'frank').expect(303);
      const dashboard = await frank.get('/').expect(200);
      assert.match(dashboard.text, /has a temporary bypass until 30 Jun 2030, 00:00 UTC/);

      const alice = request.agent(dated);
      await signIn(alice, 'acme', 'alice').expect(303);
      const toDuo = await alice.get('/admin/mfa-settings').set('Accept', 'text/html').expect(303);
      const callback = await followAuthorize(emulator, toDuo.headers.location!);
      await alice
        .get(callback.pathname + callback.search)
        .set('Accept', 'text/html')
        .expect(303);
      const settings = await alice.get('/admin/mfa-settings').expect(200);
      assert.match(settings.text, /<td data-label="Until">30 Jun 2030, 00:00 UTC<\/td>/);
      assert.match(settings.text, /Frank Finance.*until 30 Jun 2030, 00:00 UTC/s);
      const visible = settings.text.replace(/<[^>]*>/g, ' ');
      assert.doesNotMatch(visible, /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/, 'no ISO timestamp a person reads');
      assert.match(visible, /loaded \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC/);
    });

    it('links Admin Tools in the menu for admins: a page listing the tools, MFA Settings among them', async () => {
      const gina = request.agent(portal);
      await signIn(gina, 'globex', 'gina').expect(303);
      const dashboard = await gina.get('/').expect(200);
      assert.match(dashboard.text, /<a href="\/admin" id="nav-admin">Admin Tools<\/a>/);
      const tools = await gina.get('/admin').expect(200);
      assert.match(tools.text, /data-page="admin-tools"/);
      assert.match(tools.text, /<a href="\/admin" id="nav-admin" aria-current="page">/);
      assert.match(tools.text, /<a href="\/admin\/mfa-settings" id="tool-mfa-settings">MFA Settings<\/a>/);
      const settings = await gina.get('/admin/mfa-settings').expect(200);
      assert.match(settings.text, /<a href="\/admin" id="crumb-admin">Admin Tools<\/a> › MFA Settings/);

      const kiosk = request.agent(portal);
      await signIn(kiosk, 'acme', 'kiosk-1').expect(303);
      assert.doesNotMatch((await kiosk.get('/').expect(200)).text, /nav-admin/);
      const refused = await kiosk.get('/admin').set('Accept', 'text/html').expect(403);
      assert.match(refused.text, /Admin Tools are for administrators/);
      assert.match(refused.text, /<a class="button" href="\/">Back to the dashboard<\/a>/);
    });
  });

  describe("express-duo-mfa's failures, in the portal's layout", () => {
    const LEFTOVER_CALLBACK = `/duo/callback?state=${'A'.repeat(43)}&duo_code=x&duo_mfa_bounce=1`;

    it('shows the title, advice and code with the portal header, and Back to sign-in / Sign out while signed in', async () => {
      const agent = request.agent(portal);
      await signIn(agent, 'acme', 'kiosk-1').expect(303);
      const page = await agent.get(LEFTOVER_CALLBACK).set('Accept', 'text/html').expect(400);
      assert.match(page.headers['content-type']!, /text\/html/);
      assert.match(page.text, /data-page="error-400"/);
      assert.match(page.text, /<link rel="stylesheet" href="\/assets\/portal\.css">/);
      assert.match(page.text, /id="signed-in-as">Front-desk kiosk \(kiosk-1\)</);
      assert.doesNotMatch(page.text, /<nav/, 'no menu on a failure of the sign-in check');
      assert.match(page.text, /<h1 id="error-title">No sign-in is in progress<\/h1>/);
      assert.match(page.text, /belongs to another browser\. Please sign in again\./);
      assert.match(page.text, /<code id="error-code">ERR_DUO_NO_PENDING_LOGIN<\/code>/);
      assert.match(page.text, /<a class="button" id="error-retry-link" href="\/">Back to sign-in<\/a>/);
      assert.match(
        page.text,
        /<form method="post" action="\/logout"><button class="button secondary" id="error-sign-out"/,
      );
      assert.equal(page.headers['cache-control'], 'no-store');
      assert.match(page.headers['content-security-policy']!, /default-src 'none'/);
    });

    it('answers API clients with the JSON the middleware gives', async () => {
      const res = await request(portal).get(LEFTOVER_CALLBACK).set('Accept', 'application/json').expect(400);
      assert.deepEqual(res.body, {
        error: 'no_pending_login',
        code: 'ERR_DUO_NO_PENDING_LOGIN',
        message: 'No sign-in is in progress',
      });
    });

    it('S47 after Deny or Report fraud: the denied page (signed out, next step: sign in), then every page asks for the password', async () => {
      for (const [reason, words] of [
        ['user_mistake', /You denied the sign-in request on your phone\./],
        ['user_marked_fraud', /reported as fraudulent from your phone/],
      ] as const) {
        emulator.setUser('dana', { result: 'deny', reason });
        try {
          const agent = request.agent(portal);
          await signIn(agent, 'acme', 'dana').expect(303);
          const toDuo = await agent.get('/account/verification').set('Accept', 'text/html').expect(303);
          const callback = await followAuthorize(emulator, toDuo.headers.location!);
          const denied = await agent
            .get(callback.pathname + callback.search)
            .set('Accept', 'text/html')
            .expect(403);
          assert.match(denied.text, /<h1 id="error-title">Duo denied this sign-in<\/h1>/);
          assert.match(denied.text, words);
          assert.match(denied.text, /You have been signed out: sign in again to try once more\./);
          assert.match(denied.text, /ERR_DUO_DENIED/);
          assert.doesNotMatch(denied.text, /signed-in-as|Confidential/, 'the header shows no one signed in');
          assert.match(
            denied.text,
            /<a class="button" id="error-sign-in" href="\/login">Back to sign-in<\/a>/,
          );
          for (const path of ['/', '/account/verification', '/admin']) {
            const next = await agent.get(path).set('Accept', 'text/html').expect(303);
            assert.equal(next.headers.location, `/login?returnTo=${encodeURIComponent(path)}`);
          }
        } finally {
          emulator.setUser('dana');
        }
      }
    });

    it('says when to try again after too many Duo prompts (429, Retry-After), with Sign out as a way on', async () => {
      const limited = open({
        policy: examplePolicy(emulator.apiHost, (policy) => {
          policy.tenants.acme.challengeLimit = 1;
        }),
      });
      const agent = request.agent(limited);
      await signIn(agent, 'acme', 'alice').expect(303);
      await agent.get('/').set('Accept', 'text/html').expect(303); // the one prompt allowed
      await signIn(agent, 'acme', 'alice').expect(303); // a new sign-in: a new session, a new prompt
      const page = await agent.get('/').set('Accept', 'text/html').expect(429);
      assert.equal(page.headers['retry-after'], '900');
      assert.match(page.text, /<h1 id="error-title">Too many sign-in attempts<\/h1>/);
      assert.match(
        page.text,
        /Try again after \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC \(in 15 minutes\)\./,
      );
      assert.match(page.text, /ERR_DUO_CHALLENGE_LIMIT/);
      assert.match(page.text, /id="error-sign-out"/);
    });
  });

  describe('Trusted Endpoints demo users (as Duo documents it)', () => {
    it('erin on her unmanaged laptop is not trusted; ivan on an Ivanti-managed laptop and mia on her phone are, and MFA Settings says what vouched', async () => {
      const expected = {
        erin: { trust: 'not trusted', device: /Windows .*ERIN-HOME-PC/ },
        ivan: { trust: 'trusted', device: /Windows .*LAPTOP-ACME-042/ },
        mia: { trust: 'trusted', device: /iOS/ },
      };
      for (const [username, want] of Object.entries(expected)) {
        const agent = request.agent(portal);
        await signIn(agent, 'acme', username).expect(303);
        const toDuo = await agent.get('/account/verification').set('Accept', 'text/html').expect(303);
        const callback = await followAuthorize(emulator, toDuo.headers.location!);
        await agent
          .get(callback.pathname + callback.search)
          .set('Accept', 'text/html')
          .expect(303);
        const page = await agent.get('/account/verification').expect(200);
        assert.match(page.text, new RegExp(`id="device-trust">${want.trust}<`), username);
        assert.match(page.text, want.device, username);
      }
      const alice = request.agent(portal);
      await signIn(alice, 'acme', 'alice').expect(303);
      const toDuo = await alice.get('/admin/mfa-settings').set('Accept', 'text/html').expect(303);
      const callback = await followAuthorize(emulator, toDuo.headers.location!);
      await alice
        .get(callback.pathname + callback.search)
        .set('Accept', 'text/html')
        .expect(303);
      const settings = await alice.get('/admin/mfa-settings').expect(200);
      const rowOf = (pattern: RegExp) =>
        [...settings.text.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) => m[1]!).find((row) => pattern.test(row)) ??
        '';
      assert.match(rowOf(/LAPTOP-ACME-042/), /trust-trusted.*vouched for by Ivanti Neurons for MDM.*ivan/);
      assert.match(rowOf(/ERIN-HOME-PC/), /trust-not-trusted.*erin/);
      assert.doesNotMatch(rowOf(/ERIN-HOME-PC/), /vouched/);
      assert.match(
        rowOf(/<td data-label="Staff">mia<\/td>/),
        /iOS.*trust-trusted.*vouched for by Duo Mobile/,
      );
    });
  });

  describe('logout', () => {
    it('destroys the session and clears the cookie; the old cookie reaches nothing private', async () => {
      const agent = request.agent(portal);
      const login = await signIn(agent, 'acme', 'kiosk-1').expect(303);
      const cookie = sessionCookieOf(login)!;
      await agent.get('/').expect(200);
      const out = await agent.post('/logout').expect(303);
      assert.equal(out.headers.location, '/login?loggedOut=1');
      assert.match(
        String(out.headers['set-cookie']),
        new RegExp(`${SESSION_COOKIE}=;.*Expires=Thu, 01 Jan 1970`),
      );
      const page = await agent.get('/login?loggedOut=1').expect(200);
      assert.match(page.text, /You are signed out/);
      const replay = await request(portal)
        .get('/')
        .set('Cookie', cookie)
        .set('Accept', 'text/html')
        .expect(303);
      assert.equal(replay.headers.location, '/login?returnTo=%2F');
    });
  });

  describe('when the session store fails', () => {
    let redis: Redis;
    beforeEach(() => {
      // Nothing listens on port 1: every command fails at once (no offline queue), as when Redis is down.
      redis = new Redis({
        host: '127.0.0.1',
        port: 1,
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      redis.on('error', () => undefined);
    });
    afterEach(() => redis.disconnect());

    it('answers 503 pages, never a pass, when Redis is down', async () => {
      const broken = open({ redis });
      const login = await request(broken)
        .post('/login')
        .type('form')
        .set('Accept', 'text/html')
        .send({ tenant: 'acme', username: 'kiosk-1', password: PASSWORD })
        .expect(503);
      assert.match(login.text, /Temporarily unavailable/);
      assert.equal(login.headers['retry-after'], '30');

      // A browser that still holds a (validly signed) session cookie: loading the session fails → 503.
      const sid = 'abcdefghijklmnopqrstuvwxyz012345';
      const signature = createHmac('sha256', SECRET).update(sid).digest('base64').replace(/=+$/, '');
      const page = await request(broken)
        .get('/')
        .set('Cookie', `${SESSION_COOKIE}=${encodeURIComponent(`s:${sid}.${signature}`)}`)
        .set('Accept', 'text/html')
        .expect(503);
      assert.match(page.text, /cannot reach its session store/);
      assert.doesNotMatch(page.text, /private-data/);
    });
  });
});
