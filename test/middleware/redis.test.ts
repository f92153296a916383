// The middleware with a real Redis: connect-redis + ioredis sessions, pending logins taken with GETDEL (in a
// script), two app instances sharing one Redis.

import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { startDuoEmulator } from '../../lib/emulator/index';
import {
  ALL_APPS,
  createTestApp,
  eventsOf,
  sessionCookie,
  sessionIdOf,
  testPolicy,
  type TestApp,
} from '../helpers/app';
import {
  agentFor,
  beginMfa,
  challengesAcrossAWindowEnd,
  completeMfa,
  cookieOf,
  duoAnswers,
  login,
} from '../helpers/flow';
import { deleteKeys, redisOrSkip, uniquePrefix } from '../helpers/redis';

type Emulator = Awaited<ReturnType<typeof startDuoEmulator>>;

describe('duoMfa middleware with Redis (connect-redis + ioredis)', function () {
  let emulator: Emulator;
  let redis: Redis;
  let prefix: string;
  const apps: TestApp[] = [];

  before(async function () {
    redis = await redisOrSkip(this);
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
  });
  after(async () => {
    await emulator?.close();
    if (redis) {
      await deleteKeys(redis, `test-sess-${process.pid}:*`);
      redis.disconnect();
    }
  });
  beforeEach(() => {
    emulator?.setFault(null);
    prefix = uniquePrefix('mw');
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) app.close();
    if (redis) await deleteKeys(redis, `${prefix}*`);
  });

  function instance(policy?: Record<string, unknown>, now?: () => number): TestApp {
    const t = createTestApp({
      emulator,
      redis,
      sessionRedis: redis,
      ...(policy ? { policy } : {}),
      options: { redisPrefix: prefix, ...(now ? { now } : {}) },
    });
    apps.push(t);
    return t;
  }

  it('completes a login and keeps the pending login in Redis only until the callback takes it', async () => {
    const t = instance();
    const agent = agentFor(t.app);
    await login(agent, { username: 'alice', roles: ['admin'] });
    const authUrl = await beginMfa(agent);
    assert.equal((await redis.keys(`${prefix}pending:*`)).length, 1, 'one pending login stored');
    const callback = await agent.get(await duoAnswers(emulator, authUrl)).expect(303);
    assert.equal(callback.headers.location, '/private');
    assert.equal((await redis.keys(`${prefix}pending:*`)).length, 0, 'the pending login was taken');
    await agent.get('/api/data').expect(200);
    const stored = await redis.get(`${prefix}pending:x`);
    assert.equal(stored, null);
  });

  it('S18 a repeated callback lands where the sign-in did, from a landing Redis keeps (with a TTL) instead of the session', async () => {
    const t = instance();
    const agent = agentFor(t.app);
    await login(agent, { username: 'alice', roles: ['admin'] });
    const callback = await duoAnswers(emulator, await beginMfa(agent, '/private?from=report'));
    assert.equal((await agent.get(callback).expect(303)).headers.location, '/private?from=report');
    const landings = await redis.keys(`${prefix}landed:*`);
    assert.equal(landings.length, 1, 'one landing stored');
    assert.match(
      landings[0]!,
      /^[^{]*landed:\{[^}]+\}:/,
      'under the owner’s hash tag, beside the pending login',
    );
    assert.equal(await redis.get(landings[0]!), '/private?from=report');
    const ttl = await redis.pttl(landings[0]!);
    assert.ok(ttl > 9 * 60_000 && ttl <= 10 * 60_000, `landing TTL ${ttl} ms`);
    const stored = await agent.get('/public/session').expect(200);
    assert.deepEqual(Object.keys(stored.body.duoMfa), ['verified']);
    const tokens = emulator.calls.token;
    const again = await agent.get(callback).set('Accept', 'text/html').expect(303);
    assert.equal(again.headers.location, '/private?from=report');
    assert.equal(emulator.calls.token, tokens, 'no second exchange');
  });

  it('S1 MFA start rotates the session id, keeps host data, and the old id is gone from the store', async () => {
    const t = instance();
    const login1 = await request(t.app)
      .post('/login')
      .type('form')
      .send({ username: 'alice', roles: 'admin' })
      .expect(204);
    const before = sessionCookie(login1.headers['set-cookie'])!;
    const start = await request(t.app)
      .get('/private')
      .set('Accept', 'text/html')
      .set('Cookie', `connect.sid=${before}`)
      .expect(303);
    const after = sessionCookie(start.headers['set-cookie'])!;
    assert.ok(after && after !== before, 'a new session cookie was issued');
    assert.equal(
      await redis.exists(`test-sess-${process.pid}:${sessionIdOf(before)}`),
      0,
      'old session entry destroyed',
    );
    const fresh = JSON.parse((await redis.get(`test-sess-${process.pid}:${sessionIdOf(after)}`))!);
    assert.deepEqual(fresh.cart, ['host-data-kept']);
    assert.equal(fresh.user.username, 'alice');
    assert.equal(Object.keys(fresh.duoMfa.pending).length, 1);
  });

  it('S2 MFA success rotates the session id again and the pre-MFA cookie gives no access', async () => {
    const t = instance();
    const agent = agentFor(t.app);
    await login(agent, { username: 'alice', roles: ['admin'] });
    const authUrl = await beginMfa(agent);
    const pendingCookie = cookieOf(agent);
    const done = await agent.get(await duoAnswers(emulator, authUrl)).expect(303);
    const verifiedCookie = sessionCookie(done.headers['set-cookie'])!;
    assert.ok(verifiedCookie && verifiedCookie !== pendingCookie);
    assert.equal(await redis.exists(`test-sess-${process.pid}:${sessionIdOf(pendingCookie)}`), 0);
    const replay = await request(t.app)
      .get('/api/data')
      .set('Cookie', `connect.sid=${pendingCookie}`)
      .expect(401);
    assert.deepEqual(replay.body, { error: 'login_required' });
    await request(t.app).get('/api/data').set('Cookie', `connect.sid=${verifiedCookie}`).expect(200);
  });

  it('S37 starts on instance A and completes on instance B sharing Redis', async () => {
    const a = instance();
    const b = instance();
    const agentA = agentFor(a.app);
    await login(agentA, { username: 'dana' });
    const authUrl = await beginMfa(agentA);
    const cookie = cookieOf(agentA);
    const done = await request(b.app)
      .get(await duoAnswers(emulator, authUrl))
      .set('Cookie', `connect.sid=${cookie}`)
      .expect(303);
    const verified = sessionCookie(done.headers['set-cookie'])!;
    await request(a.app).get('/api/data').set('Cookie', `connect.sid=${verified}`).expect(200);
    assert.equal(eventsOf(b.events, 'mfa.succeeded').length, 1);
  });

  it('S14 two concurrent callbacks with the same state on two instances exchange the code exactly once', async () => {
    const a = instance();
    const b = instance();
    const agentA = agentFor(a.app);
    await login(agentA, { username: 'alice', roles: ['admin'] });
    const authUrl = await beginMfa(agentA);
    const cookie = cookieOf(agentA);
    const callback = await duoAnswers(emulator, authUrl);
    const tokensBefore = emulator.calls.token;
    const results = await Promise.all([
      request(a.app).get(callback).set('Cookie', `connect.sid=${cookie}`).set('Accept', 'text/html'),
      request(b.app).get(callback).set('Cookie', `connect.sid=${cookie}`).set('Accept', 'text/html'),
      request(a.app).get(callback).set('Cookie', `connect.sid=${cookie}`).set('Accept', 'text/html'),
    ]);
    assert.equal(emulator.calls.token - tokensBefore, 1, 'exactly one token exchange');
    const succeeded = [...eventsOf(a.events, 'mfa.succeeded'), ...eventsOf(b.events, 'mfa.succeeded')];
    assert.equal(succeeded.length, 1);
    for (const res of results) assert.ok([303, 400].includes(res.status), `unexpected ${res.status}`);
  });

  it('S42 never goes back to a prompt whose pending login Redis lost: a fresh start, and Duo’s approval then verifies (no loop)', async () => {
    const t = instance();
    const agent = agentFor(t.app);
    await login(agent, { username: 'alice', roles: ['admin'] });
    const first = await beginMfa(agent);
    await deleteKeys(redis, `${prefix}pending:*`); // Redis restarted without persistence, or evicted the key
    const again = await beginMfa(agent, '/private?again');
    assert.notEqual(again.toString(), first.toString(), 'a new prompt, not the one whose login is gone');
    assert.equal(eventsOf(t.events, 'mfa.started').length, 2);
    const callback = await agent.get(await duoAnswers(emulator, again)).expect(303);
    assert.equal(callback.headers.location, '/private?again');
    await agent.get('/api/data').expect(200);
  });

  it('S41 counts Duo challenges in Redis across instances and answers 429 beyond the limit', async () => {
    const policy = testPolicy(emulator.apiHost);
    policy.tenants.acme.challengeLimit = 2;
    const a = instance(policy);
    const b = instance(policy);
    const agentA = agentFor(a.app);
    await login(agentA, { username: 'alice', roles: ['admin'] });
    const first = await beginMfa(agentA);
    // The same session on the other instance goes back to the prompt under way (S42): nothing counted.
    const again = await request(b.app)
      .get('/private?again')
      .set('Accept', 'text/html')
      .set('Cookie', `connect.sid=${cookieOf(agentA)}`);
    assert.equal(again.status, 303);
    assert.equal(again.headers.location, first.toString());
    // Another browser of the same user, on the other instance: the second challenge.
    const agentB = agentFor(b.app);
    await login(agentB, { username: 'alice', roles: ['admin'] });
    await beginMfa(agentB, '/private?second');
    assert.equal(eventsOf(b.events, 'mfa.started')[0]?.challenge, 2);
    // A third browser, back on the first instance: over the limit.
    const agentC = agentFor(a.app);
    await login(agentC, { username: 'alice', roles: ['admin'] });
    const third = await agentC.get('/private?third').set('Accept', 'text/html');
    assert.equal(third.status, 429);
    assert.match(third.text, /ERR_DUO_CHALLENGE_LIMIT/);
    assert.equal(eventsOf(a.events, 'mfa.denied')[0]?.reason, 'challenge_limit');
  });

  it('S41 the window slides in Redis too: never more than challengeLimit challenges within any 15 minutes', async () => {
    const policy = testPolicy(emulator.apiHost);
    policy.tenants.acme.challengeLimit = 3;
    let now = Date.now();
    const t = instance(policy, () => now);
    assert.deepEqual(await challengesAcrossAWindowEnd(t.app, (at) => (now = at), now), {
      before: [303, 303, 303],
      after: [303, 429, 429],
      between: [303],
      later: [303, 303, 303, 429],
    });
  });

  it('completes the whole flow through completeMfa with a Redis-backed device insight record', async () => {
    emulator.setUser('erin', { device: { platform: 'iOS', trusted: 'trusted' } });
    const t = instance();
    const agent = agentFor(t.app);
    await login(agent, { username: 'erin', roles: ['admin'] });
    const res = await completeMfa(agent, emulator);
    assert.equal(res.status, 303);
    const devices = await t.mfa.deviceInsight('acme');
    assert.equal(devices.length, 1);
    assert.equal(devices[0]?.trusted, 'trusted');
    assert.deepEqual(devices[0]?.users, ['erin']);
  });

  it('S8 a logout while a step-up start waits for Redis is never undone (the session is read again first)', async () => {
    // Redis answers the challenge script late; the same browser signs out meanwhile.
    let slow = false;
    const delayed = new Proxy(redis, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property);
        if (property === 'eval') {
          return async (...args: unknown[]) => {
            if (slow) await new Promise((resolve) => setTimeout(resolve, 300));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const t = createTestApp({
      emulator,
      redis: delayed,
      sessionRedis: redis,
      options: { redisPrefix: prefix },
    });
    apps.push(t);
    t.app.get('/stepup', t.mfa.requireRecent(1), (_req, res) => res.send('step-up page'));
    const agent = agentFor(t.app);
    await login(agent, { username: 'alice', roles: ['admin'] });
    await completeMfa(agent, emulator); // verified; the health check is now cached
    slow = true;
    const stepUp = agent
      .get('/stepup')
      .set('Accept', 'text/html')
      .then((res) => res);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await agent.post('/logout').expect(204);
    const started = await stepUp;
    slow = false;
    assert.equal(started.headers.location, '/', 'the start saw the logout and granted nothing');
    const after = await agent.get('/private').set('Accept', 'text/html');
    assert.equal(after.status, 401, 'still signed out');
  });
});
