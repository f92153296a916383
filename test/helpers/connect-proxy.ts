// A small HTTP CONNECT proxy on loopback for tests: tunnels, or refuses (403/407) or hangs on demand, and keeps an
// access log of every CONNECT (target, whether Proxy-Authorization came and matched). Never forwards plain HTTP.

import http from 'node:http';
import net from 'node:net';

export type ProxyMode = 'tunnel' | 'forbid' | 'hang';

export interface ProxyLogEntry {
  /** `host:port` the client asked to reach. */
  readonly target: string;
  /** A Proxy-Authorization header was sent. */
  readonly authorization: boolean;
  /** What the proxy answered: 200, 403, 407, 502, or 0 while hanging. */
  readonly status: number;
}

export interface ConnectProxy {
  /** `http://user:password@127.0.0.1:port` (credentials only when the proxy requires them). */
  readonly url: string;
  readonly port: number;
  readonly log: ProxyLogEntry[];
  /** Client connections currently open to the proxy (a CONNECT that hangs keeps one until the client gives up). */
  openConnections(): number;
  setMode(mode: ProxyMode): void;
  close(): Promise<void>;
}

/**
 * Starts the proxy on 127.0.0.1, port 0. With `credentials`, a CONNECT without them (or with others) gets 407.
 *
 * @example
 * ```ts
 * const proxy = await startConnectProxy({ credentials: { username: 'svc', password: 's3cret-pass' } });
 * new DuoAdapter({ redirectUrl, proxy: proxy.url, ca });
 * ```
 */
export async function startConnectProxy(
  options: { credentials?: { username: string; password: string } } = {},
): Promise<ConnectProxy> {
  const expected = options.credentials
    ? `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString('base64')}`
    : undefined;
  let mode: ProxyMode = 'tunnel';
  const log: ProxyLogEntry[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.writeHead(405).end('CONNECT only\n'));
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = req.url ?? '';
    const authorization = req.headers['proxy-authorization'];
    const answer = (status: number, text: string, extra = '') => {
      log.push({ target, authorization: authorization !== undefined, status });
      client.end(`HTTP/1.1 ${status} ${text}\r\n${extra}Content-Length: 0\r\n\r\n`);
    };
    client.on('error', () => undefined);
    if (mode === 'hang') {
      // Never answers, but reads, so it notices (like a real proxy) when the client gives up and closes.
      client.on('end', () => client.destroy());
      client.resume();
      return void log.push({ target, authorization: authorization !== undefined, status: 0 });
    }
    if (expected !== undefined && authorization !== expected) {
      return answer(407, 'Proxy Authentication Required', 'Proxy-Authenticate: Basic realm="test"\r\n');
    }
    if (mode === 'forbid') return answer(403, 'Forbidden');
    const [host, port] = splitTarget(target);
    const upstream = net.connect(port, host, () => {
      log.push({ target, authorization: authorization !== undefined, status: 200 });
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client).on('error', () => undefined);
      client.pipe(upstream).on('error', () => undefined);
    });
    upstream.on('error', () => (client.writable ? answer(502, 'Bad Gateway') : client.destroy()));
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const auth = options.credentials
    ? `${encodeURIComponent(options.credentials.username)}:${encodeURIComponent(options.credentials.password)}@`
    : '';
  return {
    url: `http://${auth}127.0.0.1:${port}`,
    port,
    log,
    openConnections: () => sockets.size,
    setMode: (next) => {
      mode = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** `[host, port]` from a CONNECT target `host:port` or `[v6]:port`. */
function splitTarget(target: string): [string, number] {
  const colon = target.lastIndexOf(':');
  return [target.slice(0, colon).replace(/^\[|\]$/g, ''), Number(target.slice(colon + 1))];
}
