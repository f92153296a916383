// GET /oauth/v1/authorize: the signed request is validated like Duo does; valid ones are redirected back
// (auto) or sent to the prompt (interactive); invalid ones get Duo's error page, never a redirect.
import assert from 'node:assert/strict';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import {
  OTHER_APP,
  REDIRECT_URL,
  TEST_APP,
  authorizeClaims,
  authorizePath,
  emulatorRequest,
  followAuthorize,
} from '../helpers/duo';

describe('emulator authorize', () => {
  let emulator: DuoEmulator;
  before(async () => {
    emulator = await startDuoEmulator({ applications: [TEST_APP, OTHER_APP], mode: 'auto' });
  });
  after(() => emulator.close());
  afterEach(() => {
    emulator.setClockOffset(0);
    emulator.setMode('auto');
  });

  const get = (path: string) => emulatorRequest(emulator, 'GET', path);
  const claims = (overrides: Record<string, unknown> = {}, username = 'alice') =>
    authorizeClaims(emulator, TEST_APP, username, overrides);

  describe('when the request is valid (auto mode)', () => {
    it('redirects (302) to redirect_uri with duo_code and the same state, uncached', async () => {
      const signed = claims();
      const res = await get(authorizePath(TEST_APP, signed));
      assert.equal(res.status, 302);
      assert.equal(res.headers['cache-control'], 'no-store');
      const location = new URL(String(res.headers.location));
      assert.equal(location.origin + location.pathname, REDIRECT_URL);
      assert.deepEqual([...location.searchParams.keys()], ['duo_code', 'state']);
      assert.equal(location.searchParams.get('state'), signed.state);
      assert.match(location.searchParams.get('duo_code')!, /^[A-Za-z0-9_-]{32}$/);
    });

    it('uses the "code" parameter when use_duo_code_attribute is false', async () => {
      const location = await followAuthorize(
        emulator,
        new URL(authorizePath(TEST_APP, claims({ use_duo_code_attribute: false })), emulator.url),
      );
      assert.ok(location.searchParams.get('code'));
      assert.equal(location.searchParams.get('duo_code'), null);
    });

    it('keeps the query redirect_uri already had', async () => {
      const redirect = `${REDIRECT_URL}?tenant=acme`;
      const location = await followAuthorize(
        emulator,
        new URL(authorizePath(TEST_APP, claims({ redirect_uri: redirect })), emulator.url),
      );
      assert.equal(location.searchParams.get('tenant'), 'acme');
      assert.ok(location.searchParams.get('duo_code'));
    });

    it('accepts states of exactly 22 and 1024 characters', async () => {
      for (const length of [22, 1024]) {
        const res = await get(authorizePath(TEST_APP, claims({ state: 's'.repeat(length) })));
        assert.equal(res.status, 302, `state of ${length}`);
      }
    });

    it('still issues a code for a user scripted to deny (the deny is in the token)', async () => {
      emulator.setUser('mallory', { result: 'deny' });
      const location = await followAuthorize(
        emulator,
        new URL(authorizePath(TEST_APP, claims({}, 'mallory')), emulator.url),
      );
      assert.ok(location.searchParams.get('duo_code'));
    });

    it('enrolls a user scripted as not enrolled silently and redirects', async () => {
      emulator.setUser('newbie', { enrolled: false });
      const location = await followAuthorize(
        emulator,
        new URL(authorizePath(TEST_APP, claims({}, 'newbie')), emulator.url),
      );
      assert.ok(location.searchParams.get('duo_code'));
    });

    it('sends Duo’s error redirect for a user scripted with result "error"', async () => {
      emulator.setUser('locked', { result: 'error', reason: 'User is locked out' });
      const signed = claims({}, 'locked');
      const location = await followAuthorize(
        emulator,
        new URL(authorizePath(TEST_APP, signed), emulator.url),
      );
      assert.equal(location.searchParams.get('error'), 'access_denied');
      assert.equal(location.searchParams.get('error_description'), 'User is locked out');
      assert.equal(location.searchParams.get('state'), signed.state);
      assert.equal(location.searchParams.get('duo_code'), null);
    });
  });

  describe('when the request is valid (interactive mode)', () => {
    it('sends the browser (303) to a prompt page of the emulator', async () => {
      emulator.setMode('interactive');
      const res = await get(authorizePath(TEST_APP, claims()));
      assert.equal(res.status, 303);
      assert.match(String(res.headers.location), /^\/frame\/prompt\?sid=[A-Za-z0-9_-]{24}$/);
    });
  });

  describe('when the request is invalid', () => {
    const stranger = { clientId: 'DIUNKNOWNCLIENT00000', clientSecret: 'u'.repeat(40) };
    const now = () => Math.round(Date.now() / 1000);
    const cases: Array<[string, () => string]> = [
      ['an unknown client_id', () => authorizePath(stranger, authorizeClaims(emulator, stranger, 'alice'))],
      [
        'a request signed with another secret',
        () => authorizePath(TEST_APP, claims(), { secret: OTHER_APP.clientSecret }),
      ],
      [
        'a tampered request signature',
        () => {
          const path = new URL(authorizePath(TEST_APP, claims()), emulator.url);
          const [h, p, sig] = path.searchParams.get('request')!.split('.');
          const flipped = sig!.slice(0, 10) + (sig![10] === 'A' ? 'B' : 'A') + sig!.slice(11);
          path.searchParams.set('request', `${h}.${p}.${flipped}`);
          return path.pathname + path.search;
        },
      ],
      ['a request signed with alg none', () => authorizePath(TEST_APP, claims(), { alg: 'none' })],
      ['a request signed with HS256', () => authorizePath(TEST_APP, claims(), { alg: 'HS256' })],
      [
        'an aud with a path',
        () => authorizePath(TEST_APP, claims({ aud: `https://${emulator.apiHost}/oauth/v1/authorize` })),
      ],
      [
        'an aud naming another Duo host',
        () => authorizePath(TEST_APP, claims({ aud: 'https://api-1234abcd.duosecurity.com' })),
      ],
      ['an expired request', () => authorizePath(TEST_APP, claims({ exp: now() - 120 }))],
      ['no exp', () => authorizePath(TEST_APP, claims({ exp: undefined }))],
      ['a state of 21 characters', () => authorizePath(TEST_APP, claims({ state: 's'.repeat(21) }))],
      ['a state of 1025 characters', () => authorizePath(TEST_APP, claims({ state: 's'.repeat(1025) }))],
      ['a state that is not a string', () => authorizePath(TEST_APP, claims({ state: 1234567890123456 }))],
      [
        'a redirect_uri that differs from the signed one',
        () =>
          authorizePath(TEST_APP, claims(), { query: { redirect_uri: 'https://evil.example/duo/callback' } }),
      ],
      [
        'a redirect_uri that is not a URL',
        () => authorizePath(TEST_APP, claims({ redirect_uri: 'not a url' })),
      ],
      [
        'a javascript: redirect_uri',
        () => authorizePath(TEST_APP, claims({ redirect_uri: 'javascript:alert(1)' })),
      ],
      ['no duo_uname', () => authorizePath(TEST_APP, claims({ duo_uname: undefined }))],
      ['an empty duo_uname', () => authorizePath(TEST_APP, claims({ duo_uname: '' }))],
      ['a response_type other than code', () => authorizePath(TEST_APP, claims({ response_type: 'token' }))],
      [
        'a query response_type other than code',
        () => authorizePath(TEST_APP, claims(), { query: { response_type: 'token' } }),
      ],
      ['a scope without openid', () => authorizePath(TEST_APP, claims({ scope: 'profile' }))],
      [
        'a client_id claim of another client',
        () => authorizePath(TEST_APP, claims({ client_id: OTHER_APP.clientId })),
      ],
      ['an iss of another client', () => authorizePath(TEST_APP, claims({ iss: OTHER_APP.clientId }))],
      [
        'a use_duo_code_attribute that is not a boolean',
        () => authorizePath(TEST_APP, claims({ use_duo_code_attribute: 'yes' })),
      ],
      [
        'no request parameter',
        () =>
          `/oauth/v1/authorize?response_type=code&client_id=${TEST_APP.clientId}&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT_URL)}`,
      ],
      ['a repeated client_id', () => `${authorizePath(TEST_APP, claims())}&client_id=${OTHER_APP.clientId}`],
    ];
    for (const [name, path] of cases) {
      it(`shows Duo’s error page (400, no redirect) for ${name}`, async () => {
        const res = await get(path());
        assert.equal(res.status, 400);
        assert.equal(res.headers.location, undefined);
        assert.match(String(res.headers['content-type']), /^text\/html/);
        assert.match(res.body, /id="error-title">Invalid request</);
        assert.equal(res.headers['cache-control'], 'no-store');
      });
    }

    it('shows the error page for a fresh request once the emulator’s clock is 400 s ahead', async () => {
      emulator.setClockOffset(400);
      const res = await get(authorizePath(TEST_APP, claims()));
      assert.equal(res.status, 400);
      assert.match(res.body, /expired/);
    });

    it('never reflects query input into the error page', async () => {
      const res = await get(
        authorizePath(TEST_APP, claims(), {
          query: { redirect_uri: 'https://x.example/<script>alert(1)</script>' },
        }),
      );
      assert.equal(res.status, 400);
      assert.doesNotMatch(res.body, /<script>/);
    });
  });

  describe('when called with another method', () => {
    it('answers 405 with Allow: GET', async () => {
      const res = await emulatorRequest(emulator, 'POST', authorizePath(TEST_APP, claims()), { form: {} });
      assert.equal(res.status, 405);
      assert.equal(res.headers.allow, 'GET');
    });
  });
});
