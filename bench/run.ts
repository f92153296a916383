// npm run bench: policy sources at scale, hot path, logins and profiles, then a table and bench/RESULTS.md. Needs Redis.
//
// Options: --quick (short runs, to try the harness; figures indicative only), --only=policy,hot,login.

import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { BENCH_APP, builtEmulator, connectRedis, deleteKeys, REDIS_URL, ROOT, runPrefix } from './common';
import { FINDINGS } from './findings';
import { runHotPath } from './hot-path';
import { runLogin } from './login';
import { runPolicySources } from './policy-sources';
import { consoleSummary, renderMarkdown, type RunResults } from './report';

const quick = process.argv.includes('--quick');
const only = process.argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const wanted = (part: string) => !only || only.includes(part);

/** Durations chosen so the whole run stays well under 5 minutes on two cores. */
const SETTINGS = quick
  ? {
      sessions: 8,
      warmup: 1,
      round: 1,
      rounds: 2,
      profile: 1,
      loginUsers: 8,
      loginWarmup: 1,
      loginRound: 1.5,
      calls: 100_000,
    }
  : {
      sessions: 16,
      warmup: 2,
      round: 2,
      rounds: 7,
      profile: 3,
      loginUsers: 16,
      loginWarmup: 3,
      loginRound: 4,
      calls: 1_000_000,
    };

async function main(): Promise<void> {
  const started = performance.now();
  const loadBefore = os.loadavg();
  const redis = await connectRedis().catch((error: unknown) => {
    throw new Error(
      `npm run bench needs Redis at ${REDIS_URL} (set REDIS_URL to use another): ${String(error)}`,
      { cause: error },
    );
  });
  const prefix = runPrefix();
  const results: { -readonly [K in keyof RunResults]: RunResults[K] } = { info: undefined! };
  try {
    if (wanted('policy')) {
      console.log('4. policy sources (file, directory, Redis)');
      results.policy = await runPolicySources({
        tenants: quick ? 1_000 : 10_000,
        calls: SETTINGS.calls,
        sizes: [10, 1_000, 10_000],
        prefix,
      });
    }
    if (wanted('hot')) {
      console.log('1–2. hot path');
      const emulator = await builtEmulator().startDuoEmulator({
        applications: [{ ...BENCH_APP }],
        mode: 'auto',
      });
      try {
        results.hot = await runHotPath({
          emulator,
          prefix,
          sessions: SETTINGS.sessions,
          warmupSeconds: SETTINGS.warmup,
          roundSeconds: SETTINGS.round,
          rounds: SETTINGS.rounds,
          profileSeconds: SETTINGS.profile,
        });
      } finally {
        await emulator.close();
      }
    }
    if (wanted('login')) {
      console.log('3. logins');
      results.login = await runLogin({
        prefix,
        users: SETTINGS.loginUsers,
        warmupSeconds: SETTINGS.loginWarmup,
        roundSeconds: SETTINGS.loginRound,
        rounds: SETTINGS.rounds,
        profileSeconds: SETTINGS.profile,
      });
    }
  } finally {
    await deleteKeys(redis, prefix);
    await redis.quit();
  }

  const cpu = os.cpus();
  results.info = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    node: process.version,
    machine: `${cpu[0]?.model.trim() ?? 'unknown CPU'} × ${cpu.length}, ${Math.round(os.totalmem() / 2 ** 30)} GB, ${os.type()} ${os.release()}`,
    loadBefore,
    loadAfter: os.loadavg(),
    seconds: (performance.now() - started) / 1000,
    settings:
      `${SETTINGS.rounds} rounds × ${SETTINGS.round} s (logins ${SETTINGS.loginRound} s) after ${SETTINGS.warmup} s ` +
      `warm-up; ${SETTINGS.sessions} connections; ${SETTINGS.loginUsers} browsers logging in`,
    quick,
  };
  const file = join(ROOT, 'bench', 'RESULTS.md');
  writeFileSync(file, renderMarkdown(results, FINDINGS));
  console.log(`\n${consoleSummary(results)}\n\nWrote ${file} (${Math.round(results.info.seconds)} s).`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
