// The host apps under test: express + express-session (memory or connect-redis + ioredis), with or without duoMfa.

import { RedisStore } from 'connect-redis';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import type { Redis } from 'ioredis';
import type { DuoMfaMiddleware } from '../lib/index';
import { builtLibrary, percentile } from './common';
import { httpPolicy } from './fixtures';

export interface HostOptions {
  /** Sessions in connect-redis with this client (keys under `prefix`), else in express-session's MemoryStore. */
  readonly redis?: Redis | undefined;
  readonly prefix: string;
}

export interface DuoOptions {
  readonly apiHost: string;
  readonly ca: string;
  /** This app's own origin (redirect_uri = baseUrl + /duo/callback). */
  readonly baseUrl: string;
}

interface SessionUser {
  username: string;
  tenant?: string;
  roles: string[];
}

/**
 * The host app without any Duo: session middleware, a password-less login (the password check is the host's and
 * costs the same in every variant), a trivial route, a page and a state dump. `between` mounts what is compared.
 */
export function hostApp(options: HostOptions, between?: (app: express.Express) => void): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(
    session({
      secret: 'bench-session-secret',
      resave: false,
      saveUninitialized: false,
      store: options.redis
        ? new RedisStore({ client: options.redis, prefix: `${options.prefix}sess:` })
        : new session.MemoryStore(),
      cookie: { httpOnly: true, sameSite: 'lax', secure: false },
    }),
  );
  app.use(express.urlencoded({ extended: false }));
  app.post('/login', (req: Request, res: Response) => {
    const body = req.body as { username?: string; tenant?: string; roles?: string; carry?: string };
    const session = req.session as unknown as { user: SessionUser; duoMfa?: unknown };
    session.user = {
      username: String(body.username),
      tenant: body.tenant,
      roles: (body.roles ?? '').split(',').filter(Boolean),
    };
    // Benchmark only: variant (a′) carries a verified user's duoMfa session data without the middleware, to
    // measure what that data alone costs express-session on every request.
    if (body.carry) session.duoMfa = JSON.parse(body.carry);
    res.redirect(303, '/private');
  });
  between?.(app);
  app.get('/hello', (_req, res) => {
    res.send('hello');
  });
  app.get('/private', (req, res) => {
    const user = (req.session as unknown as { user?: SessionUser }).user;
    if (!user) {
      res.status(401).send('sign in first');
      return;
    }
    res.type('html').send(`<p>private page for ${user.username}</p>`);
  });
  app.get('/state', (req, res) => {
    const data = req.session as unknown as { user?: SessionUser; duoMfa?: unknown };
    res.json({ user: data.user ?? null, mfa: req.duoMfa ?? null, session: data.duoMfa ?? null });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (!res.headersSent) res.status(503).send(`host error: ${(err as Error).message}`);
  });
  return app;
}

/** Time spent inside duoMfa per request, from entering it to its call of next(): recorded while `on`. */
export class MfaTiming {
  on = false;
  private times: number[] = [];

  record(ms: number): void {
    if (this.times.length < 1_000_000) this.times.push(ms);
  }

  /** The recorded times in µs (median, p99), then starts afresh. */
  take(): { count: number; p50: number; p99: number } {
    const times = this.times;
    this.times = [];
    return { count: times.length, p50: percentile(times, 50) * 1000, p99: percentile(times, 99) * 1000 };
  }
}

/**
 * The host app with duoMfa() mounted after the login route, configured as the README recommends. The middleware
 * sits behind a switch that times it only while `timing.on` (one boolean test per request otherwise).
 */
export function mfaApp(
  options: HostOptions,
  duo: DuoOptions,
): { app: express.Express; mfa: DuoMfaMiddleware; timing: MfaTiming } {
  const { duoMfa } = builtLibrary();
  const mfa = duoMfa({
    policy: httpPolicy(duo.apiHost),
    baseUrl: duo.baseUrl,
    duoTls: { ca: duo.ca },
    ignore: ['/login'],
    ...(options.redis ? { redis: options.redis, redisPrefix: `${options.prefix}mfa:` } : {}),
  });
  const timing = new MfaTiming();
  const timed = (req: Request, res: Response, next: NextFunction): void => {
    if (!timing.on) {
      mfa(req, res, next);
      return;
    }
    const begin = performance.now();
    mfa(req, res, (error?: unknown) => {
      timing.record(performance.now() - begin);
      next(error);
    });
  };
  return { app: hostApp(options, (app) => app.use(timed)), mfa, timing };
}
