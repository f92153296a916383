// Benchmark 4: policy load time, memory and decide() latency for 10, 1,000 and 10,000 tenants of 1,000 staff.

import { join } from 'node:path';
import { Child } from './common';
import type { PolicyLoadResult } from './policy-load';

export interface PolicyScaleOptions {
  readonly sizes: readonly number[];
  /** decide() calls timed per size. */
  readonly calls: number;
}

/** Each size in a fresh process, so one size's heap never weighs on the next one's load time. */
export async function runPolicyScale(options: PolicyScaleOptions): Promise<PolicyLoadResult[]> {
  const results: PolicyLoadResult[] = [];
  for (const tenants of options.sizes) {
    process.stdout.write(`  policy: ${tenants} tenants…`);
    const child = await Child.start(`policy load (${tenants})`, join(__dirname, 'policy-load.ts'), {
      execArgv: ['--expose-gc', '--max-old-space-size=4096'],
    });
    try {
      const result = await child.call<PolicyLoadResult>('load', { tenants, calls: options.calls });
      process.stdout.write(` compiled in ${result.compileMs.toFixed(0)} ms\n`);
      results.push(result);
    } finally {
      await child.stop();
    }
  }
  return results;
}
