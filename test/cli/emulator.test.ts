// duo-mfa emulator: starts on --port 0, prints apiHost and credentials, writes the CA, answers health, stops on SIGTERM.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { adminApiCall } from '../helpers/duo';
import { CLIENT_ID, SECRET, tempDir, tenantDoc } from '../policy/helpers';
import { runCli, startCli, writeJson } from './helpers';

interface Running {
  child: ChildProcessWithoutNullStreams;
  banner: string;
  output: () => string;
  stderr: () => string;
}

/** Starts `duo-mfa emulator …` and resolves once it printed its banner (bounded wait). */
function startEmulator(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const child = startCli(['emulator', ...args], env);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let started = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the emulator did not start within 20 s; stderr: ${stderr}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`the emulator exited with ${code} before starting; stderr: ${stderr}`));
    });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!started && stdout.includes('Press Ctrl+C to stop.')) {
        started = true;
        clearTimeout(timer);
        resolve({ child, banner: stdout, output: () => stdout, stderr: () => stderr });
      }
    });
  });
}

/** Sends SIGTERM and resolves with the exit code (bounded wait). */
function stop(running: Running): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      running.child.kill('SIGKILL');
      reject(new Error('the emulator did not stop within 10 s of SIGTERM'));
    }, 10_000);
    running.child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    running.child.kill('SIGTERM');
  });
}

const field = (banner: string, name: string) => new RegExp(`\\n\\s+${name}:\\s+(\\S+)`).exec(banner)?.[1];

describe('duo-mfa emulator', () => {
  const tmp = tempDir('duo-mfa-emulator-');
  after(() => tmp.cleanup());

  describe('when started without a policy on --port 0', () => {
    it('prints the actual apiHost and a demo application, writes the CA, answers health, and exits 0 on SIGTERM', async () => {
      const caOut = tmp.path('demo/ca.pem');
      const running = await startEmulator(['--port', '0', '--ca-out', caOut, '--mode', 'auto']);
      try {
        const apiHost = field(running.banner, 'apiHost')!;
        const clientId = field(running.banner, 'clientId')!;
        const clientSecret = field(running.banner, 'clientSecret')!;
        assert.match(apiHost, /^127\.0\.0\.1:\d+$/);
        assert.notEqual(apiHost, '127.0.0.1:0');
        assert.match(running.banner, new RegExp(`\\n  url: +https://${apiHost.replace(/\./g, '\\.')}\\n`));
        assert.match(
          running.banner,
          new RegExp(`\\n  CA: +${caOut.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\n`),
        );
        assert.match(running.banner, /\n {2}mode: +auto\n/);
        assert.match(clientId, /^DI[A-Z0-9]{18}$/);
        assert.equal(clientSecret.length, 40);
        assert.ok(existsSync(caOut));
        assert.match(readFileSync(caOut, 'utf8'), /^-----BEGIN CERTIFICATE-----/);

        const policy = writeJson(tmp.path('demo.json'), {
          tenants: { demo: tenantDoc({ duo: { clientId, clientSecret: { env: 'DEMO_SECRET' }, apiHost } }) },
        });
        const health = await runCli(['health', policy, '--ca', caOut], { DEMO_SECRET: clientSecret });
        assert.equal(health.code, 0, health.stdout + health.stderr);
        assert.match(health.stdout, /\ndemo +OK +/);
      } finally {
        const code = await stop(running);
        assert.equal(code, 0);
        assert.match(running.output(), /Duo emulator stopped \(SIGTERM\)\.\n$/);
        assert.equal(running.stderr(), '');
      }
    });
  });

  describe('when started with --policy', () => {
    it('accepts every tenant’s credentials and never prints their secrets', async () => {
      const otherId = 'DIZYXWVUTSRQPONMLKJI';
      const otherSecret = 'globex-secret-from-env-0123456789abcdefg';
      const policy = writeJson(tmp.path('tenants.json'), {
        tenants: {
          acme: tenantDoc({ duo: { clientId: CLIENT_ID, clientSecret: SECRET, apiHost: '127.0.0.1:8443' } }),
          globex: tenantDoc({
            duo: { clientId: otherId, clientSecret: { env: 'GLOBEX_SECRET' }, apiHost: '127.0.0.1:8443' },
          }),
        },
      });
      const caOut = tmp.path('policy-ca.pem');
      const running = await startEmulator(['--port', '0', '--policy', policy, '--ca-out', caOut], {
        GLOBEX_SECRET: otherSecret,
      });
      try {
        const apiHost = field(running.banner, 'apiHost')!;
        assert.match(running.banner, new RegExp(`\\n    acme: ${CLIENT_ID}`));
        assert.match(running.banner, new RegExp(`\\n    globex: ${otherId}`));
        assert.ok(
          !running.banner.includes(SECRET) && !running.banner.includes(otherSecret),
          'a secret was printed',
        );

        const pointed = writeJson(tmp.path('pointed.json'), {
          tenants: {
            acme: tenantDoc({ duo: { clientId: CLIENT_ID, clientSecret: SECRET, apiHost } }),
            globex: tenantDoc({ duo: { clientId: otherId, clientSecret: otherSecret, apiHost } }),
          },
        });
        const health = await runCli(['health', pointed, '--ca', caOut]);
        assert.equal(health.code, 0, health.stdout + health.stderr);
      } finally {
        assert.equal(await stop(running), 0);
      }
    });

    it('serves each tenant’s duo.adminApi credentials to the Admin API, never printing the secret key', async () => {
      const adminKey = 'DIADMINCLITEST000001';
      const adminSecret = 'admin-secret-from-env-0123456789abcdefgh';
      const policy = writeJson(tmp.path('admin.json'), {
        tenants: {
          acme: tenantDoc({
            duo: {
              clientId: CLIENT_ID,
              clientSecret: SECRET,
              apiHost: '127.0.0.1:8443',
              adminApi: {
                integrationKey: adminKey,
                secretKey: { env: 'ACME_ADMIN_SECRET' },
                apiHost: '127.0.0.1:8443',
              },
            },
          }),
        },
      });
      const running = await startEmulator(
        ['--port', '0', '--policy', policy, '--ca-out', tmp.path('admin-ca.pem')],
        {
          ACME_ADMIN_SECRET: adminSecret,
        },
      );
      try {
        const apiHost = field(running.banner, 'apiHost')!;
        assert.match(
          running.banner,
          new RegExp(
            `\\n  Admin API applications:\\n    acme: ${adminKey} \\(its apiHost is 127\\.0\\.0\\.1:8443\\)\\n`,
          ),
        );
        assert.ok(!running.banner.includes(adminSecret), 'the Admin API secret was printed');
        const ca = readFileSync(tmp.path('admin-ca.pem'), 'utf8');
        const found = await adminApiCall(
          { apiHost, ca },
          'GET',
          '/admin/v1/users',
          { username: 'nobody' },
          {
            app: { integrationKey: adminKey, secretKey: adminSecret },
          },
        );
        assert.deepEqual(found, { stat: 'OK', response: [] });
        const refused = await adminApiCall(
          { apiHost, ca },
          'GET',
          '/admin/v1/users',
          {},
          {
            app: { integrationKey: adminKey, secretKey: 'x'.repeat(40) },
          },
        );
        assert.equal(refused.code, 40103);
      } finally {
        assert.equal(await stop(running), 0);
      }
    });

    it('takes a policy directory: every tenant file’s credentials and duo.adminApi (no EISDIR)', async () => {
      const otherId = 'DIZYXWVUTSRQPONMLKJI';
      const otherSecret = 'globex-secret-from-env-0123456789abcdefg';
      const adminKey = 'DIADMINCLITEST000002';
      const adminSecret = 'admin-secret-from-dir-0123456789abcdefgh';
      const dir = tmp.path('policy.d');
      mkdirSync(dir);
      writeJson(join(dir, '_defaults.json'), { defaultTenant: 'acme' });
      writeJson(
        join(dir, 'acme.json'),
        tenantDoc({
          duo: {
            clientId: CLIENT_ID,
            clientSecret: SECRET,
            apiHost: '127.0.0.1:8443',
            adminApi: {
              integrationKey: adminKey,
              secretKey: { env: 'ACME_ADMIN_SECRET' },
              apiHost: '127.0.0.1:8443',
            },
          },
        }),
      );
      writeJson(
        join(dir, 'globex.json'),
        tenantDoc({
          duo: { clientId: otherId, clientSecret: { env: 'GLOBEX_SECRET' }, apiHost: '127.0.0.1:8443' },
        }),
      );
      const caOut = tmp.path('dir-ca.pem');
      const running = await startEmulator(['--port', '0', '--policy', dir, '--ca-out', caOut], {
        GLOBEX_SECRET: otherSecret,
        ACME_ADMIN_SECRET: adminSecret,
      });
      try {
        const apiHost = field(running.banner, 'apiHost')!;
        assert.match(running.banner, new RegExp(`\\n  applications from ${dir.replace(/[.]/g, '\\.')}:\\n`));
        assert.match(running.banner, new RegExp(`\\n    acme: ${CLIENT_ID}`));
        assert.match(running.banner, new RegExp(`\\n    globex: ${otherId}`));
        assert.match(running.banner, new RegExp(`\\n  Admin API applications:\\n    acme: ${adminKey} `));
        for (const secret of [SECRET, otherSecret, adminSecret]) {
          assert.ok(!running.banner.includes(secret), 'a secret was printed');
        }

        const pointed = writeJson(tmp.path('dir-pointed.json'), {
          tenants: {
            acme: tenantDoc({ duo: { clientId: CLIENT_ID, clientSecret: SECRET, apiHost } }),
            globex: tenantDoc({ duo: { clientId: otherId, clientSecret: otherSecret, apiHost } }),
          },
        });
        const health = await runCli(['health', pointed, '--ca', caOut]);
        assert.equal(health.code, 0, health.stdout + health.stderr);
        const ca = readFileSync(caOut, 'utf8');
        const found = await adminApiCall(
          { apiHost, ca },
          'GET',
          '/admin/v1/users',
          { username: 'nobody' },
          { app: { integrationKey: adminKey, secretKey: adminSecret } },
        );
        assert.deepEqual(found, { stat: 'OK', response: [] });
      } finally {
        assert.equal(await stop(running), 0);
      }
    });

    it('exits 1 without starting when a file of the policy directory is invalid, naming the file', async () => {
      const dir = tmp.path('bad.d');
      mkdirSync(dir);
      writeJson(
        join(dir, 'acme.json'),
        tenantDoc({
          duo: { clientId: CLIENT_ID, clientSecret: { env: 'NOT_SET_ANYWHERE' }, apiHost: '127.0.0.1:8443' },
        }),
      );
      const caOut = tmp.path('bad-dir.pem');
      const result = await runCli(['emulator', '--port', '0', '--policy', dir, '--ca-out', caOut]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /\n {2}acme\.json: duo\.clientSecret: environment variable NOT_SET_ANYWHERE is not set\n/,
      );
      assert.doesNotMatch(result.stderr, /EISDIR/);
      assert.ok(!existsSync(caOut));
    });

    it('exits 1 naming the path when duo.adminApi is malformed or its secret is missing', async () => {
      const policy = writeJson(tmp.path('bad-admin.json'), {
        tenants: {
          acme: tenantDoc({
            duo: {
              clientId: CLIENT_ID,
              clientSecret: SECRET,
              apiHost: '127.0.0.1:8443',
              adminApi: { integrationKey: 'short', secretKey: { env: 'NOT_SET_ANYWHERE' } },
            },
          }),
        },
      });
      const result = await runCli([
        'emulator',
        '--port',
        '0',
        '--policy',
        policy,
        '--ca-out',
        tmp.path('y.pem'),
      ]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /tenants\.acme\.duo\.adminApi\.integrationKey: must be 20 characters \(got 5\)/,
      );
      assert.match(
        result.stderr,
        /tenants\.acme\.duo\.adminApi\.secretKey: environment variable NOT_SET_ANYWHERE is not set/,
      );
      assert.ok(!existsSync(tmp.path('y.pem')));
    });

    it('exits 1 without starting when the policy is invalid', async () => {
      const policy = writeJson(tmp.path('invalid.json'), { tenants: {} });
      const result = await runCli([
        'emulator',
        '--port',
        '0',
        '--policy',
        policy,
        '--ca-out',
        tmp.path('x.pem'),
      ]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /tenants: must list at least one tenant/);
      assert.ok(!existsSync(tmp.path('x.pem')));
    });
  });
});
