// Instance B of the two-instance Redis test: follows one tenant and prints each version it decides with.
//
// argv[2]: JSON { url, prefix, tenant, user }. Prints "ready" once the tenant is loaded, then one JSON line
// { version, required, at } each time the version in force changes. Exits when stdin closes.

import { Redis } from 'ioredis';
import { decideTenant } from '../../../lib/policy/decide';
import { openTenantSource } from '../../../lib/policy/open';
import { redisPolicy } from '../../../lib/policy/redis';

interface Args {
  url: string;
  prefix: string;
  tenant: string;
  user: { username: string; roles?: string[] };
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]!) as Args;
  const redis = new Redis(args.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined);
  await redis.connect();
  // The periodic check is off: only the notification can bring the change within the test's second.
  const source = openTenantSource(redisPolicy(redis, { prefix: args.prefix, checkIntervalMs: 0 }));
  await source.ready();
  let version: string | undefined;
  const report = () => {
    const entry = source.peek(args.tenant);
    if (entry?.state !== 'ready' || entry.tenant.version === version) return;
    version = entry.tenant.version;
    const decision = decideTenant(args.tenant, entry.tenant, args.user, Date.now());
    process.stdout.write(`${JSON.stringify({ version, required: decision.required, at: Date.now() })}\n`);
  };
  await source.load(args.tenant);
  process.stdout.write('ready\n');
  report();
  const timer = setInterval(report, 2);
  process.stdin.resume();
  process.stdin.on('end', () => {
    clearInterval(timer);
    source.close();
    redis.disconnect();
  });
}

main().catch((error: unknown) => {
  process.stderr.write(String(error));
  process.exitCode = 1;
});
