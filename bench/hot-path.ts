// Benchmarks 1 and 2: requests per second on a trivial route for signed-in users, with and without duoMfa.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuoEmulator } from '../lib/emulator/index';
import { Browser, loginWithDuo, Pools, signIn } from './browser';
import { Child, cpuMicros, medianOfRounds, tmpDir, type CpuSample } from './common';
import { exemptUser, requiredUser } from './fixtures';
import type { LoadResult } from './load';
import { summarizeProfile, type ProfileSummary } from './profile';

export interface HotPathOptions {
  readonly emulator: DuoEmulator;
  readonly prefix: string;
  /** Connections of the load generator, each with its own signed-in session. */
  readonly sessions: number;
  readonly warmupSeconds: number;
  readonly roundSeconds: number;
  readonly rounds: number;
  /** Seconds of CPU profile per profiled variant (0: none). */
  readonly profileSeconds: number;
}

export type Store = 'memory' | 'redis';
export type HotVariant = 'a' | 'layer' | 'loaded' | 'carry' | 'verified' | 'exempt';

export const HOT_VARIANTS: Readonly<Record<HotVariant, string>> = {
  a: '(a) express + express-session',
  layer: '(a″) (a) + one middleware that only calls next(), where duoMfa would be',
  loaded:
    '(a‴) (a″) in a process that has also loaded express-duo-mfa and made the duoMfa() of (b), not mounted',
  carry: "(a′) same as (a), the session also holding a verified user's duoMfa data",
  verified: '(b) (a) + duoMfa, Duo-verified user',
  exempt: '(b) (a) + duoMfa, user the policy exempts',
};

/** One measured round of one variant. */
export interface Round {
  readonly variant: HotVariant;
  readonly rps: number;
  readonly requests: number;
  /** Server CPU per request, µs. */
  readonly cpuPerRequest: number;
  /** Server CPU as a share of one core. */
  readonly serverCpu: number;
  readonly loaderCpu: number;
  /** Latency, ms. */
  readonly p50: number;
  readonly p99: number;
}

/** A profiled run: its .cpuprofile, where the time went, and how many requests (or logins) it served. */
export interface ProfiledRun {
  readonly name: string;
  readonly file: string;
  readonly count: number;
  readonly summary: ProfileSummary;
}

/** Time inside duoMfa per request, from entering it to its next() call, µs. */
export interface OwnTime {
  readonly variant: HotVariant;
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
}

export interface HotPathResult {
  readonly stores: ReadonlyArray<{ readonly store: Store; readonly rounds: readonly Round[] }>;
  readonly profiles: readonly ProfiledRun[];
  readonly ownTime: readonly OwnTime[];
}

interface App {
  readonly server: Child;
  readonly base: string;
}

interface Variant {
  readonly name: HotVariant;
  /** The server process answering it (its CPU is what the variant costs). */
  readonly server: Child;
  readonly url: string;
  readonly cookies: readonly string[];
}

/**
 * Per store: (a) and (b) each in a server process of its own (no JIT or heap state shared), sessions set up
 * through the real flows, a warm-up, then rounds alternating the variants. Then, for the memory store, duoMfa
 * timed from inside and every variant profiled.
 */
export async function runHotPath(options: HotPathOptions): Promise<HotPathResult> {
  const loader = await Child.start('load generator', join(__dirname, 'load.ts'));
  const pools = new Pools({ ca: options.emulator.ca });
  const stores: Array<{ store: Store; rounds: Round[] }> = [];
  const profiles: ProfiledRun[] = [];
  const ownTime: OwnTime[] = [];
  try {
    for (const store of ['memory', 'redis'] as const) {
      const apps = await Promise.all([
        startApp(options, store, 'a'),
        startApp(options, store, 'b'),
        startApp(options, store, 'loaded'),
      ]);
      try {
        const layer = await startLayerApp(options, store, apps[0]);
        const variants = await prepare({ a: apps[0], layer, loaded: apps[2], b: apps[1] }, options, pools);
        process.stdout.write(`  hot path, ${store} store: warm-up`);
        for (const variant of variants) await measure(loader, variant, options.warmupSeconds);
        const rounds: Round[] = [];
        for (let round = 0; round < options.rounds; round++) {
          process.stdout.write(` ${round + 1}`);
          // a, b, c, d then d, c, b, a: no variant always runs right after the same other one.
          const order = round % 2 === 0 ? variants : [...variants].reverse();
          for (const variant of order) rounds.push(await measure(loader, variant, options.roundSeconds));
        }
        process.stdout.write('\n');
        stores.push({ store, rounds });
        if (store === 'memory') {
          for (const variant of variants) {
            if (variant.name === 'verified' || variant.name === 'exempt')
              ownTime.push(await timeMfa(loader, variant, options.roundSeconds));
          }
          if (options.profileSeconds > 0) {
            for (const variant of variants)
              profiles.push(await profile(loader, variant, options.profileSeconds));
          }
        }
      } finally {
        for (const app of apps) await closeApp(app);
      }
    }
    return { stores, profiles, ownTime };
  } finally {
    pools.close();
    await loader.stop();
  }
}

/** (a), (b), or (a‴): each in a server process of its own. */
async function startApp(options: HotPathOptions, store: Store, kind: 'a' | 'b' | 'loaded'): Promise<App> {
  const name = `server (${store}${kind === 'b' ? ', duoMfa' : kind === 'loaded' ? ', duoMfa not mounted' : ''})`;
  const server = await Child.start(name, join(__dirname, 'server.ts'));
  const port = await server.call<number>('hot', {
    store,
    withMfa: kind === 'b',
    loaded: kind === 'loaded',
    apiHost: options.emulator.apiHost,
    ca: options.emulator.ca,
    prefix: options.prefix,
  });
  return { server, base: `http://127.0.0.1:${port}` };
}

/** (a″): another app in (a)'s server process, the same as (a) plus one middleware that only calls next(). */
async function startLayerApp(options: HotPathOptions, store: Store, a: App): Promise<App> {
  const port = await a.server.call<number>('hot', {
    store,
    withMfa: false,
    layer: true,
    apiHost: options.emulator.apiHost,
    ca: options.emulator.ca,
    prefix: options.prefix,
  });
  return { server: a.server, base: `http://127.0.0.1:${port}` };
}

async function closeApp({ server }: App): Promise<void> {
  await server.call('close').catch(() => undefined);
  await server.stop();
}

interface HostState {
  user: unknown;
  mfa: { verified: boolean; required: boolean } | null;
  session: unknown;
}

/** Signs in one browser per connection and checks each variant answers as it should before measuring it. */
async function prepare(
  { a, layer, loaded, b }: { a: App; layer: App; loaded: App; b: App },
  options: HotPathOptions,
  pools: Pools,
): Promise<Variant[]> {
  const sessions = (make: (browser: Browser, index: number) => Promise<void>) =>
    Promise.all(
      Array.from({ length: options.sessions }, async (_, index) => {
        const browser = new Browser(pools);
        await make(browser, index);
        return browser;
      }),
    );
  const plain = await sessions((browser, i) => signIn(browser, a.base, requiredUser(`a${i}`)));
  const layered = await sessions((browser, i) => signIn(browser, layer.base, requiredUser(`l${i}`)));
  const holding = await sessions((browser, i) => signIn(browser, loaded.base, requiredUser(`h${i}`)));
  const verified = await sessions((browser, i) =>
    loginWithDuo(browser, b.base, requiredUser(`v${i}`), options.emulator.url),
  );
  const exempt = await sessions((browser, i) => signIn(browser, b.base, exemptUser(`e${i}`)));
  // (a′): the duoMfa data of a real verified session, carried into (a)'s sessions.
  const carry = JSON.stringify((await stateOf(verified[0]!, b.base)).session);
  const carrying = await sessions((browser, i) =>
    signIn(browser, a.base, { ...requiredUser(`c${i}`), carry }),
  );

  await expectState(plain, a.base, (state) => state.user !== null && state.mfa === null);
  await expectState(layered, layer.base, (state) => state.user !== null && state.mfa === null);
  await expectState(holding, loaded.base, (state) => state.user !== null && state.mfa === null);
  await expectState(carrying, a.base, (state) => JSON.stringify(state.session) === carry);
  await expectState(verified, b.base, (state) => state.mfa?.verified === true && state.mfa.required);
  await expectState(exempt, b.base, (state) => state.mfa?.verified === false && !state.mfa.required);

  const variant = (name: HotVariant, app: App, browsers: Browser[]): Variant => ({
    name,
    server: app.server,
    url: `${app.base}/hello`,
    cookies: browsers.map((browser) => browser.cookie!),
  });
  return [
    variant('a', a, plain),
    variant('layer', layer, layered),
    variant('loaded', loaded, holding),
    variant('carry', a, carrying),
    variant('verified', b, verified),
    variant('exempt', b, exempt),
  ];
}

async function stateOf(browser: Browser, base: string): Promise<HostState> {
  const reply = await browser.get(`${base}/state`, { accept: 'application/json' });
  if (reply.status !== 200) throw new Error(`GET /state answered ${reply.status} on ${base}`);
  return JSON.parse(reply.body) as HostState;
}

async function expectState(
  browsers: Browser[],
  base: string,
  ok: (state: HostState) => boolean,
): Promise<void> {
  for (const browser of browsers) {
    const state = await stateOf(browser, base);
    if (!ok(state))
      throw new Error(`unexpected session state on ${base}: ${JSON.stringify(state).slice(0, 300)}`);
    const hello = await browser.get(`${base}/hello`);
    if (hello.status !== 200) throw new Error(`GET /hello answered ${hello.status} on ${base}`);
  }
}

async function measure(loader: Child, variant: Variant, seconds: number): Promise<Round> {
  const before = await variant.server.call<CpuSample>('cpu');
  const started = performance.now();
  const load = await loader.call<LoadResult>('run', { url: variant.url, cookies: variant.cookies, seconds });
  const wall = performance.now() - started;
  const cpu = cpuMicros(before, await variant.server.call<CpuSample>('cpu'));
  if (load.failures > 0) throw new Error(`${variant.name}: ${load.failures} failed requests`);
  return {
    variant: variant.name,
    rps: load.rps,
    requests: load.requests,
    cpuPerRequest: cpu / load.requests,
    serverCpu: cpu / (wall * 1000),
    loaderCpu: load.loaderCpu,
    p50: load.p50,
    p99: load.p99,
  };
}

/** One more run of the variant with duoMfa timed from inside its server. */
async function timeMfa(loader: Child, variant: Variant, seconds: number): Promise<OwnTime> {
  await variant.server.call('mfaTiming', { on: true });
  await loader.call<LoadResult>('run', { url: variant.url, cookies: variant.cookies, seconds });
  const times = await variant.server.call<Omit<OwnTime, 'variant'>>('mfaTiming', { on: false });
  return { variant: variant.name, ...times };
}

/** Profiles the variant's server over one more run of its load. */
async function profile(loader: Child, variant: Variant, seconds: number): Promise<ProfiledRun> {
  const file = join(tmpDir('profiles'), `hot-${variant.name}.cpuprofile`);
  await variant.server.call('profileStart');
  const load = await loader.call<LoadResult>('run', { url: variant.url, cookies: variant.cookies, seconds });
  await variant.server.call('profileStop', { file });
  const summary = summarizeProfile(
    JSON.parse(readFileSync(file, 'utf8')) as Parameters<typeof summarizeProfile>[0],
  );
  return { name: `hot-${variant.name}`, file, count: load.requests, summary };
}

/** The median of each figure over a variant's rounds. */
export function medianRound(rounds: readonly Round[], variant: HotVariant): Round {
  return medianOfRounds(rounds, variant);
}
