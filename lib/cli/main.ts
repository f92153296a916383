#!/usr/bin/env node
// The duo-mfa executable (package.json "bin"): runs the CLI on this process's arguments and sets the exit code.

import { processIo } from './io';
import { runCli } from './run';

/** After the command finished, give stdout/stderr this long to drain before ending a process kept alive by stray handles. */
const EXIT_GRACE_MS = 2000;

void runCli(process.argv.slice(2), processIo()).then((code) => {
  process.exitCode = code;
  // Every command closes what it opened; this is a safety net against a dependency's lingering handle.
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
});
