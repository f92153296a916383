// Request parameters as the emulator's handlers read them: the query string plus the form body Express parsed
// (urlencoded) or the platform parsed (multipart), with repeated names told apart from single ones.

import type { Request as ExpressRequest } from 'express';
import { isPlainObject } from '../util/objects';

/** Bodies larger than this are refused with 413 (Duo's forms are a few KB at most). */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Named string parameters gathered from a query string and a form body. A name given twice with different
 * values is ambiguous: `get()` answers undefined for it and `isAmbiguous()` says so.
 *
 * @example
 * ```ts
 * const params = await FormParams.fromRequest(req);
 * if (params.isAmbiguous('code')) return invalidRequest();
 * const code = params.get('code');
 * ```
 */
export class FormParams {
  private readonly values = new Map<string, string[]>();

  /**
   * Query parameters first, then the body's: the object `express.urlencoded` left in `req.body`, or the text
   * fields of a multipart body (`express.raw` kept the bytes; the platform's `Request#formData()` reads them).
   * A body of any other type, or a multipart body that does not parse, adds nothing.
   */
  static async fromRequest(req: ExpressRequest): Promise<FormParams> {
    const params = new FormParams();
    const raw = req.originalUrl;
    const queryAt = raw.indexOf('?');
    for (const [name, value] of new URLSearchParams(queryAt < 0 ? '' : raw.slice(queryAt + 1))) {
      params.add(name, value);
    }
    const body: unknown = req.body;
    if (Buffer.isBuffer(body)) {
      if (body.length > 0 && req.is('multipart/form-data')) {
        for (const [name, value] of await multipartFields(body, String(req.headers['content-type']))) {
          params.add(name, value);
        }
      }
    } else if (isPlainObject(body) && req.is('application/x-www-form-urlencoded')) {
      for (const [name, value] of Object.entries(body)) {
        for (const item of Array.isArray(value) ? value : [value]) {
          // Only plain strings: a bracketed name would make qs build an object, which no Duo client sends.
          if (typeof item === 'string') params.add(name, item);
        }
      }
    }
    return params;
  }

  /** Parameters from a query string alone (GET requests, tests). */
  static fromQuery(query: URLSearchParams): FormParams {
    const params = new FormParams();
    for (const [name, value] of query) params.add(name, value);
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

/** The text fields of a multipart/form-data body (files skipped); none when the platform cannot parse it. */
async function multipartFields(body: Buffer, contentType: string): Promise<Array<[string, string]>> {
  try {
    const form = await new Request('https://duo-emulator.invalid/', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    }).formData();
    const fields: Array<[string, string]> = [];
    for (const [name, value] of form) if (typeof value === 'string') fields.push([name, value]);
    return fields;
  } catch {
    return [];
  }
}
