// Responses as plain data (status, headers, body), so handlers stay testable and the server writes them in one place.

import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';

export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

/**
 * A JSON answer (never cached, as Duo's API answers are).
 *
 * @example
 * ```ts
 * return jsonReply(400, { error: 'invalid_grant', error_description: '…' });
 * ```
 */
export function jsonReply(status: number, body: unknown): Reply {
  return {
    status,
    headers: { 'content-type': 'application/json', ...NO_STORE },
    body: JSON.stringify(body),
  };
}

/**
 * A self-contained HTML page: `render` receives the nonce its inline `<style>` must carry. The CSP allows
 * nothing else (no scripts, no external loads); forms may post to the emulator and to `formTargets` (the
 * app's origin, which the final redirect after a form post goes to).
 *
 * @example
 * ```ts
 * return htmlReply(200, (nonce) => renderPage({ nonce, title: 'Duo', body: '<p>Hi</p>' }));
 * ```
 */
export function htmlReply(
  status: number,
  render: (nonce: string) => string,
  formTargets: readonly string[] = [],
): Reply {
  const nonce = randomBytes(16).toString('base64');
  const targets = formTargets.filter((origin) => /^https?:\/\/[A-Za-z0-9.\-[\]:]+$/.test(origin));
  const csp = [
    "default-src 'none'",
    `style-src 'nonce-${nonce}'`,
    "img-src 'self' data:",
    `form-action 'self'${targets.map((origin) => ` ${origin}`).join('')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
  return {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      ...NO_STORE,
    },
    body: render(nonce),
  };
}

/**
 * A redirect (302 from GET authorize, 303 after a form post).
 *
 * @example
 * ```ts
 * return redirectReply(302, 'https://app.example/duo/callback?duo_code=…&state=…');
 * ```
 */
export function redirectReply(status: 302 | 303, location: string): Reply {
  return { status, headers: { location, 'referrer-policy': 'no-referrer', ...NO_STORE }, body: '' };
}

/**
 * A short plain-text answer (404, 405, 413, …).
 *
 * @example
 * ```ts
 * return textReply(404, 'Not found');
 * ```
 */
export function textReply(status: number, body: string, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...NO_STORE, ...headers }, body };
}

/**
 * Writes a Reply, unless the client has gone away.
 *
 * @example
 * ```ts
 * send(res, textReply(404, 'Not found'));
 * ```
 */
export function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(reply.status, { ...reply.headers, 'content-length': String(Buffer.byteLength(reply.body)) });
  res.end(reply.body);
}
