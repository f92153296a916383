// `duo-mfa devices --tenant T`: device insight — access devices seen, their trust status, last seen, by whom.

import { readDeviceInsight } from '../../devices/read';
import type { DeviceSummary } from '../../devices/insight';
import type { Redis as RedisClient } from 'ioredis';
import type { RedisLike } from '../../stores/types';
import { EXIT, UsageError, flagOption, integerOption, stringOption, type Command } from '../command';
import { json, table } from '../io';

/**
 * `duo-mfa devices --tenant T (--redis URL | --file FILE) [--search ID] [--json]`.
 *
 * @example
 * ```ts
 * const code = await runCli(['devices', '--tenant', 'acme', '--redis', 'redis://127.0.0.1:6379'], processIo());
 * ```
 */
export const devicesCommand: Command = {
  name: 'devices',
  summary: 'list access devices seen at Duo sign-ins, their trust status, last seen and by whom',
  usage:
    'duo-mfa devices --tenant T (--redis URL | --file FILE) [--prefix P] [--search ID] [--limit N] [--json]',
  help: `Reads the MFA outcomes express-duo-mfa recorded for a tenant and lists each access device: Duo's endpoint
key (or hostname), OS and browser, the trust status Duo last reported (trusted / not trusted / unknown), when
it was last seen and who used it. With --search, answers whether a device identifier (epkey, hostname or IP,
or a part of one) has been seen — the "have the devices synced?" look-up.

Options:
  --tenant T     the tenant id (required)
  --redis URL    the Redis the middleware writes to (its "redis" option), e.g. redis://127.0.0.1:6379
  --prefix P     the middleware's redisPrefix (default duo-mfa:)
  --file FILE    the middleware's deviceLogFile, for apps that run without Redis
  --search ID    only devices whose epkey, hostname or IP contains ID (case-insensitive)
  --limit N      read at most the N most recent outcomes (default 10000)
  --json         print { tenant, devices: [...] } as JSON
  --help         show this help

Exit codes: 0 listed (with --search: the device was seen), 1 not seen with --search or the store could not be
read, 2 usage error.`,
  options: {
    tenant: { type: 'string' },
    redis: { type: 'string' },
    prefix: { type: 'string' },
    file: { type: 'string' },
    search: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: [],

  async run({ values, io }) {
    const tenant = stringOption(values, 'tenant');
    if (tenant === undefined || tenant === '') throw new UsageError('--tenant T is required');
    const redisUrl = stringOption(values, 'redis');
    const file = stringOption(values, 'file');
    if ((redisUrl === undefined) === (file === undefined)) {
      throw new UsageError(
        'give either --redis URL (apps with Redis) or --file FILE (the deviceLogFile of an app without Redis)',
      );
    }
    const search = stringOption(values, 'search');
    const limit = integerOption(values, 'limit', 10_000, 1, 1_000_000);

    let devices: DeviceSummary[];
    let redis: { quit(): Promise<unknown>; disconnect(): void } | undefined;
    try {
      if (redisUrl !== undefined) {
        redis = await connect(redisUrl);
        devices = await readDeviceInsight({
          tenant,
          redis: redis as unknown as RedisLike,
          redisPrefix: stringOption(values, 'prefix') ?? 'duo-mfa:',
          search,
          limit,
        });
      } else {
        devices = await readDeviceInsight({ tenant, file: file!, search, limit });
      }
    } catch (error) {
      io.err(`duo-mfa devices: could not read device insight: ${(error as Error).message ?? String(error)}`);
      return EXIT.failed;
    } finally {
      if (redis) await redis.quit().catch(() => redis?.disconnect());
    }

    if (flagOption(values, 'json')) {
      io.out(
        json({ tenant, ...(search === undefined ? {} : { search, seen: devices.length > 0 }), devices }),
      );
    } else if (devices.length === 0) {
      io.out(
        search === undefined
          ? `No devices recorded for tenant ${tenant}.`
          : `Not seen: no device matching ${JSON.stringify(search)} in tenant ${tenant}.`,
      );
    } else {
      if (search !== undefined)
        io.out(`Seen: ${devices.length} device(s) matching ${JSON.stringify(search)} in tenant ${tenant}.\n`);
      io.out(
        table(
          ['DEVICE', 'OS', 'BROWSER', 'TRUST', 'LAST SEEN', 'USERS', 'ALLOWED/DENIED/BLOCKED'],
          devices.map((d) => [
            d.id,
            d.os ?? '-',
            d.browser ?? '-',
            d.trusted,
            d.lastSeen,
            d.users.join(', '),
            `${d.outcomes.allowed}/${d.outcomes.denied}/${d.outcomes.blocked}`,
          ]),
        ),
      );
    }
    return search !== undefined && devices.length === 0 ? EXIT.failed : EXIT.ok;
  },
};

/** Connects with ioredis (an optional peer dependency), failing fast when Redis does not answer. */
async function connect(url: string) {
  let Redis: typeof RedisClient;
  try {
    ({ Redis } = await import('ioredis'));
  } catch {
    throw new Error('the ioredis package is not installed: npm install ioredis');
  }
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
