// duo-mfa's command line itself: help, version, unknown commands and flags (exit 2, never a stack trace).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, hasStackTrace, runCli } from './helpers';

describe('duo-mfa command line', () => {
  describe('when run without a command', () => {
    it('prints the usage to stderr and exits 2', async () => {
      const result = await runCli([]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /^Usage: duo-mfa <command> \[options\]/);
      for (const name of ['check', 'explain', 'health', 'devices', 'emulator'])
        assert.match(result.stderr, new RegExp(`\\n  ${name} `));
    });
  });

  describe('when asked for help or the version', () => {
    it('prints the usage with the exit codes and exits 0 for --help', async () => {
      const result = await runCli(['--help']);
      assert.equal(result.code, 0);
      assert.match(
        result.stdout,
        /Exit codes: 0 success, 1 failure \(invalid policy, Duo unhealthy\), 2 usage error\./,
      );
    });

    it('prints each command’s own help and exits 0', async () => {
      for (const name of ['check', 'explain', 'health', 'devices', 'emulator']) {
        const result = await runCli([name, '--help']);
        assert.equal(result.code, 0, name);
        assert.match(result.stdout, new RegExp(`^Usage: duo-mfa ${name}`), name);
        assert.match(result.stdout, /Exit codes:/, name);
      }
    });

    it('prints the package version', async () => {
      const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
      const result = await runCli(['--version']);
      assert.deepEqual([result.code, result.stdout.trim()], [0, version]);
    });
  });

  describe('when the command line is wrong', () => {
    it('suggests the closest command for a typo and exits 2', async () => {
      const result = await runCli(['chek', 'x.json']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /^duo-mfa: unknown command "chek" — did you mean "check"\?/);
      assert.match(result.stderr, /Usage: duo-mfa <command>/);
    });

    it('suggests the closest flag, shows the command’s usage and exits 2', async () => {
      const result = await runCli(['explain', 'x.json', '--usr', 'alice']);
      assert.equal(result.code, 2);
      assert.equal(
        result.stderr,
        'duo-mfa explain: unknown option --usr — did you mean --user?\n' +
          'Usage: duo-mfa explain FILE --tenant T --user U [--role R ...] [--at ISO] [--json]\n' +
          'Run "duo-mfa explain --help" for details.\n',
      );
    });

    it('names a missing argument', async () => {
      const result = await runCli(['check']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /^duo-mfa check: missing FILE\n/);
    });

    it('names an extra argument', async () => {
      const result = await runCli(['check', 'a.json', 'b.json']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /^duo-mfa check: unexpected argument "b.json"\n/);
    });

    it('names a flag whose value is missing', async () => {
      const result = await runCli(['explain', 'a.json', '--user']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /^duo-mfa explain: --user needs a value\n/);
    });

    it('never prints a stack trace for any of these mistakes', async () => {
      const results = await Promise.all([
        runCli(['nope']),
        runCli(['health', 'x.json', '--timeout', 'soon']),
        runCli(['emulator', '--mode', 'manual']),
        runCli(['emulator', '--port', '70000']),
      ]);
      for (const result of results) {
        assert.equal(result.code, 2, result.stderr);
        assert.ok(!hasStackTrace(result.stderr), result.stderr);
      }
      assert.match(results[1].stderr, /--timeout must be a whole number from 1 to 600000 \(got "soon"\)/);
      assert.match(results[2].stderr, /--mode must be interactive or auto \(got "manual"\)/);
      assert.match(results[3].stderr, /--port must be a whole number from 0 to 65535 \(got "70000"\)/);
    });
  });
});
