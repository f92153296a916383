// Finds where each tenant sits in a policy file's bytes, without parsing it whole: one tenant can then be read alone.

/** One member of a JSON object: its key and where its value is (byte offsets, end exclusive). */
export interface ScannedMember {
  readonly key: string;
  /** Where the member starts (its key's opening quote). */
  readonly keyStart: number;
  readonly start: number;
  readonly end: number;
}

/** The layout of a policy file: the top-level members, and the members of `tenants` when it is an object. */
export interface ScannedPolicy {
  /** Top-level members other than `tenants`, in order; the last of duplicate keys wins, as with JSON.parse. */
  readonly head: readonly ScannedMember[];
  /** The `tenants` member: its value's span, and its members when it is an object. Undefined when absent. */
  readonly tenants:
    | {
        readonly start: number;
        readonly end: number;
        readonly members: readonly ScannedMember[] | undefined;
      }
    | undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/**
 * Scans the bytes of a policy file (UTF-8, an optional BOM) for its layout: the structure of the top level and
 * of `tenants` is checked strictly; every other value is only delimited (strings and nesting followed), to be
 * checked when it is parsed on its own. Returns undefined when the text is not a JSON object this scanner can
 * delimit: the caller then parses the whole text, which says exactly where it is broken.
 *
 * @example
 * ```ts
 * const layout = scanPolicy(readFileSync('duo-mfa.json'));
 * for (const tenant of layout?.tenants?.members ?? []) JSON.parse(buffer.toString('utf8', tenant.start, tenant.end));
 * ```
 */
export function scanPolicy(bytes: Buffer, known?: KnownEnd): ScannedPolicy | undefined {
  const p = skipSpace(bytes, hasBom(bytes) ? 3 : 0);
  if (bytes[p] !== OPEN_BRACE) return undefined;
  let inner: ScannedMember[] | undefined;
  // The tenants' members are delimited while the top level is: each tenant is then read once, not twice.
  const top = members(bytes, p + 1, (key, start) => {
    if (key !== 'tenants' || bytes[start] !== OPEN_BRACE) return skipValue(bytes, start);
    const found = members(bytes, start + 1, (tenant, at) => {
      const end = known?.(tenant, at);
      return end !== undefined && end > at && isSelfDelimited(bytes[at]) ? end : skipValue(bytes, at);
    });
    inner = found?.members;
    return found === undefined ? -1 : found.end;
  });
  if (top === undefined || skipSpace(bytes, top.end) !== bytes.length) return undefined;
  const byKey = lastByKey(top.members);
  const tenantsMember = byKey.get('tenants');
  byKey.delete('tenants');
  let tenants: ScannedPolicy['tenants'];
  if (tenantsMember !== undefined) {
    const { start, end } = tenantsMember;
    const object = bytes[start] === OPEN_BRACE;
    // With duplicate "tenants" keys, the last one wins: its members were the last delimited.
    tenants = { start, end, members: object && inner ? [...lastByKey(inner).values()] : undefined };
  }
  return { head: [...byKey.values()], tenants };
}

/**
 * Where a tenant's value ends when the caller already knows it (a re-scan that verified the bytes are those of the
 * previous version: their hash matches), else undefined. Only used for values that end by themselves (an object, a
 * list or a string: nothing valid can continue them), so a wrong guess cannot be read as valid JSON.
 */
export type KnownEnd = (key: string, start: number) => number | undefined;

function isSelfDelimited(first: number | undefined): boolean {
  return first === OPEN_BRACE || first === OPEN_BRACKET || first === QUOTE;
}

/** True when the bytes start with a UTF-8 byte order mark (Windows editors write one). */
export function hasBom(bytes: Buffer): boolean {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

/** JSON.parse keeps the first position of a duplicate key and the last value: so does this. */
function lastByKey(list: readonly ScannedMember[]): Map<string, ScannedMember> {
  const out = new Map<string, ScannedMember>();
  for (const member of list) {
    const first = out.get(member.key);
    out.set(member.key, first === undefined ? member : { ...member, keyStart: first.keyStart });
  }
  return out;
}

/**
 * The members of an object whose `{` is just before `p`, and the offset after its `}`; undefined when the object's
 * own structure (keys, colons, commas) is not valid JSON. `valueEnd` delimits each value (-1: broken).
 */
function members(
  bytes: Buffer,
  p: number,
  valueEnd: (key: string, start: number) => number,
): { members: ScannedMember[]; end: number } | undefined {
  const out: ScannedMember[] = [];
  p = skipSpace(bytes, p);
  if (bytes[p] === CLOSE_BRACE) return { members: out, end: p + 1 };
  for (;;) {
    if (bytes[p] !== QUOTE) return undefined;
    const keyStart = p;
    const keyEnd = skipString(bytes, p);
    if (keyEnd < 0) return undefined;
    const key = decodeKey(bytes, keyStart, keyEnd);
    if (key === undefined) return undefined;
    p = skipSpace(bytes, keyEnd);
    if (bytes[p] !== COLON) return undefined;
    const start = skipSpace(bytes, p + 1);
    const end = valueEnd(key, start);
    if (end <= start) return undefined;
    out.push({ key, keyStart, start, end });
    p = skipSpace(bytes, end);
    if (bytes[p] === CLOSE_BRACE) return { members: out, end: p + 1 };
    if (bytes[p] !== COMMA) return undefined;
    p = skipSpace(bytes, p + 1);
  }
}

function decodeKey(bytes: Buffer, start: number, end: number): string | undefined {
  try {
    return JSON.parse(
      Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8'),
    ) as string;
  } catch {
    return undefined;
  }
}

function skipSpace(bytes: Buffer, p: number): number {
  for (;;) {
    const c = bytes[p];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return p;
    p++;
  }
}

/**
 * The offset after the string whose opening quote is at `p`, or -1 when it never closes. Buffer.indexOf finds
 * the next quote natively (most of a policy file is strings: this is where the scan spends its time).
 */
function skipString(bytes: Buffer, p: number): number {
  for (;;) {
    const quote = bytes.indexOf(QUOTE, p + 1);
    if (quote < 0) return -1;
    let backslashes = 0;
    for (let k = quote - 1; bytes[k] === BACKSLASH; k--) backslashes++;
    if ((backslashes & 1) === 0) return quote + 1; // an escaped quote has an odd number of backslashes before it
    p = quote;
  }
}

/**
 * The offset after the value starting at `p` (an object, a list, a string or a literal), following strings and
 * nesting only; -1 when it never ends. What is inside is checked by whoever parses the value.
 */
function skipValue(bytes: Buffer, p: number): number {
  const length = bytes.length;
  const first = bytes[p];
  if (first === QUOTE) return skipString(bytes, p);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    // A literal or number: up to the next delimiter.
    while (p < length) {
      const c = bytes[p];
      if (
        c === COMMA ||
        c === CLOSE_BRACE ||
        c === CLOSE_BRACKET ||
        c === 0x20 ||
        c === 0x0a ||
        c === 0x0d ||
        c === 0x09
      )
        break;
      if (c === QUOTE || c === OPEN_BRACE || c === OPEN_BRACKET || c === COLON) return -1;
      p++;
    }
    return p;
  }
  let depth = 0;
  for (; p < length; p++) {
    const c = bytes[p];
    if (c === QUOTE) {
      p = skipString(bytes, p) - 1;
      if (p < 0) return -1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (--depth === 0) return p + 1;
    }
  }
  return -1;
}
