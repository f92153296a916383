// `duo-mfa import SOURCE --redis URL`: load a policy file or directory into Redis, validated first.

import { importPolicy } from '../../policy/redis';
import { EXIT, flagOption, stringOption, UsageError, type Command } from '../command';
import { json } from '../io';
import { describeIssues, readPolicyForCli } from '../policy-file';
import { connectPolicyRedis, DEFAULT_POLICY_PREFIX, redisLabel } from './export';

/**
 * `duo-mfa import SOURCE --redis URL [--prefix P] [--json]` (see its `help` text for every option and the exit codes).
 *
 * @example
 * ```ts
 * const code = await runCli(['import', 'duo-mfa.d', '--redis', 'redis://127.0.0.1:6379'], processIo());
 * ```
 */
export const importCommand: Command = {
  name: 'import',
  summary: 'load a policy file or directory into Redis (for redisPolicy), validated first',
  usage: 'duo-mfa import SOURCE --redis URL [--prefix P] [--json]',
  help: `Validates SOURCE (a policy file or directory) as "duo-mfa check" does, and only when it is valid writes it
into Redis under the prefix redisPolicy() reads: one key per tenant, the index, the defaults and a revision, all
under the hash tag {P}. Redis then holds exactly SOURCE: tenants that are not in it are removed. Every instance
is notified once and reloads what changed. An invalid SOURCE writes nothing and lists every problem.

{ "env": "NAME" } secrets are not read (the instances read them); { "encrypted" } secrets are checked with
DUO_MFA_SECRETS_KEY when it is set.

Options:
  --redis URL    the Redis (or one node of a Redis Cluster) the instances use, e.g. redis://127.0.0.1:6379
  --prefix P     redisPolicy's prefix (default ${DEFAULT_POLICY_PREFIX})
  --json         print { ok, errors, added, changed, removed, unchanged } as JSON
  --help         show this help

Exit codes: 0 imported, 1 invalid SOURCE (nothing written) or Redis unreachable, 2 usage error.`,
  options: { redis: { type: 'string' }, prefix: { type: 'string' }, json: { type: 'boolean' } },
  positionals: ['SOURCE'],

  async run({ values, positionals, io }) {
    const source = positionals[0]!;
    const url = stringOption(values, 'redis');
    if (url === undefined || url === '') throw new UsageError('--redis URL is required');
    const prefix = stringOption(values, 'prefix') ?? DEFAULT_POLICY_PREFIX;
    const asJson = flagOption(values, 'json');

    const result = readPolicyForCli(source, { env: io.env, secrets: 'skip-env' });
    if (!result.ok) {
      if (asJson) io.out(json({ ok: false, errors: result.issues }));
      else io.err(`${describeIssues(result.issues, source)}\nNothing was written to Redis.`);
      return EXIT.failed;
    }
    for (const note of result.notes) io.err(`note: ${note}`);

    const connection = await connectPolicyRedis(url);
    const { redis } = connection;
    try {
      const outcome = await importPolicy(redis, prefix, result.raw.head, result.raw.tenants);
      if (asJson) io.out(json({ ok: true, errors: [], ...outcome }));
      else {
        const count = result.raw.tenants.size;
        io.out(
          `Imported ${count} tenant${count === 1 ? '' : 's'} from ${source} into ${redisLabel(url)} (prefix ${prefix}): ` +
            `${outcome.added.length} added, ${outcome.changed.length} changed, ${outcome.removed.length} removed, ` +
            `${outcome.unchanged} unchanged.`,
        );
      }
      return EXIT.ok;
    } finally {
      await connection.close();
    }
  },
};
