// S38 while serving: the policy file is corrupted, emptied, half-written, deleted, made invalid and restored under
// continuous traffic. Every answer must follow the last good policy; a valid file is picked up again.

import assert from 'node:assert/strict';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator/index';
import type { DuoMfaError } from '../../lib/errors';
import { duoMfa, isDuoMfaError } from '../../lib/index';
import { decideTenant } from '../../lib/policy/decide';
import { openTenantSource } from '../../lib/policy/open';
import type { PolicyUser } from '../../lib/policy/types';
import { ACME_APP, ALL_APPS, createTestApp, testPolicy, type TestApp } from '../helpers/app';
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

describe('reliability: one tenant’s faults while serving, tenant by tenant (S49)', function () {
  this.timeout(60_000);
  let dir: string;
  let unhandled: ReturnType<typeof trackUnhandledRejections>;

  before(() => {
    unhandled = trackUnhandledRejections();
    dir = mkdtempSync(join(tmpdir(), 'duo-mfa-rel-tenants-'));
  });
  afterEach(() => unhandled?.assertNone());
  after(() => {
    unhandled?.uninstall();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Who is asked in each tenant, and the answer every request must give. */
  const tenants: Record<string, { doc: Record<string, any>; user: PolicyUser; required: boolean }> = {
    acme: {
      doc: { mfa: { enabled: true, rolesIncluded: ['finance'] } },
      user: { username: 'carol', roles: ['finance'] },
      required: true,
    },
    globex: { doc: { mfa: { enabled: true } }, user: { username: 'gina' }, required: true },
    initech: { doc: { mfa: { enabled: false } }, user: { username: 'ian' }, required: false },
  };
  const duo = {
    clientId: ACME_APP.clientId,
    clientSecret: ACME_APP.clientSecret,
    apiHost: 'api-1.duosecurity.com',
  };
  const definition = (id: string) => JSON.stringify({ ...tenants[id]!.doc, duo }, null, 2);

  it('S49 a policy directory: faults in one tenant’s file never change another tenant’s answers, nor wave anyone through', async () => {
    const policyDir = join(dir, 'policy.d');
    mkdirSync(policyDir);
    for (const id of Object.keys(tenants)) writeFileSync(join(policyDir, `${id}.json`), definition(id));
    const invalid: string[] = [];
    const changed: string[] = [];
    const source = openTenantSource(policyDir, {
      debounceMs: 20,
      onInvalid: (error) => invalid.push(String(error.details.tenant ?? error.details.file)),
      onChange: (change) => changed.push(...change.tenants.map((tenant) => tenant.tenant)),
    });
    const violations: string[] = [];
    let served = 0;
    let running = true;
    /** What acme may answer now: its last good version (required), refused (unavailable/missing) — never "not required". */
    const traffic = (async () => {
      while (running) {
        for (const [id, { user, required }] of Object.entries(tenants)) {
          const entry = source.peek(id) ?? (await source.load(id));
          served++;
          if (entry.state !== 'ready') {
            if (id !== 'acme') violations.push(`${id}: ${entry.state}`);
            continue; // refused: 403 (missing) or 503 (unavailable), never waved through
          }
          const decision = decideTenant(id, entry.tenant, { ...user, tenant: id }, Date.now());
          if (decision.required !== required) violations.push(`${id}: required ${decision.required}`);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const acmeFile = join(policyDir, 'acme.json');
    const fault = async (what: string, apply: () => void) => {
      const before = invalid.length;
      apply();
      assert.ok(await waitFor(() => invalid.length > before, 6000), `${what}: not reported`);
      assert.equal(invalid.at(-1), 'acme', what);
      await sleep(150);
    };
    try {
      await sleep(100);
      await fault('corrupted', () => writeFileSync(acmeFile, '{ "mfa": '));
      await fault('emptied', () => writeFileSync(acmeFile, ''));
      await fault('binary garbage', () => writeFileSync(acmeFile, Buffer.from([0xff, 0xfe, 0x00, 0x7b])));
      await fault('valid JSON, invalid tenant', () =>
        writeFileSync(acmeFile, definition('acme').replace('rolesIncluded', 'rolesInclude')),
      );
      await fault('a secret missing from the environment', () =>
        writeFileSync(
          acmeFile,
          definition('acme').replace(
            /"clientSecret": "[^"]+"/,
            '"clientSecret": { "env": "DUO_MFA_REL_NOPE" }',
          ),
        ),
      );
      // An editor's atomic save puts a valid definition back.
      const restored = changed.length;
      writeFileSync(
        join(policyDir, '.acme.json.tmp'),
        definition('acme').replace('"finance"', '"finance", "audit"'),
      );
      renameSync(join(policyDir, '.acme.json.tmp'), acmeFile);
      assert.ok(await waitFor(() => changed.length > restored, 6000), 'the fix was not applied');
      await sleep(150);
    } finally {
      running = false;
      await traffic;
      source.close();
    }
    assert.deepEqual(violations, []);
    assert.ok(served > 300, `only ${served} requests served`);
    assert.deepEqual([...new Set(invalid)], ['acme']);
  });

  it('S49 a single file: one tenant’s invalid edit keeps its last good version while the others’ edits apply', async () => {
    const file = join(dir, 'policy.json');
    const doc = (acme: Record<string, any>, initechEnabled: boolean) =>
      JSON.stringify({
        tenants: {
          acme: { ...acme, duo },
          globex: { ...tenants.globex!.doc, duo },
          initech: { mfa: { enabled: initechEnabled }, duo },
        },
      });
    writeFileSync(file, doc(tenants.acme!.doc, false));
    const invalid: DuoMfaError[] = [];
    const source = openTenantSource(file, { debounceMs: 20, onInvalid: (error) => invalid.push(error) });
    try {
      const acme = await source.load('acme');
      assert.equal(acme.state, 'ready');
      await source.load('initech');
      writeFileSync(file, doc({ mfa: { enabled: 'yes' } }, true)); // acme broken, initech turned on, in one edit
      assert.ok(await waitFor(() => invalid.length > 0, 6000));
      assert.ok(
        await waitFor(() => {
          const initech = source.peek('initech');
          return initech?.state === 'ready' && initech.tenant.mfa.enabled;
        }, 6000),
        'initech’s change was not applied',
      );
      const kept = source.peek('acme');
      assert.ok(kept?.state === 'ready' && acme.state === 'ready' && kept.tenant === acme.tenant);
      assert.equal(invalid[0]!.details.tenant, 'acme');
      assert.deepEqual(source.tenantIds(), ['acme', 'globex', 'initech']);
    } finally {
      source.close();
    }
  });
});
