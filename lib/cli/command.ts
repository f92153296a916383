// What a duo-mfa command is (name, help, options, run) and the helpers every command shares to read its arguments.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { didYouMean } from '../util/names';
import type { CliIo } from './io';

/** Exit codes of every command. */
export const EXIT = {
  /** Success: valid policy, decision made, every health check passed, emulator stopped cleanly. */
  ok: 0,
  /** What was checked failed: invalid policy, Duo unhealthy, the emulator could not start. */
  failed: 1,
  /** The command line itself is wrong: unknown command or flag, missing argument. */
  usage: 2,
} as const;

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

export interface CommandContext {
  readonly values: OptionValues;
  readonly positionals: readonly string[];
  readonly io: CliIo;
}

/** One `duo-mfa <name>` command. Adding a command: one file exporting a Command, one line in commands/index.ts. */
export interface Command {
  readonly name: string;
  /** One line, shown in `duo-mfa --help`. */
  readonly summary: string;
  /** The synopsis, e.g. `duo-mfa check FILE [--json]`. */
  readonly usage: string;
  /** Everything after the synopsis in `duo-mfa <name> --help`: what it does, options, exit codes. */
  readonly help: string;
  readonly options: OptionsConfig;
  /** Names of the positional arguments, all required (e.g. `['FILE']`). */
  readonly positionals: readonly string[];
  run(context: CommandContext): Promise<number>;
}

/**
 * A mistake on the command line: printed with the usage, exit code 2, never a stack trace.
 *
 * @example
 * ```ts
 * if (!user) throw new UsageError('--user U is required');
 * ```
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Parses a command's arguments strictly. Throws UsageError for unknown flags (with "did you mean"), missing
 * values and wrong positional counts. `--help` is handled by the dispatcher before this runs.
 *
 * @example
 * ```ts
 * const { values, positionals } = parseCommandArgs(checkCommand, ['duo-mfa.json', '--json']);
 * ```
 */
export function parseCommandArgs(
  command: Command,
  args: readonly string[],
): { values: OptionValues; positionals: string[] } {
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: command.options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(describeParseError(error, command));
  }
  const expected = command.positionals;
  if (parsed.positionals.length < expected.length) {
    throw new UsageError(`missing ${expected.slice(parsed.positionals.length).join(' ')}`);
  }
  if (parsed.positionals.length > expected.length) {
    const extra = parsed.positionals.slice(expected.length).map((arg) => JSON.stringify(arg));
    throw new UsageError(`unexpected argument ${extra.join(' ')}`);
  }
  return parsed;
}

function describeParseError(error: unknown, command: Command): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(message)?.[1] ?? '';
    const names = Object.keys(command.options);
    const hint = didYouMean(flag.replace(/^-+/, ''), names);
    return `unknown option ${flag}${hint ? ` — did you mean --${hint}?` : ''}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /'(--?[\w-]+)/.exec(message)?.[1] ?? 'an option';
    return message.includes('argument missing') ? `${flag} needs a value` : `${flag} does not take a value`;
  }
  return message;
}

/**
 * A string option's value (the last one when repeated), or undefined.
 *
 * @example
 * ```ts
 * const tenant = stringOption(values, 'tenant'); // 'acme' for --tenant acme
 * ```
 */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  if (Array.isArray(value)) return stringOption({ [name]: value.at(-1) }, name);
  return typeof value === 'string' ? value : undefined;
}

/**
 * Every value of a `multiple: true` string option.
 *
 * @example
 * ```ts
 * listOption(values, 'role'); // ['admin', 'it'] for --role admin --role it
 * ```
 */
export function listOption(values: OptionValues, name: string): string[] {
  const value = values[name];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return typeof value === 'string' ? [value] : [];
}

/**
 * True when a boolean flag was given.
 *
 * @example
 * ```ts
 * if (flagOption(values, 'json')) io.out(json(report));
 * ```
 */
export function flagOption(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

/**
 * A whole number option within [min, max], or UsageError naming the flag.
 *
 * @example
 * ```ts
 * const port = integerOption(values, 'port', 8443, 0, 65535);
 * ```
 */
export function integerOption(
  values: OptionValues,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(
      `--${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`,
    );
  }
  return value;
}

/**
 * One of a fixed set of values, or UsageError with "did you mean".
 *
 * @example
 * ```ts
 * const mode = choiceOption(values, 'mode', ['interactive', 'auto'], 'interactive');
 * ```
 */
export function choiceOption<const T extends string>(
  values: OptionValues,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  if ((choices as readonly string[]).includes(raw)) return raw as T;
  const hint = didYouMean(raw, choices);
  throw new UsageError(
    `--${name} must be ${choices.join(' or ')} (got ${JSON.stringify(raw)})${hint ? ` — did you mean ${hint}?` : ''}`,
  );
}
