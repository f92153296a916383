// A real Redis for integration tests (127.0.0.1:6379). Under CI=true a missing Redis fails the test; locally it skips.

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A connected ioredis client configured to fail fast, as the README recommends. */
export async function connectRedis(url = REDIS_URL): Promise<Redis> {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2000,
    connectTimeout: 2000,
    lazyConnect: true,
    retryStrategy: (times) => (times > 50 ? null : 100),
  });
  client.on('error', () => undefined); // reported through failed commands
  await client.connect();
  return client;
}

/**
 * Connects to the test Redis, or skips the suite when Redis is absent — except under CI=true, where a missing
 * Redis is a failure, never a skip.
 */
export async function redisOrSkip(context: Mocha.Context): Promise<Redis> {
  try {
    return await connectRedis();
  } catch (error) {
    if (process.env.CI === 'true')
      throw new Error(`Redis is required under CI=true (${REDIS_URL}): ${String(error)}`, { cause: error });
    context.skip();
  }
}

/** A key prefix unique to this run, and a cleaner for it. */
export function uniquePrefix(name: string): string {
  return `test:${name}:${randomBytes(4).toString('hex')}:`;
}

export async function deleteKeys(client: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}
