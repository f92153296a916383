// Leak checks: counts of the resources that keep the event loop alive (sockets, servers, timers), compared with a
// baseline taken before the test started anything.

import assert from 'node:assert/strict';

/** The resource types a network test can leak. */
export const WATCHED_RESOURCES = [
  'TCPSocketWrap',
  'TLSWrap',
  'TCPServerWrap',
  'Timeout',
  'PipeWrap',
] as const;

export type ResourceCounts = Record<string, number>;

/** Counts per type of `process.getActiveResourcesInfo()`, for the watched types. */
export function activeResources(): ResourceCounts {
  const counts: ResourceCounts = {};
  for (const type of WATCHED_RESOURCES) counts[type] = 0;
  for (const type of process.getActiveResourcesInfo()) {
    if (type in counts) counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}

/** Lets close callbacks run: a few check phases, then `ms` of timers. */
export async function settle(ms = 100): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, ms));
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Waits (up to `timeoutMs`) until no watched resource type exceeds its `baseline` count, then asserts it. Close
 * callbacks and socket teardown take a few loop turns, so one immediate look would be flaky.
 */
export async function assertBackToBaseline(baseline: ResourceCounts, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let now = activeResources();
  while (exceeding(baseline, now).length > 0 && Date.now() < deadline) {
    await settle(50);
    now = activeResources();
  }
  assert.deepEqual(
    exceeding(baseline, now),
    [],
    `resources above the baseline ${JSON.stringify(baseline)}: ${JSON.stringify(now)}`,
  );
}

function exceeding(baseline: ResourceCounts, now: ResourceCounts): string[] {
  return Object.keys(now)
    .filter((type) => (now[type] ?? 0) > (baseline[type] ?? 0))
    .map((type) => `${type}: ${baseline[type] ?? 0} → ${now[type]}`);
}

/**
 * Records unhandled promise rejections while installed (a rejection nobody handles is a bug even when the
 * response was right). Install in before(), check `reasons` in afterEach(), uninstall in after().
 */
export function trackUnhandledRejections(): { reasons: unknown[]; assertNone(): void; uninstall(): void } {
  const reasons: unknown[] = [];
  const listener = (reason: unknown) => reasons.push(reason);
  process.on('unhandledRejection', listener);
  return {
    reasons,
    assertNone: () => {
      const found = reasons
        .splice(0)
        .map((reason) => (reason instanceof Error ? reason.stack : String(reason)));
      assert.deepEqual(found, [], 'unhandled promise rejections');
    },
    uninstall: () => process.off('unhandledRejection', listener),
  };
}
