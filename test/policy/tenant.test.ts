// One tenant on its own: validateTenant() paths, the per-tenant version, enforceFrom, adminApi, grace periods.

import assert from 'node:assert/strict';
import { compilePolicy, validatePolicy, validateTenant } from '../../lib/policy/compile';
import { decideTenant, explainDecision } from '../../lib/policy/decide';
import { tenantVersion } from '../../lib/policy/version';
import { policyWarnings } from '../../lib/policy/warnings';
import { CLIENT_ID, OTHER_SECRET, SECRET, tenantDoc } from './helpers';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const ADMIN = {
  integrationKey: 'DIADMINADMINADMIN001',
  secretKey: OTHER_SECRET,
  apiHost: 'api-1.duosecurity.com',
};

function withDuo(fields: Record<string, unknown>): Record<string, unknown> {
  return tenantDoc({
    duo: { clientId: CLIENT_ID, clientSecret: SECRET, apiHost: 'api-12345678.duosecurity.com', ...fields },
  });
}

describe('one tenant', () => {
  describe('validateTenant', () => {
    it('compiles a tenant with its version', () => {
      const raw = tenantDoc({ mfa: { enabled: true, rolesIncluded: [' Admin'] } });
      const result = validateTenant('acme', raw);
      assert.ok(result.ok);
      assert.equal(result.tenant.id, 'acme');
      assert.equal(result.tenant.version, tenantVersion(raw));
      assert.deepEqual([...result.tenant.mfa.rolesIncluded], ['admin']);
      assert.ok(Object.isFrozen(result.tenant));
    });

    it('roots paths at tenants.<id> by default, at the tenant with paths: "tenant"', () => {
      const raw = tenantDoc({ failmode: 'opne', mfa: { enabled: true, rolesInclude: [] } });
      const policyPaths = validateTenant('acme', raw).issues.map((issue) => issue.path);
      const tenantPaths = validateTenant('acme', raw, { paths: 'tenant' }).issues.map((issue) => issue.path);
      assert.deepEqual(policyPaths, ['tenants.acme.mfa.rolesInclude', 'tenants.acme.failmode']);
      assert.deepEqual(tenantPaths, ['mfa.rolesInclude', 'failmode']);
    });

    it('keeps "did you mean" for unknown keys in tenant paths', () => {
      const result = validateTenant('x', tenantDoc({ failMode: 'open' }), { paths: 'tenant' });
      assert.deepEqual(result.issues, [
        { path: 'failMode', message: 'unknown key — did you mean "failmode"?' },
      ]);
    });

    it('reports a bad tenant id and a value that is not an object', () => {
      assert.deepEqual(validateTenant(' acme', tenantDoc()).issues, [
        {
          path: 'tenants[" acme"]',
          message: 'tenant id must not start or end with spaces (tenant ids are matched exactly)',
        },
      ]);
      assert.deepEqual(validateTenant('acme', [], { paths: 'tenant' }).issues, [
        { path: '$', message: 'must be a JSON object (got a list)' },
      ]);
    });

    it('agrees with validatePolicy about every issue of a tenant', () => {
      const raw = tenantDoc({ challengeLimit: 0, duo: { clientId: 'x', clientSecret: { env: 'NOPE_X' } } });
      const whole = validatePolicy({ tenants: { acme: raw } }, { env: {} });
      assert.deepEqual(validateTenant('acme', raw, { env: {} }).issues, whole.issues);
    });
  });

  describe('tenantVersion', () => {
    const raw = withDuo({});

    it('is 12 hex characters, stable across key order and formatting', () => {
      const version = tenantVersion(raw);
      assert.match(version, /^[0-9a-f]{12}$/);
      const reordered = JSON.parse(JSON.stringify({ duo: raw.duo, mfa: raw.mfa }, null, 4));
      assert.equal(tenantVersion(reordered), version);
    });

    it('changes with any setting, and with the secret, never showing it', () => {
      const version = tenantVersion(raw);
      assert.notEqual(tenantVersion(withDuo({ clientSecret: OTHER_SECRET })), version);
      assert.notEqual(tenantVersion({ ...raw, failmode: 'open' }), version);
      assert.notEqual(
        tenantVersion(withDuo({ clientSecret: { env: 'A' } })),
        tenantVersion(withDuo({ clientSecret: { env: 'B' } })),
      );
      assert.notEqual(
        tenantVersion(withDuo({ clientSecret: { encrypted: 'v1:aaaa' } })),
        tenantVersion(withDuo({ clientSecret: { encrypted: 'v1:aaab' } })),
      );
      assert.notEqual(
        tenantVersion(withDuo({ adminApi: ADMIN })),
        tenantVersion(withDuo({ adminApi: { ...ADMIN, secretKey: SECRET } })),
      );
    });

    it('does not depend on the environment (every instance computes the same one)', () => {
      const envRaw = withDuo({ clientSecret: { env: 'ACME_SECRET' } });
      const a = validateTenant('acme', envRaw, { env: { ACME_SECRET: SECRET } });
      const b = validateTenant('acme', envRaw, { env: { ACME_SECRET: OTHER_SECRET } });
      assert.ok(a.ok && b.ok);
      assert.equal(a.tenant.version, b.tenant.version);
    });

    it('exists for an invalid definition too (so it can be replaced through the settings API)', () => {
      assert.match(tenantVersion({ mfa: 'nonsense' }), /^[0-9a-f]{12}$/);
      assert.match(tenantVersion(null), /^[0-9a-f]{12}$/);
    });
  });

  describe('mfa.enforceFrom', () => {
    const tenant = (enforceFrom: string) => {
      const result = validateTenant(
        'acme',
        tenantDoc({
          mfa: { enabled: true, rolesIncluded: ['admin'], staffExcluded: ['kiosk'], enforceFrom },
        }),
      );
      assert.ok(result.ok);
      return result.tenant;
    };

    it('compiles to epoch ms', () => {
      assert.equal(tenant('2026-12-01T09:00:00+01:00').mfa.enforceFrom, Date.parse('2026-12-01T08:00:00Z'));
      const without = validateTenant('acme', tenantDoc());
      assert.ok(without.ok);
      assert.equal(without.tenant.mfa.enforceFrom, undefined);
    });

    it('puts users Duo is required for in a grace period before it (gracePeriodUntil), with the date in explain', () => {
      const acme = tenant('2026-12-01T08:00:00Z');
      const decision = decideTenant('acme', acme, { username: 'alice', roles: ['admin'] }, NOW);
      assert.equal(decision.required, true);
      assert.equal(decision.reason.code, 'role_included');
      assert.equal(decision.gracePeriodUntil, Date.parse('2026-12-01T08:00:00Z'));
      assert.equal(
        explainDecision(decision),
        'required: yes — role "admin" is in rolesIncluded (grace period until 2026-12-01T08:00:00.000Z: the user may choose "Remind me later" until then)',
      );
    });

    it('has no grace period from the date on, nor for users Duo is not required for', () => {
      const acme = tenant('2026-12-01T08:00:00Z');
      const at = Date.parse('2026-12-01T08:00:00Z');
      const after = decideTenant('acme', acme, { username: 'alice', roles: ['admin'] }, at);
      assert.equal(after.required, true);
      assert.equal('gracePeriodUntil' in after, false);
      const exempt = decideTenant('acme', acme, { username: 'kiosk', roles: ['admin'] }, NOW);
      assert.equal(exempt.required, false);
      assert.equal('gracePeriodUntil' in exempt, false);
    });

    it('rejects a date without a timezone', () => {
      const result = validateTenant(
        'acme',
        tenantDoc({ mfa: { enabled: true, enforceFrom: '2026-12-01' } }),
        {
          paths: 'tenant',
        },
      );
      assert.deepEqual(result.issues, [
        {
          path: 'mfa.enforceFrom',
          message:
            'must be an ISO-8601 date-time with a timezone, e.g. "2026-11-25T08:00:00Z" (got "2026-12-01")',
        },
      ]);
    });
  });

  describe('duo.adminApi', () => {
    it('compiles the Admin API application, its secret kept out of JSON', () => {
      const result = validateTenant('acme', withDuo({ adminApi: ADMIN }));
      assert.ok(result.ok);
      assert.equal(result.tenant.duo.adminApi!.secretKey, OTHER_SECRET);
      assert.deepEqual(JSON.parse(JSON.stringify(result.tenant.duo.adminApi)), {
        ...ADMIN,
        secretKey: '[redacted]',
      });
    });

    it('reads its secret from the environment like clientSecret', () => {
      const raw = withDuo({ adminApi: { ...ADMIN, secretKey: { env: 'ACME_ADMIN' } } });
      const missing = validateTenant('acme', raw, { env: {} });
      assert.deepEqual(missing.issues, [
        {
          path: 'tenants.acme.duo.adminApi.secretKey',
          message: 'environment variable ACME_ADMIN is not set',
        },
      ]);
      const short = validateTenant('acme', raw, { env: { ACME_ADMIN: 'x' } });
      assert.equal(
        short.issues[0]!.message,
        'environment variable ACME_ADMIN must hold the 40-character secret key (it holds 1 characters)',
      );
      const found = validateTenant('acme', raw, { env: { ACME_ADMIN: SECRET } });
      assert.ok(found.ok && found.tenant.duo.adminApi!.secretKey === SECRET);
    });

    it('checks every field', () => {
      const raw = withDuo({
        adminApi: { integrationKey: 'XXADMINADMINADMIN001', secretKey: 'short', apiHost: 'https://x' },
      });
      assert.deepEqual(
        validateTenant('acme', raw, { paths: 'tenant' }).issues.map((issue) => issue.path),
        ['duo.adminApi.integrationKey', 'duo.adminApi.secretKey', 'duo.adminApi.apiHost'],
      );
      assert.match(validateTenant('acme', raw, { paths: 'tenant' }).issues[0]!.message, /starts with "DI"/);
    });
  });

  describe('warnings', () => {
    const warningsOf = (tenant: Record<string, unknown>) => {
      const result = validatePolicy({ tenants: { acme: tenant } }, { env: {} });
      assert.ok(result.ok);
      return policyWarnings(result.file, NOW);
    };

    it('S43 warns that failmode "open" does not apply to users trusted endpoints "block" covers', () => {
      const warnings = warningsOf(
        tenantDoc({ failmode: 'open', trustedEndpoints: { policy: 'block', activation: 'all' } }),
      );
      assert.ok(
        warnings.some(
          (w) =>
            w.path === 'tenants.acme.failmode' &&
            w.message.startsWith(
              'failmode "open" does not apply to users trusted endpoints "block" covers (everyone)',
            ) &&
            w.message.includes('S43'),
        ),
        JSON.stringify(warnings),
      );
      const monitor = warningsOf(
        tenantDoc({ failmode: 'open', trustedEndpoints: { policy: 'monitor', activation: 'all' } }),
      );
      assert.equal(monitor.filter((w) => w.message.includes('S43')).length, 0);
    });

    it('warns about an enforceFrom date in the past', () => {
      const warnings = warningsOf(tenantDoc({ mfa: { enabled: true, enforceFrom: '2026-01-01T00:00:00Z' } }));
      assert.deepEqual(
        warnings.filter((w) => w.path === 'tenants.acme.mfa.enforceFrom'),
        [
          {
            path: 'tenants.acme.mfa.enforceFrom',
            message:
              '2026-01-01T00:00:00Z is in the past: the grace period is over and Duo is required as usual — remove enforceFrom',
          },
        ],
      );
      const future = warningsOf(tenantDoc({ mfa: { enabled: true, enforceFrom: '2027-01-01T00:00:00Z' } }));
      assert.equal(future.filter((w) => w.path === 'tenants.acme.mfa.enforceFrom').length, 0);
    });
  });

  it('compilePolicy still compiles every tenant with its own version', () => {
    const policy = compilePolicy({ tenants: { a: tenantDoc(), b: tenantDoc({ failmode: 'open' }) } });
    assert.equal(policy.tenants.get('a')!.version, tenantVersion(tenantDoc()));
    assert.notEqual(policy.tenants.get('a')!.version, policy.tenants.get('b')!.version);
  });
});
