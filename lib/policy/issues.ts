// Turns validation problems into PolicyIssues: dotted JSON paths, messages that say what is allowed, one error.

import type { z } from 'zod';
import { DuoMfaError } from '../errors';
import { didYouMean } from '../util/names';
import type { PolicyIssue } from './types';

/** The path of the whole document (a file that is empty, not JSON, or not an object). */
export const ROOT_PATH = '$';

const SIMPLE_KEY = /^[\w$-]+$/;

/**
 * A JSON path as people read it: `tenants.acme.mfa.temporaryBypass[0].until`; keys that are not simple words
 * are quoted, `tenants["acme corp"].failmode`. The empty path is `$` (the whole document).
 *
 * @example
 * ```ts
 * formatPath(['tenants', 'acme', 'mfa', 'temporaryBypass', 0, 'until']); // 'tenants.acme.mfa.temporaryBypass[0].until'
 * ```
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      if (SIMPLE_KEY.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out === '' ? ROOT_PATH : out;
}

/**
 * A short, safe description of a value for "(got …)": strings quoted and cut at 40 characters, lists and
 * objects named rather than printed. Never use it on secrets.
 *
 * @example
 * ```ts
 * describeValue('opne'); // '"opne"'
 * describeValue([1, 2]); // 'a list'
 * ```
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    if (value.length <= 40) return JSON.stringify(value);
    return `${JSON.stringify(value.slice(0, 40))}… (${value.length} characters)`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value === 'object' ? 'JSON object' : typeof value}`;
}

/**
 * Quoted values joined for a sentence.
 *
 * @example
 * ```ts
 * orList(['off', 'monitor', 'block']); // '"off", "monitor" or "block"'
 * ```
 */
export function orList(values: readonly unknown[]): string {
  const quoted = values.map((value) => JSON.stringify(value));
  if (quoted.length <= 1) return quoted.join('');
  return `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}

/**
 * The message for a value outside a fixed set, with a typo hint.
 *
 * @example
 * ```ts
 * oneOfMessage(['closed', 'open'], 'opne'); // 'must be "closed" or "open" (got "opne") — did you mean "open"?'
 * ```
 */
export function oneOfMessage(values: readonly string[], input: unknown): string {
  const hint = typeof input === 'string' ? didYouMean(input, values) : undefined;
  return `must be ${orList(values)} (got ${describeValue(input)})${hint ? ` — did you mean "${hint}"?` : ''}`;
}

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list (JSON array)',
  object: 'a JSON object',
  record: 'a JSON object',
};

/**
 * The error map used when parsing a policy file: plain messages that say what is allowed and what was found.
 * Schema-level messages (set in schema.ts) take precedence over it.
 *
 * @example
 * ```ts
 * PolicyFileSchema.safeParse(raw, { error: policyErrorMap });
 * ```
 */
export const policyErrorMap: z.core.$ZodErrorMap = (issue) => {
  const input: unknown = issue.input;
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (input === undefined) return `is required (${expected})`;
      if (issue.expected === 'int' && typeof input === 'number')
        return `must be a whole number (got ${input})`;
      return `must be ${expected} (got ${describeValue(input)})`;
    }
    case 'too_small':
      return sizeMessage('at least', issue.origin, Number(issue.minimum), issue.exact, input);
    case 'too_big':
      return sizeMessage('at most', issue.origin, Number(issue.maximum), issue.exact, input);
    case 'invalid_value':
      return oneOfMessage(issue.values.map(String), input);
    case 'invalid_format':
      return `is not in the expected format (got ${describeValue(input)})`;
    case 'unrecognized_keys':
      return 'unknown key';
    case 'invalid_union':
      return `is not any of the allowed forms (got ${describeValue(input)})`;
    default:
      return undefined;
  }
};

function sizeMessage(
  bound: 'at least' | 'at most',
  origin: string,
  limit: number,
  exact: boolean | undefined,
  input: unknown,
): string {
  if (origin === 'string') {
    const length = typeof input === 'string' ? input.length : 0;
    if (exact) return `must be ${limit} characters (got ${length})`;
    if (bound === 'at least' && limit === 1) return 'must not be empty';
    return `must be ${bound} ${limit} characters (got ${length})`;
  }
  if (origin === 'array') {
    const count = Array.isArray(input) ? input.length : 0;
    return `must have ${bound} ${limit} ${limit === 1 ? 'entry' : 'entries'} (got ${count})`;
  }
  return `must be ${bound} ${limit} (got ${describeValue(input)})`;
}

/** What issuesFromZod needs to know about the schema: the keys allowed in the object at a path. */
export type AllowedKeys = (path: readonly PropertyKey[]) => readonly string[];

/**
 * Flattens zod's issues into PolicyIssues: one per unknown key (with "did you mean"), one per bad record key.
 *
 * @example
 * ```ts
 * const result = PolicyFileSchema.safeParse(raw, { error: policyErrorMap });
 * if (!result.success) issuesFromZod(result.error.issues, allowedKeysAt);
 * ```
 */
export function issuesFromZod(issues: readonly z.core.$ZodIssue[], allowedKeys: AllowedKeys): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(issue.path);
      for (const key of issue.keys) {
        out.push({ path: formatPath([...issue.path, key]), message: unknownKeyMessage(key, allowed) });
      }
    } else if (issue.code === 'invalid_key') {
      for (const inner of issue.issues) out.push({ path: formatPath(issue.path), message: inner.message });
    } else {
      out.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return out;
}

/**
 * The message for an unknown key: a "did you mean", or the list of allowed keys when nothing is close.
 *
 * @example
 * ```ts
 * unknownKeyMessage('rolesInclude', ['enabled', 'rolesIncluded']); // 'unknown key — did you mean "rolesIncluded"?'
 * ```
 */
export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const hint = didYouMean(key, allowed);
  if (hint !== undefined) return `unknown key — did you mean "${hint}"?`;
  if (allowed.length === 0) return 'unknown key';
  return `unknown key — allowed here: ${allowed.join(', ')}`;
}

/**
 * The one error thrown for an invalid policy: every problem, one per line, with where the policy came from
 * (a directory's problems also name their file). `details.issues` carries them as data, `details.tenant` and
 * `details.file` say whose problems they are when they are one tenant's; nothing in it is ever a secret.
 *
 * @example
 * ```ts
 * throw policyInvalidError([{ path: 'tenants.acme.failmode', message: 'must be "closed" or "open"' }], './duo-mfa.json');
 * ```
 */
export function policyInvalidError(
  issues: readonly PolicyIssue[],
  source: string,
  cause?: unknown,
  details: { readonly tenant?: string; readonly file?: string } = {},
): DuoMfaError {
  const only = issues.length === 1 ? issues[0] : undefined;
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  const files = new Set(issues.map((issue) => issue.file));
  // A directory's problems name their file, unless the error is about that one file already.
  const named = files.size > 1 || (details.file === undefined && !files.has(undefined));
  const lines = issues.map((issue) => {
    const file = named && issue.file !== undefined ? `${issue.file}: ` : '';
    return `  ${file}${issue.path === ROOT_PATH ? '' : `${issue.path}: `}${issue.message}`;
  });
  const message =
    only?.path === ROOT_PATH && !named
      ? `Invalid MFA policy ${source}: ${only.message}` // the file as a whole: missing, empty, not JSON…
      : `Invalid MFA policy ${source} (${count}):\n${lines.join('\n')}`;
  return new DuoMfaError('ERR_POLICY_INVALID', message, {
    cause,
    details: {
      issues: issues.map((issue) =>
        issue.file === undefined
          ? { path: issue.path, message: issue.message }
          : { path: issue.path, message: issue.message, file: issue.file },
      ),
      source,
      ...details,
    },
  });
}
