// The example as a newcomer meets it: main.ts started as a process (emulator on the policy's port, the banner,
// the login page, Redis with REDIS_URL, a clear message when the port is taken, the session secret and the
// emulator's CA kept across restarts), and the rule that the example uses nothing but the package's public API.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encryptSecret, parseSecretsKey } from '../../lib/policy/index';
import { deleteKeys, redisOrSkip } from '../helpers/redis';
import { EXAMPLE_DIR, examplePolicy, PASSWORD } from './helpers';

const ROOT = resolve(__dirname, '../..');

/** The package names the example may import: its own public API and what any Express app uses. */
const ALLOWED_PACKAGES = new Set([
  'express-duo-mfa',
  'express-duo-mfa/emulator',
  'express-duo-mfa/policy',
  'express',
  'express-session',
  'connect-redis',
  'ioredis',
]);

function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  const patterns = [
    // `import … from '…'` and `export … from '…'` statements (not the word "from" inside a string)
    /^\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) specifiers.push(match[1]!);
  return specifiers;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Runs example-app/main.ts as `npm start` does (tsx), with `policyFile`, PORT=0 and the data directory `env` names. */
function runMain(policyFile: string, env: Record<string, string>): Started {
  let out = '';
  let err = '';
  const child = spawn(process.execPath, ['--import', 'tsx', join(EXAMPLE_DIR, 'main.ts'), policyFile], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', REDIS_URL: '', SESSION_SECRET: '', DUO_MFA_SECRETS_KEY: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Whether the TLS server at `url` presents a certificate that `caPem` verifies (as a browser trusting it would). */
function verifiedBy(url: string, caPem: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = tls.connect({ host: hostname, port: Number(port), ca: caPem }, () => {
      socket.end();
      done(socket.authorized);
    });
    socket.once('error', () => done(false));
  });
}

async function waitForOutput(
  started: Started,
  pattern: RegExp,
  timeoutMs = 20_000,
): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(started.stdout());
    if (match) return match;
    if (started.child.exitCode !== null || Date.now() > deadline) {
      assert.fail(
        `main.ts never printed ${pattern}\nstdout:\n${started.stdout()}\nstderr:\n${started.stderr()}`,
      );
    }
    await new Promise((done) => setTimeout(done, 50));
  }
}

describe('example app: runner and public API', function () {
  this.timeout(30_000);
  let dir: string;
  let running: Started | undefined;
  let blocker: Server | undefined;

  /** The runner with a policy on a free emulator port, and its data directory inside this test's temp dir. */
  const start = async (env: Record<string, string> = {}): Promise<Started> => {
    const duoPort = await freePort();
    const file = join(dir, 'duo-mfa.json');
    writeFileSync(file, JSON.stringify(examplePolicy(`127.0.0.1:${duoPort}`), null, 2));
    running = runMain(file, { PORTAL_DATA_DIR: join(dir, 'data'), ...env });
    return running;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'portal-main-'));
  });
  afterEach(async () => {
    if (running && running.child.exitCode === null) {
      running.child.kill('SIGKILL');
      await running.exited;
    }
    running = undefined;
    await new Promise<void>((done) => (blocker ? blocker.close(() => done()) : done()));
    blocker = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports nothing but the public API (express-duo-mfa, express-duo-mfa/policy, express-duo-mfa/emulator) and ordinary packages', () => {
    const files = readdirSync(EXAMPLE_DIR).filter((name) => name.endsWith('.ts'));
    assert.ok(files.includes('app.ts') && files.includes('main.ts'));
    const seen = new Set<string>();
    for (const file of files) {
      for (const specifier of importsOf(readFileSync(join(EXAMPLE_DIR, file), 'utf8'))) {
        seen.add(specifier);
        const allowed =
          specifier.startsWith('node:') || ALLOWED_PACKAGES.has(specifier) || /^\.\/[\w-]+$/.test(specifier);
        assert.ok(
          allowed,
          `${file} imports "${specifier}": the example may use only the package's public API`,
        );
      }
    }
    assert.ok(
      seen.has('express-duo-mfa') &&
        seen.has('express-duo-mfa/policy') &&
        seen.has('express-duo-mfa/emulator'),
      'the example uses the three entry points',
    );
  });

  it('finds everything it imports in the built package (dist/, through package.json "exports")', () => {
    const script = `
      const main = require('express-duo-mfa');
      const policy = require('express-duo-mfa/policy');
      const emulator = require('express-duo-mfa/emulator');
      console.log(JSON.stringify({
        main: require.resolve('express-duo-mfa'),
        policy: require.resolve('express-duo-mfa/policy'),
        emulator: require.resolve('express-duo-mfa/emulator'),
        kinds: [typeof main.duoMfa, typeof main.isDuoMfaError, typeof main.safeReturnPath, typeof policy.loadPolicyFile,
          typeof emulator.startDuoEmulator, typeof emulator.createEmulatorCa],
      }));`;
    const result = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(
      result.status,
      0,
      `plain node could not load the built package (run npm run build): ${result.stderr}`,
    );
    const found = JSON.parse(result.stdout);
    assert.equal(found.main, join(ROOT, 'dist/index.js'));
    assert.equal(found.policy, join(ROOT, 'dist/policy/index.js'));
    assert.equal(found.emulator, join(ROOT, 'dist/emulator/index.js'));
    assert.deepEqual(found.kinds, ['function', 'function', 'function', 'function', 'function', 'function']);
  });

  it("starts the emulator on the policy file's apiHost port, prints the URL and the demo logins, serves the login page and stops on SIGTERM", async () => {
    const duoPort = await freePort();
    const file = join(dir, 'duo-mfa.json');
    writeFileSync(file, JSON.stringify(examplePolicy(`127.0.0.1:${duoPort}`), null, 2));
    running = runMain(file, { PORTAL_DATA_DIR: join(dir, 'data') });
    const [, baseUrl] = await waitForOutput(running, /Open\s+(http:\/\/127\.0\.0\.1:\d+)/);
    await waitForOutput(running, /Stop with Ctrl\+C/);
    const banner = running.stdout();
    assert.match(banner, new RegExp(`offline emulator at https://127\\.0\\.0\\.1:${duoPort}`));
    assert.match(banner, /password is demo1234/);
    for (const username of ['alice', 'grace', 'dana', 'erin', 'kiosk-1', 'frank', 'gina']) {
      assert.match(banner, new RegExp(`\\s${username}\\s`), `${username} is listed`);
    }
    assert.match(banner, /memory store/);
    assert.match(banner, /Admin API for acme: MFA Settings shows each person's Duo status/);

    const login = await fetch(`${baseUrl}/login`);
    assert.equal(login.status, 200);
    assert.match(await login.text(), /id="login-form"/);
    const home = await fetch(`${baseUrl}/`, { redirect: 'manual', headers: { accept: 'text/html' } });
    assert.equal(home.status, 303);
    assert.equal(home.headers.get('location'), '/login?returnTo=%2F');

    running.child.kill('SIGTERM');
    assert.equal(await running.exited, 0);
  });

  it("says clearly which address is taken when the emulator cannot listen on the policy's apiHost", async () => {
    blocker = createServer();
    await new Promise<void>((done) => blocker!.listen(0, '127.0.0.1', done));
    const { port } = blocker.address() as { port: number };
    const file = join(dir, 'duo-mfa.json');
    writeFileSync(file, JSON.stringify(examplePolicy(`127.0.0.1:${port}`), null, 2));
    running = runMain(file, { PORTAL_DATA_DIR: join(dir, 'data') });
    assert.equal(await running.exited, 1);
    assert.match(
      running.stderr(),
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(already in use\\)`),
    );
    assert.match(running.stderr(), /"apiHost" of acme, globex/);
  });

  it('keeps sessions in Redis with REDIS_URL (connect-redis + ioredis)', async function () {
    const redis = await redisOrSkip(this);
    try {
      const duoPort = await freePort();
      const file = join(dir, 'duo-mfa.json');
      writeFileSync(file, JSON.stringify(examplePolicy(`127.0.0.1:${duoPort}`), null, 2));
      running = runMain(file, { REDIS_URL: 'redis://127.0.0.1:6379', PORTAL_DATA_DIR: join(dir, 'data') });
      const [, baseUrl] = await waitForOutput(running, /Open\s+(http:\/\/127\.0\.0\.1:\d+)/);
      await waitForOutput(running, /Stop with Ctrl\+C/);
      assert.match(running.stdout(), /Sessions\s+Redis/);
      const login = await fetch(`${baseUrl}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ tenant: 'acme', username: 'kiosk-1', password: PASSWORD }).toString(),
      });
      assert.equal(login.status, 303);
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      const sid = /^portal\.sid=s%3A([^.]+)\./.exec(cookie)?.[1];
      assert.ok(sid, cookie);
      const stored = await redis.get(`portal-sess:${sid}`);
      assert.match(stored ?? '', /"username":"kiosk-1"/);
      const page = await fetch(`${baseUrl}/`, { headers: { cookie } });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /Front-desk kiosk/);
      running.child.kill('SIGTERM');
      assert.equal(await running.exited, 0);
      await deleteKeys(redis, `portal-sess:${sid}`);
    } finally {
      redis.disconnect();
    }
  });

  it('keeps its session secret and the emulator CA in the data directory (0600) and reuses both at the next start', async () => {
    const data = join(dir, 'data');
    const first = await start();
    await waitForOutput(first, /Stop with Ctrl\+C/);
    assert.match(
      first.stdout(),
      /Secret\s+development secret created in .*session-secret \(0600, ignored by git/,
    );
    assert.match(first.stdout(), /trust .*emulator-ca\.pem \(the same CA at every start/);
    assert.match(
      first.stdout(),
      /Key\s+development secretsKey created in .*secrets-key \(0600, ignored by git\): it encrypts the Duo secrets saved on MFA Settings/,
    );
    const emulatorUrl = /offline emulator at (https:\/\/127\.0\.0\.1:\d+)/.exec(first.stdout())![1]!;
    assert.equal(statSync(data).mode & 0o777, 0o700);
    for (const name of ['session-secret', 'secrets-key', 'emulator-ca.json', 'emulator-ca.pem'])
      assert.equal(statSync(join(data, name)).mode & 0o777, 0o600, `${name} is readable by its owner only`);
    const secret = readFileSync(join(data, 'session-secret'), 'utf8');
    assert.match(secret, /^[0-9a-f]{64}\n$/);
    const caPem = readFileSync(join(data, 'emulator-ca.pem'), 'utf8');
    assert.equal(
      await verifiedBy(emulatorUrl, caPem),
      true,
      "the emulator's certificate chains to the saved CA",
    );
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);

    const second = await start();
    await waitForOutput(second, /Stop with Ctrl\+C/);
    assert.match(second.stdout(), /Secret\s+development secret kept in .*session-secret/);
    assert.match(second.stdout(), /Key\s+development secretsKey kept in .*secrets-key/);
    const secondUrl = /offline emulator at (https:\/\/127\.0\.0\.1:\d+)/.exec(second.stdout())![1]!;
    assert.equal(readFileSync(join(data, 'session-secret'), 'utf8'), secret, 'the same secret');
    assert.equal(readFileSync(join(data, 'emulator-ca.pem'), 'utf8'), caPem, 'the same CA');
    assert.equal(
      await verifiedBy(secondUrl, caPem),
      true,
      'a browser that trusted the first start trusts the second',
    );
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });

  it('opens a secret saved on MFA Settings at the next start with the kept secretsKey; DUO_MFA_SECRETS_KEY from the environment wins, and a malformed one stops the start naming it', async () => {
    const data = join(dir, 'data');
    const first = await start();
    await waitForOutput(first, /Stop with Ctrl\+C/);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    // What saving a client secret on MFA Settings leaves in the file: the same secret, encrypted with the kept key.
    const file = join(dir, 'duo-mfa.json');
    const key = readFileSync(join(data, 'secrets-key'), 'utf8').trim();
    const policy = examplePolicy(`127.0.0.1:${await freePort()}`);
    policy.tenants.acme.duo.clientSecret = {
      encrypted: encryptSecret(parseSecretsKey(key), policy.tenants.acme.duo.clientSecret, {
        tenant: 'acme',
        field: 'duo.clientSecret',
      }),
    };
    writeFileSync(file, JSON.stringify(policy, null, 2));
    running = runMain(file, { PORTAL_DATA_DIR: data });
    const [, baseUrl] = await waitForOutput(running, /Open\s+(http:\/\/127\.0\.0\.1:\d+)/);
    await waitForOutput(running, /Stop with Ctrl\+C/);
    assert.equal((await fetch(`${baseUrl}/login`)).status, 200);
    running.child.kill('SIGTERM');
    assert.equal(await running.exited, 0);

    const fromEnv = runMain(file, { PORTAL_DATA_DIR: data, DUO_MFA_SECRETS_KEY: key });
    running = fromEnv;
    await waitForOutput(fromEnv, /Stop with Ctrl\+C/);
    assert.match(fromEnv.stdout(), /Key\s+DUO_MFA_SECRETS_KEY from the environment/);
    fromEnv.child.kill('SIGTERM');
    assert.equal(await fromEnv.exited, 0);

    const malformed = runMain(file, { PORTAL_DATA_DIR: data, DUO_MFA_SECRETS_KEY: 'not-a-key' });
    running = malformed;
    assert.equal(await malformed.exited, 2);
    assert.match(
      malformed.stderr(),
      /Cannot start the example: DUO_MFA_SECRETS_KEY .*Unset it to use a development key/,
    );
  });

  it('uses SESSION_SECRET from the environment instead of the saved one, and says so', async () => {
    const started = await start({ SESSION_SECRET: 'from-the-environment-0123456789abcdef' });
    await waitForOutput(started, /Stop with Ctrl\+C/);
    assert.match(started.stdout(), /Secret\s+SESSION_SECRET from the environment/);
    assert.throws(() => statSync(join(dir, 'data', 'session-secret')), /ENOENT/);
    started.child.kill('SIGTERM');
    assert.equal(await started.exited, 0);
  });

  it('keeps a Redis session valid across a restart (the same secret signs the cookie)', async function () {
    const redis = await redisOrSkip(this);
    let sid: string | undefined;
    try {
      const first = await start({ REDIS_URL: 'redis://127.0.0.1:6379' });
      const [, baseUrl] = await waitForOutput(first, /Open\s+(http:\/\/127\.0\.0\.1:\d+)/);
      await waitForOutput(first, /Stop with Ctrl\+C/);
      assert.match(first.stdout(), /Sessions\s+Redis .*survive a restart/);
      const login = await fetch(`${baseUrl}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ tenant: 'acme', username: 'kiosk-1', password: PASSWORD }).toString(),
      });
      assert.equal(login.status, 303);
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      sid = /^portal\.sid=s%3A([^.]+)\./.exec(cookie)?.[1];
      first.child.kill('SIGTERM');
      assert.equal(await first.exited, 0);

      const second = await start({ REDIS_URL: 'redis://127.0.0.1:6379' });
      const [, secondUrl] = await waitForOutput(second, /Open\s+(http:\/\/127\.0\.0\.1:\d+)/);
      await waitForOutput(second, /Stop with Ctrl\+C/);
      const page = await fetch(`${secondUrl}/`, {
        redirect: 'manual',
        headers: { cookie, accept: 'text/html' },
      });
      assert.equal(page.status, 200, 'still signed in after the restart');
      assert.match(await page.text(), /Front-desk kiosk/);
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    } finally {
      if (sid) await deleteKeys(redis, `portal-sess:${sid}`);
      redis.disconnect();
    }
  });
});
