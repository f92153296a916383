// Times as people read them: one format for the CLI's text output and the middleware's own pages.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A time as people read it in the CLI's text output and the middleware's pages: `30 Jun 2027, 00:00 UTC` (--json keeps ISO 8601).
 * `invalid` is shown for a time that is not one (default: the value as given).
 *
 * @example
 * ```ts
 * peopleDate('2027-06-30T00:00:00.000Z'); // '30 Jun 2027, 00:00 UTC'
 * peopleDate(Date.parse('2026-05-30T08:00:00Z')); // '30 May 2026, 08:00 UTC'
 * ```
 */
export function peopleDate(time: string | number, invalid = String(time)): string {
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return invalid;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]!} ${date.getUTCFullYear()}, ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
}
