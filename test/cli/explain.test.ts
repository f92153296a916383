// duo-mfa explain FILE --tenant T --user U: the decision and its reason, as text and as one JSON object.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { designPolicy, tempDir, tenantDoc } from '../policy/helpers';
import { runCli, writeJson } from './helpers';

describe('duo-mfa explain', () => {
  const tmp = tempDir('duo-mfa-explain-');
  // The DESIGN.md policy reads its secret from ACME_DUO_CLIENT_SECRET, which these runs never set: explain
  // does not need secrets.
  const file = writeJson(tmp.path('policy.json'), designPolicy());
  after(() => tmp.cleanup());

  describe('when Duo is required', () => {
    it('prints "required: yes — …" with the reason, and exits 0', async () => {
      const result = await runCli([
        'explain',
        file,
        '--tenant',
        'acme',
        '--user',
        'alice',
        '--role',
        'viewer',
        '--role',
        'Admin',
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stdout,
        'required: yes — role "admin" is in rolesIncluded\n' +
          'tenant: acme; trusted endpoints: monitor (not for this user)\n',
      );
    });

    it('prints exactly one object { required, reason: { code, detail }, tenant } with --json', async () => {
      const result = await runCli(['explain', file, '--tenant', 'acme', '--user', 'DANA', '--json']);
      assert.equal(result.code, 0);
      assert.deepEqual(JSON.parse(result.stdout), {
        required: true,
        reason: { code: 'staff_included', detail: '"dana" is in staffIncluded' },
        tenant: 'acme',
      });
    });
  });

  it('S46 says a username with an invisible character is refused, as the middleware does, whatever the policy', async () => {
    const text = await runCli(['explain', file, '--tenant', 'acme', '--user', 'kiosk-1\u200b']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /^required: yes — the username holds invisible format characters: .*\(sign-in is refused\)\n$/,
    );
    const asJson = await runCli(['explain', file, '--tenant', 'acme', '--user', 'dana\u2060', '--json']);
    assert.equal(JSON.parse(asJson.stdout).reason.code, 'invalid_username');
    assert.equal(JSON.parse(asJson.stdout).tenant, 'acme');
  });

  describe('when Duo is not required', () => {
    it('prints "required: no — …"', async () => {
      const result = await runCli([
        'explain',
        file,
        '--tenant',
        'acme',
        '--user',
        'kiosk-1',
        '--role',
        'admin',
      ]);
      assert.equal(result.code, 0);
      assert.equal(result.stdout.split('\n')[0], 'required: no — "kiosk-1" is in staffExcluded');
    });

    it('uses --at to decide at another time (a bypass before and after its end)', async () => {
      const before = await runCli([
        'explain',
        file,
        '--tenant',
        'acme',
        '--user',
        'frank',
        '--role',
        'admin',
        '--at',
        '2026-11-25T17:59:59Z',
        '--json',
      ]);
      const after = await runCli([
        'explain',
        file,
        '--tenant',
        'acme',
        '--user',
        'frank',
        '--role',
        'admin',
        '--at',
        '2026-11-25T18:00:00Z',
        '--json',
      ]);
      assert.deepEqual(JSON.parse(before.stdout), {
        required: false,
        reason: {
          code: 'temporary_bypass',
          detail:
            '"frank" has a temporary bypass until 2026-11-25T18:00:00.000Z (new phone, re-activation pending)',
        },
        tenant: 'acme',
      });
      assert.equal(JSON.parse(after.stdout).reason.code, 'role_included');
    });

    it('applies defaultTenant when --tenant is left out', async () => {
      const result = await runCli(['explain', file, '--user', 'erin']);
      assert.equal(result.code, 0);
      assert.equal(
        result.stdout.split('\n').slice(0, 2).join('\n'),
        'required: no — "erin" is not in staffIncluded and has no roles\n' +
          'tenant: acme (defaultTenant); trusted endpoints: monitor (applies to this user)',
      );
    });

    it('prints the end of a bypass as a date people read in text, ISO in --json', async () => {
      const args = ['explain', file, '--tenant', 'acme', '--user', 'Frank', '--role', 'admin'];
      const text = await runCli([...args, '--at', '2026-11-25T17:59:59Z']);
      assert.equal(text.code, 0, text.stderr);
      assert.equal(
        text.stdout.split('\n')[0],
        'required: no — "frank" has a temporary bypass until 25 Nov 2026, 18:00 UTC (new phone, re-activation pending)',
      );
      assert.doesNotMatch(text.stdout, /\d{4}-\d\d-\d\dT/);
      const asJson = await runCli([...args, '--at', '2026-11-25T17:59:59Z', '--json']);
      assert.match(JSON.parse(asJson.stdout).reason.detail, /until 2026-11-25T18:00:00\.000Z \(/);
    });
  });

  describe('when the user is given without --role', () => {
    const hint = [
      "roles: none given — a user's roles come from the host app at sign-in (getUser's roles); the policy does not know them",
      '  give them with --role R, once per role (e.g. --role admin --role finance)',
      '  tenant acme asks for Duo for these roles (rolesIncluded): admin, finance',
    ].join('\n');

    it('says where roles come from, how to give them, and lists the tenant’s rolesIncluded', async () => {
      const result = await runCli(['explain', file, '--tenant', 'acme', '--user', 'alice']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stdout,
        'required: no — "alice" is not in staffIncluded and has no roles\n' +
          'tenant: acme; trusted endpoints: monitor (not for this user)\n' +
          `${hint}\n`,
      );
      const withRole = await runCli([
        'explain',
        file,
        '--tenant',
        'acme',
        '--user',
        'alice',
        '--role',
        'admin',
      ]);
      assert.doesNotMatch(withRole.stdout, /roles: none given/);
    });

    it('keeps --json as it was (the same one object, no hint)', async () => {
      const result = await runCli(['explain', file, '--tenant', 'acme', '--user', 'alice', '--json']);
      assert.equal(result.code, 0);
      assert.deepEqual(JSON.parse(result.stdout), {
        required: false,
        reason: { code: 'not_included', detail: '"alice" is not in staffIncluded and has no roles' },
        tenant: 'acme',
      });
    });

    it('says nothing about roles when the tenant asks for Duo by no role, or is not in the policy', async () => {
      const noRoles = writeJson(tmp.path('no-roles.json'), {
        tenants: { acme: tenantDoc({ mfa: { enabled: true, staffIncluded: ['dana'] } }) },
      });
      const result = await runCli(['explain', noRoles, '--tenant', 'acme', '--user', 'alice']);
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stdout, /roles: none given/);
      const unknown = await runCli(['explain', file, '--tenant', 'initech', '--user', 'alice']);
      assert.doesNotMatch(unknown.stdout, /roles: none given/);
    });
  });

  describe('when the tenant is not in the policy', () => {
    it('S7 answers required: true with unknown_tenant and tenant null, exit 0', async () => {
      const result = await runCli(['explain', file, '--tenant', 'initech', '--user', 'kiosk-1', '--json']);
      assert.equal(result.code, 0);
      assert.deepEqual(JSON.parse(result.stdout), {
        required: true,
        reason: { code: 'unknown_tenant', detail: 'tenant "initech" is not in the policy' },
        tenant: null,
      });
    });

    it('S7 says the sign-in is refused in text', async () => {
      const result = await runCli(['explain', file, '--tenant', 'ACME', '--user', 'alice']);
      assert.equal(
        result.stdout,
        'required: yes — tenant "ACME" is not in the policy (sign-in is refused)\n',
      );
    });
  });

  describe('when the input is wrong', () => {
    it('exits 2 without --user', async () => {
      const result = await runCli(['explain', file, '--tenant', 'acme']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /^duo-mfa explain: --user U is required\n/);
    });

    it('exits 2 for an --at that is not a date', async () => {
      const result = await runCli(['explain', file, '--user', 'a', '--at', 'tomorrow']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /--at must be an ISO-8601 date-time/);
    });

    it('exits 1 for an invalid policy, listing its problems', async () => {
      const bad = writeJson(tmp.path('bad.json'), { tenants: { acme: { mfa: { enabled: true } } } });
      const result = await runCli(['explain', bad, '--user', 'alice', '--json']);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /tenants\.acme\.duo: is required \(a JSON object\)/);
    });
  });

  describe('when FILE is a policy directory', () => {
    const dir = tmp.path('policy.d');
    before(() => {
      mkdirSync(dir);
      writeFileSync(join(dir, '_defaults.json'), JSON.stringify({ defaultTenant: 'acme' }));
      writeFileSync(
        join(dir, 'acme.json'),
        JSON.stringify((designPolicy().tenants as Record<string, unknown>).acme),
      );
      writeFileSync(join(dir, 'broken.json'), '{ not json');
      writeFileSync(
        join(dir, 'grace.json'),
        JSON.stringify(tenantDoc({ mfa: { enabled: true, enforceFrom: '2099-01-01T00:00:00Z' } })),
      );
    });

    it('reads only _defaults.json and the tenant’s file (another broken file does not matter)', async () => {
      const result = await runCli(['explain', dir, '--tenant', 'acme', '--user', 'dana']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stdout.split('\n').slice(0, 2).join('\n'),
        'required: yes — "dana" is in staffIncluded\ntenant: acme; trusted endpoints: monitor (not for this user)',
      );
      const viaDefault = await runCli(['explain', dir, '--user', 'dana', '--json']);
      assert.equal(JSON.parse(viaDefault.stdout).tenant, 'acme');
    });

    it('refuses an unknown tenant, and names the file of an invalid one', async () => {
      const unknown = await runCli(['explain', dir, '--tenant', 'nope', '--user', 'dana', '--json']);
      assert.deepEqual(JSON.parse(unknown.stdout), {
        required: true,
        reason: { code: 'unknown_tenant', detail: 'tenant "nope" is not in the policy' },
        tenant: null,
      });
      const broken = await runCli(['explain', dir, '--tenant', 'broken', '--user', 'dana']);
      assert.equal(broken.code, 1);
      assert.match(broken.stderr, /broken\.json/);
      assert.match(broken.stderr, /not valid JSON at line 1, column 3/);
    });

    it('lists the tenant file’s rolesIncluded without --role, quoting a role that is not one word', async () => {
      writeFileSync(
        join(dir, 'helpdesk.json'),
        JSON.stringify(tenantDoc({ mfa: { enabled: true, rolesIncluded: ['Help Desk'] } })),
      );
      const result = await runCli(['explain', dir, '--tenant', 'helpdesk', '--user', 'dana']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.stdout.split('\n').slice(2), [
        "roles: none given — a user's roles come from the host app at sign-in (getUser's roles); the policy does not know them",
        "  give them with --role R, once per role (e.g. --role 'help desk')",
        '  tenant helpdesk asks for Duo for these roles (rolesIncluded): help desk',
        '',
      ]);
      const given = await runCli([
        'explain',
        dir,
        '--tenant',
        'helpdesk',
        '--user',
        'dana',
        '--role',
        'HELP DESK',
      ]);
      assert.equal(given.stdout.split('\n')[0], 'required: yes — role "help desk" is in rolesIncluded');
    });

    it('shows the end of the grace period before mfa.enforceFrom', async () => {
      const result = await runCli([
        'explain',
        dir,
        '--tenant',
        'grace',
        '--user',
        'dana',
        '--at',
        '2098-06-01T00:00:00Z',
      ]);
      assert.equal(
        result.stdout.split('\n')[0],
        'required: yes — tenant "grace" asks everyone (rolesIncluded and staffIncluded are both empty) (grace period until 1 Jan 2099, 00:00 UTC: the user may choose "Remind me later" until then)',
      );
      const asJson = await runCli([
        'explain',
        dir,
        '--tenant',
        'grace',
        '--user',
        'dana',
        '--at',
        '2098-06-01T00:00:00Z',
        '--json',
      ]);
      assert.equal(JSON.parse(asJson.stdout).gracePeriodUntil, '2099-01-01T00:00:00.000Z');
      const after = await runCli([
        'explain',
        dir,
        '--tenant',
        'grace',
        '--user',
        'dana',
        '--at',
        '2099-06-01T00:00:00Z',
        '--json',
      ]);
      assert.equal('gracePeriodUntil' in JSON.parse(after.stdout), false);
    });
  });
});
