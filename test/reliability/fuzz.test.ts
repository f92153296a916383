// Property-based fuzzing (fast-check) of the callback and the gated routes: whatever arrives — random and
// malformed query strings, repeated/array/nested parameters, huge and unicode values, odd headers, cookies,
// users and raw bytes — the answer is never a 5xx, nobody is verified and nothing throws unhandled.
// Set FUZZ_SEED to replay a failure (fast-check prints the seed and path), FUZZ_SCALE to run more or fewer cases.

import assert from 'node:assert/strict';
import type session from 'express-session';
import fc from 'fast-check';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import { canonicalName, hasInvisibleCharacters } from '../../lib/util/names';
import { ALL_APPS, createTestApp, type TestApp } from '../helpers/app';
import {
  acceptHeader,
  anyString,
  buildQuery,
  codeLike,
  encodeLoose,
  encodeStrict,
  extraHeaders,
  garbageCookie,
  gatedPath,
  headerValue,
  hugeString,
  method,
  queryPairs,
  requestBody,
  shapedCallback,
  stateLike,
  type QueryPair,
} from './helpers/fuzz';
import { duoCallback, eventsOf, leaksPrivateData, startMfa } from './helpers/flow';
import { Browser, httpRequest, listen, rawRequest, type HttpResult, type Listening } from './helpers/http';
import { trackUnhandledRejections } from './helpers/resources';

const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
const SEED =
  process.env.FUZZ_SEED === undefined
    ? Date.now() ^ (Math.random() * 0x7fffffff)
    : Number(process.env.FUZZ_SEED);
/** Inputs tried, per property, for the summary. */
const tried: Record<string, number> = {};

/** A route only a verified (or exempt) user may see, as Express routes it (case-insensitive, optional trailing /). */
const PRIVATE_ROUTE = /^\/(private|api\/data|download|admin\/payout)\/?$/i;

/** A request target as a client would send it: the value's bytes, escaped as `how` says (a leading / kept). */
function encodePath(value: string, how: 'strict' | 'loose'): string {
  const rest = value.slice(1);
  return '/' + (how === 'strict' ? encodeStrict(rest).replace(/%2F/g, '/') : encodeLoose(rest));
}

describe('reliability: fuzzing the callback and the gated routes (S10, S27, S41)', function () {
  this.timeout(120_000);
  let emulator: DuoEmulator;
  /** Two host apps: Express 5's default "simple" query parser, and "extended" (qs: nested objects). */
  const apps: Array<{ t: TestApp; server: Listening; store: session.Store }> = [];
  let unhandled: ReturnType<typeof trackUnhandledRejections>;
  let userSeq = 0;

  before(async () => {
    unhandled = trackUnhandledRejections();
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
    for (const parser of ['simple', 'extended']) {
      let store: session.Store | undefined;
      const t = createTestApp({ emulator, wrapStore: (s) => (store = s) });
      t.app.set('query parser', parser);
      apps.push({ t, server: await listen(t.app), store: store! });
    }
    console.log(`      ↳ fast-check seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
  });
  after(async () => {
    unhandled?.uninstall();
    for (const { t, server } of apps) {
      t.close();
      await server.close();
    }
    await emulator?.close();
    const total = Object.values(tried).reduce((a, b) => a + b, 0);
    console.log(`      ↳ inputs tried: ${total} ${JSON.stringify(tried)}`);
  });
  afterEach(() => unhandled.assertNone());

  const options = (numRuns: number) => ({ numRuns: runs(numRuns), seed: SEED, endOnFailure: false });

  /** Every session the store holds: none may carry a verification. */
  async function assertNobodyVerified(): Promise<void> {
    for (const { t, store } of apps) {
      assert.equal(eventsOf(t.events, 'mfa.succeeded').length, 0, 'mfa.succeeded emitted');
      assert.equal(eventsOf(t.events, 'mfa.failopen').length, 0, 'mfa.failopen emitted (S27)');
      const all = await new Promise<Record<string, any>>((resolve, reject) =>
        store.all!((err, sessions) =>
          err
            ? reject(err instanceof Error ? err : new Error(String(err)))
            : resolve((sessions ?? {}) as Record<string, any>),
        ),
      );
      for (const [id, data] of Object.entries(all)) {
        assert.equal(data?.duoMfa?.verified, undefined, `session ${id.slice(0, 6)}… is verified`);
      }
    }
  }

  function assertSafe(res: HttpResult, what: string): void {
    assert.ok(res.status < 500, `${what}: answered ${res.status}: ${res.text.slice(0, 300)}`);
    assert.ok(!leaksPrivateData(res), `${what}: private data served`);
  }

  /** A browser on `app` in one of the session situations the callback meets. */
  async function browserIn(
    kind: 'none' | 'garbage' | 'signed-in' | 'pending',
    server: Listening,
    cookie: string,
  ) {
    const browser = new Browser(server.url);
    if (kind === 'garbage') return { browser, cookieHeader: cookie };
    if (kind === 'signed-in' || kind === 'pending') {
      await browser.login({ username: `fz-${process.pid}-${++userSeq}`, roles: ['admin'] });
      if (kind === 'pending') await startMfa(browser);
    }
    return { browser, cookieHeader: undefined };
  }

  it('S10 random callback queries, headers and cookies never answer 5xx, never exchange a code, never verify', async () => {
    tried.callback = 0;
    const tokensBefore = emulator.calls.token;
    await fc.assert(
      fc.asyncProperty(
        fc.nat(1),
        fc.constantFrom('none' as const, 'garbage' as const, 'signed-in' as const, 'pending' as const),
        fc.oneof(queryPairs, shapedCallback),
        garbageCookie,
        acceptHeader,
        extraHeaders,
        fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST'),
        async (which, kind, pairs, cookie, accept, extra, verb) => {
          tried.callback!++;
          const { server } = apps[which]!;
          const { browser, cookieHeader } = await browserIn(kind, server, cookie);
          const headers: Record<string, string> = { ...extra, accept };
          if (cookieHeader) headers.cookie = cookieHeader;
          const res = await browser.request(verb, `/duo/callback${buildQuery(pairs)}`, { headers });
          assertSafe(res, `callback ${buildQuery(pairs).slice(0, 120)}`);
          const newSession = (res.headers['set-cookie'] ?? []).some((c) => c.startsWith('connect.sid='));
          assert.ok(!(res.status === 303 && newSession), 'answered like a successful callback');
        },
      ),
      options(300),
    );
    assert.equal(emulator.calls.token, tokensBefore, 'S10/S11: the token endpoint was never called');
    await assertNobodyVerified();
  });

  it('S10 S11 a real callback altered in any way that changes its meaning never verifies', async () => {
    tried.mutatedCallback = 0;
    // The harness can see a verification: one untouched callback verifies, on its own app, then everything resets.
    const control = createTestApp({ emulator });
    const controlServer = await listen(control.app);
    try {
      const b = new Browser(controlServer.url);
      await b.login({ username: 'fz-control', roles: ['admin'] });
      const ok = await b.navigate(await duoCallback(emulator, await startMfa(b)));
      assert.equal(ok.status, 303);
      assert.equal(eventsOf(control.events, 'mfa.succeeded').length, 1);
    } finally {
      control.close();
      await controlServer.close();
    }

    type Mutation = (state: string, code: string) => QueryPair[];
    const alter = (value: string, how: number, extra: string): string => {
      const i = how % Math.max(1, value.length);
      const candidates = [
        value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1), // one character changed
        value.slice(0, -1), // truncated
        value + (extra || 'x'), // extended
        value.toUpperCase() === value ? value.toLowerCase() : value.toUpperCase(), // case changed
        extra || 'x', // replaced
      ];
      const changed = candidates.filter((c) => c !== value);
      return changed[how % changed.length]!;
    };
    const mutation: fc.Arbitrary<{ name: string; make: Mutation }> = fc.oneof(
      fc.tuple(fc.nat(), stateLike).map(([how, extra]) => ({
        name: 'state altered',
        make: (s: string, c: string): QueryPair[] => [
          ['state', alter(s, how, extra), 'strict'],
          ['duo_code', c, 'strict'],
        ],
      })),
      fc.tuple(fc.nat(), codeLike).map(([how, extra]) => ({
        name: 'code altered',
        make: (s: string, c: string): QueryPair[] => [
          ['state', s, 'strict'],
          ['duo_code', alter(c, how, extra), 'strict'],
        ],
      })),
      fc.constantFrom<{ name: string; make: Mutation }>(
        {
          name: 'state repeated',
          make: (s, c) => [
            ['state', s, 'strict'],
            ['state', s, 'strict'],
            ['duo_code', c, 'strict'],
          ],
        },
        {
          name: 'code repeated',
          make: (s, c) => [
            ['state', s, 'strict'],
            ['duo_code', c, 'strict'],
            ['duo_code', c, 'strict'],
          ],
        },
        {
          name: 'state as array',
          make: (s, c) => [
            ['state[]', s, 'strict'],
            ['duo_code', c, 'strict'],
          ],
        },
        {
          name: 'state nested',
          make: (s, c) => [
            ['state[x]', s, 'strict'],
            ['duo_code', c, 'strict'],
          ],
        },
        {
          name: 'code as array',
          make: (s, c) => [
            ['state', s, 'strict'],
            ['duo_code[]', c, 'strict'],
          ],
        },
        { name: 'state missing', make: (_s, c) => [['duo_code', c, 'strict']] },
        { name: 'code missing', make: (s) => [['state', s, 'strict']] },
        {
          name: 'code and error',
          make: (s, c) => [
            ['state', s, 'strict'],
            ['duo_code', c, 'strict'],
            ['error', 'access_denied', 'strict'],
          ],
        },
        {
          name: 'state and code swapped',
          make: (s, c) => [
            ['state', c, 'strict'],
            ['duo_code', s, 'strict'],
          ],
        },
      ),
    );
    // Noise that does not change the meaning: unrelated parameters.
    const noise = fc.array(
      fc.tuple(
        fc.constantFrom('utm_source', 'foo', 'returnTo', 'x'),
        fc.oneof(anyString, fc.constantFrom('/admin/payout', '//evil.example')),
        fc.constant('strict' as const),
      ),
      { maxLength: 3 },
    );

    const tokensBefore = emulator.calls.token;
    let exchanged = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat(1),
        mutation,
        noise,
        fc.boolean(),
        async (which, { name, make }, extra, noiseFirst) => {
          tried.mutatedCallback!++;
          const { server } = apps[which]!;
          const browser = new Browser(server.url);
          await browser.login({ username: `fz-mut-${process.pid}-${++userSeq}`, roles: ['admin'] });
          const real = new URL(await duoCallback(emulator, await startMfa(browser)), 'http://x');
          const state = real.searchParams.get('state')!;
          const code = real.searchParams.get('duo_code')!;
          const mutated = make(state, code);
          const pairs = noiseFirst ? [...extra, ...mutated] : [...mutated, ...extra];
          const res = await browser.navigate(`/duo/callback${buildQuery(pairs)}`);
          assertSafe(res, name);
          assert.notEqual(res.status, 303, `${name}: redirected as if verified`);
          if (name === 'code altered') exchanged++;
          const after = await browser.api('GET', '/api/data');
          assert.equal(after.status, 401, `${name}: /api/data answered ${after.status}`);
        },
      ),
      options(150),
    );
    // Only an intact state reaches the token endpoint (then the altered code is refused there).
    assert.ok(emulator.calls.token - tokensBefore <= exchanged);
    await assertNobodyVerified();
  });

  it('S4 S27 random methods, paths, queries, headers, cookies and bodies on gated routes never answer 5xx or private data', async () => {
    tried.gated = 0;
    // Users who need Duo and never finish it; kept across runs, so the push-fatigue limit is reached too (S41).
    const shared = await Promise.all(
      apps.map(async ({ server }, i) => {
        const b = new Browser(server.url);
        await b.login({ username: `fz-shared-${i}`, tenant: i === 0 ? 'acme' : 'globex', roles: ['admin'] });
        return b;
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.nat(1),
        fc.constantFrom('anonymous' as const, 'garbage' as const, 'fresh' as const, 'shared' as const),
        method,
        gatedPath,
        queryPairs,
        acceptHeader,
        extraHeaders,
        garbageCookie,
        requestBody,
        async (which, who, verb, path, pairs, accept, extra, cookie, body) => {
          tried.gated!++;
          const { server } = apps[which]!;
          let browser = new Browser(server.url);
          if (who === 'shared') browser = shared[which]!;
          if (who === 'fresh')
            await browser.login({ username: `fz-gate-${process.pid}-${++userSeq}`, roles: ['finance'] });
          const headers: Record<string, string> = { ...extra, accept };
          if (who === 'garbage') headers.cookie = cookie;
          if (body && verb !== 'GET' && verb !== 'HEAD') headers['content-type'] = body.type;
          const res = await browser.request(verb, path + buildQuery(pairs), {
            headers,
            ...(body && verb !== 'GET' && verb !== 'HEAD' ? { body: body.body } : {}),
          });
          assertSafe(res, `${verb} ${path}`);
          // (OPTIONS is answered by Express itself with the Allow list: no data.)
          if (PRIVATE_ROUTE.test(path) && verb !== 'OPTIONS') {
            assert.ok(res.status >= 300, `${verb} ${path} answered ${res.status} to a ${who} visitor`);
          }
        },
      ),
      options(400),
    );
    await assertNobodyVerified();
    // S41: whatever the traffic, no user started more Duo challenges than the limit (5 in 15 minutes).
    for (const { t } of apps) {
      const perUser = new Map<string, number>();
      for (const e of eventsOf(t.events, 'mfa.started')) {
        const key = `${e.tenant}/${e.username}`;
        perUser.set(key, (perUser.get(key) ?? 0) + 1);
      }
      for (const [user, count] of perUser) assert.ok(count <= 5, `${user} started ${count} Duo challenges`);
    }
  });

  it('S20 S27 S46 odd signed-in users (any username, tenant, roles) get exactly what the policy says, never a 5xx beyond the getUser contract', async () => {
    tried.users = 0;
    const username = fc.oneof(
      { weight: 4, arbitrary: anyString },
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          'alice',
          ' ALICE ',
          'kiosk-1',
          ' KIOSK-1\t',
          'frank',
          'dana',
          '',
          '   ',
          '\u0000',
          'a\u200b',
          'İstanbul',
          'ß',
          '__proto__',
          'constructor',
          'a'.repeat(257),
          'a\nb',
        ),
      },
      { weight: 1, arbitrary: hugeString.map((s) => s.slice(0, 2000)) },
      {
        weight: 1,
        arbitrary: fc.oneof(
          fc.integer(),
          fc.constant(null),
          fc.array(anyString, { maxLength: 2 }),
          fc.object({ maxDepth: 1 }),
        ),
      },
    );
    const tenant = fc.oneof(
      fc.constantFrom(
        undefined,
        'acme',
        'globex',
        'initech',
        'ACME',
        ' acme',
        '',
        '__proto__',
        'constructor',
        'toString',
        'hasOwnProperty',
        'nope',
      ),
      anyString,
      fc.oneof(
        fc.integer(),
        fc.constant(null),
        fc.array(fc.string(), { maxLength: 1 }),
        fc.object({ maxDepth: 1 }),
      ),
    );
    const roles = fc.oneof(
      fc.array(fc.constantFrom('admin', 'finance', 'ADMIN', ' admin ', 'it', '', '__proto__'), {
        maxLength: 3,
      }),
      fc.array(anyString, { maxLength: 3 }),
      fc.constantFrom('admin', 'admin,finance', ',,,'),
      fc.oneof(fc.constant(null), fc.integer(), fc.object({ maxDepth: 1 })),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat(1), username, tenant, roles, async (which, name, tenantValue, rolesValue) => {
        tried.users!++;
        const { t, server } = apps[which]!;
        const browser = new Browser(server.url);
        const login = await browser.request('POST', '/login', {
          body: { username: name, tenant: tenantValue, roles: rolesValue },
        });
        assert.equal(login.status, 204);
        const page = await browser.navigate('/private');
        const api = await browser.api('GET', '/api/data');
        // The host app broke getUser's contract (README: a user without a string username, a non-string tenant
        // or roles that are not an array of strings is an error, never a pass): the middleware answers
        // ERR_INTERNAL (500), the TypeError naming the problem as its cause. Whitelisted. (The host's /login
        // splits a string.)
        const badRoles =
          typeof rolesValue !== 'string' &&
          rolesValue !== null &&
          rolesValue !== undefined &&
          !(Array.isArray(rolesValue) && rolesValue.every((r) => typeof r === 'string'));
        const brokenContract =
          typeof name !== 'string' ||
          canonicalName(name) === '' ||
          (tenantValue !== undefined && tenantValue !== null && typeof tenantValue !== 'string') ||
          badRoles;
        if (brokenContract) {
          for (const res of [page, api]) {
            assert.equal(res.status, 500, `contract broken: ${res.status}`);
            assert.equal(res.json?.code ?? /ERR_INTERNAL/.exec(res.text)?.[0], 'ERR_INTERNAL');
          }
          return;
        }
        // S46: a username holding an invisible format character is refused whatever the policy says.
        if (hasInvisibleCharacters(name)) {
          for (const res of [page, api]) {
            assert.equal(res.status, 400, `format character in the username: ${res.status}`);
            assert.equal(
              res.json?.code ?? /ERR_DUO_USERNAME_INVALID/.exec(res.text)?.[0],
              'ERR_DUO_USERNAME_INVALID',
            );
          }
          return;
        }
        // Exempt users may see private data; the status alone must be sane.
        for (const res of [page, api])
          assert.ok(res.status < 500, `odd user: ${res.status} ${res.text.slice(0, 200)}`);
        const rolesList =
          typeof rolesValue === 'string'
            ? rolesValue.split(',').filter(Boolean)
            : Array.isArray(rolesValue)
              ? rolesValue.filter((r): r is string => typeof r === 'string')
              : [];
        const decision = t.mfa.explain({
          username: name,
          tenant: (tenantValue as string | null) ?? undefined,
          roles: rolesList,
        });
        if (decision.required) {
          assert.ok(
            page.status >= 300 && api.status >= 300,
            `required (${decision.reason.code}) but ${page.status}/${api.status}`,
          );
        } else {
          assert.equal(page.status, 200, `exempt (${decision.reason.code}) but page ${page.status}`);
          assert.equal(api.status, 200, `exempt (${decision.reason.code}) but API ${api.status}`);
        }
      }),
      options(300),
    );
    await assertNobodyVerified();
  });

  it('S30 S31 whatever the return path or requested URL, every redirect and location stays on our origin', async () => {
    tried.returnPaths = 0;
    const ORIGIN = 'http://127.0.0.1';
    const fragment = fc.constantFrom(
      '/',
      '//',
      '\\',
      '%5C',
      '%5c',
      '%2F',
      '%2f',
      '%252F',
      '\t',
      '%09',
      '\n',
      '%0A',
      '%0D',
      ' ',
      '.',
      '..',
      '%2e',
      'evil.example',
      '@',
      ':',
      '?',
      '#',
      'http:',
      'https:',
      'javascript:',
      'app@',
      '%40',
      '\u3002',
      '\uff0f',
      '127.0.0.1',
      'private',
      'admin',
      '%00',
      '%E2%80%AE',
    );
    const candidate = fc.oneof(
      fc.constantFrom(
        '//evil.example',
        '/\\evil.example',
        '/%5Cevil.example',
        'https:evil.example',
        'javascript:alert(1)',
        'https://app@evil.example',
        '/\t/evil.example',
        '/\r\n/evil.example',
        'http://127.0.0.1/ok',
        '/.//evil.example',
        '/%2e%2e//evil.example',
        '/%2F%2Fevil.example',
        '///evil.example',
        'HTTP://127.0.0.1@evil.example',
        '/duo/callback?state=x',
        '/duo/start?returnTo=//evil.example',
        '/\uff0f\uff0fevil.example',
      ),
      fc.array(fragment, { minLength: 1, maxLength: 8 }).map((parts) => parts.join('')),
      anyString,
    );
    /** Where a browser would go for this Location header: must be our own origin. */
    const assertSameOrigin = (location: string | undefined, what: string) => {
      assert.equal(typeof location, 'string', `${what}: no location`);
      const target = new URL(location!, ORIGIN + '/somewhere/page');
      assert.equal(target.origin, ORIGIN, `${what}: ${JSON.stringify(location)} leaves the site`);
      assert.ok(
        location!.startsWith('/') && !/^\/[/\\]/.test(location!),
        `${what}: ${JSON.stringify(location)}`,
      );
    };
    const exempt = new Browser(apps[0]!.server.url);
    await exempt.login({ username: 'kiosk-1' }); // excluded from Duo: /duo/start sends it straight to returnTo
    // Logins complete here, so on an app of their own (the others must never verify anyone).
    const own = createTestApp({ emulator });
    const ownServer = await listen(own.app);

    await fc
      .assert(
        fc.asyncProperty(
          candidate,
          fc.constantFrom('strict' as const, 'loose' as const),
          async (value, how) => {
            tried.returnPaths!++;
            const query = buildQuery([['returnTo', value, how]]);
            // 1. /duo/start?returnTo=… for a user Duo does not ask: a 303 straight to the return path.
            const start = await exempt.navigate(`/duo/start${query}`);
            assert.equal(start.status, 303, `start: ${start.status} ${start.text.slice(0, 200)}`);
            assertSameOrigin(start.headers.location, 'start');

            // 2. A user Duo asks requests that very URL: the API's 401 location, then the callback's redirect.
            const path = value.startsWith('/')
              ? encodePath(value, how)
              : `/private?next=${encodeStrict(value)}`;
            const browser = new Browser(ownServer.url);
            await browser.login({ username: `fz-rt-${process.pid}-${++userSeq}`, tenant: 'globex' });
            const api = await browser.api('GET', path);
            if (api.status === 401 && api.json?.location)
              assertSameOrigin(api.json.location, 'api 401 location');
            const gate = await browser.navigate(path);
            if (gate.status !== 303) {
              assert.ok(gate.status < 500, `gate: ${gate.status}`);
              return;
            }
            const authUrl = new URL(String(gate.headers.location));
            assert.equal(authUrl.pathname, '/oauth/v1/authorize', `gate went to ${authUrl.href}`);
            const done = await browser.navigate(await duoCallback(emulator, authUrl));
            assert.equal(done.status, 303, `callback: ${done.status}`);
            assertSameOrigin(done.headers.location, 'callback');
          },
        ),
        options(150),
      )
      .finally(async () => {
        own.close();
        await ownServer.close();
      });
  });

  it('S10 raw bytes on the socket (malformed request lines, headers and cookies) never answer 5xx', async () => {
    tried.raw = 0;
    const rawText = fc.string({
      unit: fc.integer({ min: 0x00, max: 0xff }).map((c) => String.fromCharCode(c)),
      maxLength: 200,
    });
    const request = fc.oneof(
      rawText.map((junk) => `${junk}\r\n\r\n`),
      fc
        .tuple(fc.constantFrom('GET', 'POST', 'HEAD', 'get', 'G\u00e9T'), rawText, rawText)
        .map(
          ([verb, target, cookie]) =>
            `${verb} /duo/callback?state=${target} HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`,
        ),
      fc
        .tuple(rawText, headerValue)
        .map(
          ([path, value]) =>
            `GET /${path} HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nX-Odd: ${value}\r\nConnection: close\r\n\r\n`,
        ),
      fc
        .tuple(rawText, fc.integer({ min: 0, max: 100 }))
        .map(
          ([bodyText, extra]) =>
            `POST /api/data HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bodyText.length + extra}\r\nConnection: close\r\n\r\n${bodyText}`,
        ),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat(1), request, async (which, bytes) => {
        tried.raw!++;
        const status = await rawRequest(apps[which]!.server.port, Buffer.from(bytes, 'latin1'), 3000).catch(
          () => 0,
        );
        assert.ok(status < 500, `raw request answered ${status}`);
      }),
      options(200),
    );
    // The server is still healthy afterwards.
    const res = await httpRequest(apps[0]!.server.url, 'GET', '/public/info');
    assert.equal(res.status, 200);
    await assertNobodyVerified();
  });

  it('keeps answering normally after the fuzzing: a real login still completes on both apps', async () => {
    for (const { server, t } of apps) {
      const b = new Browser(server.url);
      await b.login({ username: `fz-final-${process.pid}`, roles: ['admin'] });
      const done = await b.navigate(await duoCallback(emulator, await startMfa(b)));
      assert.equal(done.status, 303);
      assert.equal((await b.api('GET', '/api/data')).status, 200);
      assert.equal(eventsOf(t.events, 'mfa.succeeded').length, 1);
    }
  });
});
