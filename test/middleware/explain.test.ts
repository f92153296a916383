// mfa.explain() for a tenant it cannot decide says why: not in the policy, or in it but unusable now (an invalid
// tenant file of a policy directory, S49) — never "not required".

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDuoEmulator } from '../../lib/emulator/index';
import { ALL_APPS, createTestApp, testPolicy, type TestApp } from '../helpers/app';

type Emulator = Awaited<ReturnType<typeof startDuoEmulator>>;

describe('mfa.explain for a tenant it cannot decide', () => {
  let emulator: Emulator;
  let dir: string;
  let t: TestApp;

  before(async () => {
    emulator = await startDuoEmulator({ applications: ALL_APPS, mode: 'auto' });
  });
  after(async () => {
    await emulator.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'duo-mfa-explain-'));
    const { tenants } = testPolicy(emulator.apiHost);
    writeFileSync(join(dir, 'acme.json'), JSON.stringify(tenants.acme));
    writeFileSync(join(dir, 'globex.json'), JSON.stringify({ ...tenants.globex, failmode: 'sideways' }));
    t = createTestApp({ emulator, policy: dir });
  });
  afterEach(() => {
    t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('S49 names a tenant whose file is not valid as unusable now, with the reason, and its sign-ins refused', () => {
    const decision = t.mfa.explain({ username: 'gina', tenant: 'globex' });
    assert.equal(decision.reason.code, 'unknown_tenant');
    assert.equal(decision.required, true);
    assert.match(decision.reason.detail, /"globex" cannot be used now \(.+\): its sign-ins are refused/);
    assert.match(decision.reason.detail, /ERR_POLICY_UNAVAILABLE/);
    assert.ok(!decision.reason.detail.includes(dir), 'the server path stays out of what hosts show');
  });

  it('says a tenant is not in the policy only when it is not, and decides the others', () => {
    assert.match(
      t.mfa.explain({ username: 'x', tenant: 'initech' }).reason.detail,
      /"initech" is not in the policy/,
    );
    assert.notEqual(
      t.mfa.explain({ username: 'alice', tenant: 'acme', roles: ['admin'] }).reason.code,
      'unknown_tenant',
    );
  });
});
