// Request parameters for the emulator: a size-capped body reader and a tolerant form parser (urlencoded,
// multipart, query string), as Duo's official clients send all three.

import type { IncomingMessage } from 'node:http';

/** Bodies larger than this are refused with 413 (Duo's forms are a few KB at most). */
export const MAX_BODY_BYTES = 64 * 1024;

/** After this much refused data the connection is dropped instead of drained. */
const MAX_DISCARD_BYTES = 1024 * 1024;

export type BodyRead =
  | { readonly ok: true; readonly body: Buffer }
  | { readonly ok: false; readonly reason: 'too-large' | 'aborted' };

/**
 * Reads a request body up to `limit` bytes. Never rejects: an oversized body resolves `too-large` (the rest is
 * drained, or the socket dropped past 1 MB), a broken one `aborted`.
 *
 * @example
 * ```ts
 * const read = await readBody(req);
 * if (!read.ok) return reply(read.reason === 'too-large' ? 413 : 400);
 * ```
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<BodyRead> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: BodyRead) => {
      if (done) return;
      done = true;
      resolve(result);
    };
    if (Number.isFinite(declared) && declared > limit) {
      finish({ ok: false, reason: 'too-large' });
    }
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        finish({ ok: false, reason: 'too-large' });
        if (size > limit + MAX_DISCARD_BYTES) req.destroy();
        return;
      }
      if (!done) chunks.push(chunk);
    });
    req.on('end', () => finish({ ok: true, body: Buffer.concat(chunks) }));
    req.on('error', () => finish({ ok: false, reason: 'aborted' }));
    req.on('close', () => finish({ ok: false, reason: 'aborted' }));
  });
}

/**
 * Named string parameters gathered from a query string and a form body. A name given twice with different
 * values is ambiguous: `get()` answers undefined for it and `isAmbiguous()` says so.
 *
 * @example
 * ```ts
 * const params = FormParams.parse(url.searchParams, body, req.headers['content-type']);
 * if (params.isAmbiguous('code')) return invalidRequest();
 * const code = params.get('code');
 * ```
 */
export class FormParams {
  private readonly values = new Map<string, string[]>();

  /** Query parameters first, then the body's (urlencoded or multipart/form-data; other types are ignored). */
  static parse(query: URLSearchParams, body: Buffer | undefined, contentType: unknown): FormParams {
    const params = new FormParams();
    for (const [name, value] of query) params.add(name, value);
    if (body && body.length > 0 && typeof contentType === 'string') {
      const type = contentType.split(';')[0]?.trim().toLowerCase();
      if (type === 'application/x-www-form-urlencoded') {
        for (const [name, value] of new URLSearchParams(body.toString('utf8'))) params.add(name, value);
      } else if (type === 'multipart/form-data') {
        for (const [name, value] of parseMultipart(body, contentType)) params.add(name, value);
      }
    }
    return params;
  }

  /** The value of `name` when it was given once (or repeated with the same value); otherwise undefined. */
  get(name: string): string | undefined {
    const values = this.values.get(name);
    if (!values || values.length === 0) return undefined;
    const first = values[0];
    return values.every((value) => value === first) ? first : undefined;
  }

  /** True when `name` was given more than once with different values. */
  isAmbiguous(name: string): boolean {
    const values = this.values.get(name) ?? [];
    return values.some((value) => value !== values[0]);
  }

  private add(name: string, value: string): void {
    const list = this.values.get(name);
    if (list) list.push(value);
    else this.values.set(name, [value]);
  }
}

/**
 * The text fields of a multipart/form-data body (file parts are skipped). Tolerant: bad input yields none.
 *
 * @example
 * ```ts
 * parseMultipart(body, 'multipart/form-data; boundary=xyz'); // [['code', '…'], ['grant_type', '…']]
 * ```
 */
export function parseMultipart(body: Buffer, contentType: string): Array<[string, string]> {
  const match = /boundary=(?:"([^"]{1,200})"|([^;\s]{1,200}))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) return [];
  const fields: Array<[string, string]> = [];
  const sections = body.toString('latin1').split(`--${boundary}`);
  for (const section of sections.slice(1)) {
    if (section.startsWith('--')) break;
    const part = section.replace(/^\r?\n/, '');
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd < 0) continue;
    const headers = part.slice(0, headerEnd);
    const disposition = /^content-disposition:([^\r\n]*)$/im.exec(headers)?.[1] ?? '';
    if (/\bfilename\*?=/i.test(disposition)) continue;
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? /\bname=([^;\s]+)/i.exec(disposition)?.[1];
    if (name === undefined) continue;
    const value = part.slice(headerEnd + 4).replace(/\r?\n$/, '');
    fields.push([
      Buffer.from(name, 'latin1').toString('utf8'),
      Buffer.from(value, 'latin1').toString('utf8'),
    ]);
  }
  return fields;
}
