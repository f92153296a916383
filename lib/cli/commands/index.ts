// The duo-mfa commands, in the order `duo-mfa --help` lists them. A new command: its file, an import and an entry here.

import type { Command } from '../command';
import { checkCommand } from './check';
import { devicesCommand } from './devices';
import { emulatorCommand } from './emulator';
import { explainCommand } from './explain';
import { exportCommand } from './export';
import { healthCommand } from './health';
import { importCommand } from './import';
import { staffCommand } from './staff';

/**
 * Every command the dispatcher knows.
 *
 * @example
 * ```ts
 * COMMANDS.map((command) => command.name);
 * // ['check', 'explain', 'health', 'staff', 'import', 'export', 'devices', 'emulator']
 * ```
 */
export const COMMANDS: readonly Command[] = [
  checkCommand,
  explainCommand,
  healthCommand,
  staffCommand,
  importCommand,
  exportCommand,
  devicesCommand,
  emulatorCommand,
];
