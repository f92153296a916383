// The cases an independent attack review found (S42–S47): cross-site starts, fail-open against device trust,
// soft logouts, Unicode look-alikes, a deny that ends the sign-in, and an approval lost to a failed save.

import assert from 'node:assert/strict';
import request from 'supertest';
import { startDuoEmulator } from '../../lib/emulator/index';
import { ALL_APPS, createTestApp, eventsOf, failingOnce, testPolicy, type TestApp } from '../helpers/app';
import {
  agentFor,
  beginMfa,
  completeMfa,
  continueToken,
  cookieOf,
  CROSS_SITE,
  duoAnswers,
  login,
  type Agent,
} from '../helpers/flow';
import { CALLBACK_ERRORS, DENY_REASONS, DEVICE_DENY_REASONS } from '../../lib/middleware/messages';

type Emulator = Awaited<ReturnType<typeof startDuoEmulator>>;

/** What a browser sends for `<img src="/duo/start?stepUp=1">` inside the app itself. */
const SAME_ORIGIN_IMAGE = {
  Accept: 'image/avif,image/webp,image/*,*/*;q=0.8',
  'Sec-Fetch-Site': 'same-origin',
  'Sec-Fetch-Mode': 'no-cors',
  'Sec-Fetch-Dest': 'image',
};

/** A same-site navigation that must go to Duo: the prompt URL, and the Set-Cookie of a rotated session id. */
async function startDuo(agent: Agent, path: string): Promise<{ authUrl: URL; setCookie: unknown }> {
  const res = await agent.get(path).set('Accept', 'text/html');
  assert.equal(res.status, 303, `expected a redirect to Duo for ${path}, got ${res.status}`);
  const authUrl = new URL(res.headers.location!);
  assert.equal(authUrl.pathname, '/oauth/v1/authorize');
  return { authUrl, setCookie: res.headers['set-cookie'] };
}

/** A claim inside the signed authorize request of Duo's prompt URL. */
function claimOf(authUrl: URL, claim: 'duo_uname' | 'state'): string {
  const request = authUrl.searchParams.get('request')!;
  return JSON.parse(Buffer.from(request.split('.')[1]!, 'base64url').toString())[claim] as string;
}

/** The `duo_uname` inside the signed authorize request of Duo's prompt URL. */
function duoUsernameOf(authUrl: URL): string {
  return claimOf(authUrl, 'duo_uname');
}

describe('hardening from the attack review (S42–S47)', () => {
  let emulator: Emulator;
  let t: TestApp;

  before(async () => {
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
  });
  after(async () => {
    await emulator.close();
  });
  beforeEach(() => {
    emulator.setFault(null);
    t = createTestApp({ emulator });
  });
  afterEach(() => t.close());

  async function signedIn(user = { username: 'alice', roles: ['admin'] }): Promise<Agent> {
    const agent = agentFor(t.app);
    await login(agent, user);
    return agent;
  }

  describe('S42 only a same-site top-level navigation starts Duo', () => {
    it('S42 six cross-site starts leave the challenge count at 0, and the victim’s own login still works', async () => {
      t.close();
      const policy = testPolicy(emulator.apiHost);
      policy.tenants.acme.challengeLimit = 5;
      t = createTestApp({ emulator, policy });
      const victim = await signedIn();
      for (let i = 0; i < 6; i++) {
        const res = await victim.get('/duo/start?stepUp=1').set(CROSS_SITE);
        assert.equal(res.status, 200, `attempt ${i}: ${res.status}`);
        assert.match(res.text, /<h1>Continue to Duo<\/h1>/);
        assert.match(res.text, /You came here from another site/);
        assert.equal(res.headers['set-cookie'], undefined, 'no session rotation');
      }
      assert.equal(eventsOf(t.events, 'mfa.started').length, 0);
      assert.equal(eventsOf(t.events, 'mfa.denied').length, 0);
      // Five own starts are still allowed: the first from this session, four from other sessions (any start in
      // this one within 4 minutes would go back to the prompt under way, counting nothing).
      await beginMfa(victim, '/private');
      for (let i = 1; i < 5; i++) await beginMfa(await signedIn(), `/private?own=${i}`);
      assert.equal(eventsOf(t.events, 'mfa.started').at(-1)?.challenge, 5);
    });

    it('S42 a cross-site navigation to a gated page gets the Continue page, not Duo', async () => {
      const agent = await signedIn();
      for (const site of ['cross-site', 'same-site']) {
        const res = await agent.get('/private').set({ ...CROSS_SITE, 'Sec-Fetch-Site': site });
        assert.equal(res.status, 200);
        assert.match(res.text, /id="duo-continue"/);
        assert.match(res.text, /<form method="post" action="\/duo\/start">/);
        // The button POSTs here and is answered with a 303 to the tenant's Duo, which browsers check against
        // form-action too (test/browser/pages.test.ts): that one origin is added, nothing else is loosened (S32).
        const csp = res.headers['content-security-policy']!;
        const usual = (await agent.get('/duo/callback').set('Accept', 'text/html')).headers[
          'content-security-policy'
        ]!;
        assert.equal(
          csp,
          usual.replace("form-action 'self'", `form-action 'self' https://${emulator.apiHost}`),
        );
      }
      assert.equal(eventsOf(t.events, 'mfa.started').length, 0);
    });

    it('S42 HEAD, an image, a fetch and a POST without the page’s token on the start route start nothing', async () => {
      const agent = await signedIn();
      const authorized = emulator.calls.authorize;
      const head = await agent.head('/duo/start?stepUp=1').set('Accept', 'text/html');
      assert.equal(head.status, 401);
      const image = await agent.get('/duo/start?stepUp=1').set(SAME_ORIGIN_IMAGE);
      assert.equal(image.status, 401);
      assert.equal(image.body.error, 'mfa_required');
      const fetched = await agent
        .get('/duo/start')
        .set({ Accept: 'text/html', 'Sec-Fetch-Mode': 'cors', 'Sec-Fetch-Dest': 'empty' });
      assert.equal(fetched.status, 401);
      const post = await agent.post('/duo/start').type('form').send({ token: 'guess' });
      assert.equal(post.status, 403);
      assert.match(post.text, /ERR_DUO_START_REFUSED/);
      const put = await agent.put('/duo/start');
      assert.equal(put.status, 405);
      assert.equal(put.headers.allow, 'GET, POST');
      assert.equal(eventsOf(t.events, 'mfa.started').length, 0);
      assert.equal(emulator.calls.authorize, authorized, 'nothing went to Duo either');
    });

    it('S42 the Continue button (a same-origin POST with the page’s token) starts Duo once', async () => {
      const agent = await signedIn();
      const token = await continueToken(agent, '/private?from=mail');
      const foreign = await agent
        .post('/duo/start')
        .set({ 'Sec-Fetch-Site': 'cross-site', Origin: 'https://evil.example' })
        .type('form')
        .send({ token });
      assert.equal(foreign.status, 403, 'a POST from another site is refused even with the token');
      const fresh = await continueToken(agent, '/private?from=mail');
      const go = await agent
        .post('/duo/start')
        .set({ 'Sec-Fetch-Site': 'same-origin', Origin: 'null' })
        .type('form')
        .send({ token: fresh, returnTo: '//evil.example' });
      assert.equal(go.status, 303);
      assert.equal(new URL(go.headers.location!).pathname, '/oauth/v1/authorize');
      const back = await agent.get(await duoAnswers(emulator, new URL(go.headers.location!))).expect(303);
      assert.equal(back.headers.location, '/private?from=mail', 'lands where the session said, not the form');
      const replay = await agent.post('/duo/start').type('form').send({ token: fresh });
      assert.equal(replay.status, 403, 'a token is good for one start');
    });

    it('S42 the same start again reuses the prompt under way: one challenge, one rotation', async () => {
      const agent = await signedIn();
      const signedInCookie = cookieOf(agent);
      const first = await startDuo(agent, '/private');
      assert.ok(first.setCookie, 'the first start rotates the session id (S1)');
      const rotated = cookieOf(agent);
      assert.notEqual(rotated, signedInCookie);
      const second = await startDuo(agent, '/private');
      assert.equal(second.authUrl.toString(), first.authUrl.toString());
      assert.equal(second.setCookie, undefined, 'no second rotation');
      assert.equal(cookieOf(agent), rotated);
      assert.equal(eventsOf(t.events, 'mfa.started').length, 1);
    });

    it('S42 a start for another page within 4 minutes reuses the prompt under way: no second challenge, no rotation, lands on the first page', async () => {
      t.close();
      let now = Date.now();
      t = createTestApp({ emulator, options: { now: () => now } });
      const agent = await signedIn();
      const authorized = emulator.calls.authorize;
      const first = await startDuo(agent, '/private?first');
      const rotated = cookieOf(agent);
      now += 60_000;
      for (const second of [
        await startDuo(agent, '/api/data'),
        await startDuo(agent, '/duo/start?returnTo=%2Fprivate%3Fsecond'),
      ]) {
        assert.equal(second.authUrl.toString(), first.authUrl.toString());
        assert.equal(second.setCookie, undefined, 'no second rotation');
        assert.equal(cookieOf(agent), rotated);
      }
      assert.equal(emulator.calls.authorize, authorized, 'nothing more sent to Duo');
      assert.deepEqual(
        eventsOf(t.events, 'mfa.started').map((e) => e.challenge),
        [1],
      );
      // The reuse counted nothing in the store: past the 4 minutes, the next start is the second challenge.
      now += 4 * 60_000;
      const later = await startDuo(agent, '/private?later');
      assert.notEqual(later.authUrl.toString(), first.authUrl.toString());
      assert.ok(later.setCookie, 'a new start rotates again');
      assert.deepEqual(
        eventsOf(t.events, 'mfa.started').map((e) => e.challenge),
        [1, 2],
      );
      // The reused prompt lands where its first start asked (docs/security.md), never on a page of its own.
      const back = await agent.get(await duoAnswers(emulator, first.authUrl)).expect(303);
      assert.equal(back.headers.location, '/private?first');
    });

    it('S42 a step-up after a plain start under way starts its own (and a plain start reuses a step-up)', async () => {
      t.close();
      let now = Date.now();
      t = createTestApp({ emulator, options: { now: () => (now += 1000) } });
      const agent = await signedIn();
      const plain = await startDuo(agent, '/private');
      const stepUp = await startDuo(agent, '/duo/start?stepUp=1&fresh=0&returnTo=%2Fadmin%2Freport');
      assert.notEqual(
        stepUp.authUrl.toString(),
        plain.authUrl.toString(),
        'a step-up never reuses a plain login',
      );
      assert.ok(stepUp.setCookie, 'the step-up rotates the session id');
      const fresh = await startDuo(agent, '/duo/start?stepUp=1&returnTo=%2Fadmin%2Fpayout');
      assert.notEqual(fresh.authUrl.toString(), stepUp.authUrl.toString(), 'a live factor is asked for anew');
      assert.deepEqual(
        eventsOf(t.events, 'mfa.started').map((e) => [e.stepUp, e.challenge]),
        [
          [false, 1],
          [true, 2],
          [true, 3],
        ],
      );
      // Each step-up again reuses its own; a plain start reuses the youngest login that asks no live factor.
      const stepUpAgain = await startDuo(agent, '/duo/start?stepUp=1&fresh=0&returnTo=%2Fprivate');
      assert.equal(stepUpAgain.authUrl.toString(), stepUp.authUrl.toString());
      const freshAgain = await startDuo(agent, '/duo/start?stepUp=1&returnTo=%2Fprivate');
      assert.equal(freshAgain.authUrl.toString(), fresh.authUrl.toString());
      const plainAgain = await startDuo(agent, '/private?again');
      assert.equal(plainAgain.authUrl.toString(), stepUp.authUrl.toString());
      assert.equal(plainAgain.setCookie, undefined);
      assert.equal(eventsOf(t.events, 'mfa.started').length, 3);
    });
  });

  it('S43 fail-open never applies to users a block trusted-endpoints policy covers', async () => {
    t.close();
    const policy = testPolicy(emulator.apiHost);
    policy.tenants.globex.trustedEndpoints = { policy: 'block', activation: 'all' };
    t = createTestApp({ emulator, policy });
    emulator.setFault({ health: 'down' });
    const agent = await signedIn({ username: 'gina', tenant: 'globex' } as never);
    const res = await agent.get('/private').set('Accept', 'text/html').expect(503);
    assert.match(res.text, /ERR_DUO_UNAVAILABLE/);
    assert.match(res.text, /only lets trusted devices in/);
    assert.equal(eventsOf(t.events, 'mfa.failopen').length, 0);
    assert.equal(eventsOf(t.events, 'mfa.failed').at(-1)?.closedBy, 'trusted_endpoints_block');
    await agent.get('/api/data').expect(401);
  });

  it('S26 a fail-open pass reached through the start route lands on the page asked for', async () => {
    emulator.setFault({ health: 'down' });
    const agent = await signedIn({ username: 'gina', tenant: 'globex' } as never); // globex: failmode open
    const res = await agent.get('/duo/start?returnTo=%2Fprivate%3Fy%3D1').set('Accept', 'text/html');
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/private?y=1');
    assert.equal(eventsOf(t.events, 'mfa.failopen').length, 1);
    await agent.get('/private?y=1').set('Accept', 'text/html').expect(200);
  });

  for (const [how, signOut] of [
    ['a POST behind the gate', (agent: Agent) => agent.post('/soft-logout')],
    ['a GET link behind the gate', (agent: Agent) => agent.get('/soft-logout').set('Accept', 'text/html')],
    ['a POST on a path duoMfa ignores', (agent: Agent) => agent.post('/public/soft-logout')],
  ] as const) {
    it(`S45 a soft logout (the host deletes its user) by ${how} drops the verification: the next login goes to Duo`, async () => {
      const agent = await signedIn();
      await completeMfa(agent, emulator);
      await agent.get('/private').set('Accept', 'text/html').expect(200);
      await signOut(agent).expect(204);
      // The host's login is mounted before duoMfa and keeps the session: only the sign-out could drop it.
      await login(agent, { username: 'ALICE', roles: ['admin'] });
      const res = await agent.get('/private').set('Accept', 'text/html');
      assert.equal(res.status, 303);
      assert.equal(new URL(res.headers.location!).pathname, '/oauth/v1/authorize');
      await agent.get('/api/data').expect(401);
    });
  }

  it('S45 a verification left by an earlier user is dropped when the next user on that browser signs out', async () => {
    const agent = await signedIn();
    await completeMfa(agent, emulator);
    // kiosk-1 (excluded: never asked) signs in over the same session, as a host whose login keeps the session does,
    // then signs out by deleting the user.
    await login(agent, { username: 'kiosk-1' });
    await agent.get('/private').set('Accept', 'text/html').expect(200);
    await agent.post('/soft-logout').expect(204);
    await login(agent, { username: 'alice', roles: ['admin'] });
    const res = await agent.get('/private').set('Accept', 'text/html');
    assert.equal(res.status, 303);
    assert.equal(new URL(res.headers.location!).pathname, '/oauth/v1/authorize');
  });

  describe('S46 Unicode look-alikes', () => {
    it('S46 ａｌｉｃｅ and alice are one Duo user and share one challenge limit', async () => {
      t.close();
      const policy = testPolicy(emulator.apiHost);
      policy.tenants.acme.challengeLimit = 2;
      t = createTestApp({ emulator, policy });
      const fullwidth = await signedIn({ username: 'ａｌｉｃｅ', roles: ['admin'] });
      assert.equal(duoUsernameOf(await beginMfa(fullwidth, '/private?a')), 'alice');
      const plain = await signedIn();
      assert.equal(duoUsernameOf(await beginMfa(plain, '/private?b')), 'alice');
      // From another session: this one would go back to its prompt under way (S42), counting nothing.
      const third = await (await signedIn()).get('/private?c').set('Accept', 'text/html');
      assert.equal(third.status, 429);
      assert.deepEqual(
        eventsOf(t.events, 'mfa.started').map((e) => e.username),
        ['alice', 'alice'],
      );
    });

    it('S46 a username with an invisible character is refused, never sent to Duo, never failing open', async () => {
      const health = emulator.calls.health;
      for (const [username, tenant] of [
        ['alice\u200b', 'acme'], // zero-width space (Cf)
        ['gina\u2060', 'globex'], // word joiner (Cf)
        ['alice\u034f', 'acme'], // combining grapheme joiner (default-ignorable, not Cf)
        ['alice\u3164', 'acme'], // Hangul filler: NFKC makes it U+1160, default-ignorable
        ['alice\ufe0f', 'acme'], // variation selector
      ] as const) {
        const agent = await signedIn({ username, tenant } as never);
        const page = await agent.get('/private').set('Accept', 'text/html');
        assert.equal(page.status, 400);
        assert.match(page.text, /ERR_DUO_USERNAME_INVALID/);
        const api = await agent.get('/api/data');
        assert.equal(api.status, 400);
        assert.equal(api.body.code, 'ERR_DUO_USERNAME_INVALID');
      }
      emulator.setFault({ health: 'down' });
      const agent = await signedIn({ username: 'gina\u200d', tenant: 'globex' } as never);
      await agent.get('/private').set('Accept', 'text/html').expect(400);
      assert.equal(emulator.calls.health, health, 'Duo was never asked');
      assert.equal(eventsOf(t.events, 'mfa.failopen').length, 0);
    });
  });

  describe('S47 a Duo deny ends the sign-in', () => {
    it('S47 after a deny the host sees a signed-out session: no Duo redirect, no pass', async () => {
      emulator.setUser('dana', { result: 'deny', reason: 'user_mistake' });
      const agent = await signedIn({ username: 'dana', roles: [] });
      const denied = await completeMfa(agent, emulator);
      assert.equal(denied.status, 403);
      assert.match(denied.text, /You have been signed out/);
      const event = eventsOf(t.events, 'mfa.denied').at(-1);
      assert.equal(event?.reason, 'denied');
      assert.equal(event?.duoReason, 'user_mistake');
      const home = await agent.get('/private').set('Accept', 'text/html');
      assert.equal(home.status, 401, 'the host’s own login check answers: nobody is signed in');
      assert.deepEqual(home.body, { error: 'login_required' });
    });

    it('S47 Duo’s access_denied redirect signs the person out too', async () => {
      emulator.setUser('dana', { result: 'error' });
      const agent = await signedIn({ username: 'dana', roles: [] });
      const res = await completeMfa(agent, emulator);
      assert.equal(res.status, 403);
      assert.match(res.text, /ERR_DUO_CALLBACK_ERROR/);
      await agent.get('/private').set('Accept', 'text/html').expect(401);
    });

    it('S17 a Duo error named like an object’s property gets the generic words, never an object’s text', async () => {
      for (const error of ['constructor', '__proto__']) {
        const agent = await signedIn();
        const state = claimOf(await beginMfa(agent), 'state');
        const res = await agent.get(`/duo/callback?state=${state}&error=${error}`).set('Accept', 'text/html');
        assert.equal(res.status, 403, error);
        assert.match(res.text, /Duo reported an error\./, error);
        assert.doesNotMatch(res.text, /native code|\[object Object\]/, error);
      }
      // Duo's deny reasons are looked up the same way: no word for a name of Object's prototype.
      for (const table of [CALLBACK_ERRORS, DENY_REASONS, DEVICE_DENY_REASONS]) {
        for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
          assert.equal(table[name], undefined, name);
        }
        assert.ok(Object.keys(table).length > 0);
      }
    });
  });

  it('an approval lost to a failed session save has its own reason, at error level, and says to sign in again', async () => {
    t.close();
    const saves = failingOnce();
    t = createTestApp({ emulator, wrapStore: saves.wrapStore });
    const agent = await signedIn();
    const callback = await duoAnswers(emulator, await beginMfa(agent));
    saves.armed = true;
    const res = await agent.get(callback).set('Accept', 'text/html');
    assert.equal(res.status, 503);
    assert.match(
      res.text,
      /Duo approved your sign-in, but this site could not save it\. Please sign in again\./,
    );
    assert.equal(eventsOf(t.events, 'mfa.failed').at(-1)?.reason, 'session_save_failed');
    const line = t.logs.find((l) => l.includes('"type":"mfa.failed"') && l.includes('session_save_failed'));
    assert.match(line ?? '', /"level":50/, 'logged at error level');
  });

  it('never starts Duo for a request without a session cookie sent cross-site (no user, nothing to start)', async () => {
    const res = await request(t.app).get('/duo/start?stepUp=1').set(CROSS_SITE);
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/');
  });
});
