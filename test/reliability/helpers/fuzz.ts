// fast-check arbitraries for hostile HTTP input: query strings (repeated, array and nested parameters, huge and
// unicode values, malformed escapes), header values, cookies, paths and request bodies.

import fc from 'fast-check';

const BASE64URL = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];

/** Any string, lone surrogates and control characters included. */
export const anyString = fc.string({ unit: 'binary', maxLength: 40 });

/** A few kilobytes up to past Node's 16 KB header limit. */
export const hugeString = fc
  .tuple(
    fc.constantFrom('a', 'é', '𝄞', '%', '%00', '\u0000', '<script>', '../'),
    fc.integer({ min: 500, max: 6000 }),
  )
  .map(([unit, times]) => unit.repeat(times));

/** Strings shaped like a Duo state (base64url), from too short to too long. */
export const stateLike = fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: 0, maxLength: 1100 });

/** Strings shaped like a duo_code (printable ASCII). */
export const codeLike = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: 80,
});

export const queryValue = fc.oneof(
  { weight: 3, arbitrary: anyString },
  { weight: 3, arbitrary: stateLike },
  { weight: 2, arbitrary: codeLike },
  { weight: 1, arbitrary: hugeString },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      'undefined',
      'null',
      '[object Object]',
      'access_denied',
      'invalid_request',
      '%',
      '%E0%A4%A',
      '%u0041',
      '%%',
      '\r\nSet-Cookie: x=1',
      '<img src=x onerror=alert(1)>',
      '/\\evil.example',
      '//evil.example',
      'javascript:alert(1)',
    ),
  },
);

export const queryKey = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'state',
      'duo_code',
      'error',
      'error_description',
      'state[]',
      'duo_code[]',
      'state[0]',
      'state[a]',
      'duo_code[x][y]',
      'state.x',
      '__proto__',
      '__proto__[state]',
      'constructor',
      'constructor[prototype][x]',
      'prototype',
      'hasOwnProperty',
      'toString',
      'duo_mfa_bounce',
      'returnTo',
      'stepUp',
    ),
  },
  { weight: 1, arbitrary: anyString },
);

/** Percent-encodes every byte of the UTF-8 form except unreserved characters (lone surrogates become U+FFFD). */
export function encodeStrict(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Leaves printable ASCII (raw `%`, brackets, quotes…) as is; escapes only what cannot travel in a request line. */
export function encodeLoose(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out +=
      byte > 0x20 && byte < 0x7f && c !== '#' && c !== '&' && c !== '='
        ? c
        : `%${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export type QueryPair = readonly [key: string, value: string, encoding: 'strict' | 'loose'];

export const queryPairs = fc.array(
  fc.tuple(queryKey, queryValue, fc.constantFrom('strict' as const, 'loose' as const)),
  {
    maxLength: 8,
  },
);

/** A callback-shaped query: a well-formed-looking state and code (never the real ones) plus noise. */
export const shapedCallback = fc
  .tuple(
    fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: 22, maxLength: 64 }),
    codeLike,
    queryPairs,
    fc.boolean(),
  )
  .map(([state, code, noise, withError]): QueryPair[] => [
    ['state', state, 'strict'],
    withError ? ['error', 'access_denied', 'strict'] : ['duo_code', code, 'strict'],
    ...noise,
  ]);

export function buildQuery(pairs: readonly QueryPair[]): string {
  if (pairs.length === 0) return '';
  const encode = (text: string, how: QueryPair[2]) =>
    how === 'strict' ? encodeStrict(text) : encodeLoose(text);
  return '?' + pairs.map(([key, value, how]) => `${encode(key, how)}=${encode(value, how)}`).join('&');
}

/** Characters Node's HTTP client accepts in a header value (no CR, LF or NUL), latin1 included. */
export const headerValue = fc.oneof(
  fc.string({
    unit: fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0xa0, max: 0xff }).map((c) => String.fromCharCode(c)),
      fc.constant('\t'),
    ),
    maxLength: 60,
  }),
  fc.integer({ min: 1000, max: 9000 }).map((n) => 'x'.repeat(n)),
);

export const acceptHeader = fc.oneof(
  fc.constantFrom(
    'text/html',
    'TEXT/HTML',
    'application/json',
    '*/*',
    '',
    'text/html;q=0, application/json',
    'application/json, text/html',
    'text/*',
    'image/png',
  ),
  headerValue,
);

/** Odd extra headers: forwarded headers, request ids, huge user agents, a foreign Host. */
export const extraHeaders = fc.record(
  {
    'x-forwarded-for': headerValue,
    'x-forwarded-host': headerValue,
    'x-forwarded-proto': fc.constantFrom('https', 'http', 'javascript', ''),
    'x-request-id': headerValue,
    'user-agent': headerValue,
    referer: fc.constantFrom('https://evil.example/', 'javascript:alert(1)', '/private'),
    'x-requested-with': fc.constantFrom('XMLHttpRequest', 'fetch'),
    host: fc.constantFrom('evil.example', 'localhost:1', '127.0.0.1', '[::1]'),
    'accept-language': headerValue,
  },
  { requiredKeys: [] },
);

/** Cookie headers that are not the browser's real session: garbage, forged signatures, duplicates. */
export const garbageCookie = fc.oneof(
  headerValue.map((v) => `connect.sid=${v}`),
  fc.tuple(stateLike, stateLike).map(([id, sig]) => `connect.sid=s%3A${id}.${sig}`),
  fc.tuple(headerValue, headerValue).map(([a, b]) => `connect.sid=${a}; connect.sid=${b}`),
  fc.constantFrom('connect.sid=', 'connect.sid', '=', ';;;', 'connect.sid=s%3A', 'connect.sid=%E0%A4%A'),
);

export const method = fc.constantFrom(
  'GET',
  'GET',
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
);

export const gatedPath = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '/',
      '/private',
      '/PRIVATE',
      '/private/',
      '/Private/',
      '//private',
      '/private;x',
      '/api/data',
      '/API/DATA',
      '/api//data',
      '/download',
      '/admin/payout',
      '/whoami',
      '/public/../private',
      '/public/..%2Fprivate',
      '/login/../api/data',
      '/%70rivate',
      '/private%00',
      '/private%2f',
      '/duo/start',
      '/duo/start/',
      '/DUO/CALLBACK',
      '/duo/callback/',
      '/nope',
    ),
  },
  { weight: 1, arbitrary: anyString.map((s) => '/' + encodeLoose(s)) },
);

/** Request bodies: JSON (valid or not), urlencoded, garbage, huge. */
export const requestBody = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 3 }).map((v) => ({ type: 'application/json', body: JSON.stringify(v) ?? 'null' })),
  anyString.map((v) => ({ type: 'application/json', body: v })),
  queryPairs.map((pairs) => ({
    type: 'application/x-www-form-urlencoded',
    body: buildQuery(pairs).slice(1),
  })),
  hugeString.map((v) => ({ type: 'text/plain', body: v })),
);
