// Every page the middleware renders: helmet's headers, no-store, no-referrer and a strict CSP (S32); all text escaped.

import { createHash } from 'node:crypto';
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { isDuoMfaError, type DuoMfaError } from '../errors';

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}
main{max-width:34rem;margin:10vh auto;background:#fff;border-radius:8px;padding:2rem 2.25rem;box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.35rem;margin:0 0 .75rem}
p{line-height:1.5}
.code{color:#5a6275;font-size:.85rem;font-family:ui-monospace,monospace}
.actions{display:flex;gap:.75rem;align-items:center;margin-top:1rem}
.actions a,.actions button{display:inline-block;padding:.55rem 1.1rem;background:#1a6ed8;color:#fff;border:0;border-radius:4px;text-decoration:none;font:inherit;cursor:pointer}
.actions form{margin:0}.actions button{background:#5a6275}.actions button.primary{background:#1a6ed8}
`.trim();

const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/** The pages' Content-Security-Policy: nothing from elsewhere, forms to our own origin only. */
const CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'none'"],
  'style-src': [STYLE_HASH],
  'img-src': ["'self'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

const secureHeaders = helmet({
  contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
  referrerPolicy: { policy: 'no-referrer' },
});

/** The same policy with `targets` added to form-action (see PageContent.formTargets). */
function cspWithFormTargets(targets: readonly string[]): string {
  return Object.entries(CSP_DIRECTIVES)
    .map(([name, values]) => [name, ...values, ...(name === 'form-action' ? targets : [])].join(' '))
    .join(';');
}

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

/**
 * A next step offered on a page: a link (shown as the main button), or a button that POSTs a few hidden fields to
 * our own origin (grey, or the main blue one with `primary`).
 */
export type PageAction =
  | { readonly href: string; readonly label: string }
  | {
      readonly post: string;
      readonly label: string;
      readonly fields?: Readonly<Record<string, string>>;
      readonly primary?: boolean;
      /** A stable id for browser tests. */
      readonly id?: string;
    };

export interface PageContent {
  readonly title: string;
  readonly paragraphs: readonly string[];
  readonly code?: string;
  readonly actions: readonly PageAction[];
  /** Seconds-0 refresh to a same-origin URL (the SameSite=Strict bounce). */
  readonly refreshTo?: string;
  /**
   * Origins the page's forms may end up at besides our own: a form that POSTs to us and is answered with a
   * redirect to Duo needs Duo's origin in `form-action` as well (browsers check the redirect against it).
   */
  readonly formTargets?: readonly string[];
}

/** The page's links and buttons, in order. */
function renderActions(actions: readonly PageAction[]): string {
  if (actions.length === 0) return '';
  const html = actions.map((action) => {
    if ('href' in action) return `<a href="${escapeHtml(action.href)}">${escapeHtml(action.label)}</a>`;
    const cls = action.primary ? ' class="primary"' : '';
    const fields = Object.entries(action.fields ?? {})
      .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
      .join('');
    const id = action.id ? ` id="${escapeHtml(action.id)}"` : '';
    return `<form method="post" action="${escapeHtml(action.post)}">${fields}<button${cls}${id} type="submit">${escapeHtml(action.label)}</button></form>`;
  });
  return `<div class="actions">${html.join('')}</div>`;
}

/** A whole page: the title, escaped paragraphs, an error code when there is one, and the next steps. */
export function renderPage(content: PageContent): string {
  const refresh = content.refreshTo
    ? `<meta http-equiv="refresh" content="0;url=${escapeHtml(content.refreshTo)}">`
    : '';
  const paragraphs = content.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('');
  const code = content.code ? `<p class="code">Error code: ${escapeHtml(content.code)}</p>` : '';
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<meta name="referrer" content="no-referrer">${refresh}<title>${escapeHtml(content.title)}</title><style>${STYLE}</style></head>` +
    `<body><main><h1>${escapeHtml(content.title)}</h1>${paragraphs}${code}${renderActions(content.actions)}</main></body></html>`
  );
}

/** Sends one of the middleware's pages, with the headers every middleware response carries. */
export function sendPage(req: Request, res: Response, status: number, content: PageContent): void {
  applySecurityHeaders(req, res);
  const targets = (content.formTargets ?? []).flatMap(originOf);
  if (targets.length > 0) res.setHeader('Content-Security-Policy', cspWithFormTargets(targets));
  res.status(status).type('html').send(renderPage(content));
}

/** `https://host[:port]` for a URL, or nothing when it is not one (never a CSP source built from odd text). */
function originOf(url: string): string[] {
  const origin = URL.canParse(url) ? new URL(url).origin : 'null';
  return /^https:\/\/(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d+)?$/i.test(origin) ? [origin] : [];
}

/** Links every failure page offers: back to sign-in, and the host's sign-out when configured. */
export function failureActions(links: PageLinks): PageAction[] {
  return [
    { href: links.retry, label: 'Back to sign-in' },
    ...(links.signOut ? [{ post: links.signOut, label: 'Sign out' }] : []),
  ];
}

/**
 * What kind of request may start Duo (S42). `navigation`: a top-level GET that accepts HTML and is not marked as
 * coming from another site — it may go to Duo at once. `cross-site`: the same, but `Sec-Fetch-Site` says another
 * site (or a sibling subdomain) sent it — it gets a same-origin "Continue to Duo" button instead. `other`: HEAD,
 * non-GET, images, iframes, fetch/XHR, no HTML in Accept — it never starts Duo. Browsers that send no
 * `Sec-Fetch-*` headers count as navigations when the method and Accept say so.
 */
export function requestKind(req: Request): 'navigation' | 'cross-site' | 'other' {
  if (req.method !== 'GET' || !wantsHtml(req)) return 'other';
  const dest = req.headers['sec-fetch-dest'];
  const mode = req.headers['sec-fetch-mode'];
  if ((dest !== undefined && dest !== 'document') || (mode !== undefined && mode !== 'navigate'))
    return 'other';
  const site = req.headers['sec-fetch-site'];
  return site === 'cross-site' || site === 'same-site' ? 'cross-site' : 'navigation';
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
  res
    .type('html')
    .send(renderPage({ title: error.title, paragraphs, code: error.code, actions: failureActions(links) }));
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
        actions: [{ href: sameOriginUrl, label: 'Continue' }],
        refreshTo: sameOriginUrl,
      }),
    );
}

function jsonErrorName(code: string): string {
  return code.replace(/^ERR_(DUO_)?/, '').toLowerCase();
}
