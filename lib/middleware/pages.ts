// Every page the middleware renders: helmet's headers, no-store, no-referrer and a strict CSP (S32); all text escaped.

import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import helmet from 'helmet';
import type { ErrorRequestHandler, NextFunction } from 'express';
import { isDuoMfaError, type DuoMfaError } from '../errors';

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}
main{max-width:34rem;margin:10vh auto;background:#fff;border-radius:8px;padding:2rem 2.25rem;box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.35rem;margin:0 0 .75rem}
p{line-height:1.5}
.code{color:#5a6275;font-size:.85rem;font-family:ui-monospace,monospace}
.actions{display:flex;gap:.75rem;align-items:center;margin-top:1rem}
.actions a,.actions button{display:inline-block;padding:.55rem 1.1rem;background:#1a6ed8;color:#fff;border:0;border-radius:4px;text-decoration:none;font:inherit;cursor:pointer}
.actions form{margin:0}.actions button{background:#5a6275}
`.trim();

const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

const secureHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      'default-src': ["'none'"],
      'style-src': [STYLE_HASH],
      'img-src': ["'self'"],
      'base-uri': ["'none'"],
      'form-action': ["'self'"],
      'frame-ancestors': ["'none'"],
    },
  },
  referrerPolicy: { policy: 'no-referrer' },
});

/** Applies the headers every middleware response carries, HTML or JSON. */
export function applySecurityHeaders(req: Request, res: Response): void {
  secureHeaders(req, res, () => undefined);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
}

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Where error pages send people: back to sign-in, and (when the host app has one) a sign-out endpoint. */
export interface PageLinks {
  readonly retry: string;
  /** POSTed to by a "Sign out" button, so a denied user can leave instead of looping into Duo again. */
  readonly signOut?: string | undefined;
}

interface PageContent {
  readonly title: string;
  readonly paragraphs: readonly string[];
  readonly code?: string;
  readonly action?: { readonly href: string; readonly label: string };
  readonly signOut?: string | undefined;
  /** Seconds-0 refresh to a same-origin URL (the SameSite=Strict bounce). */
  readonly refreshTo?: string;
}

function renderPage(content: PageContent): string {
  const refresh = content.refreshTo
    ? `<meta http-equiv="refresh" content="0;url=${escapeHtml(content.refreshTo)}">`
    : '';
  const paragraphs = content.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('');
  const code = content.code ? `<p class="code">Error code: ${escapeHtml(content.code)}</p>` : '';
  const signOut = content.signOut
    ? `<form method="post" action="${escapeHtml(content.signOut)}"><button type="submit">Sign out</button></form>`
    : '';
  const action =
    content.action || signOut
      ? `<div class="actions">${content.action ? `<a href="${escapeHtml(content.action.href)}">${escapeHtml(content.action.label)}</a>` : ''}${signOut}</div>`
      : '';
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<meta name="referrer" content="no-referrer">${refresh}<title>${escapeHtml(content.title)}</title><style>${STYLE}</style></head>` +
    `<body><main><h1>${escapeHtml(content.title)}</h1>${paragraphs}${code}${action}</main></body></html>`
  );
}

/** True when the client wants a page rather than JSON (browsers navigating). */
export function wantsHtml(req: Request): boolean {
  if (req.headers['x-requested-with'] === 'XMLHttpRequest') return false;
  return req.accepts(['json', 'html']) === 'html';
}

/** Where the page links of a failure are kept: set by the instance that failed, read by the renderer. */
const LINKS = Symbol('express-duo-mfa.links');

/** Gives a failure the links of the duoMfa() that raised it, for whichever renderer answers it. */
export function withLinks(error: DuoMfaError, links: PageLinks): DuoMfaError {
  Object.defineProperty(error, LINKS, { value: links, configurable: true });
  return error;
}

/**
 * Answers a DuoMfaError the way the middleware always has: an HTML page for browsers, `{ error, code, message }`
 * JSON for API clients, with the security headers every middleware response carries. `details.explanation` adds
 * plain words (e.g. Duo's deny reason); nothing user-supplied is reflected unescaped.
 */
export function renderError(error: DuoMfaError, req: Request, res: Response): void {
  const links = (error as unknown as Record<symbol, PageLinks | undefined>)[LINKS] ?? { retry: '/' };
  applySecurityHeaders(req, res);
  res.status(error.status);
  if (error.status === 503) res.setHeader('Retry-After', '30');
  if (!wantsHtml(req)) {
    res.json({ error: jsonErrorName(error.code), code: error.code, message: error.title });
    return;
  }
  const explanation = error.details.explanation;
  const paragraphs = [typeof explanation === 'string' ? explanation : undefined, error.advice].filter(
    (p): p is string => Boolean(p),
  );
  res.type('html').send(
    renderPage({
      title: error.title,
      paragraphs,
      code: error.code,
      action: { href: links.retry, label: 'Back to sign-in' },
      signOut: links.signOut,
    }),
  );
}

/**
 * The default renderer as Express error-handling middleware: answers DuoMfaErrors with the middleware's pages
 * and passes anything else on. duoMfa() appends it to the app at its first request, after the host's own error
 * handlers, so a host handler sees every failure first and may answer it or call `next(err)`.
 *
 * @example
 * ```ts
 * app.use(mfa.errorPages); // mount it yourself, e.g. before a catch-all handler of your own
 * ```
 */
export const errorPages: ErrorRequestHandler = function duoMfaErrorPages(
  error: unknown,
  req: Request,
  res: Response,
  next: NextFunction,
): void {
  if (!isDuoMfaError(error) || res.headersSent) return next(error);
  renderError(error, req, res);
};

/** The 401 for API clients while MFA is required: where a browser should go to start it. */
export function sendMfaRequired(req: Request, res: Response, location: string): void {
  applySecurityHeaders(req, res);
  res.status(401).json({ error: 'mfa_required', location });
}

/**
 * The SameSite=Strict bounce (S33): Duo's cross-site redirect arrives without the session cookie, so this page
 * repeats the request from our own origin, where the browser sends the cookie. It consumes nothing.
 */
export function sendBounce(req: Request, res: Response, sameOriginUrl: string): void {
  applySecurityHeaders(req, res);
  res
    .status(200)
    .type('html')
    .send(
      renderPage({
        title: 'Finishing sign-in…',
        paragraphs: ['One moment while we finish signing you in.'],
        action: { href: sameOriginUrl, label: 'Continue' },
        refreshTo: sameOriginUrl,
      }),
    );
}

function jsonErrorName(code: string): string {
  return code.replace(/^ERR_(DUO_)?/, '').toLowerCase();
}
