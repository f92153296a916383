// duo-mfa check FILE: exit codes, the per-tenant summary, every warning, --json, and secrets never printed.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encryptSecret, parseSecretsKey } from '../../lib/policy/secrets';
import { CLIENT_ID, OTHER_SECRET, SECRET, designPolicy, tempDir, tenantDoc } from '../policy/helpers';
import { ROOT, hasStackTrace, runCli, writeJson } from './helpers';

const EXAMPLE = join(ROOT, 'example-app', 'duo-mfa.json');
const IN_TWO_DAYS = () => new Date(Date.now() + 2 * 24 * 3600_000).toISOString();

describe('duo-mfa check', () => {
  const tmp = tempDir('duo-mfa-check-');
  after(() => tmp.cleanup());

  describe('when the file is valid', () => {
    it('exits 0 and prints a summary row per tenant', async () => {
      const result = await runCli(['check', EXAMPLE]);
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.split('\n');
      assert.match(lines[0]!, /duo-mfa\.json: valid — 2 tenants, version [0-9a-f]{12}$/);
      assert.match(
        result.stdout,
        /TENANT +MFA +WHO IS ASKED +EXCLUDED +BYPASSES +FAILMODE +TRUSTED ENDPOINTS/,
      );
      assert.match(
        result.stdout,
        /\nacme \(default\) +on +roles: admin, finance; staff: dana +1 +1 +closed +monitor \/ test-group\n/,
      );
      assert.match(result.stdout, /\nglobex +off +no one +0 +0 +closed +off \/ disabled\n/);
    });

    it('describes a tenant that asks everyone', async () => {
      const file = writeJson(tmp.path('everyone.json'), { tenants: { acme: tenantDoc() } });
      const result = await runCli(['check', file]);
      assert.equal(result.code, 0);
      assert.match(result.stdout, /\nacme +on +everyone +0 +0 +closed +off \/ disabled\n/);
    });

    it('resolves env secrets from the environment', async () => {
      const file = writeJson(tmp.path('design.json'), designPolicy());
      const result = await runCli(['check', file], { ACME_DUO_CLIENT_SECRET: OTHER_SECRET });
      assert.equal(result.code, 0, result.stderr);
      assert.ok(!result.stdout.includes(OTHER_SECRET));
    });
  });

  describe('when the policy has risky settings', () => {
    const risky = () => ({
      tenants: {
        acme: tenantDoc({
          mfa: {
            enabled: true,
            staffIncluded: ['dana', 'Erin'],
            staffExcluded: ['erin'],
            temporaryBypass: [
              { username: 'frank', until: '2099-01-01T00:00:00Z', reason: 'long' },
              { username: 'grace', until: '2020-01-01T00:00:00Z', reason: 'old' },
              { username: 'heidi', until: IN_TWO_DAYS(), reason: 'fine' },
            ],
          },
          failmode: 'open',
          trustedEndpoints: { policy: 'block', activation: 'all' },
        }),
        globex: tenantDoc({
          mfa: { enabled: false },
          duo: {
            clientId: CLIENT_ID,
            clientSecret: { env: 'GLOBEX_SECRET' },
            apiHost: 'api-1.duosecurity.com',
          },
          trustedEndpoints: { policy: 'monitor', activation: 'test-group' },
        }),
        initech: tenantDoc({
          duo: {
            clientId: CLIENT_ID,
            clientSecret: { env: 'INITECH_SECRET' },
            apiHost: 'api-1.duosecurity.com',
          },
          trustedEndpoints: { policy: 'block' },
        }),
      },
    });

    it('prints every warning with its path and still exits 0', async () => {
      const file = writeJson(tmp.path('risky.json'), risky());
      const result = await runCli(['check', file], { GLOBEX_SECRET: SECRET, INITECH_SECRET: SECRET });
      assert.equal(result.code, 0, result.stderr);
      const warnings = result.stdout.slice(result.stdout.indexOf('Warnings (')).split('\n');
      assert.equal(warnings[0], 'Warnings (10):');
      const expected = [
        'tenants.acme.mfa.staffExcluded[0]: "erin" is in both staffIncluded and staffExcluded: staffExcluded wins, so they are never asked for Duo',
        'tenants.acme.mfa.temporaryBypass[0].until: the bypass for "frank" lasts more than 7 days (until 2099-01-01T00:00:00Z): temporary bypasses should be short (7 days at most)',
        'tenants.acme.mfa.temporaryBypass[1].until: the bypass for "grace" expired on 2020-01-01T00:00:00Z: it has no effect any more — remove it',
        'tenants.acme.failmode: "open" lets staff in without Duo whenever Duo\'s health check fails — use "closed" unless availability matters more than the second factor',
        'tenants.acme.failmode: failmode "open" does not apply to users trusted endpoints "block" covers (everyone): they are refused during a Duo outage, because fail-open never overrides device trust (SECURITY.md S43)',
        'tenants.acme.duo.clientSecret: the secret is written in the file: read it from the environment instead, e.g. { "env": "ACME_DUO_CLIENT_SECRET" }',
        'tenants.acme.trustedEndpoints.activation: policy "block" with activation "all": unknown devices will be denied — start with monitor or a test group',
        'tenants.globex.trustedEndpoints: policy "monitor" has no effect while MFA is off for this tenant (mfa.enabled is false)',
        'tenants.globex.trustedEndpoints.testGroup: activation "test-group" with an empty test group applies trusted endpoints to no one',
        'tenants.initech.trustedEndpoints.testGroup: policy "block" is set but no test group is configured: add testGroup roles or staff and use activation "test-group" before "all"',
      ];
      assert.deepEqual(
        warnings.slice(1, -1).map((line) => line.trim()),
        expected,
      );
      assert.match(
        result.stdout,
        /\nacme +on +staff: dana, erin +1 +2 \(\+1 expired\) +open +block \/ all\n/,
      );
    });

    it('reports them as data with --json', async () => {
      const file = writeJson(tmp.path('risky-json.json'), risky());
      const result = await runCli(['check', file, '--json'], {
        GLOBEX_SECRET: SECRET,
        INITECH_SECRET: SECRET,
      });
      assert.equal(result.code, 0);
      const report = JSON.parse(result.stdout);
      assert.deepEqual(Object.keys(report), ['ok', 'errors', 'warnings', 'tenants']);
      assert.equal(report.ok, true);
      assert.deepEqual(report.errors, []);
      assert.equal(report.warnings.length, 10);
      assert.deepEqual(Object.keys(report.warnings[0]), ['path', 'message']);
      assert.deepEqual(
        report.tenants.map((t: { tenant: string }) => t.tenant),
        ['acme', 'globex', 'initech'],
      );
      const acme = report.tenants[0];
      assert.equal(acme.mfaEnabled, true);
      assert.equal(acme.asked, 'staff: dana, erin');
      assert.deepEqual(acme.staffIncluded, ['dana', 'erin']);
      assert.equal(acme.failmode, 'open');
      assert.deepEqual(acme.trustedEndpoints, { policy: 'block', activation: 'all' });
      assert.deepEqual(
        acme.bypasses.map((b: { username: string; active: boolean }) => [b.username, b.active]),
        [
          ['frank', true],
          ['grace', false],
          ['heidi', true],
        ],
      );
      assert.ok(!result.stdout.includes(SECRET), 'a secret was printed');
    });
  });

  describe('when the file is invalid', () => {
    const broken = () => ({
      defaultTenant: 'acme',
      tenants: {
        acme: {
          mfa: { enabled: 'yes', rolesInclude: ['admin'] },
          duo: {
            clientId: 'DIXXX',
            clientSecret: SECRET.slice(0, 12),
            apiHost: 'https://api-1.duosecurity.com',
          },
          failmode: 'opne',
        },
      },
    });

    it('exits 1 and prints every problem with its path, never the secret', async () => {
      const file = writeJson(tmp.path('broken.json'), broken());
      const result = await runCli(['check', file]);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines[0], `Invalid MFA policy ${file} (6 problems):`);
      assert.deepEqual(
        lines.slice(1).map((line) => line.trim().split(':')[0]),
        [
          'tenants.acme.mfa.enabled',
          'tenants.acme.mfa.rolesInclude',
          'tenants.acme.duo.clientId',
          'tenants.acme.duo.clientSecret',
          'tenants.acme.duo.apiHost',
          'tenants.acme.failmode',
        ],
      );
      assert.ok(!result.stderr.includes(SECRET.slice(0, 12)), 'a secret was printed');
      assert.ok(!hasStackTrace(result.stderr));
    });

    it('reports the problems as data with --json', async () => {
      const file = writeJson(tmp.path('broken-json.json'), broken());
      const result = await runCli(['check', file, '--json']);
      assert.equal(result.code, 1);
      const report = JSON.parse(result.stdout);
      assert.equal(report.ok, false);
      assert.equal(report.errors.length, 6);
      assert.deepEqual(report.errors[2], {
        path: 'tenants.acme.duo.clientId',
        message: 'must be 20 characters (got 5)',
      });
      assert.deepEqual([report.warnings, report.tenants], [[], []]);
    });

    it('exits 1 naming a missing environment variable', async () => {
      const file = writeJson(tmp.path('design-noenv.json'), designPolicy());
      const result = await runCli(['check', file]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /\n {2}tenants\.acme\.duo\.clientSecret: environment variable ACME_DUO_CLIENT_SECRET is not set\n/,
      );
    });

    it('exits 1 for a missing file, with a one-line reason', async () => {
      const file = tmp.path('absent.json');
      const result = await runCli(['check', file]);
      assert.equal(result.code, 1);
      assert.equal(result.stderr, `Invalid MFA policy ${file}: the file does not exist\n`);
    });

    it('exits 1 for broken JSON, with line and column', async () => {
      const file = tmp.path('truncated.json');
      writeFileSync(file, '{\n  "tenants": {\n    "acme": {');
      const result = await runCli(['check', file]);
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        `Invalid MFA policy ${file}: not valid JSON at line 3, column 14: the file ends inside an object (cut short?)\n`,
      );
    });
  });

  describe('when FILE is a policy directory', () => {
    const directory = (name: string, files: Record<string, unknown>) => {
      const dir = tmp.path(name);
      mkdirSync(dir);
      for (const [file, value] of Object.entries(files)) {
        writeFileSync(join(dir, file), typeof value === 'string' ? value : JSON.stringify(value, null, 2));
      }
      return dir;
    };

    it('exits 0 and summarises every tenant file; warnings name the tenant’s file', async () => {
      const dir = directory('valid.d', {
        '_defaults.json': { defaultTenant: 'acme' },
        'acme.json': tenantDoc({ mfa: { enabled: true, staffIncluded: ['erin'], staffExcluded: ['Erin'] } }),
        'globex.json': tenantDoc({ mfa: { enabled: false } }),
        '.acme.json.swp': 'garbage',
        'README.md': 'notes',
      });
      const result = await runCli(['check', dir]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout.split('\n')[0]!,
        /valid\.d: valid — 2 tenants in a directory, version [0-9a-f]{12}$/,
      );
      assert.match(result.stdout, /\nacme \(default\) +on +staff: erin +1 +0 +closed +off \/ disabled\n/);
      assert.match(
        result.stdout,
        /\n {2}acme\.json: mfa\.staffExcluded\[0\]: "erin" is in both staffIncluded and staffExcluded/,
      );
      assert.match(result.stdout, /\n {2}acme\.json: duo\.clientSecret: the secret is written in the file/);
      const report = JSON.parse((await runCli(['check', dir, '--json'])).stdout);
      assert.deepEqual(report.warnings[0], {
        path: 'mfa.staffExcluded[0]',
        message:
          '"erin" is in both staffIncluded and staffExcluded: staffExcluded wins, so they are never asked for Duo',
        file: 'acme.json',
      });
    });

    it('exits 1 listing every problem of every file, each with its file and its path inside it', async () => {
      const dir = directory('invalid.d', {
        '_defaults.json': { defaultTenant: 'nope', extra: 1 },
        'acme.json': tenantDoc({ failmode: 'opne' }),
        'globex.json': '{ "mfa": ',
        'acme corp.json': tenantDoc(),
        'initech.json': tenantDoc({ mfa: { enabled: 'yes' } }),
      });
      const result = await runCli(['check', dir]);
      assert.equal(result.code, 1);
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines[0], `Invalid MFA policy ${dir} (6 problems):`);
      assert.deepEqual(
        lines.slice(1).map((line) => line.trim()),
        [
          'acme corp.json: the file name is not a valid tenant id (letters, digits, ".", "_", "@", "+" and "-", starting with a letter or a digit): the file is ignored, and its users are refused as an unknown tenant',
          'globex.json: not valid JSON at line 1, column 10: the file ends where a value was expected (cut short?)',
          '_defaults.json: extra: unknown key — allowed here: $schema, defaultTenant',
          '_defaults.json: defaultTenant: must name a tenant file (<id>.json) in the directory (got "nope") (tenants: acme, initech)',
          'acme.json: failmode: must be "closed" or "open" (got "opne") — did you mean "open"?',
          'initech.json: mfa.enabled: must be true or false (got "yes")',
        ],
      );
      const report = JSON.parse((await runCli(['check', dir, '--json'])).stdout);
      assert.deepEqual(report.errors.at(-1), {
        path: 'mfa.enabled',
        message: 'must be true or false (got "yes")',
        file: 'initech.json',
      });
    });

    it('exits 1 for a directory without tenant files', async () => {
      const dir = directory('empty.d', {});
      const result = await runCli(['check', dir]);
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        `Invalid MFA policy ${dir}: the directory holds no tenant file (<id>.json)\n`,
      );
    });
  });

  describe('when secrets are encrypted', () => {
    const KEY = Buffer.alloc(32, 3).toString('base64');
    const encrypted = (tenant: string) => ({
      tenants: {
        acme: tenantDoc({
          duo: {
            clientId: CLIENT_ID,
            clientSecret: {
              encrypted: encryptSecret(parseSecretsKey(KEY), SECRET, { tenant, field: 'duo.clientSecret' }),
            },
            apiHost: 'api-1.duosecurity.com',
          },
        }),
      },
    });

    it('opens them with DUO_MFA_SECRETS_KEY', async () => {
      const file = writeJson(tmp.path('encrypted.json'), encrypted('acme'));
      const result = await runCli(['check', file], { DUO_MFA_SECRETS_KEY: KEY });
      assert.equal(result.code, 0, result.stderr);
      assert.ok(!result.stdout.includes('encrypted secrets were not checked'));
    });

    it('says clearly that they were not checked without DUO_MFA_SECRETS_KEY (a warning, exit 0)', async () => {
      const file = writeJson(tmp.path('encrypted-nokey.json'), encrypted('acme'));
      const result = await runCli(['check', file]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        /\n {2}encrypted secrets were not checked: set DUO_MFA_SECRETS_KEY to the secretsKey to check that they open\n/,
      );
    });

    it('S49 exits 1 for a secret the key cannot open (encrypted for another tenant), naming its path', async () => {
      const file = writeJson(tmp.path('encrypted-moved.json'), encrypted('globex'));
      const result = await runCli(['check', file], { DUO_MFA_SECRETS_KEY: KEY });
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /\n {2}tenants\.acme\.duo\.clientSecret: the encrypted secret cannot be opened/,
      );
    });
  });
});
