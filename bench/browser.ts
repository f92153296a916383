// A minimal browser for the login benchmarks: keep-alive HTTP(S), one session cookie, redirects by hand.

import http from 'node:http';
import https from 'node:https';

export interface Reply {
  readonly status: number;
  readonly location: string | undefined;
  readonly body: string;
}

/** Connection pools shared by every Browser of a process (one per user agent would cost a handshake each). */
export class Pools {
  readonly http: http.Agent;
  readonly https: https.Agent;

  constructor(options: { ca?: string; maxSockets?: number } = {}) {
    this.http = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
    this.https = new https.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64, ca: options.ca });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

/**
 * One user's browser: sends its session cookie (`connect.sid`), takes the new one from every answer, never
 * follows redirects by itself.
 *
 * @example
 * ```ts
 * const browser = new Browser(pools);
 * await browser.post('http://127.0.0.1:3000/login', { username: 'alice' });
 * const reply = await browser.get('http://127.0.0.1:3000/private');
 * ```
 */
export class Browser {
  cookie: string | undefined;

  constructor(private readonly pools: Pools) {}

  get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
    return this.request('GET', url, undefined, { accept: 'text/html', ...headers });
  }

  post(url: string, form: Record<string, string>): Promise<Reply> {
    const body = new URLSearchParams(form).toString();
    return this.request('POST', url, body, {
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(Buffer.byteLength(body)),
    });
  }

  private request(
    method: string,
    url: string,
    body: string | undefined,
    headers: Record<string, string>,
  ): Promise<Reply> {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const send = secure ? https.request : http.request;
    // The session cookie goes to the app only, as a browser scopes it to the app's origin.
    const cookie = !secure && this.cookie ? { cookie: this.cookie } : {};
    return new Promise((resolve, reject) => {
      const req = send(
        target,
        {
          method,
          agent: secure ? this.pools.https : this.pools.http,
          headers: { ...headers, ...cookie },
          timeout: 10_000,
        },
        (res) => {
          const setCookie = res.headers['set-cookie'];
          const session = setCookie?.find((line) => line.startsWith('connect.sid='));
          if (session && !secure) this.cookie = session.slice(0, session.indexOf(';'));
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('error', reject);
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              location: res.headers.location ? new URL(res.headers.location, target).href : undefined,
              body: text,
            }),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${target.pathname} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** The host app's password login (POST /login answers 303 to the page). */
export async function signIn(browser: Browser, base: string, user: Record<string, string>): Promise<void> {
  expectStatus('POST /login', await browser.post(`${base}/login`, user), 303);
}

/**
 * A complete login as a browser does it: password POST, the protected page (303 to Duo), Duo's authorize URL
 * (the emulator in auto mode answers 302 to the callback), the callback (303 to the page), the page itself.
 * Throws on any unexpected answer.
 */
export async function loginWithDuo(
  browser: Browser,
  base: string,
  user: { username: string } & Record<string, string>,
  duoOrigin: string,
): Promise<void> {
  await signIn(browser, base, user);
  const page = await browser.get(`${base}/private`);
  expectStatus('GET /private before Duo', page, 303);
  if (!page.location?.startsWith(duoOrigin)) throw new Error(`not sent to Duo: ${page.location}`);
  const duo = await browser.get(page.location);
  expectStatus('Duo authorize', duo, 302);
  const callback = await browser.get(duo.location!);
  expectStatus('GET /duo/callback', callback, 303);
  const landing = await browser.get(callback.location!);
  expectStatus('GET /private after Duo', landing, 200);
  if (!landing.body.includes(`private page for ${user.username}`))
    throw new Error('landed on the wrong page');
}

function expectStatus(what: string, reply: Reply, status: number): void {
  if (reply.status !== status)
    throw new Error(`${what}: ${reply.status} instead of ${status}: ${reply.body.slice(0, 160)}`);
}
