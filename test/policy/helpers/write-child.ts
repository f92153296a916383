// A second process writing one tenant through a policy source (the multi-process write tests run it with tsx).
//
// argv[2]: JSON { policy, id, raw, expectedVersion?, go?, loop?: [rawA, rawB], secretsKey? }
//   once: waits for the file `go` to exist, writes raw with expectedVersion, prints { ok, code?, version? }.
//   loop: forever reads the tenant and writes rawA / rawB alternately (the crash test kills it mid-way).

import { existsSync } from 'node:fs';
import { openTenantSource } from '../../../lib/policy/open';
import { redisPolicy } from '../../../lib/policy/redis';

interface Args {
  policy: string | { redis: string; prefix: string };
  id: string;
  raw: Record<string, unknown>;
  expectedVersion?: string | null;
  go?: string;
  loop?: [Record<string, unknown>, Record<string, unknown>];
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]!) as Args;
  let client: { disconnect(): void } | undefined;
  let input: Parameters<typeof openTenantSource>[0];
  if (typeof args.policy === 'string') input = args.policy;
  else {
    const { Redis } = await import('ioredis');
    const redis = new Redis(args.policy.redis, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    client = redis;
    input = redisPolicy(redis, { prefix: args.policy.prefix });
  }
  const source = openTenantSource(input, { watch: false });
  await source.ready();
  try {
    if (args.loop) {
      for (let n = 0; ; n++) {
        const { version } = await source.readTenant(args.id);
        await source.writeTenant(args.id, args.loop[n % 2]!, { expectedVersion: version });
        process.stdout.write(`wrote ${n}\n`);
      }
    }
    while (args.go && !existsSync(args.go)) await new Promise((resolve) => setTimeout(resolve, 2));
    try {
      const version = await source.writeTenant(args.id, args.raw, {
        expectedVersion: args.expectedVersion ?? null,
      });
      process.stdout.write(JSON.stringify({ ok: true, version }));
    } catch (error) {
      process.stdout.write(JSON.stringify({ ok: false, code: (error as { code?: string }).code }));
    }
  } finally {
    source.close();
    client?.disconnect();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(String(error));
  process.exitCode = 1;
});
