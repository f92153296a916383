// A host app for middleware tests: express-session (memory or connect-redis + ioredis), a password-less login
// route, a few protected routes, and duoMfa() wired to an emulator. Captures events and logs.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import type { Redis } from 'ioredis';
import pino from 'pino';
import {
  isDuoMfaError,
  requireRecentMfa,
  type AuditEvent,
  type DuoMfaMiddleware,
  type DuoMfaOptions,
} from '../../lib/index';
import { createDuoMfa } from '../../lib/middleware/index';
import type { TestingHooks } from '../../lib/middleware/options';

export const ACME_APP = {
  clientId: 'DIACMEACMEACMEACME01',
  clientSecret: 'acme-secret-acme-secret-acme-secret-0001',
};
export const GLOBEX_APP = {
  clientId: 'DIGLOBEXGLOBEXGLOB02',
  clientSecret: 'globex-secret-globex-secret-globex-00002',
};
export const INITECH_APP = {
  clientId: 'DIINITECHINITECHIN03',
  clientSecret: 'initech-secret-initech-secret-initech-03',
};
export const ALL_APPS = [ACME_APP, GLOBEX_APP, INITECH_APP];

/** A policy covering every rule, pointing at the emulator's apiHost. */
export function testPolicy(apiHost: string, overrides: Record<string, unknown> = {}): Record<string, any> {
  return {
    defaultTenant: 'acme',
    tenants: {
      acme: {
        mfa: {
          enabled: true,
          rolesIncluded: ['admin', 'finance'],
          staffIncluded: ['dana'],
          staffExcluded: ['kiosk-1'],
          temporaryBypass: [{ username: 'frank', until: '2999-01-01T00:00:00Z', reason: 'new phone' }],
        },
        duo: { ...ACME_APP, apiHost },
        failmode: 'closed',
        challengeLimit: 5,
      },
      globex: {
        mfa: { enabled: true },
        duo: { ...GLOBEX_APP, apiHost },
        failmode: 'open',
      },
      initech: {
        mfa: { enabled: false },
        duo: { ...INITECH_APP, apiHost },
      },
      ...overrides,
    },
  };
}

/** `policy` written to duo-mfa.json in a fresh temporary directory: write() replaces it, remove() deletes both. */
export function policyFile(policy: object): { file: string; write(next: object): void; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'duo-mfa-policy-'));
  const file = join(dir, 'duo-mfa.json');
  writeFileSync(file, JSON.stringify(policy));
  return {
    file,
    write: (next) => writeFileSync(file, JSON.stringify(next)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TestApp {
  app: express.Express;
  mfa: DuoMfaMiddleware;
  events: AuditEvent[];
  /** Every log line the middleware wrote, raw JSON text. */
  logs: string[];
  /** Session ids the store currently holds (memory store only). */
  sessionIds(): Promise<string[]>;
  close(): void;
}

export interface TestAppOptions {
  emulator: { apiHost: string; ca: string };
  policy?: DuoMfaOptions['policy'];
  redis?: Redis;
  /** Use connect-redis with this client for sessions. */
  sessionRedis?: Redis;
  sameSite?: 'lax' | 'strict';
  /** duoMfa options, plus the testing hooks (a fake clock `now`, an `env` for secrets). */
  options?: Partial<DuoMfaOptions> & TestingHooks;
  /** Mount no session middleware (S39). */
  noSession?: boolean;
  /** Wraps the session store (failure injection). */
  wrapStore?: (store: session.Store) => session.Store;
  /** express-session's saveUninitialized (default false, as the README recommends). */
  saveUninitialized?: boolean;
}

export const BASE_URL = 'http://127.0.0.1';

export function createTestApp(options: TestAppOptions): TestApp {
  const events: AuditEvent[] = [];
  const logs: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logs.push(chunk.toString());
        callback();
      },
    }),
  );

  const app = express();
  let store: session.Store = options.sessionRedis
    ? new ConnectRedisStore({ client: options.sessionRedis, prefix: `test-sess-${process.pid}:` })
    : new session.MemoryStore();
  if (options.wrapStore) store = options.wrapStore(store);
  if (!options.noSession) {
    app.use(
      session({
        secret: 'test-session-secret',
        resave: false,
        saveUninitialized: options.saveUninitialized ?? false,
        store,
        cookie: { sameSite: options.sameSite ?? 'lax', httpOnly: true, secure: false },
      }),
    );
  }
  app.use(express.urlencoded({ extended: false }));
  app.use(express.json());

  app.post('/login', (req: Request, res: Response) => {
    const body = req.body as { username?: string; tenant?: string; roles?: string | string[] };
    const s = req.session as unknown as Record<string, unknown>;
    s.user = {
      username: body.username,
      tenant: body.tenant,
      roles: typeof body.roles === 'string' ? body.roles.split(',').filter(Boolean) : (body.roles ?? []),
    };
    s.cart = ['host-data-kept'];
    res.status(204).end();
  });
  // A host that stores whatever it likes as the user (JSON body as-is), to test odd shapes.
  app.post('/login-json', (req: Request, res: Response) => {
    (req.session as unknown as Record<string, unknown>).user = req.body as unknown;
    res.status(204).end();
  });
  app.post('/logout', (req: Request, res: Response, next: NextFunction) => {
    req.session.destroy((err) => (err ? next(err) : res.status(204).end()));
  });

  const { now, env, startPolicyWorker, ...duoMfaOptions } = options.options ?? {};
  const mfa = createDuoMfa(
    {
      policy: options.policy ?? testPolicy(options.emulator.apiHost),
      baseUrl: BASE_URL,
      duoTls: { ca: options.emulator.ca },
      duoTimeoutMs: 1500,
      ignore: ['/login', '/logout', '/public'],
      logger,
      onEvent: (event) => events.push(event),
      ...(options.redis ? { redis: options.redis } : {}),
      ...duoMfaOptions,
    },
    { now, env, ...(startPolicyWorker ? { startPolicyWorker } : {}) },
  );
  app.use(mfa);

  // The host app's own login check, after duoMfa: anonymous visitors never reach private routes.
  const requireLogin = (req: Request, res: Response, next: NextFunction) => {
    if ((req.session as unknown as { user?: unknown } | undefined)?.user) return next();
    res.status(401).json({ error: 'login_required' });
  };
  // A host that "logs out" by deleting its user and keeping the session (S45): by POST, by a plain GET link, and
  // on a path duoMfa ignores.
  const softLogout = (req: Request, res: Response) => {
    delete (req.session as unknown as Record<string, unknown>).user;
    res.status(204).end();
  };
  app.post('/soft-logout', softLogout);
  app.get('/soft-logout', softLogout);
  app.post('/public/soft-logout', softLogout);
  app.get('/public/info', (_req, res) => res.send('public'));
  app.get('/public/session', (req, res) => res.json(req.session ?? null));
  app.get('/', (req, res) => res.send(`home ${JSON.stringify(req.duoMfa ?? null)}`));
  app.get('/private', requireLogin, (req, res) => {
    res.type('html').send(`<p>private page for ${(req.session as any).user?.username}</p>`);
  });
  app.get('/api/data', requireLogin, (req, res) => res.json({ secret: 'the data', state: req.duoMfa }));
  app.post('/api/data', requireLogin, (_req, res) => res.json({ secret: 'written' }));
  app.get('/download', requireLogin, (_req, res) =>
    res.type('application/octet-stream').send(Buffer.from('secret-bytes')),
  );
  app.get('/whoami', (req, res) => res.json({ session: req.session ?? null, duoMfa: req.duoMfa ?? null }));
  app.get('/admin/payout', requireLogin, requireRecentMfa('5m'), (_req, res) => res.send('payout page'));
  app.post('/admin/payout', requireLogin, requireRecentMfa('5m'), (_req, res) => res.json({ paid: true }));
  app.get('/admin/report', requireLogin, mfa.requireRecent('5m', { freshFactor: false }), (_req, res) =>
    res.send('report page'),
  );
  // The instance-bound guard needs no request state: it works even on a path duoMfa ignores.
  app.get('/public/bound-payout', requireLogin, mfa.requireRecent('5m'), (_req, res) =>
    res.send('bound payout'),
  );

  // The host app's error handler: session store failures answer 503, never a pass. express-duo-mfa's own failures
  // are passed on to its default pages.
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (isDuoMfaError(err)) return next(err);
    if (res.headersSent) return;
    const status = (err as { status?: number }).status ?? 503;
    res.status(status >= 500 ? 503 : status).json({ error: 'host_error', message: (err as Error).message });
  });

  return {
    app,
    mfa,
    events,
    logs,
    sessionIds: () =>
      new Promise((resolve, reject) =>
        (store as session.MemoryStore).all?.((err, all) =>
          err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(Object.keys(all ?? {})),
        ),
      ),
    close: () => mfa.close(),
  };
}

/** The session cookie value (connect.sid) from a set-cookie header list, or undefined. */
export function sessionCookie(setCookie: string[] | string | undefined): string | undefined {
  const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  for (const c of list) {
    const m = /^connect\.sid=([^;]+)/.exec(c);
    if (m) return m[1];
  }
  return undefined;
}

/** The session id inside a signed connect.sid cookie value. */
export function sessionIdOf(cookieValue: string): string {
  const decoded = decodeURIComponent(cookieValue);
  return decoded.slice(2, decoded.lastIndexOf('.'));
}

export function eventsOf(events: AuditEvent[], type: string): AuditEvent[] {
  return events.filter((e) => e.type === type);
}

/** A session store wrapper whose next save fails once, after `armed` is set. */
export function failingOnce() {
  const saves = {
    armed: false,
    wrapStore(store: session.Store): session.Store {
      const set = store.set.bind(store);
      store.set = (sid, data, cb) => {
        if (saves.armed) {
          saves.armed = false;
          return cb?.(new Error('store write failed once'));
        }
        return set(sid, data, cb);
      };
      return store;
    },
  };
  return saves;
}
