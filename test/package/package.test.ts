// The package as npm ships it: `npm pack`, then the tarball installed into a temporary consumer project and used
// from CommonJS, ESM and TypeScript (node16 and bundler resolution), and the `duo-mfa` binary run from it.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  CJS_CONSUMER,
  CLI_POLICY,
  ESM_CONSUMER,
  TS_CONSUMER,
  TS_ESM_CONSUMER,
  tsconfig,
} from './helpers/consumers';

const ROOT = resolve(__dirname, '../..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * The environment for child commands, without what `npm test` exports to its scripts (npm_config_local_prefix,
 * npm_package_*, INIT_CWD…): inherited, they would point npm at this repository instead of the consumer project.
 * The npm cache is kept, so installs reuse it.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'INIT_CWD') env[key] = value;
  }
  if (process.env.npm_config_cache) env.npm_config_cache = process.env.npm_config_cache;
  env.npm_config_update_notifier = 'false';
  return env;
}

/** Runs a command; resolves with its exit code and output (a timeout kills it and fails the test). */
function run(
  command: string,
  args: string[],
  options: { cwd: string; timeoutMs?: number; env?: NodeJS.ProcessEnv },
): Promise<Run> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...childEnv(), ...options.env },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        if (error && (error as { killed?: boolean }).killed) {
          reject(
            new Error(
              `${command} ${args.join(' ')} did not finish in time (a leaked handle?)\n${stdout}\n${stderr}`,
            ),
          );
          return;
        }
        resolvePromise({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

function assertSucceeded(result: Run, what: string): void {
  assert.equal(
    result.code,
    0,
    `${what} exited ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
  );
}

/** Newest modification time under `dir` (recursive), in ms. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

interface PackedFile {
  path: string;
  size: number;
}

describe('package: the packed tarball from CommonJS, ESM and TypeScript consumers', function () {
  this.timeout(180_000);
  let work: string;
  let consumer: string;
  let tarball: string;
  let files: PackedFile[];
  const timings: Record<string, number> = {};

  before(async () => {
    // `npm pack` runs no build: make sure dist/ is there and not older than the sources (npm test builds first).
    const dist = join(ROOT, 'dist');
    if (!existsSync(join(dist, 'index.js')) || newestMtime(dist) < newestMtime(join(ROOT, 'lib'))) {
      const build = await run(NPM, ['run', 'build', '--silent'], { cwd: ROOT, timeoutMs: 120_000 });
      assertSucceeded(build, 'npm run build');
      timings.build = build.ms;
    }
    work = mkdtempSync(join(tmpdir(), 'duo-mfa-package-'));
    const pack = await run(NPM, ['pack', '--json', '--pack-destination', work], { cwd: ROOT });
    assertSucceeded(pack, 'npm pack');
    timings.pack = pack.ms;
    const [info] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{
      filename: string;
      files: PackedFile[];
    }>;
    tarball = join(work, info!.filename);
    files = info!.files;

    // One consumer project for all three kinds of consumer; typings the way an Express app has them.
    consumer = join(work, 'consumer');
    mkdirSync(consumer);
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
    );
    const version = (name: string) =>
      (
        JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
    const install = await run(
      NPM,
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--loglevel=error',
        tarball,
        `express-session@${version('express-session')}`,
        `@types/express@${version('@types/express')}`,
        `@types/express-session@${version('@types/express-session')}`,
        `@types/node@${version('@types/node')}`,
      ],
      { cwd: consumer, timeoutMs: 120_000 },
    );
    assertSucceeded(install, 'npm install of the tarball');
    timings.install = install.ms;
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
    console.log(`      ↳ ms ${JSON.stringify(timings)}`);
  });

  describe('the tarball', () => {
    it('ships dist/, schema/, README.md and package.json', () => {
      const paths = files.map((f) => f.path);
      for (const required of [
        'package.json',
        'README.md',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/emulator/index.js',
        'dist/emulator/index.d.ts',
        'dist/cli/main.js',
        'schema/duo-mfa.schema.json',
      ]) {
        assert.ok(paths.includes(required), `${required} missing from the tarball`);
      }
    });

    it('ships no sources, tests, build state or secrets', () => {
      const unwanted = files
        .map((f) => f.path)
        .filter(
          (path) =>
            /^(lib|test|bench|example-app|\.ci|node_modules|coverage|test-artifacts)\//.test(path) ||
            (/\.(ts|mts|cts)$/.test(path) && !/\.d\.ts$/.test(path)) ||
            /\.tsbuildinfo$/.test(path) ||
            /(^|\/)\.(env|npmrc|duo-emulator)/.test(path) ||
            /\.(pem|key|crt|p12|log)$/.test(path) ||
            /(^|\/)tsconfig.*\.json$/.test(path),
        );
      assert.deepEqual(unwanted, []);
      const installed = join(consumer, 'node_modules/express-duo-mfa');
      for (const { path } of files) {
        const text = readFileSync(join(installed, path), 'utf8');
        assert.doesNotMatch(text, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, `${path} holds a private key`);
        // The test suite's Duo secrets must never ship.
        assert.doesNotMatch(
          text,
          /acme-secret-acme-secret|globex-secret-globex|test-secret-0123456789/,
          path,
        );
      }
      const unpacked = files.reduce((sum, f) => sum + f.size, 0);
      assert.ok(unpacked < 3 * 1024 * 1024, `unpacked size ${unpacked} bytes`);
    });

    it('declares the exports map, types, bin, files, engines and peer dependencies, all pointing at shipped files', () => {
      const installed = join(consumer, 'node_modules/express-duo-mfa');
      const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
      assert.deepEqual(Object.keys(pkg.exports), [
        '.',
        './policy',
        './emulator',
        './schema/duo-mfa.schema.json',
        './package.json',
      ]);
      for (const subpath of ['.', './policy', './emulator']) {
        const entry = pkg.exports[subpath];
        assert.equal(Object.keys(entry)[0], 'types', `${subpath}: "types" must come first`);
        assert.ok(existsSync(join(installed, entry.types)), `${subpath} types: ${entry.types}`);
        assert.ok(existsSync(join(installed, entry.default)), `${subpath} default: ${entry.default}`);
      }
      assert.ok(existsSync(join(installed, pkg.exports['./schema/duo-mfa.schema.json'])));
      assert.ok(existsSync(join(installed, pkg.main)));
      assert.ok(existsSync(join(installed, pkg.types)));
      const bin = join(installed, pkg.bin['duo-mfa']);
      assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
      assert.ok(statSync(join(consumer, 'node_modules/.bin/duo-mfa')).mode & 0o111, 'the bin is executable');
      assert.equal(pkg.engines.node, '>=20.19');
      assert.ok(pkg.peerDependencies.express, 'express is a peer dependency');
      assert.equal(pkg.peerDependenciesMeta?.ioredis?.optional, true, 'ioredis is an optional peer');
      assert.ok(!existsSync(join(consumer, 'node_modules/ioredis')), 'ioredis is not forced on consumers');
    });
  });

  describe('consumers', () => {
    it('CommonJS: require() of every subpath works, deep imports are refused, a whole login runs from the tarball', async () => {
      writeFileSync(join(consumer, 'consumer.cjs'), CJS_CONSUMER);
      const result = await run(process.execPath, ['consumer.cjs'], { cwd: consumer, timeoutMs: 30_000 });
      assertSucceeded(result, 'node consumer.cjs');
      assert.match(result.stdout, /cjs ok/);
      timings.cjs = result.ms;
    });

    it('ESM: named imports from the CommonJS build, JSON subpaths and a whole login run from the tarball', async () => {
      writeFileSync(join(consumer, 'consumer.mjs'), ESM_CONSUMER);
      const result = await run(process.execPath, ['consumer.mjs'], { cwd: consumer, timeoutMs: 30_000 });
      assertSucceeded(result, 'node consumer.mjs');
      assert.match(result.stdout, /esm ok/);
      timings.esm = result.ms;
    });

    for (const kind of ['node16', 'bundler'] as const) {
      it(`TypeScript (moduleResolution ${kind}): the types resolve, are checked (skipLibCheck off) and catch misuse`, async () => {
        writeFileSync(join(consumer, 'consumer.ts'), TS_CONSUMER);
        writeFileSync(join(consumer, 'consumer-esm.mts'), TS_ESM_CONSUMER);
        writeFileSync(join(consumer, `tsconfig.${kind}.json`), tsconfig(kind));
        const result = await run(process.execPath, [TSC, '-p', `tsconfig.${kind}.json`], {
          cwd: consumer,
          timeoutMs: 90_000,
        });
        assertSucceeded(result, `tsc (${kind})`);
        timings[`tsc-${kind}`] = result.ms;
      });
    }
  });

  describe('the duo-mfa binary from the installed tarball', () => {
    const secretEnv = { ACME_DUO_CLIENT_SECRET: 'consumer-secret-consumer-secret-consumer' };

    it('npx duo-mfa --help prints the commands and exits 0', async () => {
      const result = await run(NPX, ['--no', '--', 'duo-mfa', '--help'], {
        cwd: consumer,
        timeoutMs: 30_000,
      });
      assertSucceeded(result, 'npx duo-mfa --help');
      for (const command of ['check', 'explain', 'health', 'emulator'])
        assert.match(result.stdout, new RegExp(command));
    });

    it('duo-mfa check FILE validates a policy (exit 0), refuses a broken one (exit 1), and reports usage errors (exit 2)', async () => {
      writeFileSync(join(consumer, 'duo-mfa.json'), CLI_POLICY);
      writeFileSync(join(consumer, 'broken.json'), CLI_POLICY.replace('"rolesIncluded"', '"rolesInclude"'));
      const bin = join(consumer, 'node_modules/.bin/duo-mfa');
      const ok = await run(bin, ['check', 'duo-mfa.json'], { cwd: consumer, env: secretEnv });
      assertSucceeded(ok, 'duo-mfa check duo-mfa.json');
      assert.match(ok.stdout, /valid/);
      const broken = await run(bin, ['check', 'broken.json'], { cwd: consumer, env: secretEnv });
      assert.equal(broken.code, 1, broken.stdout + broken.stderr);
      assert.match(broken.stdout + broken.stderr, /rolesInclude/);
      const usage = await run(bin, ['check'], { cwd: consumer });
      assert.equal(usage.code, 2, usage.stdout + usage.stderr);
      const explain = await run(
        bin,
        ['explain', 'duo-mfa.json', '--tenant', 'acme', '--user', 'alice', '--role', 'admin', '--json'],
        { cwd: consumer, env: secretEnv },
      );
      assertSucceeded(explain, 'duo-mfa explain');
      assert.equal(JSON.parse(explain.stdout).required, true);
    });
  });
});
