// `duo-mfa devices --tenant T`: device insight — access devices seen, their trust status and what vouched for
// them, last seen, by whom; with --search, whether an identifier has been seen, and how it was trusted.

import type { Redis as RedisClient } from 'ioredis';
import { managerName } from '../../devices/managers';
import type { DeviceSummary } from '../../devices/insight';
import { listDeviceTenants, readDeviceInsight, type RedisScanner } from '../../devices/read';
import type { RedisLike } from '../../stores/types';
import { EXIT, UsageError, flagOption, integerOption, stringOption, type Command } from '../command';
import { json, peopleDate, table } from '../io';

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
  summary:
    'list access devices seen at Duo sign-ins, their trust status, what vouched for them, last seen and by whom',
  usage:
    'duo-mfa devices --tenant T (--redis URL | --file FILE) [--prefix P] [--search ID] [--limit N] [--json]',
  help: `Reads the MFA outcomes express-duo-mfa recorded for a tenant and lists each access device: Duo's endpoint
key (or hostname), OS and browser, the trust status Duo last reported (trusted / not trusted / unknown) and,
when trusted, what vouched for it (Duo Mobile, Duo Desktop, or a device-management integration such as Ivanti
Neurons for MDM), when it was last seen and who used it.

With --search, answers whether a device identifier (epkey, hostname or IP, or a part of one) has been seen, and
if so whether Duo trusted it and how: the "has this device synced?" look-up. Dates are shown as
"30 Jun 2027, 00:00 UTC"; --json gives them in ISO 8601.

Options:
  --tenant T     the tenant id (required)
  --redis URL    the Redis the middleware writes to (its "redis" option), e.g. redis://127.0.0.1:6379
  --prefix P     the middleware's redisPrefix (default duo-mfa:)
  --file FILE    the middleware's deviceLogFile, for apps that run without Redis
  --search ID    only devices whose epkey, hostname or IP contains ID (case-insensitive)
  --limit N      read at most the N most recent outcomes (default 10000)
  --json         print { tenant, devices: [...] } as JSON
  --help         show this help

Exit codes: 0 listed (with --search: the device was seen), 1 the tenant has no records (the tenants that have
some are named), not seen with --search, or the store could not be read, 2 usage error.`,
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
    const prefix = stringOption(values, 'prefix') ?? 'duo-mfa:';

    let devices: DeviceSummary[];
    let tenantsWithRecords: string[] | undefined;
    let redis: RedisClient | undefined;
    try {
      if (redisUrl !== undefined) {
        redis = await connect(redisUrl);
        const source = { redis: redis as unknown as RedisLike & RedisScanner, redisPrefix: prefix };
        devices = await readDeviceInsight({ tenant, ...source, search, limit });
        if (devices.length === 0) tenantsWithRecords = await listDeviceTenants(source);
      } else {
        devices = await readDeviceInsight({ tenant, file: file!, search, limit });
        if (devices.length === 0) tenantsWithRecords = await listDeviceTenants({ file: file! });
      }
    } catch (error) {
      io.err(`duo-mfa devices: could not read device insight: ${(error as Error).message ?? String(error)}`);
      return EXIT.failed;
    } finally {
      if (redis) await redis.quit().catch(() => redis?.disconnect());
    }

    // A tenant without a single record is almost always a typo: say so, and which tenants do have records.
    if (tenantsWithRecords !== undefined && !tenantsWithRecords.includes(tenant)) {
      const known =
        tenantsWithRecords.length === 0
          ? 'no tenant has records yet'
          : `tenants with records: ${tenantsWithRecords.map(printable).join(', ')}`;
      io.err(`duo-mfa devices: no records for tenant '${printable(tenant)}' (${known})`);
      return EXIT.failed;
    }

    if (flagOption(values, 'json')) {
      io.out(
        json({ tenant, ...(search === undefined ? {} : { search, seen: devices.length > 0 }), devices }),
      );
    } else if (search !== undefined) {
      if (devices.length === 0) {
        io.out(`Not seen: no device matching ${JSON.stringify(search)} in tenant ${printable(tenant)}.`);
      } else {
        io.out(
          `Seen: ${devices.length} device(s) matching ${JSON.stringify(search)} in tenant ${printable(tenant)}.`,
        );
        for (const device of devices) io.out(describeDevice(device));
      }
    } else {
      io.out(
        table(
          ['DEVICE', 'OS', 'BROWSER', 'TRUST', 'LAST SEEN', 'USERS', 'ALLOWED/DENIED/BLOCKED'],
          devices.map((d) => [
            printable(d.id),
            printable(d.os ?? '-'),
            printable(d.browser ?? '-'),
            trustText(d),
            peopleDate(d.lastSeen, '-'),
            d.users.map(printable).join(', '),
            `${d.outcomes.allowed}/${d.outcomes.denied}/${d.outcomes.blocked}`,
          ]),
        ),
      );
    }
    return search !== undefined && devices.length === 0 ? EXIT.failed : EXIT.ok;
  },
};

/**
 * One sentence answering "has this device been seen, was it trusted, and how": e.g. `EP0123… (LAPTOP-42,
 * Windows 11) was last seen 30 Jun 2027, 00:00 UTC by erin: trusted, vouched for by Ivanti Neurons for MDM.
 * 3 sign-ins: 3 allowed, 0 denied, 0 blocked.`
 *
 * @example
 * ```ts
 * io.out(describeDevice(devices[0]));
 * ```
 */
export function describeDevice(device: DeviceSummary): string {
  const details = [device.hostname && device.hostname !== device.id ? device.hostname : undefined, device.os]
    .filter((part): part is string => part !== undefined)
    .map(printable);
  const name = `${printable(device.id)}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
  const users = device.users.map(printable).join(', ');
  const trust =
    device.trusted === 'trusted'
      ? device.vouchedBy
        ? `trusted, vouched for by ${printable(managerName(device.vouchedBy))}`
        : 'trusted (Duo did not say what vouched for it)'
      : device.trusted === 'not trusted'
        ? 'not trusted (nothing vouched for it)'
        : 'trust unknown (no Trusted Endpoints result from Duo)';
  const { allowed, denied, blocked } = device.outcomes;
  const total = allowed + denied + blocked;
  return `${name} was last seen ${peopleDate(device.lastSeen, '-')} by ${users}: ${trust}. ${total} sign-in${
    total === 1 ? '' : 's'
  }: ${allowed} allowed, ${denied} denied, ${blocked} blocked.`;
}

function trustText(device: DeviceSummary): string {
  return device.trusted === 'trusted' && device.vouchedBy
    ? `trusted (${printable(managerName(device.vouchedBy))})`
    : device.trusted;
}

/** Text from records (files people can edit) without control characters, so it cannot rewrite the terminal. */
function printable(text: string): string {
  let out = '';
  for (const char of text.slice(0, 256)) {
    const code = char.codePointAt(0) ?? 0;
    out += code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029 ? '?' : char;
  }
  return out;
}

/** Connects with ioredis (an optional peer dependency), failing fast when Redis does not answer. */
async function connect(url: string): Promise<RedisClient> {
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
