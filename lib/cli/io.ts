// Where commands write, what they read from the process, and plain-text tables: a seam so commands stay testable.

/** The process as a command sees it. */
export interface CliIo {
  /** Writes one or more lines to standard output (a newline is added). */
  out(text: string): void;
  /** Writes one or more lines to standard error (a newline is added). */
  err(text: string): void;
  /** Environment variables: `{ "env": "NAME" }` secrets are resolved from here. */
  readonly env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGINT or SIGTERM), with the signal's name. */
  waitForStop(): Promise<string>;
}

/**
 * The real process: stdout, stderr, process.env and the stop signals.
 *
 * @example
 * ```ts
 * const code = await runCli(process.argv.slice(2), processIo());
 * ```
 */
export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    env: process.env,
    waitForStop: () =>
      new Promise((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve(signal);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      }),
  };
}

/**
 * Left-aligned columns separated by two spaces, with a header row.
 *
 * @example
 * ```ts
 * table(['TENANT', 'MFA'], [['acme', 'on']]); // 'TENANT  MFA\nacme    on'
 * ```
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * Pretty JSON for --json output.
 *
 * @example
 * ```ts
 * io.out(json({ ok: true }));
 * ```
 */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export { peopleDate } from '../util/dates';
