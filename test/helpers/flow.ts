// Drives a browser-like login through the middleware and the emulator with supertest agents.

import assert from 'node:assert/strict';
import type { Express } from 'express';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { followAuthorize } from './duo';

export type Agent = TestAgent;

export interface LoginUser {
  username: string;
  tenant?: string;
  roles?: string[];
}

export function agentFor(app: Express): Agent {
  return request.agent(app);
}

/** The agent's current session cookie value (connect.sid), to replay it from another client or instance. */
export function cookieOf(agent: Agent): string {
  const cookie = agent.jar.getCookie('connect.sid', {
    path: '/',
    domain: '127.0.0.1',
    secure: false,
    script: false,
  });
  assert.ok(cookie, 'the agent holds no session cookie');
  return cookie.value;
}

/** The host app's password login: sets req.session.user. */
export async function login(agent: Agent, user: LoginUser): Promise<void> {
  await agent
    .post('/login')
    .type('form')
    .send({
      username: user.username,
      ...(user.tenant ? { tenant: user.tenant } : {}),
      roles: (user.roles ?? []).join(','),
    })
    .expect(204);
}

/** A page navigation that must be sent to Duo: returns the authorize URL. */
export async function beginMfa(agent: Agent, path = '/private'): Promise<URL> {
  const res = await agent.get(path).set('Accept', 'text/html');
  assert.equal(
    res.status,
    303,
    `expected a redirect to Duo for ${path}, got ${res.status}: ${res.text.slice(0, 300)}`,
  );
  const location = new URL(res.headers.location!);
  assert.equal(location.pathname, '/oauth/v1/authorize');
  return location;
}

/** Duo (the emulator in auto mode) answers the authorize URL: returns the callback path+query on our app. */
export async function duoAnswers(
  emulator: Parameters<typeof followAuthorize>[0],
  authUrl: URL,
): Promise<string> {
  const callback = await followAuthorize(emulator, authUrl.toString());
  return callback.pathname + callback.search;
}

/** Password login done; navigates to `path`, goes through Duo, returns the callback response. */
export async function completeMfa(
  agent: Agent,
  emulator: Parameters<typeof followAuthorize>[0],
  path = '/private',
): Promise<request.Response> {
  const authUrl = await beginMfa(agent, path);
  const callback = await duoAnswers(emulator, authUrl);
  return agent.get(callback).set('Accept', 'text/html');
}

/**
 * S41 across the end of a window (challengeLimit 3, alice, a fresh browser and password login each time, so no
 * prompt under way is reused): one challenge at `start`, two a second before 15 minutes have passed, three just
 * after (only the first has left the window), one just after the second has left it (the refused ones, had they
 * counted, would still fill the window), and four once all have left it. The statuses of each group.
 */
export async function challengesAcrossAWindowEnd(
  app: Express,
  setNow: (at: number) => void,
  start: number,
): Promise<{ before: number[]; after: number[]; between: number[]; later: number[] }> {
  const WINDOW = 15 * 60_000;
  const attempt = async (at: number): Promise<number> => {
    setNow(at);
    const agent = agentFor(app);
    await login(agent, { username: 'alice', roles: ['admin'] });
    return (await agent.get('/private').set('Accept', 'text/html')).status;
  };
  const before = [
    await attempt(start),
    await attempt(start + WINDOW - 1000),
    await attempt(start + WINDOW - 999),
  ];
  const after: number[] = [];
  for (let i = 0; i < 3; i++) after.push(await attempt(start + WINDOW + 1));
  const between = [await attempt(start + 2 * WINDOW - 999)];
  const later: number[] = [];
  for (let i = 0; i < 4; i++) later.push(await attempt(start + 3 * WINDOW));
  return { before, after, between, later };
}

/** What a browser sends for a top-level navigation that another site started (a link, a form, window.open). */
export const CROSS_SITE = {
  Accept: 'text/html,application/xhtml+xml',
  'Sec-Fetch-Site': 'cross-site',
  'Sec-Fetch-Mode': 'navigate',
  'Sec-Fetch-Dest': 'document',
};

/** A navigation another site sent to `path` gets the "Continue to Duo" page (S42): its one-time token. */
export async function continueToken(agent: Agent, path = '/private'): Promise<string> {
  const page = await agent.get(path).set(CROSS_SITE);
  assert.match(page.text, /id="duo-continue"/, `the Continue to Duo page for ${path}`);
  const token = /name="token" value="([^"]+)"/.exec(page.text)?.[1];
  assert.ok(token, 'the Continue to Duo page carries a token');
  return token;
}
