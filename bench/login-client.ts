// Child process: the outside world of the login benchmark — the Duo emulator (auto mode) and N browsers logging in.

import { randomBytes } from 'node:crypto';
import type { DuoEmulator } from '../lib/emulator/index';
import { Browser, loginWithDuo, Pools } from './browser';
import { BENCH_APP, builtEmulator, cpuMicros, percentile, serveParent } from './common';
import { requiredUser } from './fixtures';

export interface LoginRun {
  readonly port: number;
  readonly users: number;
  readonly seconds: number;
}

export interface LoginResult {
  readonly logins: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** Time of one whole login (five requests to the app, one to Duo), ms. */
  readonly p50: number;
  readonly p99: number;
  readonly failures: number;
  readonly firstFailure?: string | undefined;
  /** CPU of this process (browsers + emulator), as a share of one core. */
  readonly clientCpu: number;
}

let emulator: DuoEmulator | undefined;
let pools: Pools | undefined;
let counter = 0;
const run = randomBytes(3).toString('hex');

async function login(port: number): Promise<void> {
  // A fresh username each time: the push-fatigue limit never applies.
  const user = requiredUser(`u${run}-${counter++}`);
  await loginWithDuo(new Browser(pools!), `http://127.0.0.1:${port}`, user, emulator!.url);
}

serveParent({
  async emulator(): Promise<{ apiHost: string; ca: string }> {
    const { startDuoEmulator } = builtEmulator();
    emulator = await startDuoEmulator({ applications: [{ ...BENCH_APP }], mode: 'auto' });
    pools = new Pools({ ca: emulator.ca });
    return { apiHost: emulator.apiHost, ca: emulator.ca };
  },

  async once({ port }: { port: number }): Promise<void> {
    await login(port);
  },

  async run(request: LoginRun): Promise<LoginResult> {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const deadline = started + request.seconds * 1000;
    const times: number[] = [];
    let failures = 0;
    let firstFailure: string | undefined;
    const user = async () => {
      while (performance.now() < deadline) {
        const begin = performance.now();
        try {
          await login(request.port);
          times.push(performance.now() - begin);
        } catch (error) {
          failures++;
          firstFailure ??= error instanceof Error ? error.message : String(error);
        }
      }
    };
    await Promise.all(Array.from({ length: request.users }, user));
    const elapsed = performance.now() - started;
    return {
      logins: times.length,
      seconds: elapsed / 1000,
      perSecond: times.length / (elapsed / 1000),
      p50: percentile(times, 50),
      p99: percentile(times, 99),
      failures,
      firstFailure,
      clientCpu: cpuMicros(cpuBefore, process.cpuUsage()) / (elapsed * 1000),
    };
  },

  async close(): Promise<void> {
    pools?.close();
    await emulator?.close();
  },
});
