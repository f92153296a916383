// Failures reach the host app: a DuoMfaError with status and code goes to the host's error handler, which may
// answer its own page; without one (or when it passes the error on) the middleware's own pages answer.

import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import request from 'supertest';
import { startDuoEmulator } from '../../lib/emulator/index';
import {
  DuoMfaError,
  duoMfa,
  isDuoMfaError,
  requireRecentMfa,
  type AuditEvent,
  type DuoMfaOptions,
  type RedisLike,
} from '../../lib/index';
import { ALL_APPS, BASE_URL, eventsOf, testPolicy } from '../helpers/app';
import {
  agentFor,
  beginMfa,
  continueToken,
  duoAnswers,
  login,
  type Agent,
  type LoginUser,
} from '../helpers/flow';

type Emulator = Awaited<ReturnType<typeof startDuoEmulator>>;

/** A Redis whose every command fails, as when the server is gone. */
const brokenRedis: RedisLike = {
  set: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
  getdel: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
  del: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
  eval: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
  xadd: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
  xrevrange: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
};

interface HostApp {
  app: express.Express;
  /** What the host's error handler received, when it has one. */
  received: unknown[];
  /** Every audit event (unless the test gave its own onEvent). */
  events: AuditEvent[];
  /** Every log line the middleware wrote, as [level, object, message]. */
  logs: Array<[string, unknown, string]>;
  /** How many times a protected handler (a page behind the gate or a step-up) ran. */
  served: { count: number };
  close(): void;
}

function hostApp(
  emulator: Emulator,
  handler: 'own-page' | 'passes-on' | 'none' | 'explicit-pages',
  options: Partial<DuoMfaOptions> = {},
): HostApp {
  const received: unknown[] = [];
  const events: AuditEvent[] = [];
  const logs: Array<[string, unknown, string]> = [];
  const served = { count: 0 };
  const log = (level: string) => (object: unknown, message?: string) => {
    logs.push([level, object, message ?? '']);
  };
  const app = express();
  app.use(session({ secret: 'host-errors', resave: false, saveUninitialized: false }));
  app.use(express.urlencoded({ extended: false }));
  app.post('/login', (req, res) => {
    const body = req.body as { username: string; tenant?: string; roles?: string };
    (req.session as unknown as Record<string, unknown>).user = {
      username: body.username,
      tenant: body.tenant,
      roles: (body.roles ?? '').split(',').filter(Boolean),
    };
    res.status(204).end();
  });
  const mfa = duoMfa({
    policy: testPolicy(emulator.apiHost),
    baseUrl: BASE_URL,
    duoTls: { ca: emulator.ca },
    duoTimeoutMs: 1500,
    ignore: ['/login', '/public'],
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    onEvent: (event) => events.push(event),
    ...options,
  });
  app.use(mfa);
  const serve = (_req: Request, res: Response) => {
    served.count++;
    res.send('private');
  };
  app.get('/private', serve);
  app.get('/payout', requireRecentMfa('5m'), serve);
  app.get('/public/payout', mfa.requireRecent('5m'), serve);
  if (handler === 'explicit-pages') app.use(mfa.errorPages);
  if (handler === 'own-page' || handler === 'passes-on' || handler === 'explicit-pages') {
    app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
      received.push(err);
      if (handler !== 'own-page' || !isDuoMfaError(err)) return next(err);
      res.status(err.status).type('html').send(`<h1>Host page</h1><p>${err.code} (${err.status})</p>`);
    });
  }
  const host = { app, received, events, logs, served, close: () => mfa.close() };
  opened.push(host);
  return host;
}

/** Every host app a test made, closed after it. */
const opened: HostApp[] = [];

describe('failures and the host app’s error handler', () => {
  let emulator: Emulator;

  before(async () => {
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
  });
  after(async () => {
    await emulator.close();
  });
  afterEach(() => {
    emulator.setFault(null);
    for (const host of opened.splice(0)) host.close();
  });

  async function signedInAgent(host: HostApp) {
    const agent = agentFor(host.app);
    await login(agent, { username: 'alice', tenant: 'acme', roles: ['admin'] });
    return agent;
  }

  /** A signed-in browser asking for a protected page. */
  async function privatePage(host: HostApp) {
    return (await signedInAgent(host)).get('/private').set('Accept', 'text/html');
  }

  describe('when the host mounts an error handler after duoMfa', () => {
    it('hands it a DuoMfaError for a Duo outage (failmode closed), and the host answers its own page', async () => {
      const host = hostApp(emulator, 'own-page');
      emulator.setFault({ health: 'down' });
      const res = await privatePage(host);
      assert.equal(res.status, 503);
      assert.match(res.text, /<h1>Host page<\/h1><p>ERR_DUO_UNAVAILABLE \(503\)<\/p>/);
      assert.equal(host.received.length, 1);
      const error = host.received[0];
      assert.ok(error instanceof DuoMfaError);
      assert.equal(error.code, 'ERR_DUO_UNAVAILABLE');
      assert.equal(error.status, 503);
      assert.equal(error.title, 'Duo is unavailable');
      assert.match(error.advice, /try again/);
    });

    it('hands it a DuoMfaError for a store outage, and the host answers its own page', async () => {
      const host = hostApp(emulator, 'own-page', { redis: brokenRedis, redisTimeoutMs: 500 });
      const res = await privatePage(host);
      assert.equal(res.status, 503);
      assert.match(res.text, /ERR_STORE_UNAVAILABLE \(503\)/);
      assert.equal(host.received.length, 1);
      assert.ok(isDuoMfaError(host.received[0], 'ERR_STORE_UNAVAILABLE'));
    });

    it('reports an unexpected throw as ERR_INTERNAL (500), never as a store or Duo outage', async () => {
      const host = hostApp(emulator, 'own-page', {
        toDuoUsername: () => {
          throw new Error('bug in the host’s mapping');
        },
      });
      const res = await privatePage(host);
      assert.equal(res.status, 500);
      assert.match(res.text, /ERR_INTERNAL \(500\)/);
      const error = host.received[0];
      assert.ok(isDuoMfaError(error, 'ERR_INTERNAL'));
      assert.equal((error.cause as Error).message, 'bug in the host’s mapping');
    });

    it('S34 hands over no request body of Duo’s client in the cause: no client assertion, no code', async () => {
      const host = hostApp(emulator, 'own-page');
      const agent = await signedInAgent(host);
      const callback = await duoAnswers(emulator, await beginMfa(agent));
      const code = new URL(callback, 'http://x').searchParams.get('duo_code')!;
      emulator.setFault({ token: 'error' });
      const res = await agent.get(callback).set('Accept', 'text/html');
      assert.equal(res.status, 503);
      const error = host.received.at(-1);
      assert.ok(isDuoMfaError(error, 'ERR_DUO_UNAVAILABLE'));
      const everything = inspect(error, { depth: 10, showHidden: true });
      assert.doesNotMatch(everything, /client_assertion/);
      assert.ok(!everything.includes(code), 'Duo’s code is in the error handed to the host');
    });

    it('shows the middleware’s own page when the handler passes the error on', async () => {
      const host = hostApp(emulator, 'passes-on');
      emulator.setFault({ health: 'down' });
      const res = await privatePage(host);
      assert.equal(res.status, 503);
      assert.match(res.text, /<h1>Duo is unavailable<\/h1>/);
      assert.match(res.text, /Error code: ERR_DUO_UNAVAILABLE/);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(host.received.length, 1);
    });
  });

  describe('when the host has no error handler', () => {
    it('answers the middleware’s own pages, as before: HTML for browsers (Duo or store outage), JSON for API clients', async () => {
      const host = hostApp(emulator, 'none');
      emulator.setFault({ health: 'down' });
      const agent = await signedInAgent(host);
      const page = await agent.get('/private').set('Accept', 'text/html');
      assert.equal(page.status, 503);
      assert.match(page.text, /<h1>Duo is unavailable<\/h1>/);
      assert.match(page.text, /Back to sign-in/);
      assert.equal(page.headers['retry-after'], '30');
      assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
      emulator.setFault(null);
      const store = hostApp(emulator, 'none', { redis: brokenRedis, redisTimeoutMs: 500 });
      const storePage = await privatePage(store);
      assert.equal(storePage.status, 503);
      assert.match(storePage.text, /<h1>Sign-in is temporarily unavailable<\/h1>/);
      const api = await request(host.app).get('/duo/callback?state=x').set('Accept', 'application/json');
      assert.equal(api.status, 400);
      assert.deepEqual(api.body, {
        error: 'callback_invalid',
        code: 'ERR_DUO_CALLBACK_INVALID',
        message: 'This sign-in link is not valid',
      });
    });

    it('lets the host place the pages itself with mfa.errorPages, before its own catch-all', async () => {
      const host = hostApp(emulator, 'explicit-pages');
      emulator.setFault({ health: 'down' });
      const res = await privatePage(host);
      assert.equal(res.status, 503);
      assert.match(res.text, /<h1>Duo is unavailable<\/h1>/);
      assert.equal(host.received.length, 0, 'the pages answered before the catch-all');
    });
  });

  describe('an unexpected throw on any path (a host callback that throws, a bug)', () => {
    const bug = new Error('bug in the host’s callback');
    /** The host's callbacks, broken on demand (after the password login). */
    interface Faults {
      /** true: always; 'step-up': only in the step-up guard (the gate already ran); 'malformed': no username. */
      getUser?: true | 'step-up' | 'malformed';
      toDuoUsername?: true;
    }
    /** Who signs in, and a page that sends them to Duo again: after the failure, nothing was granted. */
    interface Person {
      user: LoginUser;
      stillAsksDuo: string;
    }
    const ALICE: Person = {
      user: { username: 'alice', tenant: 'acme', roles: ['admin'] },
      stillAsksDuo: '/private',
    };
    /** Exempt from the login's Duo (no role the policy names): only a step-up asks her for Duo. */
    const BOB: Person = { user: { username: 'bob', tenant: 'acme' }, stillAsksDuo: '/public/payout' };

    interface ThrowCase {
      path: string;
      who: Person;
      faults: Faults;
      reason: string;
      /** Before breaking anything: the "Continue to Duo" page's token, Duo's answer for the callback. */
      prepare?(agent: Agent): Promise<string>;
      /** The request that meets the throw, with what `prepare` returned. */
      send(agent: Agent, prepared: string | undefined): request.Test;
    }
    const html = { Accept: 'text/html' };
    const cases: ThrowCase[] = [
      {
        path: 'the gate (getUser throws)',
        who: ALICE,
        faults: { getUser: true },
        reason: 'gate_failed',
        send: (agent) => agent.get('/private').set(html),
      },
      {
        path: 'the gate going to Duo (toDuoUsername throws)',
        who: ALICE,
        faults: { toDuoUsername: true },
        reason: 'start_failed',
        send: (agent) => agent.get('/private').set(html),
      },
      {
        path: 'requireRecentMfa (getUser throws in the step-up)',
        who: BOB,
        faults: { getUser: 'step-up' },
        reason: 'step_up_failed',
        send: (agent) => agent.get('/payout').set(html),
      },
      {
        path: 'mfa.requireRecent on an ignored path (getUser throws)',
        who: BOB,
        faults: { getUser: true },
        reason: 'step_up_failed',
        send: (agent) => agent.get('/public/payout').set(html),
      },
      {
        path: 'a step-up going to Duo (toDuoUsername throws)',
        who: BOB,
        faults: { toDuoUsername: true },
        reason: 'start_failed',
        send: (agent) => agent.get('/public/payout').set(html),
      },
      {
        path: 'the start route (getUser throws)',
        who: ALICE,
        faults: { getUser: true },
        reason: 'start_failed',
        send: (agent) => agent.get('/duo/start?returnTo=%2Fprivate').set(html),
      },
      {
        path: 'the start route going to Duo (toDuoUsername throws)',
        who: ALICE,
        faults: { toDuoUsername: true },
        reason: 'start_failed',
        send: (agent) => agent.get('/duo/start?stepUp=1&returnTo=%2Fprivate').set(html),
      },
      {
        path: 'the confirm route, “Continue to Duo” (getUser throws)',
        who: ALICE,
        faults: { getUser: true },
        reason: 'start_failed',
        prepare: continueToken,
        send: (agent, token) =>
          agent
            .post('/duo/start')
            .set({ ...html, 'Sec-Fetch-Site': 'same-origin' })
            .type('form')
            .send({ token }),
      },
      {
        path: 'the confirm route going to Duo (toDuoUsername throws)',
        who: ALICE,
        faults: { toDuoUsername: true },
        reason: 'start_failed',
        prepare: continueToken,
        send: (agent, token) =>
          agent
            .post('/duo/start')
            .set({ ...html, 'Sec-Fetch-Site': 'same-origin' })
            .type('form')
            .send({ token }),
      },
      {
        path: 'the callback (getUser throws)',
        who: ALICE,
        faults: { getUser: true },
        reason: 'callback_failed',
        prepare: async (agent) => duoAnswers(emulator, await beginMfa(agent)),
        send: (agent, callback) => agent.get(callback!).set(html),
      },
    ];

    function faultyHost(handler: 'own-page' | 'none', faults: Faults): HostApp {
      return hostApp(emulator, handler, {
        getUser: (req) => {
          const user = (req.session as unknown as { user?: { username: string } } | undefined)?.user;
          if (faults.getUser === true) throw bug;
          if (faults.getUser === 'step-up' && req.duoMfa !== undefined) throw bug;
          if (faults.getUser === 'malformed' && user) return { ...user, username: 42 } as never;
          return user;
        },
        toDuoUsername: (user) => {
          if (faults.toDuoUsername) throw bug;
          return user.username;
        },
      });
    }

    /** Runs a case: signs in, breaks the host's callback, sends the request; then repairs it. */
    async function meetThrow(handler: 'own-page' | 'none', c: ThrowCase) {
      const faults: Faults = {};
      const host = faultyHost(handler, faults);
      const agent = agentFor(host.app);
      await login(agent, c.who.user);
      const prepared = await c.prepare?.(agent);
      Object.assign(faults, c.faults);
      const res = await c.send(agent, prepared);
      for (const key of Object.keys(faults)) delete faults[key as keyof Faults];
      return { host, agent, res };
    }

    /** Nothing granted: no protected handler ran, and the same browser is still sent to Duo. */
    async function assertNothingGranted(host: HostApp, agent: Agent, c: ThrowCase): Promise<void> {
      assert.equal(host.served.count, 0, 'a protected handler ran');
      const after = await agent.get(c.who.stillAsksDuo).set(html);
      assert.equal(after.status, 303, `after the failure: ${after.status}`);
      assert.equal(new URL(after.headers.location!).pathname, '/oauth/v1/authorize');
    }

    /** One mfa.failed with the flow's reason and ERR_INTERNAL, and the cause logged at error level. */
    function assertReported(host: HostApp, c: ThrowCase): void {
      const failed = eventsOf(host.events, 'mfa.failed');
      assert.deepEqual(
        failed.map((e) => [e.reason, e.code]),
        [[c.reason, 'ERR_INTERNAL']],
      );
      const logged = host.logs.find(
        ([level, , message]) => level === 'error' && /request failed/.test(message),
      );
      assert.ok(logged, 'the failure is logged');
      assert.match(JSON.stringify(logged[1]), /bug in the host’s callback/);
    }

    describe('with a host error handler', () => {
      for (const c of cases) {
        it(`hands it ERR_INTERNAL with the original error as cause: ${c.path}`, async () => {
          const { host, agent, res } = await meetThrow('own-page', c);
          assert.equal(res.status, 500);
          assert.match(res.text, /<h1>Host page<\/h1><p>ERR_INTERNAL \(500\)<\/p>/);
          assert.equal(host.received.length, 1);
          const error = host.received[0];
          assert.ok(isDuoMfaError(error, 'ERR_INTERNAL'), `got ${String(error)}`);
          assert.equal(error.cause, bug);
          assertReported(host, c);
          await assertNothingGranted(host, agent, c);
        });
      }

      it('hands it ERR_INTERNAL for a getUser that breaks its contract, with the TypeError naming it as cause', async () => {
        const c = { ...cases[0]!, faults: { getUser: 'malformed' as const } };
        const { host, agent, res } = await meetThrow('own-page', c);
        assert.equal(res.status, 500);
        const error = host.received[0];
        assert.ok(isDuoMfaError(error, 'ERR_INTERNAL'), `got ${String(error)}`);
        assert.ok(error.cause instanceof TypeError);
        assert.match(
          error.cause.message,
          /getUser\(req\) returned a user without a non-empty string "username"/,
        );
        assert.deepEqual(
          eventsOf(host.events, 'mfa.failed').map((e) => [e.reason, e.code]),
          [['gate_failed', 'ERR_INTERNAL']],
        );
        await assertNothingGranted(host, agent, c);
      });
    });

    describe('without a host error handler', () => {
      for (const c of cases) {
        it(`answers the default 500 page, without the error or a stack trace: ${c.path}`, async () => {
          const { host, agent, res } = await meetThrow('none', c);
          assert.equal(res.status, 500);
          assert.match(res.text, /<h1>Something went wrong<\/h1>/);
          assert.match(res.text, /Error code: ERR_INTERNAL/);
          assert.ok(!res.text.includes('bug in the host'), 'the error’s message is on the page');
          assert.doesNotMatch(res.text, /\bat \S+ \(|\.ts:\d+|Error: /, 'a stack trace is on the page');
          assert.equal(res.headers['cache-control'], 'no-store');
          assertReported(host, c);
          await assertNothingGranted(host, agent, c);
        });
      }

      it('answers API clients JSON for a getUser that throws', async () => {
        const c = cases[0]!;
        const faults: Faults = {};
        const host = faultyHost('none', faults);
        const agent = agentFor(host.app);
        await login(agent, c.who.user);
        faults.getUser = true;
        const res = await agent.get('/private').set('Accept', 'application/json');
        assert.equal(res.status, 500);
        assert.deepEqual(res.body, {
          error: 'internal',
          code: 'ERR_INTERNAL',
          message: 'Something went wrong',
        });
        assert.equal(host.served.count, 0);
        assert.equal(eventsOf(host.events, 'mfa.failed')[0]?.reason, 'gate_failed');
      });
    });
  });

  describe('a throwing onEvent', () => {
    type OnEvent = NonNullable<DuoMfaOptions['onEvent']>;
    const throwing: OnEvent = () => {
      throw new Error('audit sink down');
    };
    // A host's async handler: TypeScript lets a function returning a promise stand where void is expected.
    const rejecting = (() => Promise.reject(new Error('audit sink down'))) as unknown as OnEvent;
    for (const [how, onEvent] of [
      ['throws', throwing],
      ['rejects', rejecting],
    ] as const) {
      it(`is logged and swallowed when it ${how}: the request goes on, no ERR_INTERNAL`, async () => {
        const host = hostApp(emulator, 'own-page', { onEvent });
        const res = await privatePage(host);
        assert.equal(res.status, 303, 'still sent to Duo');
        assert.equal(new URL(res.headers.location!).pathname, '/oauth/v1/authorize');
        assert.equal(host.received.length, 0);
        await new Promise((resolve) => setImmediate(resolve));
        const logged = host.logs.filter(([, , message]) => /onEvent handler threw/.test(message));
        assert.ok(logged.length >= 1, 'the handler’s failure is logged');
        assert.match(JSON.stringify(logged[0]![1]), /audit sink down/);
        assert.equal((logged[0]![1] as { eventType?: string }).eventType, 'mfa.started');
      });
    }
  });

  it('never passes anything else than an Error to next()', async () => {
    const host = hostApp(emulator, 'passes-on');
    const res = await request(host.app).get('/duo/callback?state=x').set('Accept', 'application/json');
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'ERR_DUO_CALLBACK_INVALID');
    assert.ok(host.received.every((error) => error instanceof DuoMfaError));
  });
});
