// Benchmark 3: complete logins per second through Duo (emulator, auto mode), duoMfa against a hand-written integration.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Child, cpuMicros, medianOfRounds, tmpDir, type CpuSample } from './common';
import type { ProfiledRun } from './hot-path';
import type { LoginResult } from './login-client';
import { summarizeProfile } from './profile';
import type { LoginPorts } from './server';

export interface LoginOptions {
  readonly prefix: string;
  /** Browsers logging in at the same time. */
  readonly users: number;
  readonly warmupSeconds: number;
  readonly roundSeconds: number;
  readonly rounds: number;
  readonly profileSeconds: number;
}

export type LoginVariant = 'ours' | 'plain';

export const LOGIN_VARIANTS: Readonly<Record<LoginVariant, string>> = {
  ours: 'duoMfa (Redis sessions + Redis store)',
  plain: 'hand-written Duo integration (Redis sessions)',
};

export interface LoginRound {
  readonly variant: LoginVariant;
  readonly perSecond: number;
  readonly logins: number;
  /** Server CPU per login, ms. */
  readonly cpuPerLogin: number;
  /** Redis commands per login (session store and middleware), counted at the server's Redis client. */
  readonly redisPerLogin: number;
  /** Server CPU as a share of one core. */
  readonly serverCpu: number;
  /** Browsers + emulator CPU as a share of one core. */
  readonly clientCpu: number;
  readonly p50: number;
  readonly p99: number;
}

export interface LoginBenchResult {
  readonly rounds: readonly LoginRound[];
  readonly profiles: readonly ProfiledRun[];
}

/** Starts the emulator (in the client process), both apps (in one server process), then alternating rounds. */
export async function runLogin(options: LoginOptions): Promise<LoginBenchResult> {
  const client = await Child.start('login client', join(__dirname, 'login-client.ts'));
  const server = await Child.start('server (logins)', join(__dirname, 'server.ts'));
  try {
    const duo = await client.call<{ apiHost: string; ca: string }>('emulator');
    const ports = await server.call<LoginPorts>('login', { ...duo, prefix: options.prefix });
    const variants: LoginVariant[] = ['ours', 'plain'];
    for (const variant of variants) await client.call('once', { port: ports[variant] }); // fails loudly if broken

    process.stdout.write('  logins: warm-up');
    for (const variant of variants)
      await measure(client, server, variant, ports[variant], options, options.warmupSeconds);
    const rounds: LoginRound[] = [];
    for (let round = 0; round < options.rounds; round++) {
      process.stdout.write(` ${round + 1}`);
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) {
        rounds.push(await measure(client, server, variant, ports[variant], options, options.roundSeconds));
      }
    }
    process.stdout.write('\n');

    const profiles: ProfiledRun[] = [];
    if (options.profileSeconds > 0) {
      for (const variant of variants) {
        const file = join(tmpDir('profiles'), `login-${variant}.cpuprofile`);
        await server.call('profileStart');
        const run = await client.call<LoginResult>('run', {
          port: ports[variant],
          users: options.users,
          seconds: options.profileSeconds,
        });
        await server.call('profileStop', { file });
        const summary = summarizeProfile(
          JSON.parse(readFileSync(file, 'utf8')) as Parameters<typeof summarizeProfile>[0],
        );
        profiles.push({ name: `login-${variant}`, file, count: run.logins, summary });
      }
    }
    await server.call('close');
    await client.call('close');
    return { rounds, profiles };
  } finally {
    await server.stop();
    await client.stop();
  }
}

async function measure(
  client: Child,
  server: Child,
  variant: LoginVariant,
  port: number,
  options: LoginOptions,
  seconds: number,
): Promise<LoginRound> {
  const before = await server.call<CpuSample>('cpu');
  const commandsBefore = await server.call<Record<LoginVariant, number>>('redisCommands');
  const started = performance.now();
  const run = await client.call<LoginResult>('run', { port, users: options.users, seconds });
  const wall = performance.now() - started;
  const cpu = cpuMicros(before, await server.call<CpuSample>('cpu'));
  const commands =
    (await server.call<Record<LoginVariant, number>>('redisCommands'))[variant] - commandsBefore[variant];
  if (run.failures > 0)
    throw new Error(`${variant}: ${run.failures} failed logins, first: ${run.firstFailure}`);
  return {
    variant,
    perSecond: run.perSecond,
    logins: run.logins,
    cpuPerLogin: cpu / 1000 / run.logins,
    redisPerLogin: commands / run.logins,
    serverCpu: cpu / (wall * 1000),
    clientCpu: run.clientCpu,
    p50: run.p50,
    p99: run.p99,
  };
}

/** The median of each figure over a variant's rounds. */
export function medianLogin(rounds: readonly LoginRound[], variant: LoginVariant): LoginRound {
  return medianOfRounds(rounds, variant);
}
