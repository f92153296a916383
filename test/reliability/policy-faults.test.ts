// S38 while serving: the policy file is corrupted, emptied, half-written, deleted, made invalid and restored under
// continuous traffic. Every answer must follow the last good policy; a valid file is picked up again.

import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import { duoMfa, isDuoMfaError } from '../../lib/index';
import { ALL_APPS, createTestApp, testPolicy, type TestApp } from '../helpers/app';
import { eventsOf, sleep, waitFor } from './helpers/flow';
import { Browser, listen, type HttpResult, type Listening } from './helpers/http';
import { trackUnhandledRejections } from './helpers/resources';

/** Which policy is in force: A asks carol (role finance) for Duo, B does not. */
type Label = 'A' | 'B';

/** What each visitor gets from GET /api/data under each policy. */
const EXPECTED: Record<string, Record<Label, number>> = {
  carol: { A: 401, B: 200 }, // acme, role finance: rolesIncluded is [admin, finance] in A, [admin] in B
  gina: { A: 401, B: 401 }, // globex: everyone is asked
  ian: { A: 200, B: 200 }, // initech: MFA disabled
};

describe('reliability: policy file faults while serving (S38)', function () {
  this.timeout(60_000);
  let emulator: DuoEmulator;
  let dir: string;
  let file: string;
  let t: TestApp;
  let server: Listening;
  let policyA: string;
  let policyB: string;

  let unhandled: ReturnType<typeof trackUnhandledRejections>;

  afterEach(() => unhandled?.assertNone());
  before(async () => {
    unhandled = trackUnhandledRejections();
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
    dir = mkdtempSync(join(tmpdir(), 'duo-mfa-rel-policy-'));
    file = join(dir, 'duo-mfa.json');
    const a = testPolicy(emulator.apiHost);
    const b = testPolicy(emulator.apiHost);
    b.tenants.acme.mfa.rolesIncluded = ['admin'];
    policyA = JSON.stringify(a, null, 2);
    policyB = JSON.stringify(b, null, 2);
    writeFileSync(file, policyA);
    t = createTestApp({ emulator, policy: file });
    server = await listen(t.app);
  });
  after(async () => {
    unhandled?.uninstall();
    t?.close();
    await server?.close();
    await emulator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('S38 corrupted, emptied, half-written, deleted or invalid files leave the last good policy in force under traffic; valid ones reload', async () => {
    // `phase` is the policy that must be in force; during a deliberate valid change either one may answer.
    let phase: Label | 'A|B' = 'A';
    const allowed = (p: typeof phase): Label[] => (p === 'A|B' ? ['A', 'B'] : [p]);
    const violations: string[] = [];
    let served = 0;
    let running = true;

    const visitors = await Promise.all(
      [
        { name: 'carol', tenant: 'acme', roles: ['finance'] },
        { name: 'gina', tenant: 'globex', roles: [] },
        { name: 'ian', tenant: 'initech', roles: [] },
      ].map(async (v) => {
        const b = new Browser(server.url);
        await b.login({ username: v.name, tenant: v.tenant, roles: v.roles });
        return { ...v, b };
      }),
    );
    const traffic = visitors.map(async ({ name, b }) => {
      while (running) {
        const before = phase;
        let res: HttpResult;
        try {
          res = await b.api('GET', '/api/data');
        } catch (error) {
          violations.push(`${name}: ${String(error)}`);
          continue;
        }
        served++;
        const labels = new Set([...allowed(before), ...allowed(phase)]);
        const ok = [...labels].some((label) => EXPECTED[name]![label] === res.status);
        if (!ok || res.status >= 500) {
          violations.push(`${name} under ${[...labels].join('|')}: ${res.status} ${res.text.slice(0, 120)}`);
        }
      }
    });

    const invalidCount = () => eventsOf(t.events, 'policy.invalid').length;
    const reloadedCount = () => eventsOf(t.events, 'policy.reloaded').length;
    const steps: string[] = [];
    /** Applies a fault and keeps serving a while: the last good policy must hold. */
    const fault = async (what: string, apply: () => void) => {
      const before = invalidCount();
      const started = Date.now();
      apply();
      assert.ok(await waitFor(() => invalidCount() > before, 6000), `${what}: no policy.invalid event`);
      steps.push(`${what}: policy.invalid after ${Date.now() - started} ms`);
      await sleep(250);
    };
    /** Writes a valid policy and waits until it is in force. */
    const restore = async (what: string, to: Label, apply: () => void) => {
      const before = reloadedCount();
      const started = Date.now();
      phase = 'A|B';
      apply();
      assert.ok(await waitFor(() => reloadedCount() > before, 6000), `${what}: no policy.reloaded event`);
      steps.push(`${what}: policy.reloaded after ${Date.now() - started} ms`);
      phase = to;
      await sleep(250);
    };

    try {
      await sleep(200);
      await fault('corrupted', () => writeFileSync(file, '{ "tenants": { "acme": '));
      await fault('emptied', () => writeFileSync(file, ''));
      await fault('binary garbage', () => writeFileSync(file, Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x80])));
      await fault('valid JSON, invalid policy', () =>
        writeFileSync(file, policyA.replace('"rolesIncluded"', '"rolesInclude"')),
      );
      await fault('a secret missing from the environment', () =>
        writeFileSync(
          file,
          policyA.replace(/"clientSecret": "[^"]+"/, '"clientSecret": { "env": "DUO_MFA_REL_NOPE" }'),
        ),
      );
      await fault('deleted', () => rmSync(file));

      // A slow writer: the first half lands, is read and refused; the rest completes the new valid policy B.
      const fd = openSync(file, 'w');
      const half = Math.floor(policyB.length / 2);
      await fault('half-written', () => writeSync(fd, policyB.slice(0, half)));
      await restore('completed (policy B)', 'B', () => {
        writeSync(fd, policyB.slice(half));
        closeSync(fd);
      });

      await fault('deleted again', () => rmSync(file));
      await fault('corrupted again', () => writeFileSync(file, policyB.slice(0, 100)));
      // An editor's atomic save (write a temporary file, rename over): policy A comes back.
      await restore('atomic rename (policy A)', 'A', () => {
        writeFileSync(join(dir, '.duo-mfa.json.tmp'), policyA);
        renameSync(join(dir, '.duo-mfa.json.tmp'), file);
      });
    } finally {
      running = false;
      await Promise.all(traffic);
    }

    assert.deepEqual(violations, []);
    assert.ok(served > 100, `only ${served} requests served`);
    // Every refusal was reported, with the problem, and logged.
    for (const event of eventsOf(t.events, 'policy.invalid')) {
      assert.equal(event.code, 'ERR_POLICY_INVALID');
      assert.ok(Array.isArray(event.issues) && event.issues.length > 0);
    }
    assert.ok(t.logs.some((line) => line.includes('policy.invalid')));
    console.log(
      `      ↳ ${served} requests served during ${steps.length} file changes, all by the policy in force`,
    );
    for (const step of steps) console.log(`        ${step}`);
  });
  it('S38 at start-up the same faulty files are an error listing the problems, never a running gate', () => {
    const startupFile = join(dir, 'startup.json');
    const faulty: Array<[string, string | Buffer | undefined]> = [
      ['corrupted', '{ "tenants": { "acme": '],
      ['emptied', ''],
      ['binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x80])],
      ['half-written', policyB.slice(0, Math.floor(policyB.length / 2))],
      ['invalid policy', policyA.replace('"rolesIncluded"', '"rolesInclude"')],
      [
        'missing secret',
        policyA.replace(/"clientSecret": "[^"]+"/, '"clientSecret": { "env": "DUO_MFA_REL_NOPE" }'),
      ],
      ['deleted', undefined],
    ];
    for (const [what, content] of faulty) {
      rmSync(startupFile, { force: true });
      if (content !== undefined) writeFileSync(startupFile, content);
      assert.throws(
        () =>
          duoMfa({ policy: startupFile, baseUrl: 'http://127.0.0.1', duoTls: { ca: emulator.ca } }).close(),
        (error: unknown) => {
          assert.ok(isDuoMfaError(error), `${what}: ${String(error)}`);
          assert.equal(error.code, 'ERR_POLICY_INVALID', what);
          const issues = error.details.issues as unknown[];
          assert.ok(Array.isArray(issues) && issues.length > 0, `${what}: no issues listed`);
          return true;
        },
        what,
      );
    }
  });
});
