// Loopback HTTP for reliability tests: an app listening on port 0 with a close() that drops every connection,
// a minimal browser (one cookie jar, no keep-alive: nothing is left open), and raw-socket requests.

import http, { type IncomingHttpHeaders } from 'node:http';
import { Socket } from 'node:net';
import type { Express } from 'express';
import { readBody } from '../../helpers/body';

export interface Listening {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface ListenOptions {
  /**
   * Send `Server-Timing: app;dur=<ms>` on every response: the time from the request reaching the app (its headers
   * parsed) to the response's headers being written. Read back as HttpResult.serverMs.
   */
  serverTiming?: boolean;
}

/** Serves `app` on 127.0.0.1:0. */
export async function listen(app: Express, options: ListenOptions = {}): Promise<Listening> {
  const server = http.createServer(options.serverTiming ? timed(app) : app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** `app` with a Server-Timing header on every response (see ListenOptions.serverTiming). */
function timed(app: Express): http.RequestListener {
  return (req, res) => {
    const started = performance.now();
    const writeHead = res.writeHead;
    res.writeHead = function (this: typeof res, ...args: Parameters<typeof res.writeHead>) {
      if (!this.headersSent)
        this.setHeader('server-timing', `app;dur=${(performance.now() - started).toFixed(1)}`);
      return writeHead.apply(this, args);
    } as typeof res.writeHead;
    void app(req, res);
  };
}

export interface HttpResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** Milliseconds from sending to the end of the response. */
  readonly ms: number;
  /**
   * Milliseconds the app took from receiving the request to answering it, from a server listening with
   * `serverTiming`; undefined otherwise. Unlike `ms`, it leaves out the time the request waited for the process to
   * get to it.
   */
  readonly serverMs: number | undefined;
  readonly json: any;
}

export interface RequestOptions {
  headers?: Record<string, string | string[]>;
  /** Sent as is (set content-type yourself) or as JSON when an object. */
  body?: string | Buffer | object;
  /** Abort after this many ms (the promise rejects). Default 15 000. */
  timeoutMs?: number;
}

/** One request on a fresh connection. */
export function httpRequest(
  base: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<HttpResult> {
  const url = new URL(base);
  const headers: Record<string, string | string[]> = { connection: 'close', ...options.headers };
  let body: string | Buffer | undefined;
  if (options.body !== undefined) {
    if (typeof options.body === 'string' || Buffer.isBuffer(options.body)) body = options.body;
    else {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers,
        agent: false,
        timeout: options.timeoutMs ?? 15_000,
      },
      (res) => {
        readBody(res).then(
          ({ text, json }) =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text,
              json,
              ms: performance.now() - started,
              serverMs: serverTiming(res.headers['server-timing']),
            }),
          reject,
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} did not answer in time`)));
    req.on('error', reject);
    req.end(body);
  });
}

function serverTiming(header: string | string[] | undefined): number | undefined {
  const dur = header === undefined ? undefined : /\bapp;dur=([\d.]+)/.exec(String(header))?.[1];
  return dur === undefined ? undefined : Number(dur);
}

/** A browser talking to one origin: keeps the connect.sid cookie, follows nothing by itself. */
export class Browser {
  /** The connect.sid cookie value, when the app set one. */
  sid: string | undefined;

  constructor(public base: string) {}

  async request(method: string, path: string, options: RequestOptions = {}): Promise<HttpResult> {
    const headers = { ...options.headers };
    if (this.sid !== undefined && headers.cookie === undefined) headers.cookie = `connect.sid=${this.sid}`;
    const res = await httpRequest(this.base, method, path, { ...options, headers });
    const setCookie = res.headers['set-cookie'] ?? [];
    for (const cookie of setCookie) {
      const match = /^connect\.sid=([^;]*)/.exec(cookie);
      if (match) this.sid = match[1];
    }
    return res;
  }

  /** A page navigation (Accept: text/html). */
  navigate(path: string, options: RequestOptions = {}): Promise<HttpResult> {
    return this.request('GET', path, {
      ...options,
      headers: { accept: 'text/html,application/xhtml+xml', ...options.headers },
    });
  }

  /** An API call (Accept: application/json). */
  api(method: string, path: string, options: RequestOptions = {}): Promise<HttpResult> {
    return this.request(method, path, {
      ...options,
      headers: { accept: 'application/json', ...options.headers },
    });
  }

  /** The host app's password login (test app: POST /login sets req.session.user). */
  async login(user: { username: string; tenant?: string; roles?: string[] }): Promise<HttpResult> {
    return this.request('POST', '/login', {
      body: { username: user.username, tenant: user.tenant, roles: user.roles ?? [] },
    });
  }
}

/**
 * Writes `bytes` on a raw TCP connection and resolves with the HTTP status of the first answer (0 when the server
 * closed without answering). For requests an HTTP client refuses to send.
 */
export function rawRequest(port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let answer = '';
    const finish = () => {
      socket.destroy();
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(answer);
      resolve(match ? Number(match[1]) : 0);
    };
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`raw request got no answer within ${timeoutMs} ms: ${answer.slice(0, 100)}`));
    });
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (/^HTTP\/1\.[01] \d{3}[^\n]*\n[\s\S]*\r\n\r\n/.test(answer)) finish();
    });
    socket.once('end', finish);
    socket.once('error', () => finish());
    socket.connect(port, '127.0.0.1', () => socket.end(bytes)); // half-close: the server never waits for more
  });
}
