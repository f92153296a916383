// S49 over HTTP: a policy directory where one tenant's file is invalid (from the start, or after a good version was
// in force). That tenant is refused (503) or keeps its last good version; the other tenant's users go to Duo as usual.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDuoEmulator } from '../../lib/emulator/index';
import type { AuditEvent } from '../../lib/index';
import type { PolicyIssue } from '../../lib/policy/types';
import { ACME_APP, ALL_APPS, createTestApp, eventsOf, GLOBEX_APP, type TestApp } from '../helpers/app';
import { agentFor, beginMfa, completeMfa, login, type LoginUser } from '../helpers/flow';
import { tempDir, waitFor } from '../policy/helpers';

type Emulator = Awaited<ReturnType<typeof startDuoEmulator>>;

/** carol (role finance) is asked for Duo in either tenant; ian (no role) is not. */
const CAROL = { username: 'carol', roles: ['finance'] };
const IAN = { username: 'ian', roles: [] };

/**
 * A definition that would let everyone in (MFA off, fail open) if it were ever used, but is invalid: a typo in
 * `failmode`. Whoever gets a 200 from it was waved through by a broken definition.
 */
const WAVES_THROUGH = (apiHost: string) =>
  JSON.stringify({ mfa: { enabled: false }, duo: { ...GLOBEX_APP, apiHost }, failmode: 'opne' });

/** The broken globex files tried: valid JSON that fails the schema, and a file cut short. */
const BROKEN: ReadonlyArray<{ what: string; text: (apiHost: string) => string; message: RegExp }> = [
  { what: 'an invalid definition', text: WAVES_THROUGH, message: /failmode: must be "closed" or "open"/ },
  { what: 'a file that is not JSON', text: () => '{ "mfa": ', message: /not valid JSON at line 1/ },
];

describe('duoMfa with a policy directory: one tenant’s broken file (S49)', function () {
  this.timeout(30_000);
  let emulator: Emulator;
  let t: TestApp | undefined;
  let tmp: ReturnType<typeof tempDir>;

  const put = (id: string, text: string) => writeFileSync(tmp.path(`${id}.json`), text);
  const tenant = (id: 'acme' | 'globex', overrides: Record<string, unknown> = {}) =>
    JSON.stringify({
      mfa: { enabled: true, rolesIncluded: ['finance'] },
      duo: { ...(id === 'acme' ? ACME_APP : GLOBEX_APP), apiHost: emulator.apiHost },
      failmode: 'closed',
      ...overrides,
    });

  /** A fresh browser signed in to the host app as `user` of `tenantId`. */
  async function signedIn(user: Omit<LoginUser, 'tenant'>, tenantId: string) {
    const agent = agentFor(t!.app);
    await login(agent, { ...user, tenant: tenantId });
    return agent;
  }

  /** A user of a broken tenant: 503 ERR_POLICY_UNAVAILABLE as a page and as JSON, no redirect, nothing private. */
  async function assertRefused(user: Omit<LoginUser, 'tenant'>, tenantId: string): Promise<void> {
    const agent = await signedIn(user, tenantId);
    const started = eventsOf(t!.events, 'mfa.started').length;
    const page = await agent.get('/private').set('Accept', 'text/html');
    assert.equal(page.status, 503, `${user.username}: ${page.status} ${page.text.slice(0, 200)}`);
    assert.equal(page.headers.location, undefined);
    assert.match(page.text, /ERR_POLICY_UNAVAILABLE/);
    assert.doesNotMatch(page.text, /private page/);
    const api = await agent.get('/api/data').set('Accept', 'application/json');
    assert.equal(api.status, 503);
    assert.equal(api.body.code, 'ERR_POLICY_UNAVAILABLE');
    assert.equal(api.body.secret, undefined);
    assert.equal(eventsOf(t!.events, 'mfa.started').length, started, 'no Duo login was started');
  }

  /** The user's navigation is sent to Duo (303 to the emulator's authorize URL). */
  async function assertSentToDuo(user: Omit<LoginUser, 'tenant'>, tenantId: string): Promise<void> {
    const agent = await signedIn(user, tenantId);
    const authorize = await beginMfa(agent);
    assert.equal(authorize.host, emulator.apiHost);
    assert.equal(
      authorize.searchParams.get('client_id'),
      (tenantId === 'acme' ? ACME_APP : GLOBEX_APP).clientId,
    );
  }

  /** The user is not asked for Duo: the private page at once. */
  async function assertLetIn(user: Omit<LoginUser, 'tenant'>, tenantId: string): Promise<void> {
    const agent = await signedIn(user, tenantId);
    const page = await agent.get('/private').set('Accept', 'text/html');
    assert.equal(page.status, 200, `${user.username}: ${page.status} ${page.text.slice(0, 200)}`);
    assert.match(page.text, /private page/);
  }

  const invalidEvents = (): AuditEvent[] => eventsOf(t!.events, 'policy.invalid');
  /** An event's issues as `path: message` lines. */
  const issueLines = (event: AuditEvent): string =>
    (event.issues as PolicyIssue[]).map((issue) => `${issue.path}: ${issue.message}`).join('\n');

  before(async () => {
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
  });
  after(async () => {
    await emulator.close();
  });
  beforeEach(() => {
    tmp = tempDir('duo-mfa-mw-tenant-faults-');
    put('acme', tenant('acme'));
  });
  afterEach(() => {
    t?.close();
    t = undefined;
    tmp.cleanup();
  });

  for (const broken of BROKEN) {
    it(`S49 broken from the start (${broken.what}): its users get 503 ERR_POLICY_UNAVAILABLE, the other tenant goes to Duo, the event names tenant and file`, async () => {
      put('globex', broken.text(emulator.apiHost));
      t = createTestApp({ emulator, policy: tmp.dir });
      // Start-up did not stop, and the broken tenant is still one of the policy's tenants (its users: 503, not 403).
      assert.deepEqual(t.mfa.tenants(), ['acme', 'globex']);

      await assertRefused(IAN, 'globex'); // the broken definition would let ian in: it never does
      await assertRefused(CAROL, 'globex');

      // The other tenant: its user goes to Duo and through it, as always.
      await assertSentToDuo(CAROL, 'acme');
      const agent = await signedIn(CAROL, 'acme');
      const callback = await completeMfa(agent, emulator);
      assert.equal(callback.status, 303);
      assert.equal(callback.headers.location, '/private');
      await agent.get('/private').set('Accept', 'text/html').expect(200);
      await assertLetIn(IAN, 'acme');

      // Reported once, however many requests: the tenant, its file's path, and its name within the directory.
      const [invalid, ...more] = invalidEvents();
      assert.deepEqual(more, []);
      assert.equal(invalid?.tenant, 'globex');
      assert.equal(invalid.source, join(tmp.dir, 'globex.json'));
      assert.equal(invalid.file, 'globex.json');
      assert.equal(invalid.code, 'ERR_POLICY_INVALID');
      assert.ok(String(invalid.message).includes(join(tmp.dir, 'globex.json')), String(invalid.message));
      assert.match(issueLines(invalid), broken.message);
      assert.ok(
        (invalid.issues as PolicyIssue[]).every((issue) => issue.file === 'globex.json'),
        JSON.stringify(invalid.issues),
      );
      // The refusals are audited as failures of that tenant, never as a pass.
      const failed = eventsOf(t.events, 'mfa.failed').filter((event) => event.tenant === 'globex');
      assert.ok(failed.length >= 4, `mfa.failed: ${failed.length}`);
      assert.ok(failed.every((event) => event.reason === 'policy_unavailable'));
      assert.deepEqual(
        eventsOf(t.events, 'mfa.bypassed').filter((event) => event.tenant === 'globex'),
        [],
      );
      assert.deepEqual(t.mfa.tenants(), ['acme', 'globex']);
    });
  }

  it('S49 turns invalid after a good version was in force: the last good version stays, the other tenant is unaffected, a fix applies', async () => {
    put('globex', tenant('globex'));
    t = createTestApp({ emulator, policy: tmp.dir });
    // The good version: carol is asked for Duo, ian is not.
    await assertSentToDuo(CAROL, 'globex');
    await assertLetIn(IAN, 'globex');
    assert.deepEqual(invalidEvents(), []);

    for (const [n, broken] of BROKEN.entries()) {
      put('globex', broken.text(emulator.apiHost));
      await waitFor(() => invalidEvents().length === n + 1, `policy.invalid for ${broken.what}`, 10_000);
      const invalid = invalidEvents()[n]!;
      assert.equal(invalid.tenant, 'globex');
      assert.equal(invalid.source, join(tmp.dir, 'globex.json'));
      assert.equal(invalid.file, 'globex.json');
      assert.match(issueLines(invalid), broken.message);
      // The last good version is in force: carol still goes to Duo (the broken file would let her in), ian is
      // still let in (not refused), and acme's users are unaffected.
      await assertSentToDuo(CAROL, 'globex');
      await assertLetIn(IAN, 'globex');
      await assertSentToDuo(CAROL, 'acme');
      assert.deepEqual(t.mfa.tenants(), ['acme', 'globex']);
    }
    assert.deepEqual(
      eventsOf(t.events, 'mfa.failed').filter((event) => event.tenant === 'globex'),
      [],
    );

    // A valid edit is applied again (so the kept version above was kept, not merely never reloaded).
    const reloaded = eventsOf(t.events, 'policy.reloaded').length;
    put('globex', tenant('globex', { mfa: { enabled: false } }));
    await waitFor(
      () => eventsOf(t!.events, 'policy.reloaded').length > reloaded,
      'policy.reloaded after the fix',
      10_000,
    );
    assert.equal(eventsOf(t.events, 'policy.reloaded').at(-1)?.tenant, 'globex');
    await assertLetIn(CAROL, 'globex');
    await assertSentToDuo(CAROL, 'acme');
  });
});
