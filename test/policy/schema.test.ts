// The policy file format: every rule, its message (what is allowed, what was found) and its JSON path.

import assert from 'node:assert/strict';
import { compilePolicy, validatePolicy } from '../../lib/policy/compile';
import type { PolicyIssue } from '../../lib/policy/types';
import { CLIENT_ID, DESIGN_ENV, SECRET, designPolicy, issuesOf, policyError, tenantDoc } from './helpers';

/** The issues of a document holding one tenant "acme" built from `overrides`. */
function issuesFor(overrides: Record<string, unknown>, extra: Record<string, unknown> = {}): PolicyIssue[] {
  const result = validatePolicy({ tenants: { acme: tenantDoc(overrides) }, ...extra }, { env: {} });
  return result.ok ? [] : [...result.issues];
}

function duo(fields: Record<string, unknown>) {
  return {
    duo: { clientId: CLIENT_ID, clientSecret: SECRET, apiHost: 'api-12345678.duosecurity.com', ...fields },
  };
}

describe('policy schema', () => {
  describe('when the file is the example of DESIGN.md', () => {
    it('accepts it and applies no problem', () => {
      const result = validatePolicy(designPolicy(), { env: DESIGN_ENV });
      assert.equal(result.ok, true);
    });
  });

  describe('when optional fields are left out', () => {
    it('applies the documented defaults', () => {
      const result = validatePolicy({ tenants: { acme: tenantDoc() } }, { env: {} });
      assert.ok(result.ok);
      const acme = result.file.tenants.acme!;
      assert.deepEqual(acme.mfa, {
        enabled: true,
        rolesIncluded: [],
        staffIncluded: [],
        staffExcluded: [],
        temporaryBypass: [],
      });
      assert.equal(acme.failmode, 'closed');
      assert.equal(acme.challengeLimit, 5);
      assert.deepEqual(acme.trustedEndpoints, {
        policy: 'off',
        activation: 'disabled',
        testGroup: { roles: [], staff: [] },
      });
      assert.equal(result.policy.defaultTenant, undefined);
    });
  });

  describe('when a single field is wrong', () => {
    const cases: [string, Record<string, unknown>, PolicyIssue][] = [
      [
        'a clientId of the wrong length',
        duo({ clientId: 'DIXXX' }),
        { path: 'tenants.acme.duo.clientId', message: 'must be 20 characters (got 5)' },
      ],
      [
        'an inline clientSecret of the wrong length (length only, never the value)',
        duo({ clientSecret: 'too-short-secret' }),
        { path: 'tenants.acme.duo.clientSecret', message: 'must be 40 characters (got 16)' },
      ],
      [
        'a clientSecret that is neither a string nor { env }',
        duo({ clientSecret: 42 }),
        {
          path: 'tenants.acme.duo.clientSecret',
          message:
            'must be the 40-character client secret, { "env": "NAME" } or { "encrypted": "v1:…" } (got 42)',
        },
      ],
      [
        'an env secret whose name is not a variable name',
        duo({ clientSecret: { env: 'ACME-SECRET' } }),
        {
          path: 'tenants.acme.duo.clientSecret.env',
          message:
            'must be an environment variable name (letters, digits, _; not starting with a digit) (got "ACME-SECRET")',
        },
      ],
      [
        'an apiHost with a scheme',
        duo({ apiHost: 'https://api-12345678.duosecurity.com' }),
        {
          path: 'tenants.acme.duo.apiHost',
          message:
            'must be a host name without a scheme ("https://"), e.g. "api-12345678.duosecurity.com" or "127.0.0.1:8443"',
        },
      ],
      [
        'an apiHost with a path',
        duo({ apiHost: 'api-12345678.duosecurity.com/oauth' }),
        {
          path: 'tenants.acme.duo.apiHost',
          message:
            'must be a host name without a path, e.g. "api-12345678.duosecurity.com" or "127.0.0.1:8443"',
        },
      ],
      [
        'an apiHost with an impossible port',
        duo({ apiHost: '127.0.0.1:99999' }),
        { path: 'tenants.acme.duo.apiHost', message: 'must have a port between 1 and 65535' },
      ],
      [
        'a misspelled failmode',
        { failmode: 'opne' },
        {
          path: 'tenants.acme.failmode',
          message: 'must be "closed" or "open" (got "opne") — did you mean "open"?',
        },
      ],
      [
        'a challengeLimit of 0',
        { challengeLimit: 0 },
        { path: 'tenants.acme.challengeLimit', message: 'must be at least 1 (got 0)' },
      ],
      [
        'a challengeLimit above 100',
        { challengeLimit: 1000 },
        { path: 'tenants.acme.challengeLimit', message: 'must be at most 100 (got 1000)' },
      ],
      [
        'a fractional challengeLimit',
        { challengeLimit: 2.5 },
        { path: 'tenants.acme.challengeLimit', message: 'must be a whole number (got 2.5)' },
      ],
      [
        'enabled written as a string',
        { mfa: { enabled: 'yes' } },
        { path: 'tenants.acme.mfa.enabled', message: 'must be true or false (got "yes")' },
      ],
      [
        'enabled missing',
        { mfa: { rolesIncluded: ['admin'] } },
        { path: 'tenants.acme.mfa.enabled', message: 'is required (true or false)' },
      ],
      [
        'a list given as a string',
        { mfa: { enabled: true, rolesIncluded: 'admin' } },
        { path: 'tenants.acme.mfa.rolesIncluded', message: 'must be a list (JSON array) (got "admin")' },
      ],
      [
        'a blank list entry',
        { mfa: { enabled: true, staffExcluded: ['kiosk-1', '   '] } },
        { path: 'tenants.acme.mfa.staffExcluded[1]', message: 'must not be empty: write a username' },
      ],
      [
        'a list entry that is not a string',
        { mfa: { enabled: true, staffIncluded: [null] } },
        { path: 'tenants.acme.mfa.staffIncluded[0]', message: 'must be a string (got null)' },
      ],
      [
        'a bypass date without a timezone',
        {
          mfa: {
            enabled: true,
            temporaryBypass: [{ username: 'frank', until: '2026-11-25T18:00:00', reason: 'x' }],
          },
        },
        {
          path: 'tenants.acme.mfa.temporaryBypass[0].until',
          message:
            'must be an ISO-8601 date-time with a timezone, e.g. "2026-11-25T18:00:00Z" (got "2026-11-25T18:00:00")',
        },
      ],
      [
        'a bypass date that does not exist',
        {
          mfa: {
            enabled: true,
            temporaryBypass: [{ username: 'frank', until: '2026-02-30T00:00:00Z', reason: 'x' }],
          },
        },
        {
          path: 'tenants.acme.mfa.temporaryBypass[0].until',
          message:
            'must be an ISO-8601 date-time with a timezone, e.g. "2026-11-25T18:00:00Z" (got "2026-02-30T00:00:00Z")',
        },
      ],
      [
        'a bypass without a reason',
        {
          mfa: {
            enabled: true,
            temporaryBypass: [{ username: 'frank', until: '2026-11-25T18:00:00Z', reason: ' ' }],
          },
        },
        {
          path: 'tenants.acme.mfa.temporaryBypass[0].reason',
          message: 'must not be empty: say why (it is shown by duo-mfa explain and logged)',
        },
      ],
      [
        'a misspelled trusted-endpoints policy',
        { trustedEndpoints: { policy: 'blok' } },
        {
          path: 'tenants.acme.trustedEndpoints.policy',
          message: 'must be "off", "monitor" or "block" (got "blok") — did you mean "block"?',
        },
      ],
      [
        'an unknown activation',
        { trustedEndpoints: { activation: 'everyone' } },
        {
          path: 'tenants.acme.trustedEndpoints.activation',
          message: 'must be "disabled", "test-group" or "all" (got "everyone")',
        },
      ],
      [
        'the duo section missing',
        { duo: undefined },
        { path: 'tenants.acme.duo', message: 'is required (a JSON object)' },
      ],
    ];
    for (const [what, overrides, expected] of cases) {
      it(`reports ${what} at its path`, () => {
        assert.deepEqual(issuesFor(overrides), [expected]);
      });
    }
  });

  describe('when a key is unknown', () => {
    it('suggests the closest allowed key ("did you mean")', () => {
      assert.deepEqual(issuesFor({ mfa: { enabled: true, rolesInclude: ['admin'] } }), [
        { path: 'tenants.acme.mfa.rolesInclude', message: 'unknown key — did you mean "rolesIncluded"?' },
      ]);
    });

    it('lists the allowed keys when nothing is close', () => {
      assert.deepEqual(issuesFor({ duo: { ...(tenantDoc().duo as object), zzzzzzzz: 1 } }), [
        {
          path: 'tenants.acme.duo.zzzzzzzz',
          message: 'unknown key — allowed here: clientId, clientSecret, apiHost, adminApi',
        },
      ]);
    });

    it('reports each unknown key at every level, including the top and inside list items', () => {
      const issues = issuesFor(
        {
          failMode: 'open',
          mfa: {
            enabled: true,
            temporaryBypass: [{ username: 'f', until: '2026-11-25T18:00:00Z', reason: 'r', note: 1 }],
          },
          trustedEndpoints: { testGroup: { role: ['it'] } },
        },
        { tenant: {} },
      );
      assert.deepEqual(
        issues.map((issue) => issue.path),
        [
          'tenant',
          'tenants.acme.mfa.temporaryBypass[0].note',
          'tenants.acme.trustedEndpoints.testGroup.role',
          'tenants.acme.failMode',
        ],
      );
      assert.equal(issues[0]!.message, 'unknown key — did you mean "tenants"?');
      assert.equal(issues[2]!.message, 'unknown key — did you mean "roles"?');
      assert.equal(issues[3]!.message, 'unknown key — did you mean "failmode"?');
    });
  });

  describe('when the document as a whole is wrong', () => {
    const cases: [string, unknown, PolicyIssue[]][] = [
      ['null', null, [{ path: '$', message: 'must be a JSON object with "tenants" (got null)' }]],
      ['a list', [], [{ path: '$', message: 'must be a JSON object with "tenants" (got a list)' }]],
      ['a string', 'acme', [{ path: '$', message: 'must be a JSON object with "tenants" (got "acme")' }]],
      ['an object without tenants', {}, [{ path: 'tenants', message: 'is required (a JSON object)' }]],
      ['no tenant at all', { tenants: {} }, [{ path: 'tenants', message: 'must list at least one tenant' }]],
      [
        'tenants as a list',
        { tenants: [] },
        [{ path: 'tenants', message: 'must be a JSON object (got a list)' }],
      ],
    ];
    for (const [what, doc, expected] of cases) {
      it(`reports ${what}`, () => {
        const result = validatePolicy(doc);
        assert.equal(result.ok, false);
        assert.deepEqual(result.issues, expected);
      });
    }
  });

  describe('tenant ids', () => {
    it('rejects an empty id, yet still checks that tenant’s settings', () => {
      const result = validatePolicy({ tenants: { '': tenantDoc({ failmode: 'x' }) } });
      assert.deepEqual(result.issues, [
        { path: 'tenants[""].failmode', message: 'must be "closed" or "open" (got "x")' },
        { path: 'tenants[""]', message: 'tenant id must not be empty or blank' },
      ]);
    });

    it('rejects surrounding spaces, because ids are matched exactly', () => {
      const result = validatePolicy({ tenants: { ' acme': tenantDoc() } });
      assert.deepEqual(result.issues, [
        {
          path: 'tenants[" acme"]',
          message: 'tenant id must not start or end with spaces (tenant ids are matched exactly)',
        },
      ]);
    });

    it('rejects "__proto__" instead of silently dropping that tenant', () => {
      const result = validatePolicy(JSON.parse(`{"tenants": {"__proto__": ${JSON.stringify(tenantDoc())}}}`));
      assert.equal(result.ok, false);
      assert.deepEqual(result.issues, [
        { path: 'tenants', message: 'must list at least one tenant' },
        { path: 'tenants.__proto__', message: '"__proto__" cannot be used as a key or tenant id' },
      ]);
    });

    it('keeps ids with dots, dashes and capitals as written', () => {
      const result = validatePolicy({ tenants: { 'Acme.EU-1': tenantDoc() } }, { env: {} });
      assert.ok(result.ok);
      assert.deepEqual([...result.policy.tenants.keys()], ['Acme.EU-1']);
    });
  });

  describe('defaultTenant', () => {
    it('must name a tenant in "tenants" (with a hint)', () => {
      const result = validatePolicy({ defaultTenant: 'acm', tenants: { acme: tenantDoc() } });
      assert.deepEqual(result.issues, [
        {
          path: 'defaultTenant',
          message: 'must name a tenant in "tenants" (got "acm") — did you mean "acme"?',
        },
      ]);
    });

    it('lists the tenants when nothing is close', () => {
      const result = validatePolicy({
        defaultTenant: 'zzzzzz',
        tenants: { acme: tenantDoc(), globex: tenantDoc() },
      });
      assert.deepEqual(result.issues, [
        {
          path: 'defaultTenant',
          message: 'must name a tenant in "tenants" (got "zzzzzz") (tenants: acme, globex)',
        },
      ]);
    });

    it('matches exactly (case counts)', () => {
      const result = validatePolicy({ defaultTenant: 'ACME', tenants: { acme: tenantDoc() } });
      assert.equal(result.ok, false);
      assert.equal(result.issues[0]!.path, 'defaultTenant');
    });
  });

  describe('when the file has several problems', () => {
    it('reports every one in a single ERR_POLICY_INVALID, each with its path, one per line with the source', () => {
      const doc = {
        defaultTenant: 'nope',
        tenants: {
          acme: tenantDoc({
            mfa: { enabled: true, rolesInclude: ['admin'] },
            ...duo({ clientId: 'DIXXX', clientSecret: { env: 'ACME_DUO_CLIENT_SECRET' } }),
            failmode: 'opne',
          }),
          globex: tenantDoc({ challengeLimit: -1 }),
        },
      };
      const error = policyError(() => compilePolicy(doc, { env: {}, source: 'duo-mfa.json' }));
      assert.deepEqual(issuesOf(error), [
        {
          path: 'defaultTenant',
          message: 'must name a tenant in "tenants" (got "nope") (tenants: acme, globex)',
        },
        { path: 'tenants.acme.mfa.rolesInclude', message: 'unknown key — did you mean "rolesIncluded"?' },
        { path: 'tenants.acme.duo.clientId', message: 'must be 20 characters (got 5)' },
        {
          path: 'tenants.acme.failmode',
          message: 'must be "closed" or "open" (got "opne") — did you mean "open"?',
        },
        {
          path: 'tenants.acme.duo.clientSecret',
          message: 'environment variable ACME_DUO_CLIENT_SECRET is not set',
        },
        { path: 'tenants.globex.challengeLimit', message: 'must be at least 1 (got -1)' },
      ]);
      assert.equal(error.details.source, 'duo-mfa.json');
      assert.equal(
        error.message,
        [
          'Invalid MFA policy duo-mfa.json (6 problems):',
          '  defaultTenant: must name a tenant in "tenants" (got "nope") (tenants: acme, globex)',
          '  tenants.acme.mfa.rolesInclude: unknown key — did you mean "rolesIncluded"?',
          '  tenants.acme.duo.clientId: must be 20 characters (got 5)',
          '  tenants.acme.failmode: must be "closed" or "open" (got "opne") — did you mean "open"?',
          '  tenants.acme.duo.clientSecret: environment variable ACME_DUO_CLIENT_SECRET is not set',
          '  tenants.globex.challengeLimit: must be at least 1 (got -1)',
        ].join('\n'),
      );
      assert.equal(error.status, 500);
    });
  });

  describe('when inputs are hostile', () => {
    const hostile: [string, unknown][] = [
      ['a huge string', 'x'.repeat(100_000)],
      ['unicode', 'ádmin\u0000\u202e'],
      ['a nested object', { a: { b: { c: [] } } }],
      ['a number', 1e308],
      ['a boolean', true],
    ];
    for (const [what, value] of hostile) {
      it(`answers ${what} in every field with issues, never an exception`, () => {
        const doc = {
          defaultTenant: value,
          tenants: {
            acme: {
              mfa: {
                enabled: value,
                rolesIncluded: [value],
                temporaryBypass: [{ username: value, until: value, reason: value }],
              },
              duo: { clientId: value, clientSecret: value, apiHost: value },
              failmode: value,
              challengeLimit: value,
              trustedEndpoints: { policy: value, activation: value, testGroup: value },
            },
          },
        };
        const result = validatePolicy(doc, { env: {} });
        assert.equal(result.ok, false);
        for (const issue of result.issues)
          assert.ok(issue.message.length < 400, `message too long at ${issue.path}`);
      });
    }
  });
});
