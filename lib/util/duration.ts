// Durations as users write them in options: milliseconds, or "500ms", "30s", "15m", "12h", "7d".

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration into milliseconds, or returns undefined when it is not one.
 *
 * @example parseDuration('15m') // 900000
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/i.exec(value);
  if (!match) return undefined;
  const ms = Number(match[1]) * (UNITS[match[2]!.toLowerCase()] ?? NaN);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}
