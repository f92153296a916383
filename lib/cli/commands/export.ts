// `duo-mfa export --redis URL [--out FILE|DIR]`: write the policy kept in Redis back out as a file or a directory.

import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DuoMfaError } from '../../errors';
import { DEFAULTS_FILE, TENANT_FILE_ID } from '../../policy/dir-source';
import { atomicWrite } from '../../policy/file-jobs';
import { exportPolicy, type PolicyRedis } from '../../policy/redis';
import type { Cluster, Redis } from 'ioredis';
import { EXIT, stringOption, UsageError, type Command } from '../command';

/** A Redis connection a command opened, and how to let it go. */
export interface PolicyConnection {
  readonly redis: PolicyRedis;
  readonly close: () => Promise<void>;
}

/** redisPolicy()'s default prefix. */
export const DEFAULT_POLICY_PREFIX = 'duo-mfa:policy';

/**
 * `duo-mfa export --redis URL [--prefix P] [--out FILE|DIR]` (see its `help` text for every option and the exit codes).
 *
 * @example
 * ```ts
 * const code = await runCli(['export', '--redis', 'redis://127.0.0.1:6379', '--out', 'duo-mfa.d'], processIo());
 * ```
 */
export const exportCommand: Command = {
  name: 'export',
  summary: 'write the policy kept in Redis out as one file or a directory',
  usage: 'duo-mfa export --redis URL [--prefix P] [--out FILE|DIR]',
  help: `Reads the policy redisPolicy() keeps in Redis under the prefix P and writes it out: with --out FILE (a name
ending in .json, or an existing file) as one policy file; with --out DIR as a policy directory (one <tenantId>.json
per tenant and _defaults.json; DIR must be new or hold no .json file); without --out, as one policy file on
standard output. Tenants are written exactly as stored ({ "env" } references and encrypted secrets as they are),
as 2-space JSON.

Options:
  --redis URL    the Redis (or one node of a Redis Cluster) the instances use
  --prefix P     redisPolicy's prefix (default ${DEFAULT_POLICY_PREFIX})
  --out PATH     where to write (a .json file, or a directory); default: standard output
  --help         show this help

Exit codes: 0 written, 1 nothing to export or Redis unreachable or PATH unusable, 2 usage error.`,
  options: { redis: { type: 'string' }, prefix: { type: 'string' }, out: { type: 'string' } },
  positionals: [],

  async run({ values, io }) {
    const url = stringOption(values, 'redis');
    if (url === undefined || url === '') throw new UsageError('--redis URL is required');
    const prefix = stringOption(values, 'prefix') ?? DEFAULT_POLICY_PREFIX;
    const out = stringOption(values, 'out');

    const connection = await connectPolicyRedis(url);
    let exported: Awaited<ReturnType<typeof exportPolicy>>;
    try {
      exported = await exportPolicy(connection.redis, prefix);
    } finally {
      await connection.close();
    }
    const { head, tenants } = exported;
    if (tenants.size === 0) {
      io.err(
        `duo-mfa export: no policy under the prefix ${prefix} in ${redisLabel(url)} (import one with duo-mfa import)`,
      );
      return EXIT.failed;
    }

    if (out !== undefined && isDirectoryTarget(out)) {
      const bad = [...tenants.keys()].filter((id) => !TENANT_FILE_ID.test(id));
      if (bad.length > 0) {
        io.err(
          `duo-mfa export: these tenant ids cannot be file names in a policy directory: ${bad.map((id) => JSON.stringify(id)).join(', ')} — export to a .json file instead`,
        );
        return EXIT.failed;
      }
      if (existsSync(out) && readdirSync(out).some((name) => name.endsWith('.json'))) {
        io.err(`duo-mfa export: ${out} already holds .json files: export to a new or empty directory`);
        return EXIT.failed;
      }
      mkdirSync(out, { recursive: true });
      if (Object.keys(head).length > 0) await atomicWrite(join(out, DEFAULTS_FILE), text(head));
      for (const [id, raw] of tenants) await atomicWrite(join(out, `${id}.json`), text(raw));
      io.err(`Wrote ${tenants.size} tenant file${tenants.size === 1 ? '' : 's'} to ${out}.`);
      return EXIT.ok;
    }

    const document = text({ ...head, tenants: Object.fromEntries(tenants) });
    if (out === undefined) io.out(document.toString('utf8').trimEnd());
    else {
      await atomicWrite(out, document);
      io.err(`Wrote ${tenants.size} tenant${tenants.size === 1 ? '' : 's'} to ${out}.`);
    }
    return EXIT.ok;
  },
};

/** --out names a directory unless it ends in .json or is an existing file. */
function isDirectoryTarget(out: string): boolean {
  const stats = statSync(out, { throwIfNoEntry: false });
  if (stats) return stats.isDirectory();
  return !out.endsWith('.json');
}

function text(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
}

/**
 * Connects to Redis with ioredis (an optional peer dependency), failing fast when it does not answer; a URL with
 * several nodes separated by commas connects to a Redis Cluster.
 *
 * @example
 * ```ts
 * const { redis, close } = await connectPolicyRedis('redis://127.0.0.1:6379');
 * ```
 */
export async function connectPolicyRedis(url: string): Promise<PolicyConnection> {
  let ioredis: { Redis: typeof Redis; Cluster: typeof Cluster };
  try {
    const loaded = await import('ioredis');
    ioredis = { Redis: loaded.Redis, Cluster: loaded.Cluster };
  } catch {
    throw new UsageError('the ioredis package is not installed: npm install ioredis');
  }
  const nodes = url.split(',').map((part) => part.trim());
  const options = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
  };
  if (nodes.length > 1) {
    const cluster = new ioredis.Cluster(
      nodes.map((node) => {
        if (!URL.canParse(node)) throw new UsageError(`--redis: ${redisLabel(node)} is not a redis:// URL`);
        const parsed = new URL(node);
        return { host: parsed.hostname, port: Number(parsed.port || 6379) };
      }),
      { lazyConnect: true, enableOfflineQueue: true, redisOptions: { connectTimeout: 3000 } },
    );
    cluster.on('error', () => undefined);
    await cluster.connect().catch((error: unknown) => {
      cluster.disconnect();
      throw unreachable(url, error);
    });
    return {
      redis: cluster as unknown as PolicyRedis,
      close: async () => void (await cluster.quit().catch(() => cluster.disconnect())),
    };
  }
  const client = new ioredis.Redis(url, { ...options, retryStrategy: () => null });
  client.on('error', () => undefined);
  await client.connect().catch((error: unknown) => {
    client.disconnect();
    throw unreachable(url, error);
  });
  return {
    redis: client as unknown as PolicyRedis,
    close: async () => void (await client.quit().catch(() => client.disconnect())),
  };
}

function unreachable(url: string, error: unknown): DuoMfaError {
  return new DuoMfaError(
    'ERR_POLICY_UNAVAILABLE',
    `Redis at ${redisLabel(url)} cannot be reached: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}

/**
 * A --redis URL as the CLI prints it: each node's password replaced with ***, since these commands run in deploy
 * jobs whose logs are kept.
 *
 * @example
 * ```ts
 * redisLabel('redis://:s3cret@10.0.0.5:6379'); // 'redis://:***@10.0.0.5:6379'
 * ```
 */
export function redisLabel(url: string): string {
  return url
    .split(',')
    .map((node) => {
      const trimmed = node.trim();
      if (!URL.canParse(trimmed)) return '(a value that is not a URL)';
      const parsed = new URL(trimmed);
      if (parsed.password !== '') parsed.password = '***';
      return parsed.toString();
    })
    .join(',');
}
