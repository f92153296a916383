// npx tsx bench/gate.ts: duoMfa's own work per request, called directly in this process (no HTTP, no express,
// no session store), for a verified and an exempt user of the HTTP benchmarks' policy, sessions cycled so the
// working set is not one object. Tells the middleware's code apart from what a server spends around it (the
// hot-path rounds of `npm run bench`). Prints ns per call, variants alternating; no pass/fail.

import type { NextFunction, Request, Response } from 'express';
import { duoMfa } from '../lib/index';
import { median } from './common';
import { exemptUser, httpPolicy, requiredUser } from './fixtures';

const SESSIONS = 1_000;
const mfa = duoMfa({ policy: httpPolicy('api-12345678.duosecurity.com'), baseUrl: 'https://app.example' });

/** A signed-in session as express-session hands it on: the host's user, and for `verified` our data. */
function request(user: { username: string; tenant: string; roles: string }, verified: boolean): Request {
  const session: Record<string, unknown> = {
    cookie: { originalMaxAge: null, httpOnly: true, path: '/', sameSite: 'lax', secure: false },
    user: { username: user.username, tenant: user.tenant, roles: user.roles.split(',') },
    regenerate: () => undefined,
    save: () => undefined,
    reload: () => undefined,
  };
  if (verified) {
    // The shape a Duo verification takes after a real callback through the emulator.
    session.duoMfa = {
      verified: {
        username: user.username,
        tenant: user.tenant,
        at: Date.now(),
        via: 'duo',
        factor: 'duo_push',
        txid: '2f9c1f0e-4a4b-4c61-9d0c-8a1b7f3e5d21',
        device: { trusted: 'unknown', os: 'Linux', browser: 'Chrome', hostname: 'bench-host' },
      },
    };
  }
  return { url: '/hello', path: '/hello', method: 'GET', headers: {}, session } as unknown as Request;
}

const variants: Record<string, Request[]> = {
  'Duo-verified user': Array.from({ length: SESSIONS }, (_, i) => request(requiredUser(`v${i}`), true)),
  'user the policy exempts': Array.from({ length: SESSIONS }, (_, i) => request(exemptUser(`e${i}`), false)),
};

/**
 * The response each request gets, built once per session (outside the timed loop): end() on the prototype and an own
 * end() wrapping it, as express-session installs on every request before duoMfa runs. Each call puts that end()
 * back (duoMfa may wrap it) and, like a server, ends the response after duoMfa passed it on — so duoMfa's work when
 * the response ends is timed too.
 */
class FakeResponse {
  readonly sessionEnd: () => FakeResponse;
  constructor() {
    const end = this.end;
    this.sessionEnd = () => end.call(this);
    this.end = this.sessionEnd;
  }
  end(): FakeResponse {
    return this;
  }
}
const responses = new Map<Request, FakeResponse>();
function responseFor(req: Request): FakeResponse {
  let res = responses.get(req);
  if (!res) responses.set(req, (res = new FakeResponse()));
  res.end = res.sessionEnd;
  return res;
}

function measure(requests: readonly Request[], rounds: number): number {
  let passed = 0;
  const next: NextFunction = (error?: unknown) => {
    if (error) throw error instanceof Error ? error : new Error('next() was called with a non-Error');
    passed++;
  };
  for (const req of requests) responseFor(req);
  const started = process.hrtime.bigint();
  for (let round = 0; round < rounds; round++) {
    for (const req of requests) {
      const res = responseFor(req);
      mfa(req, res as unknown as Response, next);
      res.end();
    }
  }
  const ns = Number(process.hrtime.bigint() - started) / (rounds * requests.length);
  // Every call must have passed synchronously, as a verified or exempt request does once its tenant is compiled.
  if (passed !== rounds * requests.length) throw new Error(`${passed} of ${rounds * requests.length} passed`);
  return ns;
}

async function main(): Promise<void> {
  // The tenant is compiled at its first request (a promise); after that every call is synchronous.
  for (const requests of Object.values(variants)) {
    await new Promise<void>((resolve) =>
      mfa(requests[0]!, responseFor(requests[0]!) as unknown as Response, () => resolve()),
    );
    measure(requests, 100); // warm-up
  }
  const results = new Map<string, number[]>(Object.keys(variants).map((name) => [name, []]));
  for (let round = 0; round < 5; round++) {
    for (const [name, requests] of Object.entries(variants)) results.get(name)!.push(measure(requests, 500));
  }
  for (const [name, rounds] of results) {
    console.log(
      `${name.padEnd(26)} ${median(rounds).toFixed(0).padStart(6)} ns/call (median of ${rounds.length})`,
    );
  }
  mfa.close();
}

void main();
