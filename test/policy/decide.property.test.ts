// decide()'s invariants over random policies and users (fast-check): the rules hold whatever the lists contain.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compilePolicy } from '../../lib/policy/compile';
import { decide } from '../../lib/policy/decide';
import type { CompiledPolicy, PolicyUser } from '../../lib/policy/types';
import { canonicalName } from '../../lib/util/names';
import { tenantDoc } from './helpers';

/** Few names, so that random lists and users collide often. */
const NAMES = ['alice', 'bob', 'dana', 'erin', 'frank', 'kiosk-1'];
const ROLES = ['admin', 'finance', 'it', 'viewer'];
const BASE_TIME = Date.parse('2026-06-01T00:00:00Z');
const DAY = 24 * 3600_000;

/** The same name as a person might type it: any case, spaces around. */
const spelled = (names: readonly string[]) =>
  fc
    .tuple(
      fc.mixedCase(fc.constantFrom(...names)),
      fc.constantFrom('', ' ', '  ', '\t'),
      fc.constantFrom('', ' ', '\n'),
    )
    .map(([name, before, after]) => `${before}${name}${after}`);

const bypassArb = fc.record({
  username: spelled(NAMES),
  until: fc.integer({ min: -30, max: 30 }).map((days) => new Date(BASE_TIME + days * DAY).toISOString()),
  reason: fc.constant<string>('test'),
});

const tenantArb = fc.record({
  enabled: fc.boolean(),
  rolesIncluded: fc.array(spelled(ROLES), { maxLength: 3 }),
  staffIncluded: fc.array(spelled(NAMES), { maxLength: 3 }),
  staffExcluded: fc.array(spelled(NAMES), { maxLength: 3 }),
  temporaryBypass: fc.array(bypassArb, { maxLength: 2 }),
});

type TenantSpec = typeof tenantArb extends fc.Arbitrary<infer T> ? T : never;

const userArb = fc.record({
  username: spelled(NAMES),
  roles: fc.array(spelled(ROLES), { maxLength: 3 }),
});

const nowArb = fc.integer({ min: -40, max: 40 }).map((days) => BASE_TIME + days * DAY + 1);

function compile(spec: TenantSpec, extra: Record<string, unknown> = {}): CompiledPolicy {
  return compilePolicy({ tenants: { acme: tenantDoc({ mfa: spec }) }, ...extra });
}

const has = (list: readonly string[], name: string) =>
  list.some((entry) => canonicalName(entry) === canonicalName(name));

function activeBypass(spec: TenantSpec, username: string, now: number): boolean {
  return spec.temporaryBypass.some(
    (b) => canonicalName(b.username) === canonicalName(username) && now < Date.parse(b.until),
  );
}

const RUNS = { numRuns: 300 };

describe('decide (properties)', () => {
  it('never asks a user listed in staffExcluded', () => {
    fc.assert(
      fc.property(tenantArb, userArb, nowArb, (spec, user, now) => {
        fc.pre(has(spec.staffExcluded, user.username));
        assert.equal(decide(compile(spec), { ...user, tenant: 'acme' }, now).required, false);
      }),
      RUNS,
    );
  });

  it('never asks anyone in a tenant whose MFA is off', () => {
    fc.assert(
      fc.property(tenantArb, userArb, nowArb, (spec, user, now) => {
        const decision = decide(compile({ ...spec, enabled: false }), { ...user, tenant: 'acme' }, now);
        assert.deepEqual([decision.required, decision.reason.code], [false, 'mfa_disabled']);
      }),
      RUNS,
    );
  });

  it('asks everyone when both inclusion lists are empty, unless excluded or bypassed', () => {
    fc.assert(
      fc.property(tenantArb, userArb, nowArb, (raw, user, now) => {
        const spec = { ...raw, enabled: true, rolesIncluded: [], staffIncluded: [] };
        const exempt = has(spec.staffExcluded, user.username) || activeBypass(spec, user.username, now);
        assert.equal(decide(compile(spec), { ...user, tenant: 'acme' }, now).required, !exempt);
      }),
      RUNS,
    );
  });

  it('S20 gives the same decision whatever the case and surrounding spaces of names and roles', () => {
    fc.assert(
      fc.property(tenantArb, userArb, nowArb, (spec, user, now) => {
        const policy = compile(spec);
        const canonical: PolicyUser = {
          username: canonicalName(user.username),
          roles: user.roles.map(canonicalName),
          tenant: 'acme',
        };
        const asTyped = decide(policy, { ...user, tenant: 'acme' }, now);
        const asCanonical = decide(policy, canonical, now);
        assert.deepEqual(asTyped, asCanonical);
      }),
      RUNS,
    );
  });

  it('exempts with an unexpired bypass; an expired one changes nothing', () => {
    fc.assert(
      fc.property(tenantArb, userArb, nowArb, fc.integer({ min: -20, max: 20 }), (raw, user, now, days) => {
        const spec = { ...raw, enabled: true, temporaryBypass: [] };
        const until = now + days * DAY; // days = 0: ends exactly now, so already expired
        const bypassed = {
          ...spec,
          temporaryBypass: [{ username: user.username, until: new Date(until).toISOString(), reason: 'r' }],
        };
        const withBypass = decide(compile(bypassed), { ...user, tenant: 'acme' }, now);
        const without = decide(compile(spec), { ...user, tenant: 'acme' }, now);
        if (now < until) assert.equal(withBypass.required, false);
        else assert.deepEqual(withBypass, without);
      }),
      RUNS,
    );
  });

  it('S7 never answers "not required" for a tenant that is not in the policy', () => {
    fc.assert(
      fc.property(
        tenantArb,
        userArb,
        nowArb,
        fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
        fc.boolean(),
        (spec, user, now, tenant, withDefault) => {
          fc.pre(tenant !== 'acme' && !(withDefault && tenant === undefined));
          const policy = compile(spec, withDefault ? { defaultTenant: 'acme' } : {});
          const decision = decide(policy, { ...user, tenant }, now);
          assert.equal(decision.required, true);
          assert.equal(decision.reason.code, 'unknown_tenant');
          assert.equal(decision.tenant, undefined);
        },
      ),
      RUNS,
    );
  });

  it('follows the documented precedence for every policy and user', () => {
    fc.assert(
      fc.property(tenantArb, userArb, nowArb, (spec, user, now) => {
        const decision = decide(compile(spec), { ...user, tenant: 'acme' }, now);
        const listsEmpty = spec.rolesIncluded.length === 0 && spec.staffIncluded.length === 0;
        const roleIncluded = user.roles.some((role) => has(spec.rolesIncluded, role));
        const expected = !spec.enabled
          ? 'mfa_disabled'
          : has(spec.staffExcluded, user.username)
            ? 'staff_excluded'
            : activeBypass(spec, user.username, now)
              ? 'temporary_bypass'
              : listsEmpty
                ? 'all_staff'
                : roleIncluded
                  ? 'role_included'
                  : has(spec.staffIncluded, user.username)
                    ? 'staff_included'
                    : 'not_included';
        assert.equal(decision.reason.code, expected);
        const requiredCodes = ['all_staff', 'role_included', 'staff_included'];
        assert.equal(decision.required, requiredCodes.includes(expected));
      }),
      RUNS,
    );
  });
});
