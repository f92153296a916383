// duo-mfa health FILE: Duo's health check per tenant against the emulator (OK, FAIL, clock skew, exit codes).

import assert from 'node:assert/strict';
import dns from 'node:dns';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { startDuoEmulator, type DuoEmulator } from '../../lib/emulator';
import { generateCertificates } from '../../lib/emulator/certificates';
import { encryptSecret, parseSecretsKey } from '../../lib/policy/secrets';
import { startConnectProxy } from '../helpers/connect-proxy';
import { CLIENT_ID, OTHER_SECRET, SECRET, tempDir, tenantDoc } from '../policy/helpers';
import { hasStackTrace, runCli, writeJson } from './helpers';

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
        new RegExp(`\\nacme +OK +${emulator.apiHost.replace(/\./g, '\\.')} +clock skew [+-]?\\d+ ms\\n`),
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

    it('prints the skew as the same whole milliseconds in text and JSON', async () => {
      emulator.setClockOffset(-45); // this machine 45 s ahead: about +45000 ms, whatever the rounding of Duo's clock
      const text = await runCli(['health', file, '--ca', ca, '--tenant', 'acme'], env);
      const shown = /clock skew \+(\d+) ms\n/.exec(text.stdout)?.[1];
      assert.ok(shown !== undefined, text.stdout);
      const report = JSON.parse(
        (await runCli(['health', file, '--ca', ca, '--tenant', 'acme', '--json'], env)).stdout,
      );
      const skewMs = report.tenants[0].skewMs;
      assert.ok(Number.isInteger(skewMs), `skewMs ${skewMs}`);
      for (const value of [Number(shown), skewMs])
        assert.ok(value >= 44_000 && value <= 46_500, `skew ${value}`);
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
      assert.match(result.stdout, /\nacme +FAIL +\S+ +Duo's certificate could not be verified\n/);
      assert.match(
        result.stderr,
        /^fix: acme: 127\.0\.0\.1:\d+ is on this machine — the local Duo emulator\? .*pass its CA with --ca /m,
      );
    });

    it('names --ca and the emulator CA file next to the policy (the example app’s .data/emulator-ca.pem), which then works', async () => {
      mkdirSync(tmp.path('app/.data'), { recursive: true });
      const caFile = tmp.path('app/.data/emulator-ca.pem');
      writeFileSync(caFile, emulator.ca);
      const policy = writeJson(tmp.path('app/duo-mfa.json'), {
        tenants: {
          acme: tenantDoc({ duo: { clientId: CLIENT_ID, clientSecret: SECRET, apiHost: emulator.apiHost } }),
        },
      });
      const failed = await runCli(['health', policy]);
      assert.equal(failed.code, 1);
      assert.equal(
        failed.stderr,
        `fix: acme: ${emulator.apiHost} is on this machine — the local Duo emulator? Its certificate is not signed by ` +
          `Duo's CAs (UNABLE_TO_VERIFY_LEAF_SIGNATURE): pass its CA with --ca ${caFile}\n`,
      );
      const json = JSON.parse((await runCli(['health', policy, '--json'])).stdout);
      assert.equal(json.tenants[0].error.code, 'ERR_DUO_TLS');
      assert.match(
        json.tenants[0].fix,
        new RegExp(`pass its CA with --ca ${caFile.replace(/[.]/g, '\\.')}$`),
      );
      const fixed = await runCli(['health', policy, '--ca', caFile]);
      assert.equal(fixed.code, 0, fixed.stderr);
    });

    it('says when --ca holds another CA than the running emulator’s (a restarted emulator)', async () => {
      const stale = tmp.path('stale-ca.pem');
      writeFileSync(stale, (await generateCertificates()).caCert);
      const result = await runCli(['health', file, '--tenant', 'acme', '--ca', stale], env);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        new RegExp(
          `^fix: acme: 127\\.0\\.0\\.1:\\d+ is on this machine, but its certificate is not signed by the CA in --ca ${stale.replace(/[.]/g, '\\.')} .*a restarted emulator makes a new CA`,
        ),
      );
    });

    it('a host name that does not exist is reported in plain words with the fix (when the resolver says ENOTFOUND)', async () => {
      const apiHost = 'api-00000000.duosecurity.invalid';
      const resolver = await new Promise<string | undefined>((resolve) =>
        dns.lookup(apiHost, (error) => resolve(error?.code)),
      );
      const typo = writeJson(tmp.path('typo.json'), {
        tenants: { acme: tenantDoc({ duo: { clientId: CLIENT_ID, clientSecret: SECRET, apiHost } }) },
      });
      const result = await runCli(['health', typo, '--json']);
      assert.equal(result.code, 1);
      const entry = JSON.parse(result.stdout).tenants[0];
      if (resolver === 'ENOTFOUND') {
        assert.equal(entry.error.code, 'ERR_DUO_HOST_NOT_FOUND');
        assert.equal(
          entry.fix,
          `check tenants.acme.duo.apiHost in ${typo}: it must be the "API hostname" of the tenant's Duo application, like api-12345678.duosecurity.com`,
        );
        const text = await runCli(['health', typo]);
        assert.match(
          text.stdout,
          /\nacme +FAIL +api-00000000\.duosecurity\.invalid +this host name does not exist \(ENOTFOUND\)\n/,
        );
        assert.match(text.stderr, /^fix: acme: check tenants\.acme\.duo\.apiHost in /);
      } else {
        assert.equal(resolver, 'EAI_AGAIN', `resolver said ${resolver}`);
        assert.equal(entry.error.code, 'ERR_DUO_UNAVAILABLE');
      }
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

  describe('through an outbound proxy (--proxy)', () => {
    const password = 'cli-proxy-Pa55word';

    it('reaches Duo through it', async () => {
      const proxy = await startConnectProxy({ credentials: { username: 'svc', password } });
      try {
        const result = await runCli(
          ['health', file, '--ca', ca, '--tenant', 'acme', '--proxy', proxy.url],
          env,
        );
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(proxy.log, [{ target: emulator.apiHost, authorization: true, status: 200 }]);
      } finally {
        await proxy.close();
      }
    });

    it('wrong proxy credentials: FAIL with ERR_DUO_CONFIG and a fix, the password printed nowhere', async () => {
      const proxy = await startConnectProxy({ credentials: { username: 'svc', password } });
      try {
        const wrong = proxy.url.replace(password, 'Wrong-Pa55word');
        const result = await runCli(
          ['health', file, '--ca', ca, '--tenant', 'acme', '--proxy', wrong, '--json'],
          env,
        );
        assert.equal(result.code, 1);
        const entry = JSON.parse(result.stdout).tenants[0];
        assert.equal(entry.error.code, 'ERR_DUO_CONFIG');
        assert.equal(entry.fix, 'check the host, user and password in --proxy');
        assert.ok(!`${result.stdout}${result.stderr}`.includes('Wrong-Pa55word'));
      } finally {
        await proxy.close();
      }
    });

    it('exits 2 for a malformed --proxy, its credentials masked', async () => {
      const result = await runCli(['health', file, '--proxy', `socks5://svc:${password}@proxy:1080`], env);
      assert.equal(result.code, 2);
      assert.match(
        result.stderr,
        /--proxy must be an http:\/\/ or https:\/\/ URL of an HTTP CONNECT proxy \(got "socks5:\/\/\*\*\*\*:\*\*\*\*@proxy:1080"\)/,
      );
      assert.ok(!result.stderr.includes(password));
    });
  });

  describe('when FILE is a policy directory', () => {
    let dir: string;
    before(() => {
      dir = tmp.path('policy.d');
      mkdirSync(dir);
      writeJson(join(dir, '_defaults.json'), { defaultTenant: 'acme' });
      writeJson(
        join(dir, 'acme.json'),
        tenantDoc({ duo: { clientId: CLIENT_ID, clientSecret: SECRET, apiHost: emulator.apiHost } }),
      );
      writeJson(
        join(dir, 'globex.json'),
        tenantDoc({
          duo: { clientId: OTHER_ID, clientSecret: { env: 'GLOBEX_SECRET' }, apiHost: emulator.apiHost },
        }),
      );
    });

    it('checks every tenant file, exit 0', async () => {
      const before = emulator.calls.health;
      const result = await runCli(['health', dir, '--ca', ca], env);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /\nacme +OK +\S+ +clock skew [+-]?\d+ ms\n/);
      assert.match(result.stdout, /\nglobex +OK +/);
      assert.equal(result.stderr, '');
      assert.equal(emulator.calls.health - before, 2);
    });

    it('names the file and the path inside it when a secret variable is missing', async () => {
      const result = await runCli(['health', dir, '--ca', ca]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /\n {2}globex\.json: duo\.clientSecret: environment variable GLOBEX_SECRET is not set\n/,
      );
    });

    it('a fix names duo.apiHost in the tenant’s file (tenants.acme.duo.apiHost in a single file)', async () => {
      const sockets = new Set<net.Socket>();
      const plain = net.createServer((socket) => {
        sockets.add(socket);
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
      });
      await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
      const apiHost = `127.0.0.1:${(plain.address() as net.AddressInfo).port}`;
      try {
        const notDuo = tmp.path('not-duo.d');
        mkdirSync(notDuo);
        const tenant = tenantDoc({ duo: { clientId: CLIENT_ID, clientSecret: SECRET, apiHost } });
        writeJson(join(notDuo, 'acme.json'), tenant);
        const result = await runCli(['health', notDuo, '--json']);
        assert.equal(result.code, 1);
        const entry = JSON.parse(result.stdout).tenants[0];
        assert.equal(entry.error.code, 'ERR_DUO_TLS');
        assert.match(
          entry.fix,
          new RegExp(
            `^nothing at ${apiHost.replace(/\./g, '\\.')} speaks TLS as Duo does \\(\\w+\\): ` +
              `check duo\\.apiHost in ${join(notDuo, 'acme.json').replace(/[.]/g, '\\.')} \\(Duo's API hostname`,
          ),
        );
        const file = writeJson(tmp.path('not-duo.json'), { tenants: { acme: tenant } });
        const single = JSON.parse((await runCli(['health', file, '--json'])).stdout).tenants[0];
        assert.match(
          single.fix,
          new RegExp(`: check tenants\\.acme\\.duo\\.apiHost in ${file.replace(/[.]/g, '\\.')} \\(`),
        );
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => plain.close(() => resolve()));
      }
    });
  });

  describe('when secrets are encrypted (as the settings API writes them)', () => {
    const KEY = Buffer.alloc(32, 7).toString('base64');
    let encrypted: string;
    before(() => {
      const key = parseSecretsKey(KEY);
      encrypted = writeJson(tmp.path('encrypted.json'), {
        tenants: {
          acme: tenantDoc({
            duo: {
              clientId: CLIENT_ID,
              clientSecret: {
                encrypted: encryptSecret(key, SECRET, { tenant: 'acme', field: 'duo.clientSecret' }),
              },
              apiHost: emulator.apiHost,
            },
          }),
        },
      });
    });

    it('opens them with DUO_MFA_SECRETS_KEY and checks the tenant, exit 0', async () => {
      const before = emulator.calls.health;
      const result = await runCli(['health', encrypted, '--ca', ca], { DUO_MFA_SECRETS_KEY: KEY });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /\nacme +OK +\S+ +clock skew [+-]?\d+ ms\n/);
      assert.equal(emulator.calls.health - before, 1);
    });

    it('without DUO_MFA_SECRETS_KEY: exit 1 naming the secret and the variable to set, nothing checked, no stack trace', async () => {
      const before = emulator.calls.health;
      const result = await runCli(['health', encrypted, '--ca', ca]);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.equal(
        result.stderr,
        `Invalid MFA policy ${encrypted} (1 problem):\n` +
          '  tenants.acme.duo.clientSecret: the secret is encrypted and DUO_MFA_SECRETS_KEY is not set: set ' +
          "DUO_MFA_SECRETS_KEY to the app's secretsKey (the key that encrypted it) and run the command again\n",
      );
      assert.ok(!hasStackTrace(result.stderr));
      assert.equal(emulator.calls.health - before, 0);
    });

    it('with another DUO_MFA_SECRETS_KEY: exit 1 saying the secret cannot be opened, no stack trace', async () => {
      const other = Buffer.alloc(32, 8).toString('base64');
      const result = await runCli(['health', encrypted, '--ca', ca], { DUO_MFA_SECRETS_KEY: other });
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /\n {2}tenants\.acme\.duo\.clientSecret: the encrypted secret cannot be opened with the configured secretsKey/,
      );
      assert.ok(!hasStackTrace(result.stderr));
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
