// compilePolicy(): env secrets, the frozen precompiled form, the content version, and secrets kept out of output.

import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { compilePolicy, validatePolicy } from '../../lib/policy/compile';
import { FrozenMap, FrozenSet } from '../../lib/policy/frozen';
import { DESIGN_ENV, OTHER_SECRET, SECRET, designPolicy, issuesOf, policyError, tenantDoc } from './helpers';

function withEnvSecret(name = 'ACME_DUO_CLIENT_SECRET') {
  return {
    tenants: { acme: tenantDoc({ duo: { ...(tenantDoc().duo as object), clientSecret: { env: name } } }) },
  };
}

describe('compilePolicy', () => {
  describe('when a secret comes from the environment', () => {
    it('resolves it from options.env', () => {
      const policy = compilePolicy(withEnvSecret(), { env: { ACME_DUO_CLIENT_SECRET: OTHER_SECRET } });
      assert.equal(policy.tenants.get('acme')!.duo.clientSecret, OTHER_SECRET);
    });

    it('names a missing variable at the secret’s path', () => {
      const error = policyError(() => compilePolicy(withEnvSecret(), { env: {} }));
      assert.deepEqual(issuesOf(error), [
        {
          path: 'tenants.acme.duo.clientSecret',
          message: 'environment variable ACME_DUO_CLIENT_SECRET is not set',
        },
      ]);
    });

    it('reports an empty variable', () => {
      const error = policyError(() =>
        compilePolicy(withEnvSecret(), { env: { ACME_DUO_CLIENT_SECRET: '' } }),
      );
      assert.equal(issuesOf(error)[0]!.message, 'environment variable ACME_DUO_CLIENT_SECRET is empty');
    });

    it('reports a value of the wrong length without printing it (a trailing newline is pointed out)', () => {
      const value = `${SECRET}\n`;
      const error = policyError(() =>
        compilePolicy(withEnvSecret(), { env: { ACME_DUO_CLIENT_SECRET: value } }),
      );
      assert.equal(
        issuesOf(error)[0]!.message,
        'environment variable ACME_DUO_CLIENT_SECRET must hold the 40-character client secret (it holds 41 characters, including surrounding whitespace)',
      );
      assert.ok(!error.message.includes(SECRET));
      assert.ok(!JSON.stringify(error.details).includes(SECRET));
    });

    it('reads process.env when no env is given', () => {
      process.env.DUO_MFA_TEST_SECRET = OTHER_SECRET;
      try {
        const policy = compilePolicy(withEnvSecret('DUO_MFA_TEST_SECRET'));
        assert.equal(policy.tenants.get('acme')!.duo.clientSecret, OTHER_SECRET);
      } finally {
        delete process.env.DUO_MFA_TEST_SECRET;
      }
    });

    it('skips env secrets with skipSecrets (tools that never call Duo)', () => {
      const policy = compilePolicy(withEnvSecret(), { env: {}, skipSecrets: true });
      assert.equal(policy.tenants.get('acme')!.duo.clientSecret, '');
    });
  });

  describe('when a secret is invalid', () => {
    it('never includes its value in the message or the details', () => {
      const leaked = 'leaked-secret-value-xyz';
      const doc = {
        tenants: {
          acme: tenantDoc({
            duo: { clientId: leaked, clientSecret: leaked, apiHost: 'api-1.duosecurity.com' },
          }),
        },
      };
      const error = policyError(() => compilePolicy(doc));
      assert.ok(!error.message.includes(leaked), error.message);
      assert.ok(!JSON.stringify(error.details).includes(leaked));
    });
  });

  describe('the compiled form', () => {
    const policy = compilePolicy(designPolicy(), { env: DESIGN_ENV, source: 'design.json' });
    const acme = policy.tenants.get('acme')!;

    it('keeps the source, the default tenant and the settings', () => {
      assert.equal(policy.source, 'design.json');
      assert.equal(policy.defaultTenant, 'acme');
      assert.equal(acme.id, 'acme');
      assert.equal(acme.failmode, 'closed');
      assert.equal(acme.challengeLimit, 5);
      assert.deepEqual(
        { clientId: acme.duo.clientId, apiHost: acme.duo.apiHost },
        { clientId: 'DIABCDEFGHIJKLMNOPQR', apiHost: 'api-12345678.duosecurity.com' },
      );
      assert.equal(acme.trustedEndpoints.policy, 'monitor');
      assert.equal(acme.trustedEndpoints.activation, 'test-group');
    });

    it('turns every list into a Set of canonical names', () => {
      const doc = {
        tenants: {
          acme: tenantDoc({
            mfa: { enabled: true, rolesIncluded: [' Admin ', 'FINANCE'], staffExcluded: ['Kiosk-1'] },
            trustedEndpoints: { testGroup: { roles: ['IT '], staff: [' Erin'] } },
          }),
        },
      };
      const tenant = compilePolicy(doc).tenants.get('acme')!;
      assert.ok(tenant.mfa.rolesIncluded instanceof Set);
      assert.deepEqual([...tenant.mfa.rolesIncluded], ['admin', 'finance']);
      assert.deepEqual([...tenant.mfa.staffExcluded], ['kiosk-1']);
      assert.deepEqual([...tenant.trustedEndpoints.testGroup.roles], ['it']);
      assert.deepEqual([...tenant.trustedEndpoints.testGroup.staff], ['erin']);
    });

    it('keys bypasses by canonical username, until in epoch ms, keeping the latest entry per user', () => {
      const doc = {
        tenants: {
          acme: tenantDoc({
            mfa: {
              enabled: true,
              temporaryBypass: [
                { username: 'Frank', until: '2026-11-25T18:00:00+02:00', reason: ' new phone ' },
                { username: ' frank', until: '2026-01-01T00:00:00Z', reason: 'older' },
              ],
            },
          }),
        },
      };
      const bypass = compilePolicy(doc).tenants.get('acme')!.mfa.temporaryBypass;
      assert.deepEqual(
        [...bypass.entries()],
        [['frank', { username: 'frank', until: Date.UTC(2026, 10, 25, 16), reason: 'new phone' }]],
      );
    });

    it('is deep-frozen: objects frozen, Sets and Maps refuse changes (S6: only a reload changes a policy)', () => {
      assert.ok(Object.isFrozen(policy));
      assert.ok(Object.isFrozen(acme));
      assert.ok(Object.isFrozen(acme.mfa));
      assert.ok(Object.isFrozen(acme.duo));
      assert.ok(Object.isFrozen(acme.trustedEndpoints.testGroup));
      assert.ok(Object.isFrozen(acme.mfa.temporaryBypass.get('frank')));
      assert.throws(() => (acme.mfa.rolesIncluded as Set<string>).add('intruder'), TypeError);
      assert.throws(() => (acme.mfa.staffExcluded as Set<string>).delete('kiosk-1'), TypeError);
      assert.throws(() => (acme.mfa.staffIncluded as Set<string>).clear(), TypeError);
      assert.throws(() => (policy.tenants as Map<string, unknown>).set('evil', {}), TypeError);
      assert.throws(() => (policy.tenants as Map<string, unknown>).delete('acme'), TypeError);
      assert.throws(() => (acme.mfa.temporaryBypass as Map<string, unknown>).clear(), TypeError);
      assert.ok(policy.tenants instanceof FrozenMap);
      assert.ok(acme.mfa.rolesIncluded instanceof FrozenSet);
      assert.deepEqual([...acme.mfa.rolesIncluded], ['admin', 'finance']);
    });

    it('keeps the client secret out of JSON.stringify and util.inspect, yet readable and spreadable', () => {
      assert.equal(acme.duo.clientSecret, SECRET);
      assert.equal({ ...acme.duo }.clientSecret, SECRET);
      assert.ok(!JSON.stringify(acme.duo).includes(SECRET));
      assert.ok(!inspect(policy, { depth: 10 }).includes(SECRET));
      assert.match(JSON.stringify(acme.duo), /"clientSecret":"\[redacted\]"/);
    });
  });

  describe('version', () => {
    const base = () => ({
      tenants: { acme: tenantDoc({ mfa: { enabled: true, rolesIncluded: ['admin'] } }) },
    });

    it('is a 12-character hex hash', () => {
      assert.match(compilePolicy(base()).version, /^[0-9a-f]{12}$/);
    });

    it('does not change with key order, formatting or explicit defaults', () => {
      const reordered = JSON.parse(
        JSON.stringify({
          tenants: { acme: { duo: tenantDoc().duo, mfa: { rolesIncluded: ['admin'], enabled: true } } },
        }),
      );
      const explicit = {
        tenants: {
          acme: tenantDoc({
            mfa: { enabled: true, rolesIncluded: ['admin'] },
            failmode: 'closed',
            challengeLimit: 5,
          }),
        },
      };
      const withSchema = { $schema: './x.json', ...base() };
      const version = compilePolicy(base()).version;
      assert.equal(compilePolicy(reordered).version, version);
      assert.equal(compilePolicy(explicit).version, version);
      assert.equal(compilePolicy(withSchema).version, version);
    });

    it('changes with any setting, and with the secret (hashed, never in clear)', () => {
      const version = compilePolicy(base()).version;
      const changedList = {
        tenants: { acme: tenantDoc({ mfa: { enabled: true, rolesIncluded: ['admin', 'it'] } }) },
      };
      assert.notEqual(compilePolicy(changedList).version, version);
      const env1 = compilePolicy(withEnvSecret(), { env: { ACME_DUO_CLIENT_SECRET: SECRET } }).version;
      const env2 = compilePolicy(withEnvSecret(), { env: { ACME_DUO_CLIENT_SECRET: OTHER_SECRET } }).version;
      assert.notEqual(env1, env2);
    });
  });

  describe('validatePolicy', () => {
    it('returns the validated file alongside the compiled policy', () => {
      const result = validatePolicy(designPolicy(), { env: DESIGN_ENV });
      assert.ok(result.ok);
      assert.deepEqual(result.file.tenants.acme!.duo.clientSecret, { env: 'ACME_DUO_CLIENT_SECRET' });
      assert.deepEqual(result.issues, []);
    });
  });
});
