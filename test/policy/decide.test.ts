// decide(): every rule of the policy semantics and their precedence, table-driven; explainDecision()'s sentences.

import assert from 'node:assert/strict';
import { compilePolicy } from '../../lib/policy/compile';
import { inspect } from 'node:util';
import { decide, decideTenant, explainDecision } from '../../lib/policy/decide';
import type { CompiledTenant, DecisionCode, PolicyUser } from '../../lib/policy/types';
import { tenantDoc } from './helpers';

const NOW = Date.parse('2026-11-20T12:00:00Z');

const policy = compilePolicy({
  defaultTenant: 'acme',
  tenants: {
    acme: tenantDoc({
      mfa: {
        enabled: true,
        rolesIncluded: ['admin', 'finance'],
        staffIncluded: ['dana'],
        staffExcluded: ['kiosk-1', 'ex-admin', 'dana-excluded', 'bypassed-and-excluded'],
        temporaryBypass: [
          { username: 'frank', until: '2026-11-25T18:00:00Z', reason: 'new phone' },
          { username: 'grace', until: '2026-11-01T00:00:00Z', reason: 'expired already' },
          { username: 'bypassed-and-excluded', until: '2026-11-25T18:00:00Z', reason: 'both' },
          { username: 'dana-bypass', until: '2026-11-25T18:00:00Z', reason: 'lost phone' },
        ],
      },
      trustedEndpoints: {
        policy: 'monitor',
        activation: 'test-group',
        testGroup: { roles: ['it'], staff: ['erin'] },
      },
    }),
    everyone: tenantDoc({
      mfa: { enabled: true, staffExcluded: ['kiosk-2'] },
      trustedEndpoints: { policy: 'block', activation: 'all' },
    }),
    off: tenantDoc({
      mfa: { enabled: false, rolesIncluded: ['admin'], staffIncluded: ['dana'] },
      trustedEndpoints: { policy: 'monitor', activation: 'all' },
    }),
    disabledTe: tenantDoc({ trustedEndpoints: { policy: 'block', activation: 'disabled' } }),
  },
});

const noDefault = compilePolicy({ tenants: { acme: tenantDoc() } });

interface Case {
  title: string;
  user: PolicyUser;
  required: boolean;
  code: DecisionCode;
  detail: string;
  tenant?: string | undefined;
}

const cases: Case[] = [
  {
    title: 'asks a user whose role is in rolesIncluded',
    user: { username: 'alice', tenant: 'acme', roles: ['admin'] },
    required: true,
    code: 'role_included',
    detail: 'role "admin" is in rolesIncluded',
  },
  {
    title: 'asks a user listed in staffIncluded',
    user: { username: 'dana', tenant: 'acme', roles: ['viewer'] },
    required: true,
    code: 'staff_included',
    detail: '"dana" is in staffIncluded',
  },
  {
    title: 'reports the role first when both a role and the username are included',
    user: { username: 'dana', tenant: 'acme', roles: ['finance'] },
    required: true,
    code: 'role_included',
    detail: 'role "finance" is in rolesIncluded',
  },
  {
    title: 'does not ask a user in neither list',
    user: { username: 'bob', tenant: 'acme', roles: ['viewer', 'it'] },
    required: false,
    code: 'not_included',
    detail: '"bob" is not in staffIncluded and none of their roles (viewer, it) is in rolesIncluded',
  },
  {
    title: 'does not ask a user without roles in neither list',
    user: { username: 'bob', tenant: 'acme' },
    required: false,
    code: 'not_included',
    detail: '"bob" is not in staffIncluded and has no roles',
  },
  {
    title: 'never asks a user in staffExcluded, even with an included role',
    user: { username: 'ex-admin', tenant: 'acme', roles: ['admin'] },
    required: false,
    code: 'staff_excluded',
    detail: '"ex-admin" is in staffExcluded',
  },
  {
    title: 'reports staffExcluded before a bypass when both apply (both exempt)',
    user: { username: 'bypassed-and-excluded', tenant: 'acme', roles: ['admin'] },
    required: false,
    code: 'staff_excluded',
    detail: '"bypassed-and-excluded" is in staffExcluded',
  },
  {
    title: 'exempts a user with an unexpired bypass, even with an included role',
    user: { username: 'frank', tenant: 'acme', roles: ['admin'] },
    required: false,
    code: 'temporary_bypass',
    detail: '"frank" has a temporary bypass until 2026-11-25T18:00:00.000Z (new phone)',
  },
  {
    title: 'ignores an expired bypass',
    user: { username: 'grace', tenant: 'acme', roles: ['admin'] },
    required: true,
    code: 'role_included',
    detail: 'role "admin" is in rolesIncluded',
  },
  {
    title: 'asks everyone in a tenant whose inclusion lists are both empty',
    user: { username: 'zed', tenant: 'everyone' },
    required: true,
    code: 'all_staff',
    detail: 'tenant "everyone" asks everyone (rolesIncluded and staffIncluded are both empty)',
  },
  {
    title: 'still exempts staffExcluded in a tenant that asks everyone',
    user: { username: 'KIOSK-2', tenant: 'everyone' },
    required: false,
    code: 'staff_excluded',
    detail: '"kiosk-2" is in staffExcluded',
  },
  {
    title: 'asks no one in a tenant with MFA off, whatever the lists say',
    user: { username: 'dana', tenant: 'off', roles: ['admin'] },
    required: false,
    code: 'mfa_disabled',
    detail: 'MFA is turned off for tenant "off"',
  },
  {
    title: 'uses defaultTenant for a user without a tenant',
    user: { username: 'alice', roles: ['admin'] },
    required: true,
    code: 'role_included',
    detail: 'role "admin" is in rolesIncluded',
    tenant: 'acme',
  },
  {
    title: 'S7 refuses (required) a user whose tenant is not in the policy',
    user: { username: 'alice', tenant: 'initech' },
    required: true,
    code: 'unknown_tenant',
    detail: 'tenant "initech" is not in the policy',
    tenant: undefined,
  },
  {
    title: 'S7 matches tenant ids exactly: "ACME" is not "acme"',
    user: { username: 'bob', tenant: 'ACME' },
    required: true,
    code: 'unknown_tenant',
    detail: 'tenant "ACME" is not in the policy',
    tenant: undefined,
  },
  {
    title: 'S7 treats an empty tenant as unknown, not as the default',
    user: { username: 'bob', tenant: '' },
    required: true,
    code: 'unknown_tenant',
    detail: 'tenant "" is not in the policy',
    tenant: undefined,
  },
  {
    title: 'compares usernames and roles trimmed and lower-cased',
    user: { username: '  DANA ', tenant: 'acme', roles: [' Viewer'] },
    required: true,
    code: 'staff_included',
    detail: '"dana" is in staffIncluded',
  },
  {
    title: 'matches a role whatever its case and spaces',
    user: { username: 'carol', tenant: 'acme', roles: ['  FINANCE\t'] },
    required: true,
    code: 'role_included',
    detail: 'role "finance" is in rolesIncluded',
  },
];

describe('decide', () => {
  describe('when rules apply (table)', () => {
    for (const c of cases) {
      it(c.title, () => {
        const decision = decide(policy, c.user, NOW);
        assert.equal(decision.required, c.required);
        assert.deepEqual(decision.reason, { code: c.code, detail: c.detail });
        assert.equal(decision.tenant, 'tenant' in c ? c.tenant : c.user.tenant);
      });
    }
  });

  describe('when the user has no tenant and there is no defaultTenant', () => {
    it('S7 answers required with unknown_tenant, never "not required"', () => {
      const decision = decide(noDefault, { username: 'alice' }, NOW);
      assert.deepEqual(decision, {
        required: true,
        reason: {
          code: 'unknown_tenant',
          detail: 'the user has no tenant and the policy has no defaultTenant',
        },
        tenant: undefined,
        trustedEndpoints: { policy: 'off', active: false },
      });
    });
  });

  describe('when a bypass reaches its end', () => {
    it('exempts until one millisecond before `until` and not at `until`', () => {
      const until = Date.parse('2026-11-25T18:00:00Z');
      assert.equal(
        decide(policy, { username: 'frank', tenant: 'acme', roles: ['admin'] }, until - 1).required,
        false,
      );
      assert.equal(
        decide(policy, { username: 'frank', tenant: 'acme', roles: ['admin'] }, until).required,
        true,
      );
    });

    it('reports the bypass as the reason even for a user in no list', () => {
      const d = decide(policy, { username: 'dana-bypass', tenant: 'acme' }, NOW);
      assert.deepEqual([d.required, d.reason.code], [false, 'temporary_bypass']);
    });
  });

  describe('trusted endpoints scope', () => {
    const scope = (user: PolicyUser) => decide(policy, user, NOW).trustedEndpoints;

    it('applies to the test group by role or by username (test-group)', () => {
      assert.deepEqual(scope({ username: 'bob', tenant: 'acme', roles: ['IT'] }), {
        policy: 'monitor',
        active: true,
      });
      assert.deepEqual(scope({ username: ' Erin', tenant: 'acme' }), { policy: 'monitor', active: true });
      assert.deepEqual(scope({ username: 'bob', tenant: 'acme', roles: ['admin'] }), {
        policy: 'monitor',
        active: false,
      });
    });

    it('applies to everyone with activation all', () => {
      assert.deepEqual(scope({ username: 'anyone', tenant: 'everyone' }), { policy: 'block', active: true });
    });

    it('applies to no one with activation disabled', () => {
      assert.deepEqual(scope({ username: 'anyone', tenant: 'disabledTe', roles: ['it'] }), {
        policy: 'block',
        active: false,
      });
    });

    it('is off for an unknown tenant', () => {
      assert.deepEqual(scope({ username: 'x', tenant: 'nope' }), { policy: 'off', active: false });
    });
  });

  describe('when the host app passes odd values', () => {
    it('ignores roles that are not strings instead of throwing', () => {
      const user = { username: 'bob', tenant: 'acme', roles: [null, 3, 'admin'] } as unknown as PolicyUser;
      assert.equal(decide(policy, user, NOW).reason.code, 'role_included');
    });

    it('treats roles that are not a list as no roles', () => {
      const user = { username: 'bob', tenant: 'acme', roles: 'admin' } as unknown as PolicyUser;
      assert.equal(decide(policy, user, NOW).reason.code, 'not_included');
    });

    it('returns a frozen decision', () => {
      const decision = decide(policy, { username: 'alice', tenant: 'acme' }, NOW);
      assert.ok(Object.isFrozen(decision) && Object.isFrozen(decision.reason));
    });
  });

  describe('a tenant that did not come from the compiler', () => {
    // decide() must not depend on anything but the CompiledTenant's own fields: a copy, or a tenant built by hand,
    // decides exactly as the compiled one.
    const copy = (tenant: CompiledTenant): CompiledTenant => ({
      ...tenant,
      mfa: { ...tenant.mfa },
      trustedEndpoints: { ...tenant.trustedEndpoints },
    });
    const byHand = new Map([...policy.tenants].map(([id, tenant]) => [id, copy(tenant)]));

    it('decides every case of the table as the compiled tenant', () => {
      for (const c of cases) {
        const id = c.user.tenant ?? 'acme';
        const compiled = decideTenant(id, policy.tenants.get(id), c.user, NOW);
        const handMade = decideTenant(id, byHand.get(id), c.user, NOW);
        assert.deepEqual(handMade, compiled, c.title);
      }
    });

    it('carries nothing hidden that JSON, inspect or deep equality would see', () => {
      const acme = policy.tenants.get('acme')!;
      assert.deepStrictEqual(copy(acme), acme);
      assert.doesNotMatch(inspect(acme), /Symbol/);
    });
  });
});

describe('explainDecision', () => {
  it('prints "required: yes — …" for a required decision', () => {
    const decision = decide(policy, { username: 'alice', tenant: 'acme', roles: ['admin'] }, NOW);
    assert.equal(explainDecision(decision), 'required: yes — role "admin" is in rolesIncluded');
  });

  it('prints "required: no — …" for an exemption', () => {
    const decision = decide(policy, { username: 'kiosk-1', tenant: 'acme' }, NOW);
    assert.equal(explainDecision(decision), 'required: no — "kiosk-1" is in staffExcluded');
  });

  it('says that an unknown tenant is refused', () => {
    const decision = decide(policy, { username: 'alice', tenant: 'initech' }, NOW);
    assert.equal(
      explainDecision(decision),
      'required: yes — tenant "initech" is not in the policy (sign-in is refused)',
    );
  });
});
