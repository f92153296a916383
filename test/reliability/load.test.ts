// Load without loss (S14, S37): 200 whole logins at once, each bounced between two app instances that share one
// Redis, as a load balancer would. Every login must end verified exactly once, for its own user and tenant.

import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import { ALL_APPS, createTestApp, type TestApp } from '../helpers/app';
import { duoCallback, eventsOf, percentiles, startMfa } from './helpers/flow';
import { Browser, listen, type Listening } from './helpers/http';
import { trackUnhandledRejections } from './helpers/resources';
import { redisServerOrSkip, resilientRedis, type RedisServer } from './helpers/redis-server';

const LOGINS = 200;
const SESSION_PREFIX = `test-sess-${process.pid}:`;
const MFA_PREFIX = `load-${process.pid}:`;

/** Users spread over both Duo-asking tenants and the default tenant (no tenant given). */
function userFor(i: number) {
  const username = `Load-User-${String(i).padStart(3, '0')}`;
  switch (i % 3) {
    case 0:
      return { username, tenant: 'acme', roles: ['admin'], expectTenant: 'acme' };
    case 1:
      return { username, tenant: 'globex', roles: [], expectTenant: 'globex' };
    default:
      return { username, roles: ['finance'], expectTenant: 'acme' };
  }
}

async function keysOf(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

describe('reliability: load and no loss (S14, S37)', function () {
  this.timeout(90_000);
  let redisServer: RedisServer;
  let emulator: DuoEmulator;
  const redis: Redis[] = [];
  const apps: TestApp[] = [];
  const servers: Listening[] = [];

  let unhandled: ReturnType<typeof trackUnhandledRejections>;

  afterEach(() => unhandled?.assertNone());
  before(async function () {
    unhandled = trackUnhandledRejections();
    redisServer = await redisServerOrSkip(this);
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
    for (let i = 0; i < 2; i++) {
      // One client per instance, as two processes would have.
      const client = await resilientRedis(redisServer.port);
      redis.push(client);
      const t = createTestApp({
        emulator,
        redis: client,
        sessionRedis: client,
        // Duo's own timeouts are tested elsewhere (duo-faults); here the emulator shares this process's event
        // loop with 200 logins, so give it room and measure correctness only.
        options: { redisPrefix: MFA_PREFIX, duoTimeoutMs: 10_000 },
      });
      apps.push(t);
      servers.push(await listen(t.app));
    }
  });
  after(async () => {
    unhandled?.uninstall();
    for (const t of apps) t.close();
    for (const server of servers) await server.close();
    for (const client of redis) client.disconnect();
    await emulator?.close();
    await redisServer?.stop();
  });

  it(`S37 ${LOGINS} concurrent logins across two instances sharing Redis: each verified exactly once, for the right user and tenant`, async () => {
    const [a, b] = servers as [Listening, Listening];
    const latencies: number[] = [];
    const timed = async <T extends { ms: number }>(p: Promise<T>): Promise<T> => {
      const res = await p;
      latencies.push(res.ms);
      return res;
    };
    const tokensBefore = emulator.calls.token;
    const started = performance.now();

    const outcomes = await Promise.all(
      Array.from({ length: LOGINS }, async (_, i) => {
        const user = userFor(i);
        // The load balancer alternates: login and callback on one instance, Duo start and checks on the other.
        const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
        const browser = new Browser(first.url);
        const login = await timed(browser.login(user));
        assert.equal(login.status, 204);
        browser.base = second.url;
        const authUrl = await startMfa(browser);
        const callback = await duoCallback(emulator, authUrl);
        browser.base = first.url;
        const done = await timed(browser.navigate(callback));
        assert.equal(done.status, 303, `login ${i}: ${done.status} ${done.text.slice(0, 200)}`);
        assert.equal(done.headers.location, '/private');
        browser.base = second.url;
        const whoami = await timed(browser.api('GET', '/whoami'));
        const data = await timed(browser.api('GET', '/api/data'));
        return { i, user, whoami, data };
      }),
    );
    const elapsed = performance.now() - started;

    for (const { i, user, whoami, data } of outcomes) {
      assert.equal(data.status, 200, `login ${i}: /api/data answered ${data.status}`);
      const session = whoami.json.session;
      assert.equal(session.user.username, user.username, `login ${i} sees another user's session`);
      assert.equal(session.duoMfa.verified.username, user.username.toLowerCase());
      assert.equal(session.duoMfa.verified.tenant, user.expectTenant);
      assert.equal(session.duoMfa.verified.via, 'duo');
      assert.deepEqual(session.cart, ['host-data-kept']);
      assert.deepEqual(session.duoMfa.pending ?? {}, {});
    }

    // Exactly one success event and one token exchange per login, nothing more.
    const succeeded = apps.flatMap((t) => eventsOf(t.events, 'mfa.succeeded'));
    assert.equal(succeeded.length, LOGINS);
    const byUser = new Map<string, string[]>();
    for (const event of succeeded) {
      const list = byUser.get(String(event.username)) ?? [];
      list.push(String(event.tenant));
      byUser.set(String(event.username), list);
    }
    for (let i = 0; i < LOGINS; i++) {
      const user = userFor(i);
      assert.deepEqual(
        byUser.get(user.username.toLowerCase()),
        [user.expectTenant],
        `events of ${user.username}`,
      );
    }
    assert.equal(emulator.calls.token - tokensBefore, LOGINS, 'one code exchange per login');
    assert.equal(apps.flatMap((t) => eventsOf(t.events, 'mfa.started')).length, LOGINS);
    assert.equal(apps.flatMap((t) => eventsOf(t.events, 'mfa.failed')).length, 0);
    // Both instances served callbacks.
    assert.ok(apps.every((t) => eventsOf(t.events, 'mfa.succeeded').length === LOGINS / 2));

    // What Redis holds afterwards: one verified session per login, each for its own user; no pending login.
    const client = redis[0]!;
    const sessionKeys = await keysOf(client, `${SESSION_PREFIX}*`);
    assert.equal(sessionKeys.length, LOGINS, 'rotated-away sessions were destroyed');
    const stored = (await client.mget(...sessionKeys)).map((raw) => JSON.parse(raw!));
    const owners = new Set<string>();
    for (const session of stored) {
      assert.equal(session.duoMfa.verified.username, session.user.username.toLowerCase());
      const expected = userFor(Number(/(\d+)$/.exec(session.user.username)![1])).expectTenant;
      assert.equal(session.duoMfa.verified.tenant, expected);
      owners.add(session.user.username);
    }
    assert.equal(owners.size, LOGINS, 'no two sessions share a user');
    assert.deepEqual(await keysOf(client, `${MFA_PREFIX}pending:*`), []);

    const stats = percentiles(latencies);
    console.log(
      `      ↳ ${LOGINS} logins (${LOGINS * 6} requests incl. Duo) in ${Math.round(elapsed)} ms` +
        ` (${Math.round((LOGINS / elapsed) * 1000)} logins/s); app request ms ${JSON.stringify(stats)}`,
    );
  });
  it('S14 under load: 50 logins whose callback arrives 4 times at once on both instances exchange each code exactly once', async () => {
    const [a, b] = servers as [Listening, Listening];
    const count = 50;
    const succeededBefore = apps.flatMap((t) => eventsOf(t.events, 'mfa.succeeded')).length;
    const tokensBefore = emulator.calls.token;
    const results = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const browser = new Browser(a.url);
        await browser.login({ username: `dup-${i}`, roles: ['admin'] });
        const callback = await duoCallback(emulator, await startMfa(browser));
        const cookie = browser.sid;
        // The same callback, four times at once, spread over both instances (double click, retry, proxy replay).
        const answers = await Promise.all(
          [a, b, a, b].map((server) =>
            new Browser(server.url).navigate(callback, { headers: { cookie: `connect.sid=${cookie}` } }),
          ),
        );
        const winners = answers.filter(
          (res) => res.status === 303 && res.headers['set-cookie'] !== undefined,
        );
        assert.equal(winners.length, 1, `login ${i}: ${answers.map((r) => r.status).join(',')}`);
        for (const res of answers) {
          // Losers: 303 without a verification, 400, or — when the winner already destroyed the old session —
          // the SameSite bounce page (S33), which consumes nothing.
          const bounce = res.status === 200 && res.text.includes('duo_mfa_bounce');
          assert.ok(
            [303, 400].includes(res.status) || bounce,
            `login ${i}: ${res.status} ${res.text.slice(0, 100)}`,
          );
        }
        browser.sid = /^connect\.sid=([^;]*)/.exec(String(winners[0]!.headers['set-cookie']))![1];
        return browser.api('GET', '/api/data');
      }),
    );
    assert.ok(results.every((res) => res.status === 200));
    assert.equal(emulator.calls.token - tokensBefore, count, 'exactly one exchange per login');
    const succeeded = apps.flatMap((t) => eventsOf(t.events, 'mfa.succeeded')).length - succeededBefore;
    assert.equal(succeeded, count);
  });
});
