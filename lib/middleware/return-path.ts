// Untrusted request input: return paths (only same-origin relative paths survive, S30) and query parameters.

import { hasControlCharacters } from '../util/names';

const MAX_RETURN_PATH = 2048;

/**
 * Returns `candidate` as a normalised same-origin relative path (`/path?query`), or undefined when it could
 * leave the site: protocol-relative (`//x`), backslashes (raw or percent-encoded), schemes, credentials,
 * control characters, or anything the WHATWG URL parser resolves to another origin. The middleware's own filter
 * (S30), exported so a host's login page can use the same rules for its `returnTo`.
 *
 * @example
 * ```ts
 * safeReturnPath('/reports?q=1', 'https://portal.example.com'); // '/reports?q=1'
 * safeReturnPath('//evil.example', 'https://portal.example.com'); // undefined
 * ```
 */
export function safeReturnPath(candidate: unknown, origin: string): string | undefined {
  if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > MAX_RETURN_PATH)
    return undefined;
  if (!candidate.startsWith('/') || candidate.startsWith('//')) return undefined;
  // Raw control characters, spaces or backslashes: browsers strip or reinterpret them.
  if (hasControlCharacters(candidate) || /[ \\]/.test(candidate)) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(candidate);
  } catch {
    return undefined;
  }
  if (decoded.startsWith('//') || decoded.includes('\\') || hasControlCharacters(decoded)) return undefined;
  let url: URL;
  try {
    url = new URL(candidate, origin);
  } catch {
    return undefined;
  }
  if (url.origin !== origin || url.username !== '' || url.password !== '') return undefined;
  const path = url.pathname + url.search;
  return path.startsWith('/') && !path.startsWith('//') ? path : undefined;
}

/** A query parameter when it is exactly one string; arrays and objects (repeated or nested params) are refused. */
export function singleParam(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
