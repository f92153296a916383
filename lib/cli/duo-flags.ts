// What every command that calls Duo shares: the --ca, --proxy and --timeout flags, and the --tenant look-up.

import { readFileSync } from 'node:fs';
import { parseProxyUrl } from '../duo/transport';
import type { CompiledTenant } from '../policy/types';
import { didYouMean } from '../util/names';
import { UsageError, integerOption, stringOption, type OptionValues } from './command';

/** The flags' parseArgs definitions, for a command's `options`. */
export const DUO_FLAGS = {
  ca: { type: 'string' },
  proxy: { type: 'string' },
  timeout: { type: 'string' },
} as const;

/** How a command reaches Duo, from its flags. */
export interface DuoFlags {
  readonly timeoutMs: number;
  /** The `--ca` path as given (for hints), and its PEM. */
  readonly caPath: string | undefined;
  readonly ca: string | undefined;
  readonly proxy: string | undefined;
}

/**
 * `--timeout MS` (default 5000), `--ca FILE` read as a PEM and `--proxy URL` checked as `duoProxy` would; a
 * UsageError saying what is wrong otherwise (proxy credentials masked).
 *
 * @example
 * ```ts
 * const { timeoutMs, ca, proxy } = readDuoFlags(values);
 * ```
 */
export function readDuoFlags(values: OptionValues): DuoFlags {
  const caPath = stringOption(values, 'ca');
  return {
    timeoutMs: integerOption(values, 'timeout', 5000, 1, 600_000),
    caPath,
    ca: readCa(caPath),
    proxy: readProxy(stringOption(values, 'proxy')),
  };
}

/**
 * The tenant `--tenant` names, or a UsageError with the closest id ("did you mean") or the first ones.
 *
 * @example
 * ```ts
 * const tenant = pickTenant(policy.tenants, 'acmee'); // UsageError: … did you mean "acme"?
 * ```
 */
export function pickTenant(tenants: ReadonlyMap<string, CompiledTenant>, wanted: string): CompiledTenant {
  const tenant = tenants.get(wanted);
  if (tenant) return tenant;
  const hint = didYouMean(wanted, tenants.keys());
  const known = [...tenants.keys()].slice(0, 10).join(', ');
  throw new UsageError(
    `tenant ${JSON.stringify(wanted)} is not in the policy${hint ? ` — did you mean ${JSON.stringify(hint)}?` : ` (tenants: ${known})`}`,
  );
}

function readCa(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(`--ca ${path} cannot be read (${code})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(`--ca ${path} is not a PEM certificate (no "-----BEGIN CERTIFICATE-----")`);
  }
  return pem;
}

function readProxy(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    parseProxyUrl(url, '--proxy');
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  return url;
}
