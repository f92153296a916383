// Failures reach the host app: a DuoMfaError with status and code goes to the host's error handler, which may
// answer its own page; without one (or when it passes the error on) the middleware's own pages answer.

import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import request from 'supertest';
import { startDuoEmulator } from '../../lib/emulator/index';
import { DuoMfaError, duoMfa, isDuoMfaError, type DuoMfaOptions, type RedisLike } from '../../lib/index';
import { ALL_APPS, BASE_URL, testPolicy } from '../helpers/app';
import { agentFor, beginMfa, duoAnswers, login } from '../helpers/flow';

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
  close(): void;
}

function hostApp(
  emulator: Emulator,
  handler: 'own-page' | 'passes-on' | 'none' | 'explicit-pages',
  options: Partial<DuoMfaOptions> = {},
): HostApp {
  const received: unknown[] = [];
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
    ignore: ['/login'],
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    ...options,
  });
  app.use(mfa);
  app.get('/private', (_req, res) => res.send('private'));
  if (handler === 'explicit-pages') app.use(mfa.errorPages);
  if (handler === 'own-page' || handler === 'passes-on' || handler === 'explicit-pages') {
    app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
      received.push(err);
      if (handler !== 'own-page' || !isDuoMfaError(err)) return next(err);
      res.status(err.status).type('html').send(`<h1>Host page</h1><p>${err.code} (${err.status})</p>`);
    });
  }
  const host = { app, received, close: () => mfa.close() };
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

  it('never passes anything else than an Error to next()', async () => {
    const host = hostApp(emulator, 'passes-on');
    const res = await request(host.app).get('/duo/callback?state=x').set('Accept', 'application/json');
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'ERR_DUO_CALLBACK_INVALID');
    assert.ok(host.received.every((error) => error instanceof DuoMfaError));
  });
});
