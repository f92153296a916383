// duo-mfa health FILE: Duo's health check per tenant against the emulator (OK, FAIL, clock skew, exit codes).

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator';
import { CLIENT_ID, OTHER_SECRET, SECRET, tempDir, tenantDoc } from '../policy/helpers';
import { runCli, writeJson } from './helpers';

const OTHER_ID = 'DIZYXWVUTSRQPONMLKJI';

describe('duo-mfa health', () => {
  const tmp = tempDir('duo-mfa-health-');
  let emulator: DuoEmulator;
  let file: string;
  let ca: string;
  const env = { GLOBEX_SECRET: OTHER_SECRET };

  before(async () => {
    emulator = await startDuoEmulator({
      applications: [
        { clientId: CLIENT_ID, clientSecret: SECRET },
        { clientId: OTHER_ID, clientSecret: OTHER_SECRET },
      ],
      mode: 'auto',
    });
    ca = tmp.path('ca.pem');
    writeFileSync(ca, emulator.ca);
    file = writeJson(tmp.path('policy.json'), {
      tenants: {
        acme: tenantDoc({ duo: { clientId: CLIENT_ID, clientSecret: SECRET, apiHost: emulator.apiHost } }),
        globex: tenantDoc({
          duo: { clientId: OTHER_ID, clientSecret: { env: 'GLOBEX_SECRET' }, apiHost: emulator.apiHost },
        }),
      },
    });
  });
  afterEach(() => {
    emulator.setFault(null);
    emulator.setClockOffset(0);
  });
  after(async () => {
    await emulator.close();
    tmp.cleanup();
  });

  describe('when Duo answers', () => {
    it('prints OK and the clock skew for every tenant, exit 0', async () => {
      const before = emulator.calls.health;
      const result = await runCli(['health', file, '--ca', ca], env);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^TENANT +DUO +API HOST +DETAIL\n/);
      assert.match(
        result.stdout,
        new RegExp(`\\nacme +OK +${emulator.apiHost.replace(/\./g, '\\.')} +clock skew [+-]?\\d+ s\\n`),
      );
      assert.match(result.stdout, /\nglobex +OK +/);
      assert.equal(result.stderr, '');
      assert.equal(emulator.calls.health - before, 2);
    });

    it('checks only the tenant named by --tenant', async () => {
      const before = emulator.calls.health;
      const result = await runCli(['health', file, '--ca', ca, '--tenant', 'globex'], env);
      assert.equal(result.code, 0);
      assert.doesNotMatch(result.stdout, /\nacme /);
      assert.equal(emulator.calls.health - before, 1);
    });

    it('reports as data with --json', async () => {
      const result = await runCli(['health', file, '--ca', ca, '--json'], env);
      assert.equal(result.code, 0);
      const report = JSON.parse(result.stdout);
      assert.equal(report.ok, true);
      assert.deepEqual(report.warnings, []);
      assert.deepEqual(
        report.tenants.map((t: { tenant: string; ok: boolean; apiHost: string }) => [
          t.tenant,
          t.ok,
          t.apiHost,
        ]),
        [
          ['acme', true, emulator.apiHost],
          ['globex', true, emulator.apiHost],
        ],
      );
      assert.equal(typeof report.tenants[0].skewMs, 'number');
    });

    it('S29 warns when this clock differs from Duo’s by more than 30 s, still exit 0', async () => {
      emulator.setClockOffset(-45); // Duo 45 s behind: this machine is ahead
      const result = await runCli(['health', file, '--ca', ca, '--tenant', 'acme'], env);
      assert.equal(result.code, 0);
      assert.match(
        result.stderr,
        /^warning: acme: this machine's clock is 4[4-6] s ahead of Duo's \(Duo refuses tokens beyond 60 s\): fix the clock \(NTP\)\n$/,
      );
    });
  });

  describe('when Duo fails', () => {
    it('prints FAIL with the reason and exits 1 when the health check is down', async () => {
      emulator.setFault({ health: 'down' });
      const result = await runCli(['health', file, '--ca', ca], env);
      assert.equal(result.code, 1);
      assert.match(result.stdout, /\nacme +FAIL +\S+ +Duo health check failed: .+\n/);
      assert.match(result.stdout, /\nglobex +FAIL /);
    });

    it('gives up after --timeout when Duo never answers', async () => {
      emulator.setFault({ health: 'hang' });
      const result = await runCli(
        ['health', file, '--ca', ca, '--tenant', 'acme', '--timeout', '300', '--json'],
        env,
      );
      assert.equal(result.code, 1);
      const report = JSON.parse(result.stdout);
      assert.deepEqual(report.tenants[0].error, {
        code: 'ERR_DUO_TIMEOUT',
        message: 'Duo did not answer the health check within 300 ms',
      });
    });

    it('fails when the emulator’s CA is not trusted (Duo’s pinned CAs are used)', async () => {
      const result = await runCli(['health', file, '--tenant', 'acme'], env);
      assert.equal(result.code, 1);
      assert.match(result.stdout, /\nacme +FAIL +/);
    });

    it('exits 1 when Duo is unreachable', async () => {
      const closed = await startDuoEmulator({
        applications: [{ clientId: CLIENT_ID, clientSecret: SECRET }],
      });
      const apiHost = closed.apiHost;
      await closed.close();
      const gone = writeJson(tmp.path('gone.json'), {
        tenants: { acme: tenantDoc({ duo: { clientId: CLIENT_ID, clientSecret: SECRET, apiHost } }) },
      });
      const result = await runCli(['health', gone, '--ca', ca]);
      assert.equal(result.code, 1);
      assert.match(result.stdout, /\nacme +FAIL +\S+ +Duo health check failed: .*ECONNREFUSED/);
    });
  });

  describe('when the input is wrong', () => {
    it('exits 1 when a secret variable is missing', async () => {
      const result = await runCli(['health', file, '--ca', ca]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /tenants\.globex\.duo\.clientSecret: environment variable GLOBEX_SECRET is not set/,
      );
    });

    it('exits 2 for a tenant that is not in the policy', async () => {
      const result = await runCli(['health', file, '--ca', ca, '--tenant', 'acm'], env);
      assert.equal(result.code, 2);
      assert.match(
        result.stderr,
        /^duo-mfa health: tenant "acm" is not in the policy — did you mean "acme"\?\n/,
      );
    });

    it('exits 2 for a --ca file that cannot be read or is not a certificate', async () => {
      const missing = await runCli(['health', file, '--ca', tmp.path('nope.pem')], env);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--ca .*nope\.pem cannot be read \(ENOENT\)/);
      const notPem = await runCli(['health', file, '--ca', file], env);
      assert.equal(notPem.code, 2);
      assert.match(notPem.stderr, /is not a PEM certificate/);
    });
  });
});
