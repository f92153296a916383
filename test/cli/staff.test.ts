// duo-mfa staff FILE --tenant T --user U: status, --reactivate, --bypass-codes N through the tenant's duo.adminApi,
// against the fake Admin API (signatures verified with duo_api's code) until the emulator serves the Admin API.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fakePhone, startFakeAdminApi, type FakeAdminApi } from '../duo/helpers/fake-admin-api';
import { CLIENT_ID, SECRET, tempDir, tenantDoc } from '../policy/helpers';
import { runCli, writeJson } from './helpers';

const ADMIN_APP = {
  integrationKey: 'DIADMINAPPLICATION01',
  secretKey: 'admin-secret-0123456789abcdefghijklmnopq',
};
const READ_ONLY_APP = {
  integrationKey: 'DIREADONLYADMINAPP02',
  secretKey: 'read-only-secret-0123456789abcdefghijklm',
  write: false,
};

describe('duo-mfa staff', () => {
  const tmp = tempDir('duo-mfa-staff-');
  let fake: FakeAdminApi;
  let file: string;
  let ca: string;
  const env = { ACME_ADMIN_SECRET: ADMIN_APP.secretKey };
  const staff = (...args: string[]) => runCli(['staff', file, '--ca', ca, ...args], env);

  before(async () => {
    fake = await startFakeAdminApi({
      applications: [ADMIN_APP, READ_ONLY_APP],
      users: [
        {
          user_id: 'DUDANA00000000000001',
          username: 'dana',
          status: 'active',
          is_enrolled: true,
          last_login: Date.parse('2026-05-30T08:00:00Z') / 1000,
          phones: [fakePhone({ phone_id: 'DPDANA00000000000001', last_seen: '2026-05-30T07:59:58' })],
        },
        {
          user_id: 'DUERIN00000000000002',
          username: 'erin',
          status: 'active',
          is_enrolled: true,
          last_login: null,
          phones: [
            fakePhone({
              phone_id: 'DPERIN00000000000002',
              number: '',
              platform: 'Apple iOS',
              model: 'iPhone 15',
              capabilities: ['push'],
            }),
          ],
        },
      ],
    });
    ca = tmp.path('admin-ca.pem');
    writeFileSync(ca, fake.ca);
    const duo = { clientId: CLIENT_ID, clientSecret: SECRET, apiHost: 'api-12345678.duosecurity.com' };
    file = writeJson(tmp.path('policy.json'), {
      tenants: {
        acme: tenantDoc({
          duo: {
            ...duo,
            adminApi: {
              integrationKey: ADMIN_APP.integrationKey,
              secretKey: { env: 'ACME_ADMIN_SECRET' },
              apiHost: fake.apiHost,
            },
          },
        }),
        globex: tenantDoc({
          duo: {
            ...duo,
            adminApi: {
              integrationKey: READ_ONLY_APP.integrationKey,
              secretKey: READ_ONLY_APP.secretKey,
              apiHost: fake.apiHost,
            },
          },
        }),
        initech: tenantDoc({ duo }),
      },
    });
  });
  after(async () => {
    await fake.close();
    tmp.cleanup();
  });

  describe('status', () => {
    it('prints the staff member’s Duo status, enrollment, last login and phones, exit 0', async () => {
      const result = await staff('--tenant', 'acme', '--user', 'dana');
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stdout,
        [
          'dana in Duo (tenant acme)',
          '',
          'STATUS      active',
          'ENROLLED    yes',
          'LAST LOGIN  30 May 2026, 08:00 UTC',
          '',
          'PHONE           MODEL    DUO MOBILE  LAST SEEN',
          'Google Android  Pixel 8  activated   30 May 2026, 07:59 UTC',
          '',
        ].join('\n'),
      );
      assert.equal(result.stderr, '');
      assert.deepEqual(fake.calls.at(-1), {
        method: 'GET',
        path: '/admin/v1/users',
        params: { username: 'dana' },
        outcome: 'ok',
      });
    });

    it('prints it as JSON with --json', async () => {
      const result = await staff('--tenant', 'acme', '--user', 'dana', '--json');
      assert.equal(result.code, 0);
      assert.deepEqual(JSON.parse(result.stdout), {
        tenant: 'acme',
        username: 'dana',
        found: true,
        status: 'active',
        enrolled: true,
        phones: [
          {
            platform: 'Google Android',
            model: 'Pixel 8',
            activated: true,
            lastSeen: '2026-05-30T07:59:58.000Z',
          },
        ],
        lastLogin: '2026-05-30T08:00:00.000Z',
      });
    });

    it('says when Duo does not know the person, exit 1', async () => {
      const result = await staff('--tenant', 'acme', '--user', 'zoe');
      assert.equal(result.code, 1);
      assert.match(
        result.stdout,
        /^zoe is not in Duo \(tenant acme\): Duo will ask them to enroll at their first Duo sign-in/,
      );
      assert.equal(
        JSON.parse((await staff('--tenant', 'acme', '--user', 'zoe', '--json')).stdout).found,
        false,
      );
    });
  });

  describe('--reactivate', () => {
    it('has Duo text the activation link to a phone that takes SMS', async () => {
      const result = await staff('--tenant', 'acme', '--user', 'dana', '--reactivate');
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        /^Duo texted a new Duo Mobile activation link to dana's phone \(valid until \d{1,2} \w{3} \d{4}, \d\d:\d\d UTC\)\.\n$/,
      );
      assert.equal(fake.calls.at(-1)?.path, '/admin/v1/phones/DPDANA00000000000001/send_sms_activation');
    });

    it('prints the activation link once for a phone Duo cannot text, on stdout only', async () => {
      const result = await staff(
        '--tenant',
        'acme',
        '--user',
        'erin',
        '--reactivate',
        '--valid-secs',
        '3600',
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        /^Activation link for erin, valid until .+ UTC — pass it on to them \(shown only this once\):\nhttps:\/\/m-fake\.duosecurity\.test\/iphone\/[0-9a-f]{20}\n$/,
      );
      assert.equal(result.stderr, '');
      assert.deepEqual(fake.calls.at(-1)?.params, { valid_secs: '3600' });
    });
  });

  describe('--bypass-codes N', () => {
    it('prints N single-use codes once, on stdout only', async () => {
      const result = await staff(
        '--tenant',
        'acme',
        '--user',
        'dana',
        '--bypass-codes',
        '2',
        '--valid-secs',
        '600',
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        /^2 bypass codes for dana, each usable once, valid until .+ UTC \(shown only this once; they replace earlier codes\):\n\d{9}\n\d{9}\n$/,
      );
      assert.equal(result.stderr, '');
      assert.deepEqual(fake.calls.at(-1)?.params, { count: '2', reuse_count: '1', valid_secs: '600' });
    });

    it('--json carries the codes and their expiry', async () => {
      const result = await staff('--tenant', 'acme', '--user', 'dana', '--bypass-codes', '1', '--json');
      const answer = JSON.parse(result.stdout);
      assert.equal(answer.codes.length, 1);
      assert.match(answer.expiresAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(Math.abs(Date.parse(answer.expiresAt) - Date.now() - 3600_000) < 60_000);
    });
  });

  describe('when Duo refuses', () => {
    it('a wrong secret key is reported as Duo’s signature refusal, exit 1', async () => {
      const result = await runCli(['staff', file, '--ca', ca, '--tenant', 'acme', '--user', 'dana'], {
        ACME_ADMIN_SECRET: 'w'.repeat(40),
      });
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        'duo-mfa staff: Duo refused the Admin API credentials for the staff status request (40103 Invalid signature ' +
          "in request credentials): check integrationKey, secretKey and apiHost of the tenant's duo.adminApi\n",
      );
      assert.ok(!result.stderr.includes('w'.repeat(40)));
    });

    it('a missing permission names the one to grant, exit 1', async () => {
      const result = await staff('--tenant', 'globex', '--user', 'dana', '--bypass-codes', '1');
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /^duo-mfa staff: .*\(40301 Access forbidden\): give it "Grant write resource"/,
      );
      assert.equal(result.stdout, '');
    });

    it('an untrusted certificate on this machine names --ca (the local emulator)', async () => {
      const result = await runCli(['staff', file, '--tenant', 'acme', '--user', 'dana'], env);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /^duo-mfa staff: The Duo Admin API's TLS certificate for 127\.0\.0\.1:\d+ could not be verified/,
      );
      assert.match(
        result.stderr,
        /\nfix: 127\.0\.0\.1:\d+ is on this machine — the local Duo emulator\? .*pass its CA with --ca/,
      );
    });
  });

  describe('when FILE is a policy directory', () => {
    let dir: string;
    before(() => {
      dir = tmp.path('policy.d');
      mkdirSync(dir);
      const duo = { clientId: CLIENT_ID, clientSecret: SECRET, apiHost: 'api-12345678.duosecurity.com' };
      writeJson(join(dir, '_defaults.json'), { defaultTenant: 'acme' });
      writeJson(
        join(dir, 'acme.json'),
        tenantDoc({
          duo: {
            ...duo,
            adminApi: {
              integrationKey: ADMIN_APP.integrationKey,
              secretKey: { env: 'ACME_ADMIN_SECRET' },
              apiHost: fake.apiHost,
            },
          },
        }),
      );
      writeJson(join(dir, 'initech.json'), tenantDoc({ duo }));
    });

    it('reads the tenant’s duo.adminApi from its file and prints the status, exit 0', async () => {
      const result = await runCli(['staff', dir, '--ca', ca, '--tenant', 'acme', '--user', 'dana'], env);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^dana in Duo \(tenant acme\)\n\nSTATUS {6}active\n/);
      assert.match(result.stdout, /\nLAST LOGIN {2}30 May 2026, 08:00 UTC\n/);
      assert.equal(result.stderr, '');
      assert.deepEqual(fake.calls.at(-1)?.params, { username: 'dana' });
    });

    it('a tenant without duo.adminApi: exit 1 naming the tenant’s file', async () => {
      const result = await runCli(['staff', dir, '--ca', ca, '--tenant', 'initech', '--user', 'dana'], env);
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        'duo-mfa staff: tenant "initech" has no Duo Admin API application: add duo.adminApi ' +
          `{ integrationKey, secretKey, apiHost } to ${join(dir, 'initech.json')} (see docs/duo.md)\n`,
      );
    });

    it('a missing secret variable: exit 1 naming the file and the path inside it', async () => {
      const result = await runCli(['staff', dir, '--ca', ca, '--tenant', 'acme', '--user', 'dana']);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /\n {2}acme\.json: duo\.adminApi\.secretKey: environment variable ACME_ADMIN_SECRET is not set/,
      );
    });
  });

  describe('when the input is wrong', () => {
    it('a tenant without duo.adminApi: exit 1 saying what to add', async () => {
      const result = await staff('--tenant', 'initech', '--user', 'dana');
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /^duo-mfa staff: tenant "initech" has no Duo Admin API application: add tenants\.initech\.duo\.adminApi/,
      );
    });

    it('a missing secret variable: exit 1 naming its path', async () => {
      const result = await runCli(['staff', file, '--ca', ca, '--tenant', 'acme', '--user', 'dana']);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /tenants\.acme\.duo\.adminApi\.secretKey: environment variable ACME_ADMIN_SECRET is not set/,
      );
    });

    const usage: Array<[string[], RegExp]> = [
      [['--tenant', 'acme'], /--user U is required/],
      [['--user', 'dana'], /--tenant T is required/],
      [
        ['--tenant', 'acme', '--user', 'dana', '--reactivate', '--bypass-codes', '1'],
        /give --reactivate or --bypass-codes N, not both/,
      ],
      [
        ['--tenant', 'acme', '--user', 'dana', '--bypass-codes', '11'],
        /--bypass-codes must be a whole number from 1 to 10/,
      ],
      [
        ['--tenant', 'acme', '--user', 'dana', '--valid-secs', '60'],
        /--valid-secs goes with --reactivate or --bypass-codes N/,
      ],
      [['--tenant', 'acm', '--user', 'dana'], /tenant "acm" is not in the policy — did you mean "acme"\?/],
    ];
    for (const [args, pattern] of usage) {
      it(`exits 2 for ${args.join(' ')}`, async () => {
        const result = await staff(...args);
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, pattern);
      });
    }
  });
});
