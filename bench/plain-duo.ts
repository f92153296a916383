// The baseline of the login benchmark: Duo written by hand, as Duo's own Node example does it, without our middleware.
//
// It takes the same steps over HTTP as duoMfa (page → Duo → callback → page) and talks to Duo the same way (the
// official client, the emulator's CA on a keep-alive agent, a health check cached for 30 s as duoMfa does), and
// nothing more: no per-tenant policy, no session id rotation, no push-fatigue limit, no pending-login store, no
// device record, no audit events. Duo's example health-checks on every login; caching it here keeps the
// comparison about the middleware rather than about one more round trip to Duo.

import https from 'node:https';
import { Client } from '@duosecurity/duo_universal';
import type express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { BENCH_APP } from './common';
import type { DuoOptions } from './apps';

const HEALTH_CACHE_MS = 30_000;

interface PlainSession {
  user?: { username: string };
  duo?: { state: string; username: string };
  duoVerified?: { username: string; at: number };
}

/** Mounts the hand-written integration: a guard on every page after it, and GET /duo/callback. */
export function mountPlainDuo(app: express.Express, duo: DuoOptions): void {
  const client = new Client({
    clientId: BENCH_APP.clientId,
    clientSecret: BENCH_APP.clientSecret,
    apiHost: duo.apiHost,
    redirectUrl: `${duo.baseUrl}/duo/callback`,
  });
  // The same CA override the adapter applies (the client pins Duo's CAs otherwise).
  (client as unknown as { axios: { defaults: { httpsAgent: unknown } } }).axios.defaults.httpsAgent =
    new https.Agent({ ca: duo.ca, keepAlive: true });
  let healthyUntil = 0;

  app.get('/duo/callback', (req: Request, res: Response, next: NextFunction) => {
    const session = req.session as unknown as PlainSession;
    const { duo_code: code, state } = req.query;
    if (typeof code !== 'string' || typeof state !== 'string') {
      res.status(400).send('missing duo_code or state');
      return;
    }
    const saved = session.duo;
    if (!saved || saved.state !== state) {
      res.status(400).send('state mismatch');
      return;
    }
    delete session.duo;
    client.exchangeAuthorizationCodeFor2FAResult(code, saved.username).then(() => {
      session.duoVerified = { username: saved.username, at: Date.now() };
      res.redirect(303, '/private');
    }, next);
  });

  app.use((req: Request, res: Response, next: NextFunction) => {
    const session = req.session as unknown as PlainSession;
    const username = session.user?.username;
    if (!username || session.duoVerified?.username === username) {
      next();
      return;
    }
    const start = async () => {
      if (Date.now() >= healthyUntil) {
        await client.healthCheck();
        healthyUntil = Date.now() + HEALTH_CACHE_MS;
      }
      const state = client.generateState();
      const url = await client.createAuthUrl(username, state);
      session.duo = { state, username };
      res.redirect(303, url);
    };
    start().catch(next);
  });
}
