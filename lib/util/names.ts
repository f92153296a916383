// Name handling shared by the policy and the middleware: one canonical form, and "did you mean" hints.

/** Printable ASCII: already in NFKC form, so the common case skips normalize(). */
const PLAIN_ASCII = /^[\x20-\x7e]*$/;

/**
 * Names canonicalName() returns unchanged, by the ASCII rule: printable ASCII (NFKC changes nothing), no
 * upper-case letter (lower-casing changes nothing), no space at either end (the only printable ASCII character
 * trim() removes). Anything else takes the full path.
 */
const CANONICAL_ASCII = /^(?:[\x21-\x40\x5b-\x7e](?:[\x20-\x40\x5b-\x7e]*[\x21-\x40\x5b-\x7e])?)?$/;

/** Strings JSON.stringify() only wraps in quotes: printable ASCII without `"` (0x22) and `\` (0x5c). */
const QUOTABLE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * The canonical form of a username or role: NFKC-normalised, trimmed and lower-cased (locale-independent). Policy
 * lists, decisions, the Duo username, session bindings and the push-fatigue limit all use this one function, so
 * " Alice", "ALICE" and the fullwidth "ａｌｉｃｅ" can never become different people (S20, S46).
 *
 * @example canonicalName(' ＡＬＩＣＥ ') // 'alice'
 */
export function canonicalName(value: string): string {
  // Runs several times per request (username, each role): a name already in canonical form — the usual case —
  // is returned as it is after one regular-expression test, instead of a test, trim() and toLowerCase().
  if (CANONICAL_ASCII.test(value)) return value;
  const normal = PLAIN_ASCII.test(value) ? value : value.normalize('NFKC');
  return normal.trim().toLowerCase();
}

/**
 * `JSON.stringify(value)`, without its cost for the common case: printable ASCII with no `"` or `\` is only
 * wrapped in quotes. decide() quotes a name in the detail of every decision.
 *
 * @example quoted('alice') // '"alice"'
 */
export function quoted(value: string): string {
  return QUOTABLE.test(value) ? `"${value}"` : JSON.stringify(value);
}

/**
 * True when `value` holds an invisible character — Unicode category Cf (zero-width spaces and joiners,
 * bidirectional marks, soft hyphens…) or any Default_Ignorable_Code_Point (variation selectors, the combining
 * grapheme joiner, Hangul fillers…) — before or after NFKC. Such usernames are refused (S46): "alice\u200b" must
 * never become a second, unenrolled Duo user beside "alice".
 *
 * @example hasInvisibleCharacters('alice\u200b') // true
 */
export function hasInvisibleCharacters(value: string): boolean {
  return !PLAIN_ASCII.test(value) && (INVISIBLE.test(value) || INVISIBLE.test(value.normalize('NFKC')));
}

const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;

/** The closest of `candidates` to `input` when it is a plausible typo (edit distance ≤ 2, or ≤ a third). */
export function didYouMean(input: string, candidates: Iterable<string>): string | undefined {
  const wanted = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  const allowed = Math.max(2, Math.floor(best.length / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** Levenshtein distance with adjacent transpositions counted as one edit. */
function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => {
    const row = new Array<number>(cols).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j < cols; j++) d[0]![j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        value = Math.min(value, d[i - 2]![j - 2]! + 1);
      d[i]![j] = value;
    }
  }
  return d[a.length]![b.length]!;
}

/** True when `value` holds a C0/C1 control character or DEL (tabs and newlines included). */
export function hasControlCharacters(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}
