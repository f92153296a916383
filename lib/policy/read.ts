// Reads the policy file's text from disk: clear errors for missing, unreadable, empty and non-JSON files.

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { type DuoMfaError } from '../errors';
import { policyInvalidError, ROOT_PATH } from './issues';
import { locateJsonError } from './json-error';

/**
 * Reads and parses a policy file (no validation). Throws `ERR_POLICY_INVALID` for a file that is missing,
 * unreadable, empty or not JSON (with line and column), never quoting the file's content.
 *
 * @example
 * ```ts
 * const raw = readPolicyFile('./duo-mfa.json');
 * ```
 */
export function readPolicyFile(path: string): unknown {
  return parsePolicyText(readPolicyText(path), path);
}

/**
 * The file's text, or `ERR_POLICY_INVALID` saying why it cannot be read; `source` names it in errors.
 *
 * @example
 * ```ts
 * const text = readPolicyText('/etc/app/duo-mfa.json', './duo-mfa.json');
 * ```
 */
export function readPolicyText(path: string, source = path): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw readError(source, error);
  }
}

/**
 * The asynchronous form of readPolicyText(), used by the hot-reload watcher.
 *
 * @example
 * ```ts
 * const text = await readPolicyTextAsync('/etc/app/duo-mfa.json');
 * ```
 */
export async function readPolicyTextAsync(path: string, source = path): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw readError(source, error);
  }
}

/**
 * Parses the text of a policy file; `source` names it in errors.
 *
 * @example
 * ```ts
 * parsePolicyText('{"tenants": {}}', 'inline'); // { tenants: {} }
 * ```
 */
export function parsePolicyText(text: string, source: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // editors on Windows may write a BOM
  if (body.trim() === '') throw fileError(source, 'the file is empty');
  try {
    return JSON.parse(body) as unknown;
  } catch {
    const where = locateJsonError(body);
    throw fileError(
      source,
      where
        ? `not valid JSON at line ${where.line}, column ${where.column}: ${where.message}`
        : 'not valid JSON',
    );
  }
}

/**
 * The ERR_POLICY_INVALID for a file that cannot be read, in plain words (does not exist, permission denied…).
 *
 * @example
 * ```ts
 * readFile(path).catch((error) => { throw readError(path, error); });
 * ```
 */
export function readError(source: string, error: unknown): DuoMfaError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reasons: Record<string, string> = {
    ENOENT: 'the file does not exist',
    EACCES: 'permission denied (the process cannot read it)',
    EPERM: 'permission denied (the process cannot read it)',
    EISDIR: 'it is a directory, not a file',
    ENOTDIR: 'a part of the path is not a directory',
  };
  const reason = (code && reasons[code]) ?? `it cannot be read (${code ?? String(error)})`;
  return policyInvalidError([{ path: ROOT_PATH, message: reason }], source, error);
}

function fileError(source: string, message: string): DuoMfaError {
  return policyInvalidError([{ path: ROOT_PATH, message }], source);
}
