// Turns the figures of one run into the console table and bench/RESULTS.md: raw figures, medians, ratios, targets.

import {
  HOT_VARIANTS,
  medianRound,
  type HotPathResult,
  type HotVariant,
  type ProfiledRun,
  type Round,
} from './hot-path';
import { median } from './common';
import { LOGIN_VARIANTS, medianLogin, type LoginBenchResult, type LoginRound } from './login';
import { renderPolicySources, type PolicySourcesResult } from './policy-sources';

export interface RunInfo {
  readonly date: string;
  readonly node: string;
  readonly machine: string;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly seconds: number;
  readonly settings: string;
  readonly quick: boolean;
}

export interface RunResults {
  readonly info: RunInfo;
  readonly policy?: PolicySourcesResult | undefined;
  readonly hot?: HotPathResult | undefined;
  readonly login?: LoginBenchResult | undefined;
}

/** One line of the summary: a comparison, its figures, its ratio and whether its target is met. */
interface Verdict {
  readonly what: string;
  readonly figures: string;
  readonly ratio: string;
  readonly target: string;
  /** undefined: a reference figure, no target. */
  readonly met: boolean | undefined;
}

const HOT_TARGET = 0.97;
const LOGIN_TARGET = 0.9;
/** Server CPU per login, ours / hand-written. */
const LOGIN_CPU_TARGET = 1.1;
/** Redis commands per login (sessions and the middleware's store together). */
const LOGIN_REDIS_TARGET = 9;
/** Policy sources (issue 13): open → first decision for the directory and Redis forms. */
const FIRST_DECISION_TARGET_MS = 200;
/** Largest event-loop delay while one tenant changes, ms. */
const CHANGE_DELAY_TARGET_MS = 50;
/** From a write to decisions that use it, ms. */
const IN_FORCE_TARGET_MS = 1000;
/** Heap after 100 of N tenants were used, as a share of the whole compile's. */
const TOUCHED_HEAP_TARGET = 0.1;
const DECIDE_P99_TARGET = 5;
/** "Flat across sizes": the largest policy's p99 within this factor of the smallest one's. */
const FLAT_FACTOR = 2;

const n0 = (value: number) => Math.round(value).toLocaleString('en-US');
const n1 = (value: number) => value.toFixed(1);
const n2 = (value: number) => value.toFixed(2);
const signed = (value: number) => `${value < 0 ? '−' : '+'}${n1(Math.abs(value))}`;
const pct = (value: number) => `${(value * 100).toFixed(0)} %`;

export function verdicts(results: RunResults): Verdict[] {
  const out: Verdict[] = [];
  for (const { store, rounds } of results.hot?.stores ?? []) {
    const a = medianRound(rounds, 'a');
    if (rounds.some((round) => round.variant === 'layer')) {
      const layer = medianRound(rounds, 'layer');
      out.push({
        what: `1–2. for reference: one no-op middleware, ${store} store (req/s, a″/a)`,
        figures: `${n0(layer.rps)} vs ${n0(a.rps)}`,
        ratio: n2(hotRatio(rounds, 'layer')),
        target: 'none',
        met: undefined,
      });
    }
    const loaded = rounds.some((round) => round.variant === 'loaded')
      ? medianRound(rounds, 'loaded')
      : undefined;
    if (loaded) {
      out.push({
        what: `1–2. for reference: express-duo-mfa loaded, not mounted, ${store} store (req/s, a‴/a)`,
        figures: `${n0(loaded.rps)} vs ${n0(a.rps)}`,
        ratio: n2(hotRatio(rounds, 'loaded')),
        target: 'none',
        met: undefined,
      });
    }
    for (const variant of ['verified', 'exempt'] as const) {
      const b = medianRound(rounds, variant);
      const ratio = hotRatio(rounds, variant);
      const what = `${variant === 'verified' ? '1. verified' : '2. exempt'} hot path, ${store} store`;
      out.push({
        what: `${what} (req/s, b/a)`,
        figures: `${n0(b.rps)} vs ${n0(a.rps)}`,
        ratio: n2(ratio),
        target: `≥ ${HOT_TARGET}`,
        met: ratio >= HOT_TARGET,
      });
      if (loaded) {
        out.push({
          what: `${what}, for reference: against the same process without mounting (req/s, b/a‴)`,
          figures: `${n0(b.rps)} vs ${n0(loaded.rps)}`,
          ratio: n2(hotRatio(rounds, variant, 'loaded')),
          target: 'none',
          met: undefined,
        });
      }
    }
  }
  if (results.login) {
    const ours = medianLogin(results.login.rounds, 'ours');
    const plain = medianLogin(results.login.rounds, 'plain');
    out.push({
      what: '3. logins/s, Redis (ours / hand-written)',
      figures: `${n1(ours.perSecond)} vs ${n1(plain.perSecond)}`,
      ratio: n2(ours.perSecond / plain.perSecond),
      target: `≥ ${LOGIN_TARGET}`,
      met: ours.perSecond / plain.perSecond >= LOGIN_TARGET,
    });
    out.push({
      what: '3. server CPU per login (ours / hand-written)',
      figures: `${n2(ours.cpuPerLogin)} vs ${n2(plain.cpuPerLogin)} ms`,
      ratio: n2(ours.cpuPerLogin / plain.cpuPerLogin),
      target: `≤ ${LOGIN_CPU_TARGET}`,
      met: ours.cpuPerLogin / plain.cpuPerLogin <= LOGIN_CPU_TARGET,
    });
    out.push({
      what: '3. Redis commands per login (ours; hand-written for reference)',
      figures: `${n1(ours.redisPerLogin)} vs ${n1(plain.redisPerLogin)}`,
      ratio: '',
      target: `≤ ${LOGIN_REDIS_TARGET}`,
      met: ours.redisPerLogin <= LOGIN_REDIS_TARGET,
    });
  }
  const policy = results.policy;
  if (policy) {
    const ms = (value: number | undefined) => (value === undefined ? 'never seen' : `${n0(value)} ms`);
    for (const form of policy.forms) {
      const label = `4. ${form.form} (${n0(policy.tenants)} tenants)`;
      out.push({
        what: `${label}: open → first decision`,
        figures: ms(form.firstDecisionMs),
        ratio: '',
        // The single file has no target: the issue asks for its figure and where it goes (section 4).
        target: form.form === 'file' ? 'stated' : `< ${FIRST_DECISION_TARGET_MS} ms`,
        met: form.form === 'file' || form.firstDecisionMs < FIRST_DECISION_TARGET_MS,
      });
      out.push({
        what: `${label}: max event-loop delay during a one-tenant change`,
        figures: `${n1(form.changeMaxDelayMs)} ms (idle: ${n1(form.baselineMaxDelayMs)} ms)`,
        ratio: '',
        target: `< ${CHANGE_DELAY_TARGET_MS} ms`,
        met: form.changeMaxDelayMs < CHANGE_DELAY_TARGET_MS,
      });
      out.push({
        what: `${label}: change → in force${form.form === 'redis' ? ' on another process' : ''}`,
        figures: ms(form.inForceMs),
        ratio: '',
        target: `< ${n0(IN_FORCE_TARGET_MS)} ms`,
        met: form.inForceMs !== undefined && form.inForceMs < IN_FORCE_TARGET_MS,
      });
      const share = form.touchedHeapMB / policy.fullCompileHeapMB;
      out.push({
        what: `${label}: heap after 100 tenants used (of the whole compile)`,
        figures: `${n1(form.touchedHeapMB)} of ${n0(policy.fullCompileHeapMB)} MB`,
        ratio: pct(share),
        target: `< ${pct(TOUCHED_HEAP_TARGET)}`,
        met: share < TOUCHED_HEAP_TARGET,
      });
    }
    const smallest = policy.decide[0];
    const largest = policy.decide.at(-1);
    if (smallest && largest) {
      out.push({
        what: '4. decide() p99 on a compiled tenant, every size',
        figures: policy.decide.map((size) => `${n2(size.p99)} µs`).join(' / '),
        ratio: '',
        target: `< ${DECIDE_P99_TARGET} µs`,
        met: Math.max(...policy.decide.map((size) => size.p99)) < DECIDE_P99_TARGET,
      });
      out.push({
        what: `4. decide() p99 flat (${n0(largest.tenants)} vs ${n0(smallest.tenants)} compiled, users spread over all)`,
        figures: `${n2(largest.p99)} vs ${n2(smallest.p99)} µs`,
        ratio: n2(largest.p99 / smallest.p99),
        target: `≤ ${FLAT_FACTOR}`,
        met: largest.p99 / smallest.p99 <= FLAT_FACTOR,
      });
      out.push({
        what: `4. decide() p99 flat (${n0(largest.tenants)} vs ${n0(smallest.tenants)} compiled, same 10 in use)`,
        figures: `${n2(largest.inUse.p99)} vs ${n2(smallest.inUse.p99)} µs`,
        ratio: n2(largest.inUse.p99 / smallest.inUse.p99),
        target: `≤ ${FLAT_FACTOR}`,
        met: largest.inUse.p99 / smallest.inUse.p99 <= FLAT_FACTOR,
      });
    }
  }
  return out;
}

/** The summary as plain text for the terminal. */
export function consoleSummary(results: RunResults): string {
  const rows = verdicts(results).map((v) => [
    v.what,
    v.figures,
    v.ratio,
    v.target,
    v.met === undefined ? '' : v.met ? 'met' : 'NOT MET',
  ]);
  const header = ['comparison', 'figures (median)', 'ratio', 'target', ''];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => ' --- ').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function hotSection(hot: HotPathResult): string {
  const parts: string[] = [];
  for (const { store, rounds } of hot.stores) {
    const a = medianRound(rounds, 'a');
    const variants = [...new Set(rounds.map((round) => round.variant))];
    const rows = variants.map((variant) => {
      const m = medianRound(rounds, variant);
      const perRound = pairedRatios(rounds, variant);
      return [
        HOT_VARIANTS[variant],
        n0(m.rps),
        variant === 'a'
          ? '—'
          : `**${n2(median(perRound))}** (${n2(Math.min(...perRound))}–${n2(Math.max(...perRound))})`,
        variant === 'a' ? '—' : n2(m.rps / a.rps),
        n0(m.cpuPerRequest),
        variant === 'a' ? '—' : signed(m.cpuPerRequest - a.cpuPerRequest),
        pct(m.serverCpu),
        `${m.p50} / ${m.p99}`,
      ];
    });
    parts.push(
      `### ${store === 'memory' ? 'Memory store (express-session MemoryStore)' : 'Redis store (connect-redis 8.1 + ioredis)'}\n\n` +
        table(
          [
            'variant',
            'req/s',
            'ratio to (a) in the same round: median (range)',
            'ratio of medians',
            'server CPU µs/req',
            'vs (a)',
            'server CPU (of one core)',
            'latency p50 / p99 ms',
          ],
          rows,
        ) +
        '\n\n<details><summary>Raw rounds (in the order they ran)</summary>\n\n' +
        table(
          ['round', 'variant', 'req/s', 'requests', 'server CPU µs/req', 'server CPU', 'load generator CPU'],
          rounds.map((round, index) => [
            String(Math.floor(index / variants.length) + 1),
            round.variant,
            n0(round.rps),
            n0(round.requests),
            n1(round.cpuPerRequest),
            pct(round.serverCpu),
            pct(round.loaderCpu),
          ]),
        ) +
        '\n\n</details>',
    );
  }
  if (hot.ownTime.length > 0) {
    parts.push(
      'Time spent inside duoMfa per request (memory store; from entering the middleware to its call of `next()`, ' +
        'timed in the server during one extra run):\n\n' +
        table(
          ['variant', 'requests', 'median µs', 'p99 µs'],
          hot.ownTime.map((own) => [HOT_VARIANTS[own.variant], n0(own.count), n1(own.p50), n1(own.p99)]),
        ),
    );
  }
  return parts.join('\n\n');
}

/**
 * The headline hot-path ratio: the median over rounds of the variant's req/s divided by (a)'s (or `base`'s) in the
 * same round. Rounds alternate the variants a few seconds apart, so each pair shares the machine's state of the
 * moment; the ratio of the two medians (also printed) mixes rounds run under different load.
 */
function hotRatio(rounds: readonly Round[], variant: HotVariant, base: HotVariant = 'a'): number {
  return median(pairedRatios(rounds, variant, base));
}

/** b/a of each round, pairing the variant's round with the (a) (or `base`) round measured next to it. */
function pairedRatios(rounds: readonly Round[], variant: HotVariant, base: HotVariant = 'a'): number[] {
  const a = rounds.filter((round) => round.variant === base);
  const b = rounds.filter((round) => round.variant === variant);
  return b.map((round, index) => round.rps / (a[index]?.rps ?? NaN));
}

function loginSection(login: LoginBenchResult): string {
  const plain = medianLogin(login.rounds, 'plain');
  const rows = (['ours', 'plain'] as const).map((variant) => {
    const m = medianLogin(login.rounds, variant);
    return [
      LOGIN_VARIANTS[variant],
      n1(m.perSecond),
      variant === 'plain' ? '—' : `**${n2(m.perSecond / plain.perSecond)}**`,
      n2(m.cpuPerLogin),
      variant === 'plain' ? '—' : n2(m.cpuPerLogin / plain.cpuPerLogin),
      n1(m.redisPerLogin),
      pct(m.serverCpu),
      pct(m.clientCpu),
      `${n0(m.p50)} / ${n0(m.p99)}`,
    ];
  });
  return (
    table(
      [
        'variant',
        'logins/s',
        'ratio',
        'server CPU ms/login',
        'CPU ratio (ours/plain)',
        'Redis commands/login',
        'server CPU (of one core)',
        'client + emulator CPU',
        'login time p50 / p99 ms',
      ],
      rows,
    ) +
    '\n\n<details><summary>Raw rounds (in the order they ran)</summary>\n\n' +
    table(
      ['round', 'variant', 'logins/s', 'logins', 'server CPU ms/login', 'Redis commands/login', 'server CPU'],
      login.rounds.map((round: LoginRound, index) => [
        String(Math.floor(index / 2) + 1),
        round.variant,
        n1(round.perSecond),
        n0(round.logins),
        n2(round.cpuPerLogin),
        n1(round.redisPerLogin),
        pct(round.serverCpu),
      ]),
    ) +
    '\n\n</details>'
  );
}

function profileSection(profile: ProfiledRun, unit: 'request' | 'login'): string {
  const scale = unit === 'request' ? 1000 : 1; // µs per request, ms per login
  const label = unit === 'request' ? 'µs/request' : 'ms/login';
  const per = (ms: number) =>
    unit === 'request' ? n1((ms * scale) / profile.count) : n2(ms / profile.count);
  const owners = profile.summary.byOwner.slice(0, 10).map((o) => [o.owner, per(o.ms), pct(o.share)]);
  const top = profile.summary.top
    .slice(0, 10)
    .map((f) => [`\`${f.name}\``, f.owner, per(f.ms), pct(f.share)]);
  return (
    `**${profile.name}** — ${n0(profile.count)} ${unit}s profiled, ${per(profile.summary.busyMs)} ${label} busy ` +
    `(sampling inflates absolute figures; compare shares), \`${profile.file.replace(/.*\/bench\//, 'bench/')}\`\n\n` +
    table(['owner (self time; native code charged to its JS caller)', label, 'share'], owners) +
    '\n\n' +
    table(['top functions by self time', 'owner', label, 'share'], top)
  );
}

/** bench/RESULTS.md. `findings` is the hand-written analysis kept with the code (see findings.ts). */
export function renderMarkdown(results: RunResults, findings: string): string {
  const { info } = results;
  const load = (values: readonly number[]) => values.map((v) => v.toFixed(2)).join(' / ');
  const sections: string[] = [
    '# Benchmarks',
    `Written by \`npm run bench\` (bench/run.ts) on ${info.date}${info.quick ? ' — **quick mode: short runs, figures indicative only**' : ''}. ` +
      `The whole run took ${n0(info.seconds)} s.`,
    table(
      ['machine', 'Node', 'load average (1/5/15 min) before → after', 'settings'],
      [[info.machine, info.node, `${load(info.loadBefore)} → ${load(info.loadAfter)}`, info.settings]],
    ),
    'Each comparison runs side by side in this one run: the variants alternate round by round (a, b, c then c, b, a), ' +
      'after a warm-up, each app in its own server process, the load generated by another process on loopback. ' +
      'Figures are medians over the rounds; a hot-path ratio is the median of each round’s ratio to (a) in that ' +
      'round; every raw round is listed. "Server CPU" is user + system time of the ' +
      "server process, as a share of one core (above 100 %: the garbage collector's helper threads). A load " +
      'average above about 1 before the run means other processes shared the CPUs: absolute figures then drop ' +
      'and vary, ratios much less.',
    '## Summary',
    table(
      ['comparison', 'figures (median)', 'ratio', 'target', ''],
      verdicts(results).map((v) => [
        v.what,
        v.figures,
        v.ratio,
        v.target,
        v.met === undefined ? '—' : v.met ? 'met' : '**not met**',
      ]),
    ),
  ];
  if (results.hot) {
    sections.push(
      '## 1–2. Hot path: signed-in users on a trivial route',
      'GET /hello answering "hello", autocannon in a separate process, one connection per signed-in session. ' +
        '(b) is duoMfa mounted as the README shows (memory store: in-memory MfaStore; Redis store: `redis` option). ' +
        '"Verified": the session holds a Duo verification made through the emulator; "exempt": the policy does not ' +
        "ask this user (role not included). (a′) carries a verified session's duoMfa data in (a) without the " +
        'middleware: the difference (a) → (a′) is what that data costs express-session alone. (a″) is (a) with one ' +
        "middleware that only calls next(), mounted where duoMfa is, served by (a)'s process: what mounting any " +
        'middleware costs express, the floor under (b). (a‴) is (a″) served by a process of its own that has also ' +
        'loaded express-duo-mfa and made the same duoMfa() as (b), never mounted: the difference (a) → (a‴) is what ' +
        "holding the library costs a process (its code and the instance's data sit in the heap the garbage " +
        'collector works with), and (a‴) → (b) is what the middleware does per request.',
      hotSection(results.hot),
    );
  }
  if (results.login) {
    sections.push(
      '## 3. Full logins through Duo (Redis sessions)',
      "Each login: POST /login, GET /private (303 to Duo), the emulator's authorize URL (auto mode: 302 to the " +
        'callback), GET /duo/callback (303), GET /private (200, checked). Browsers and the emulator run in one client ' +
        "process, both apps in one server process. The hand-written integration (bench/plain-duo.ts) follows Duo's " +
        "Node example with the official client and the same CA override; it checks Duo's health once per 30 s as " +
        'duoMfa does. Every login uses a fresh username, so the push-fatigue limit never applies.',
      loginSection(results.login),
    );
  }
  if (results.policy) {
    sections.push(
      '## 4. Policy sources at scale',
      'A generated policy of N tenants, each listing 1,000 staff (900 in staffIncluded, 100 in staffExcluded, ' +
        'e-mail-like names of ~25 characters), two roles and a bypass, stored three ways: one file, a directory of ' +
        'one file per tenant, and Redis (`importPolicy`). Each form runs in fresh processes through ' +
        '`openTenantSource`, as `duoMfa()` does. "First decision": opening the source (and `ready()`) until ' +
        'a decision for one tenant. "Event-loop delay": `monitorEventLoopDelay` on the process serving decisions for ' +
        "100 tenants, first idle, then while one tenant changes (file: an editor's atomic save of the whole " +
        'file; directory: that tenant\'s file rewritten; Redis: `writeTenant` from another process). "In force": ' +
        'from that write until a decision uses the new settings. "Heap": after 100 tenants were used, against ' +
        'the whole first-wave compile (`compilePolicy`) of the same file. decide(): `peek` + `decideTenant` ' +
        'per call, after a warm-up, users cycling through every branch: first spread across every tenant ' +
        'compiled (the working set grows with N), then drawn from the same 10 tenants whatever N is (what the ' +
        'number of compiled tenants alone costs).',
      renderPolicySources(results.policy),
    );
  }
  const profiles = [...(results.hot?.profiles ?? []), ...(results.login?.profiles ?? [])];
  if (profiles.length > 0) {
    sections.push(
      '## 5. Where the time goes',
      "CPU profiles of the server process (V8's sampling profiler, the one behind `node --cpu-prof`, started and " +
        'stopped around one extra run of each variant). The .cpuprofile files open in Chrome DevTools.',
      ...profiles.map((profile) =>
        profileSection(profile, profile.name.startsWith('login') ? 'login' : 'request'),
      ),
    );
  }
  sections.push(findings);
  return `${sections.join('\n\n')}\n`;
}
