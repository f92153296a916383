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
        .get('/assets/mfa-settings.js')
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
      assert.match(page.text, /id="mfa-enabled">Off</);
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
      const chipsOf = (id: string) =>
        [
          ...(new RegExp(`id="${id}">(.*?)</td>`).exec(page.text)?.[1] ?? '').matchAll(
            /class="chip">([^<]*)</g,
          ),
        ].map((m) => m[1]);
      assert.match(page.text, /id="mfa-enabled">On</);
      assert.deepEqual(chipsOf('roles-included'), ['admin', 'finance']);
      assert.deepEqual(chipsOf('staff-included'), ['dana']);
      assert.deepEqual(chipsOf('staff-excluded'), ['kiosk-1']);
      assert.deepEqual(chipsOf('te-roles'), ['it']);
      assert.deepEqual(chipsOf('te-staff'), ['erin']);
      assert.match(page.text, /<td>frank<\/td>.*new phone, re-activation pending.*active/s);
      assert.match(page.text, /id="failmode"><code>closed<\/code>/);
      assert.match(page.text, /id="te-policy"><code>monitor<\/code>/);
      assert.match(page.text, /id="te-activation"><code>test-group<\/code>/);
      assert.match(page.text, /Carol Support.*not asked/s);
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
      assert.match(before.text, /id="failmode"><code>closed<\/code>/);
      assert.match(before.text, /loaded from <code>duo-mfa\.json<\/code>/);
      const revisionBefore = (await gina.get('/admin/mfa-settings/revision').expect(200)).body.revision;

      policy.tenants.globex.failmode = 'open';
      policy.tenants.globex.mfa.staffExcluded = ['front-desk'];
      writeFileSync(file, JSON.stringify(policy, null, 2));
      const after = await waitFor(gina, /id="failmode"><code>open<\/code>/);
      assert.match(after, /id="staff-excluded"><span class="chip">front-desk<\/span>/);
      const revisionAfter = (await gina.get('/admin/mfa-settings/revision').expect(200)).body.revision;
      assert.notEqual(revisionAfter, revisionBefore);

      writeFileSync(file, '{ "tenants": { "globex": { "mfa": { "enabld": true } } } }');
      const refused = await waitFor(gina, /id="policy-refused"/);
      assert.match(refused, /The last edit of the policy file was refused/);
      assert.match(refused, /id="failmode"><code>open<\/code>/, 'the last good policy stays in force');
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
