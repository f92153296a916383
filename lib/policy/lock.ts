// A lock file beside a policy file, so two processes never interleave the read-check-write of a settings change.

import { randomBytes } from 'node:crypto';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { DuoMfaError } from '../errors';

/** How long a writer waits for another one before giving up. */
const WAIT_MS = 10_000;
/** A lock older than this is taken over whatever it says (its writer hung or its machine is gone). */
const STALE_MS = 60_000;

/**
 * Runs `task` while holding `.<name>.lock` in the target's directory (created exclusively: O_EXCL), so writers in
 * other processes wait their turn. A lock left by a writer that died (same host, its process gone) or older than a
 * minute is taken over. Waiting longer than 10 s rejects with ERR_SETTINGS_CONFLICT (nothing was written).
 *
 * @example
 * ```ts
 * await withFileLock('/etc/app/duo-mfa.json', async () => { read(); check(); write(); });
 * ```
 */
export async function withFileLock<T>(target: string, task: () => Promise<T>): Promise<T> {
  const lock = join(dirname(target), `.${basename(target)}.lock`);
  const token = `${process.pid} ${hostname()} ${randomBytes(6).toString('hex')}`;
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      try {
        await handle.writeFile(token);
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await takeOverIfStale(lock)) continue;
    if (Date.now() > deadline) {
      throw new DuoMfaError(
        'ERR_SETTINGS_CONFLICT',
        `another writer has held ${lock} for more than ${WAIT_MS / 1000} s: nothing was written, try again`,
        { details: { lock } },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
  }
  try {
    return await task();
  } finally {
    // Only our own lock: if it was taken over meanwhile (we hung past STALE_MS), the new holder keeps theirs.
    if ((await readFile(lock, 'utf8').catch(() => '')) === token) await unlink(lock).catch(() => undefined);
  }
}

/** A takeover marker older than this belongs to a waiter that died mid-takeover. */
const TAKEOVER_STALE_MS = 5_000;

/**
 * Removes a lock whose writer is gone; true when it was gone or removed (the caller tries again at once). Only one
 * waiter at a time may take a lock over (an O_EXCL marker beside it): two waiters re-reading and removing at once
 * could otherwise remove a fresh lock that one of them had just created, and let two writers in.
 */
async function takeOverIfStale(lock: string): Promise<boolean> {
  let content: string;
  let age: number;
  try {
    content = await readFile(lock, 'utf8');
    age = Date.now() - (await stat(lock)).mtimeMs;
  } catch {
    return true; // released meanwhile
  }
  const [pid, host] = content.split(' ');
  const dead = host === hostname() && pid !== undefined && !processAlive(Number(pid));
  if (!dead && age < STALE_MS) return false;
  const marker = `${lock}.takeover`;
  try {
    await (await open(marker, 'wx')).close();
  } catch {
    // Another waiter is taking over: wait our turn (unless that waiter died mid-takeover).
    const markerAge = await stat(marker).then(
      (stats) => Date.now() - stats.mtimeMs,
      () => 0,
    );
    if (markerAge > TAKEOVER_STALE_MS) await unlink(marker).catch(() => undefined);
    return false;
  }
  try {
    // Still the stale lock we judged (not one a writer created since): remove it.
    if ((await readFile(lock, 'utf8').catch(() => '')) === content) await unlink(lock).catch(() => undefined);
  } finally {
    await unlink(marker).catch(() => undefined);
  }
  return true;
}

function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}
