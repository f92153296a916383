// The duo-mfa dispatcher: picks the command, handles --help/--version, and maps every failure to an exit code.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDuoMfaError } from '../errors';
import { didYouMean } from '../util/names';
import { EXIT, UsageError, parseCommandArgs, type Command } from './command';
import { COMMANDS } from './commands';
import type { CliIo } from './io';

/**
 * Runs `duo-mfa` with these arguments (without `node` and the script) and resolves to the exit code:
 * 0 success, 1 failure of what was checked, 2 usage error. Never throws and never prints a stack trace for a
 * user's mistake; an unexpected error prints its message (and its stack only with DUO_MFA_DEBUG=1).
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(['check', 'duo-mfa.json'], processIo());
 * ```
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  commands: readonly Command[] = COMMANDS,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(mainUsage(commands));
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? commands.find((command) => command.name === rest[0]) : undefined;
    io.out(topic ? commandHelp(topic) : mainUsage(commands));
    return EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    io.out(packageVersion());
    return EXIT.ok;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    const hint = didYouMean(
      name,
      commands.map((candidate) => candidate.name),
    );
    const what = name.startsWith('-') ? `unknown option ${name}` : `unknown command ${JSON.stringify(name)}`;
    io.err(`duo-mfa: ${what}${hint ? ` — did you mean "${hint}"?` : ''}\n\n${mainUsage(commands)}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandHelp(command));
    return EXIT.ok;
  }

  try {
    const { values, positionals } = parseCommandArgs(command, rest);
    return await command.run({ values, positionals, io });
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(
        `duo-mfa ${command.name}: ${error.message}\nUsage: ${command.usage}\nRun "duo-mfa ${command.name} --help" for details.`,
      );
      return EXIT.usage;
    }
    if (isDuoMfaError(error)) {
      io.err(`duo-mfa ${command.name}: ${error.message}`);
      return EXIT.failed;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.err(`duo-mfa ${command.name}: unexpected error: ${message}`);
    if (io.env.DUO_MFA_DEBUG === '1' && error instanceof Error && error.stack) io.err(error.stack);
    return EXIT.failed;
  }
}

function mainUsage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  const list = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n');
  return `Usage: duo-mfa <command> [options]

Commands:
${list}

Run "duo-mfa <command> --help" for a command's options. "duo-mfa --version" prints the version.
Exit codes: 0 success, 1 failure (invalid policy, Duo unhealthy), 2 usage error.`;
}

function commandHelp(command: Command): string {
  return `Usage: ${command.usage}\n\n${command.help}`;
}

function packageVersion(): string {
  // lib/cli/run.ts and dist/cli/run.js both sit two levels below the package root.
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
